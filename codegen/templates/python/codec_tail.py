

# ---- Framing and the public API (fixed text, appended by the generator) -------------------

from typing import Iterable, Iterator  # noqa: E402

from ._runtime import (  # noqa: E402
    BadChecksum, BadLength, BadMagic, DecodeError, Truncated, UnexpectedType, UnknownType,
    UnsupportedVersion,
)


def _frame_struct():
    # One Struct reading magic, length, type and version at their offsets.
    roles = sorted([(MAGIC_OFFSET, "I"), (LENGTH_OFFSET, "H"), (TYPE_OFFSET, "B"), (VERSION_OFFSET, "B")])
    fmt, at, order = "<", 0, []
    for off, ch in roles:
        fmt += f"{off - at}x" if off > at else ""
        fmt += ch
        at = off + struct.calcsize("<" + ch)
        order.append(off)
    return struct.Struct(fmt), [order.index(o) for o in (MAGIC_OFFSET, LENGTH_OFFSET, TYPE_OFFSET, VERSION_OFFSET)]


_FRAME, _FRAME_ORDER = _frame_struct()
_CHECKSUM = struct.Struct("<I")


def _frame(buf, off, end, only=None):
    """Framing checks of the message at `off` (SPEC.md §4, checks 1-4); returns
    (type code, length, version). `only`: frame other types as unknown ones."""
    if end - off < HEADER_SIZE:
        raise Truncated(off, f"message needs {HEADER_SIZE} bytes, {end - off} available")
    f = _FRAME.unpack_from(buf, off)
    magic, length, msg_type, version = (f[k] for k in _FRAME_ORDER)
    if magic != MAGIC:
        raise BadMagic(off + MAGIC_OFFSET, f"bad magic {magic:#010x}, expected {MAGIC:#010x}")
    entry = _DECODERS.get(msg_type) if only is None or msg_type == only else None
    if entry is not None and length != entry[0]:
        raise BadLength(off + LENGTH_OFFSET, f"length {length} for type {msg_type:#04x}, expected {entry[0]}")
    if entry is None and length < HEADER_SIZE:
        raise BadLength(off + LENGTH_OFFSET, f"length {length} for type {msg_type:#04x}, shorter than a header")
    if end - off < length:
        raise Truncated(off, f"message needs {length} bytes, {end - off} available")
    return msg_type, length, version


def _check_and_decode(buf, off, msg_type, length, version):
    """Checks 5-8: version, type, checksum, field values."""
    if version < MIN_VERSION:
        raise UnsupportedVersion(off + VERSION_OFFSET, f"version {version} is older than {MIN_VERSION}")
    entry = _DECODERS.get(msg_type)
    if entry is None:
        raise UnknownType(off + TYPE_OFFSET, f"unknown message type {msg_type:#04x} ({length} bytes skipped)")
    found = _CHECKSUM.unpack_from(buf, off + CHECKSUM_OFFSET)[0]
    computed = crc_with_hole(buf, off, length, CHECKSUM_OFFSET)
    if found != computed:
        raise BadChecksum(off + CHECKSUM_OFFSET, f"checksum {found:#010x}, computed {computed:#010x}")
    return entry[1](buf, off)


def decode(buf, offset: int = 0) -> "Message":
    """Decodes the message at `offset` in `buf` (bytes, bytearray or memoryview), whatever
    its type, checking every rule of the protocol; raises a DecodeError subclass."""
    msg_type, length, version = _frame(buf, offset, len(buf))
    return _check_and_decode(buf, offset, msg_type, length, version)


def decode_as(cls, buf, offset: int = 0):
    """Decodes a message that must be of type `cls` (else UnexpectedType)."""
    msg_type, length, version = _frame(buf, offset, len(buf), only=cls.TYPE_CODE)
    if msg_type != cls.TYPE_CODE:
        raise UnexpectedType(offset + TYPE_OFFSET, f"message type {msg_type:#04x}, expected {cls.TYPE_CODE:#04x}")
    return _check_and_decode(buf, offset, msg_type, length, version)


def iter_datagram(buf) -> "Iterator[Union[Message, DecodeError]]":
    """The messages of one datagram, in order. An item is a message, or the DecodeError of a
    message (yielded, not raised), which is skipped by its length; after a framing error
    (``err.framing``) the iteration ends, as the next message's start is unknown."""
    off, end = 0, len(buf)
    while off < end:
        try:
            msg_type, length, version = _frame(buf, off, end)
        except DecodeError as e:
            yield e
            return
        try:
            yield _check_and_decode(buf, off, msg_type, length, version)
        except DecodeError as e:
            yield e
        off += length


def encode(msg: "Message") -> bytes:
    """The message's bytes: every field checked (EncodeError names the one at fault), header
    magic, length, type, version and checksum filled; session, sequence and timestamp are
    taken from ``msg.header``."""
    enc = _ENCODERS.get(type(msg))
    if enc is None:
        raise EncodeError("message", f"{type(msg).__name__} is not a message type of {PROTOCOL}")
    return enc(msg)


def encode_datagram(msgs: "Iterable[Message]") -> bytes:
    """Several messages back to back, as one datagram."""
    return b"".join(encode(m) for m in msgs)
