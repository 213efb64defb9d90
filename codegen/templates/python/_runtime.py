"""What every message type shares: errors, CRC-32C, text fields and value checks.

The error classes carry the same names as the Rust binding's ``DecodeError`` variants, and
the same byte offsets (SPEC.md §4).
"""

import os
from typing import Optional

__all__ = [
    "DecodeError", "Truncated", "BadMagic", "BadLength", "UnknownType", "UnexpectedType",
    "UnsupportedVersion", "BadChecksum", "BadEnum", "BadCount", "BadText", "EncodeError",
    "crc32c", "ACCELERATED_CRC", "NATIVE_CRC", "first_bad_checksum",
]


class DecodeError(ValueError):
    """Why bytes are not a valid message. ``kind`` is the name shared by every binding;
    ``offset`` the byte offset (in the buffer given to the decoder) of the field at fault;
    ``field`` its path where the error concerns one field; ``detail`` what is wrong, without
    the offset and the field (the words of the Rust binding's ``DecodeError::detail``: the
    dumps of both print it)."""

    kind = "DecodeError"
    #: Framing errors end a datagram; the others skip one message.
    framing = False

    def __init__(self, offset: int, detail: str, field: Optional[str] = None):
        super().__init__(f"{detail} at byte {offset}" + (f" ({field})" if field else ""))
        self.offset = offset
        self.field = field
        self.detail = detail


class Truncated(DecodeError):
    kind, framing = "Truncated", True


class BadMagic(DecodeError):
    kind, framing = "BadMagic", True


class BadLength(DecodeError):
    kind, framing = "BadLength", True


class UnknownType(DecodeError):
    kind = "UnknownType"


class UnexpectedType(DecodeError):
    kind = "UnexpectedType"


class UnsupportedVersion(DecodeError):
    kind = "UnsupportedVersion"


class BadChecksum(DecodeError):
    kind = "BadChecksum"


class BadEnum(DecodeError):
    kind = "BadEnum"


class BadCount(DecodeError):
    kind = "BadCount"


class BadText(DecodeError):
    kind = "BadText"


class EncodeError(ValueError):
    """A message that cannot be encoded; ``field`` names the offending field."""

    def __init__(self, field: str, detail: str):
        super().__init__(f"{field}: {detail}")
        self.field = field


# ---- CRC-32C (Castagnoli, reflected 0x82F63B78) ------------------------------------------

def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return tuple(t)


_TABLE = _table()


def _crc32c_py(data, crc: int = 0) -> int:
    t = _TABLE
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# The package is pure Python; the `crc32c` package from PyPI, when installed, computes the
# same function in C. RLTOP_PURE_PYTHON=1 keeps the pure path (tests run both).
ACCELERATED_CRC = False
crc32c = _crc32c_py
if not os.environ.get("RLTOP_PURE_PYTHON"):
    try:
        from crc32c import crc32c as _crc32c_c  # type: ignore[import-not-found]

        if _crc32c_c(b"123456789") == 0xE3069283:
            crc32c = _crc32c_c  # noqa: F811
            ACCELERATED_CRC = True
    except ImportError:
        pass


def crc_with_hole(buf, off: int, length: int, hole: int) -> int:
    """CRC-32C of buf[off:off+length] with the 4 checksum bytes at `hole` taken as zero."""
    mv = memoryview(buf)
    return crc32c(mv[off + hole + 4:off + length], crc32c(b"\0\0\0\0", crc32c(mv[off:off + hole])))


# The package's optional C accelerator, rltop/_crc.c (pip builds it when a C compiler is
# there; without one the package stays pure Python): the C header's CRC-32C, four messages
# at a time, for the bulk decoder. RLTOP_PURE_PYTHON=1 leaves it unused too.
NATIVE_CRC = None
if not os.environ.get("RLTOP_PURE_PYTHON"):
    try:
        from . import _crc as NATIVE_CRC  # type: ignore[attr-defined, no-redef]
    except ImportError:
        pass


def first_bad_checksum(buf, size: int, hole: int, count: int) -> int:
    """Index of the first of the `count` back-to-back `size`-byte messages at the start of
    `buf` whose stored checksum (the little-endian u32 at `hole`) is not its CRC-32C, or -1.
    One call for the whole buffer with the C accelerator; one per message without it."""
    if NATIVE_CRC is not None:
        return NATIVE_CRC.first_bad_checksum(buf, size, hole, count)
    mv = memoryview(buf)
    for i in range(count):
        off = i * size
        if crc_with_hole(mv, off, size, hole) != int.from_bytes(mv[off + hole:off + hole + 4], "little"):
            return i
    return -1


# ---- Field values ------------------------------------------------------------------------

_PRINTABLE = bytes(range(0x20, 0x7F))


def text(raw: bytes, offset: int, field: str) -> str:
    """A text field's value: printable ASCII, then only NUL padding."""
    s = raw.rstrip(b"\0")
    if s.translate(None, _PRINTABLE):
        raise BadText(offset, "text is not NUL-padded printable ASCII", field)
    return s.decode("ascii")


def enc_text(s, n: int, field: str) -> bytes:
    if not isinstance(s, str):
        raise EncodeError(field, f"expected a str, got {type(s).__name__}")
    if not s.isascii():
        raise EncodeError(field, "not ASCII")
    b = s.encode("ascii")
    if len(b) > n:
        raise EncodeError(field, f"{len(b)} characters, at most {n}")
    if b.translate(None, _PRINTABLE) or len(b) != len(s):
        raise EncodeError(field, "not printable ASCII")
    return b


# The range of each wire integer, for `enc_int`: the generated encoders name them.
U8_MAX = (1 << 8) - 1
U16_MAX = (1 << 16) - 1
U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1
I8_MIN, I8_MAX = -(1 << 7), (1 << 7) - 1
I16_MIN, I16_MAX = -(1 << 15), (1 << 15) - 1
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1


def enc_int(x, lo: int, hi: int, field: str) -> int:
    if not isinstance(x, int) or isinstance(x, bool):
        raise EncodeError(field, f"expected an int, got {type(x).__name__}")
    if x < lo or x > hi:
        raise EncodeError(field, f"{x} is outside {lo}..={hi}")
    return int(x)


def enc_enum(x, values: dict, field: str) -> int:
    v = values.get(x) if not isinstance(x, bool) else None
    if v is None:
        raise EncodeError(field, f"{x!r} is not a defined value")
    return v
