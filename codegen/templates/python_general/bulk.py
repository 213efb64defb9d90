"""Bulk decoding with numpy: a whole file of messages (NASDAQ's format: each behind a
big-endian u16 length) into one column per field per message type, with the byte orders
as numpy dtypes ('>u4'), 24- and 48-bit integers assembled into 64-bit columns, text as
bytes without its padding. Every message is checked as `decode` checks it: the framing,
types and lengths while the file is split (the first such fault raises at once), then the
enumerations and text of each type's columns (the first faulty message's first faulty field
raises), each as the DecodeError `decode` gives, at its byte in the file.

    import itch.bulk
    tables = itch.bulk.load(open("day.itch", "rb").read())
    adds = tables["AddOrder"]      # {"price": array([...], dtype='>u4'), ...}
"""

from __future__ import annotations

from typing import Dict, List

import numpy as np

from ._runtime import DecodeError
from .messages import TYPES


def offsets(data) -> Dict[int, List[int]]:
    """Where each message starts, by type code; DecodeError for a cut or unknown one."""
    out: Dict[int, List[int]] = {}
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 2:
            raise DecodeError("Truncated", pos, None, 2)
        n = int.from_bytes(data[pos:pos + 2], "big")
        start = pos + 2
        if end - start < n:
            raise DecodeError("Truncated", start, None, n)
        if n == 0:
            raise DecodeError("Truncated", start, None, 1)
        cls = TYPES.get(data[start])
        if cls is None:
            raise DecodeError("UnknownType", start, None, data[start])
        if n != cls.SIZE:
            kind = "Truncated" if n < cls.SIZE else "BadLength"
            raise DecodeError(kind, start, None, cls.SIZE if n < cls.SIZE else n)
        out.setdefault(data[start], []).append(start)
        pos = start + n
    return out


def _int(raw: np.ndarray, big: bool, signed: bool) -> np.ndarray:
    size = raw.shape[1]
    if size in (1, 2, 4, 8):
        dtype = np.dtype(("i" if signed else "u") + str(size)).newbyteorder(">" if big else "<")
        return np.ascontiguousarray(raw).view(dtype)[:, 0]
    order = range(size) if big else range(size - 1, -1, -1)
    value = np.zeros(raw.shape[0], np.uint64)
    for k in order:
        value = (value << np.uint64(8)) | raw[:, k].astype(np.uint64)
    if signed:
        sign = np.uint64(1) << np.uint64(8 * size - 1)
        return (value ^ sign).astype(np.int64) - np.int64(sign)
    return value


def _fault(cls, raw: np.ndarray, starts: np.ndarray, name: str, at: int, kind: str,
           flag: bool, signed: bool, values):
    """The first message whose field `name` is not valid, as a DecodeError, or None. `flag` is
    the byte order of an enumeration, the space padding of a text."""
    field = f"{cls.__name__}.{name}"
    if kind == "enum":
        v = raw[:, 0] if raw.shape[1] == 1 else _int(raw, flag, signed)
        bad = ~np.isin(v, values)
        if bad.any():
            i = int(np.argmax(bad))
            return DecodeError("BadEnum", int(starts[i]) + at, field, int(v[i]))
    elif kind in ("text", "char"):
        printable = (raw >= 0x20) & (raw <= 0x7E)
        if kind == "text" and not flag:
            # NUL padding: printable text, then NULs only.
            nul = raw == 0
            after = np.maximum.accumulate(nul, axis=1)
            ok = np.where(after, nul, printable).all(axis=1)
        else:
            ok = printable.all(axis=1)
        if not ok.all():
            i = int(np.argmin(ok))
            return DecodeError("BadText", int(starts[i]) + at, field, 0)
    return None


def load(data) -> Dict[str, Dict[str, np.ndarray]]:
    """Every message of `data`, as columns by message type name, then by field."""
    everything = np.frombuffer(data, np.uint8)
    tables: Dict[str, Dict[str, np.ndarray]] = {}
    found = offsets(data)
    faults = []
    for code, where in found.items():
        cls = TYPES[code]
        starts = np.asarray(where, np.int64)
        rows = everything[starts[:, None] + np.arange(cls.SIZE)]
        columns: Dict[str, np.ndarray] = {}
        for name, at, size, kind, flag, signed, values in cls.LAYOUT:
            raw = rows[:, at:at + size]
            fault = _fault(cls, raw, starts, name, at, kind, flag, signed, values)
            if fault is not None:
                faults.append(fault)
            if kind in ("int", "enum"):
                columns[name] = _int(raw, flag, signed)
            elif kind == "char":
                columns[name] = np.ascontiguousarray(raw).view("S1")[:, 0]
            else:
                text = np.ascontiguousarray(raw).view(f"S{size}")[:, 0]
                columns[name] = np.char.rstrip(text, b" ") if flag else text
        tables[cls.__name__] = columns
    if faults:
        # Messages do not overlap, so the smallest offset is the first faulty message's first
        # faulty field: the error `decode` would raise walking the file in order.
        raise min(faults, key=lambda e: e.offset)
    return tables
