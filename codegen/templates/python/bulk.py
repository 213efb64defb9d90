"""Bulk decoding with numpy: a buffer of back-to-back messages of one type, or every message
of one type in a capture, as one structured array (a zero-copy view of the bytes).

numpy is imported only when this module is used (``pip install rltop[numpy]``)."""

from typing import Iterable

from . import messages
from ._runtime import (
    BadChecksum, BadCount, BadEnum, BadLength, BadMagic, BadText, Truncated, UnexpectedType,
    UnsupportedVersion, first_bad_checksum,
)

_DTYPES = {}


def _size(spec) -> int:
    kind = spec[0]
    if kind == "struct":
        return spec[1]._size
    if kind == "array":
        return _size(spec[1]) * spec[2]
    return spec[2] if kind == "enum" else spec[1]


def _spec_dtype(np, spec):
    kind = spec[0]
    if kind == "int":
        return np.dtype(f"<{'i' if spec[2] else 'u'}{spec[1]}")
    if kind == "flags":
        return np.dtype(f"<u{spec[1]}")
    if kind == "enum":
        return np.dtype(f"<{'i' if min(int(v) for v in spec[1]) < 0 else 'u'}{spec[2]}")
    if kind == "text":
        return np.dtype(f"S{spec[1]}")
    if kind == "struct":
        return dtype(spec[1])
    return np.dtype((_spec_dtype(np, spec[1]), (spec[2],)))


def dtype(cls):
    """The numpy structured dtype of a message or struct class: every field at its wire
    offset, little-endian; count fields included under their schema names; reserved bytes
    left out."""
    import numpy as np

    if cls not in _DTYPES:
        names, formats, offsets = [], [], []
        for name, spec, _since, offset in cls._spec:
            names.append(name)
            formats.append(_spec_dtype(np, spec))
            offsets.append(offset)
        for count, (offset, size) in cls._count_fields.items():
            names.append(count)
            formats.append(np.dtype(f"<u{size}"))
            offsets.append(offset)
        _DTYPES[cls] = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": cls._size})
    return _DTYPES[cls]


class _FirstFailure:
    """Keeps the failure a message-by-message decoder would report: the lowest message
    index, and within it the lowest field offset."""

    def __init__(self, size: int, base: int):
        self.size, self.base, self.best, self.start = size, base, None, 0

    def check(self, np, ok, offset, make):
        if ok.all():
            return
        i = int(np.flatnonzero(~ok)[0])
        key = (self.start + i, offset)
        if self.best is None or key < self.best[:2]:
            self.best = key + (make(i),)

    def raise_first(self):
        if self.best is not None:
            i, offset, (err, detail, field) = self.best
            raise err(self.base + i * self.size + offset, detail, field)


def _text_ok(np, col, n):
    b = col.view(np.uint8).reshape(len(col), n)
    nul = b == 0
    seen_nul = np.maximum.accumulate(nul, axis=1)
    return np.where(seen_nul, nul, (b >= 0x20) & (b <= 0x7E)).all(axis=1)


_LUTS = {}


def _enum_ok(np, col, cls):
    """Membership of an enumeration's values: a lookup table for 1- and 2-byte enums."""
    values = [int(v) for v in cls]
    if col.dtype.itemsize <= 2 and min(values) >= 0:
        lut = _LUTS.get((cls, col.dtype.itemsize))
        if lut is None:
            lut = np.zeros(1 << (8 * col.dtype.itemsize), dtype=bool)
            lut[values] = True
            _LUTS[(cls, col.dtype.itemsize)] = lut
        return lut[col]
    return np.isin(col, np.array(values))


def _check(np, ff, col, spec, offset, path, live):
    kind = spec[0]
    if kind == "enum":
        ok = _enum_ok(np, col, spec[1])
        ff.check(np, ok if live is None else ok | ~live, offset, lambda i: (BadEnum, f"invalid value {int(col[i])}", path))
    elif kind == "text":
        ok = _text_ok(np, col, spec[1])
        ff.check(np, ok if live is None else ok | ~live, offset, lambda i: (BadText, "text is not NUL-padded printable ASCII", path))
    elif kind == "struct":
        for name, s, _since, off in spec[1]._spec:
            _check(np, ff, col[name], s, offset + off, f"{path}.{name}", live)
    elif kind == "array" and spec[1][0] in ("enum", "text", "struct", "array"):
        step = _size(spec[1])
        for k in range(spec[2]):
            _check(np, ff, col[:, k], spec[1], offset + k * step, f"{path}[{k}]", live)


#: Messages checked at a time: a chunk stays in cache while every check reads it.
CHUNK_BYTES = 1 << 19


# When magic, length, type and version are the first 8 bytes, one 64-bit compare per message
# checks them all (the detailed checks run only on a chunk that fails it).
_PACKED_HEADER = (messages.MAGIC_OFFSET, messages.LENGTH_OFFSET, messages.TYPE_OFFSET, messages.VERSION_OFFSET) == (0, 4, 6, 7)


def _header_ok(np, cls, words):
    expect = messages.MAGIC | (cls._size << 32) | (cls.TYPE_CODE << 48)
    return bool(((words & np.uint64((1 << 56) - 1)) == np.uint64(expect)).all() and ((words >> np.uint64(56)) >= messages.MIN_VERSION).all())


def _check_chunk(np, cls, arr, ff, words=None):
    size = cls._size
    header = arr[cls._spec[0][0]]
    if words is None or not _header_ok(np, cls, words):
        _check_header(np, cls, header, ff)
    _check_fields(np, cls, arr, ff)


def _check_header(np, cls, header, ff):
    size = cls._size
    ff.check(np, header["magic"] == messages.MAGIC, messages.MAGIC_OFFSET, lambda i: (BadMagic, "bad magic", None))
    ff.check(np, header["length"] == size, messages.LENGTH_OFFSET, lambda i: (BadLength, f"length {int(header['length'][i])}, expected {size}", None))
    ff.check(np, header["msg_type"] == cls.TYPE_CODE, messages.TYPE_OFFSET, lambda i: (UnexpectedType, f"type {int(header['msg_type'][i]):#04x}, expected {cls.TYPE_CODE:#04x}", None))
    ff.check(np, header["version"] >= messages.MIN_VERSION, messages.VERSION_OFFSET, lambda i: (UnsupportedVersion, "version too old", None))


def _check_fields(np, cls, arr, ff):
    counts = {}
    for array, count in cls._counts.items():
        n = next(s[2] for name, s, _, _ in cls._spec if name == array)
        counts[array] = arr[count]
        ff.check(np, arr[count] <= n, cls._count_fields[count][0], lambda i, c=count, n=n: (BadCount, f"count {int(arr[c][i])} above the array's {n}", f"{cls.__name__}.{c}"))
    for name, spec, _since, offset in cls._spec:
        path = f"{cls.__name__}.{name}"
        if name in counts:
            step = _size(spec[1])
            for k in range(spec[2]):
                _check(np, ff, arr[name][:, k], spec[1], offset + k * step, f"{path}[{k}]", counts[name] > k)
        elif spec[0] != "struct" or name != cls._spec[0][0]:
            _check(np, ff, arr[name], spec, offset, path, None)


def decode_array(buf, cls, *, verify_checksum: bool = False, base: int = 0):
    """Views `buf` (a whole number of back-to-back `cls` messages) as a structured array,
    after vectorised checks of every message: magic, length, type, version, counts,
    enumerations and text (entries past a count are not checked), and with
    ``verify_checksum`` each CRC-32C too (in one call with the package's C accelerator,
    rltop/_crc.c; one call per message without it: far slower). Raises the
    DecodeError a message-by-message decoder would raise first, with its byte offset in
    `buf` plus `base`. Framing errors (magic, length) are reported before field errors."""
    import numpy as np

    size = cls._size
    if len(buf) % size:
        whole = len(buf) - len(buf) % size
        raise Truncated(base + whole, f"{len(buf) - whole} bytes left after {whole // size} whole {cls.__name__} messages")
    arr = np.frombuffer(buf, dtype=dtype(cls))
    words = np.ndarray(shape=(len(arr),), dtype="<u8", buffer=buf, strides=(size,)) if _PACKED_HEADER and len(arr) else None
    ff = _FirstFailure(size, base)
    step = max(1, CHUNK_BYTES // size)
    for start in range(0, len(arr), step):
        ff.start = start
        _check_chunk(np, cls, arr[start:start + step], ff, None if words is None else words[start:start + step])
        if ff.best is not None:
            break
    if verify_checksum:
        last = len(arr) if ff.best is None else ff.best[0] + 1
        i = first_bad_checksum(buf, size, messages.CHECKSUM_OFFSET, last)
        if i >= 0 and (ff.best is None or (i, messages.CHECKSUM_OFFSET) < ff.best[:2]):
            ff.best = (i, messages.CHECKSUM_OFFSET, (BadChecksum, "bad checksum", None))
    ff.raise_first()
    return arr


def capture_array(datagrams: Iterable[bytes], cls, *, verify_checksum: bool = False):
    """Every `cls` message of many datagrams (e.g. ``rltop.pcap.payloads(...)``) as one
    structured array; other messages are passed over by their length, and a datagram is
    left at the first header that cannot be framed."""
    parts = []
    size = cls._size
    for d in datagrams:
        off = 0
        while off + messages.HEADER_SIZE <= len(d):
            length = int.from_bytes(d[off + messages.LENGTH_OFFSET:off + messages.LENGTH_OFFSET + 2], "little")
            if length < messages.HEADER_SIZE or off + length > len(d):
                break
            if d[off + messages.TYPE_OFFSET] == cls.TYPE_CODE and length == size:
                parts.append(bytes(d[off:off + size]))
            off += length
    return decode_array(b"".join(parts), cls, verify_checksum=verify_checksum)
