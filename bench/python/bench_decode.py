"""Python side of `cargo xtask bench`: per-message decode+validate of the generated package
against the same layouts declared with the `construct` library, on the Rust benchmark's
message mix; and the numpy bulk decoder. Prints one JSON object.

The construct declarations are built field by field from each class's layout description
(`_spec`): Struct / Int64sl / Enum / PaddedString / Array / Padding, exactly what a construct
user writes by hand, so both sides decode the same bytes. Both sides do the same checks:
magic, length, type, version, CRC-32C (the same crc32c function), enumerations."""

import json
import random
import statistics
import sys
import time

import construct as c

import rltop
from rltop import bulk
from rltop._runtime import crc_with_hole

MIX = [(rltop.AddOrder, 40), (rltop.ModifyOrder, 10), (rltop.DeleteOrder, 34), (rltop.ExecuteOrder, 8), (rltop.Trade, 8)]
N = 4096


def _int(size, signed):
    return {(1, False): c.Int8ul, (2, False): c.Int16ul, (4, False): c.Int32ul, (8, False): c.Int64ul,
            (1, True): c.Int8sl, (2, True): c.Int16sl, (4, True): c.Int32sl, (8, True): c.Int64sl}[(size, signed)]


def _con(spec):
    kind = spec[0]
    if kind == "int":
        return _int(spec[1], spec[2])
    if kind == "flags":
        return _int(spec[1], False)
    if kind == "enum":
        return c.Enum(_int(spec[2], False), **{m.name: int(m) for m in spec[1]})
    if kind == "text":
        return c.PaddedString(spec[1], "ascii")
    if kind == "struct":
        return construct_of(spec[1])
    return c.Array(spec[2], _con(spec[1]))


def construct_of(cls):
    fields, at = [], 0
    specs = [(o, n, s) for n, s, _, o in cls._spec] + [(o, n, ("int", size, False)) for n, (o, size) in cls._count_fields.items()]
    for offset, name, spec in sorted(specs, key=lambda x: x[0]):
        if offset > at:
            fields.append(c.Padding(offset - at))
        fields.append(name / _con(spec))
        at = offset + bulk._size(spec)
    if cls._size > at:
        fields.append(c.Padding(cls._size - at))
    return c.Struct(*fields)


class ConstructDecoder:
    """Decode+validate with construct, the same checks as rltop.decode."""

    def __init__(self, compiled: bool):
        self.by_type = {}
        for cls, _ in MIX:
            s = construct_of(cls)
            self.by_type[cls.TYPE_CODE] = (cls, s.compile() if compiled else s)

    def decode(self, b):
        hdr = b[6]
        cls, s = self.by_type[hdr]
        msg = s.parse(b)
        h = msg.header
        if h.magic != rltop.messages.MAGIC or h.length != cls._size or h.version < rltop.messages.MIN_VERSION:
            raise ValueError("bad header")
        if crc_with_hole(b, 0, cls._size, rltop.messages.CHECKSUM_OFFSET) != h.checksum:
            raise ValueError("bad checksum")
        for name, spec, _, _ in cls._spec:
            if spec[0] == "enum" and isinstance(msg[name], int) and not hasattr(msg[name], "_name"):
                # construct's Enum yields a plain int for an undefined value.
                if type(msg[name]) is int:
                    raise ValueError(f"bad {name}")
        return msg


def make_mix(n):
    rng = random.Random(7)
    kinds = [cls for cls, w in MIX for _ in range(w)]
    out = []
    for i in range(n):
        cls = rng.choice(kinds)
        m = cls()
        m.header.session_id, m.header.seq_num, m.header.timestamp = 1, i, 1_700_000_000_000_000_000 + i
        for name, spec, _, _ in cls._spec:
            if spec[0] == "int" and name != "header":
                bits = 8 * spec[1] - (1 if spec[2] else 0)
                setattr(m, name, rng.randrange(0, 1 << min(bits, 40)))
            elif spec[0] == "enum":
                setattr(m, name, rng.choice(list(spec[1])))
        out.append(rltop.encode(m))
    return out


def rate(fn, items, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for x in items:
            fn(x)
        times.append(time.perf_counter() - t)
    return len(items) / statistics.median(times)


def main():
    msgs = make_mix(N)
    con = ConstructDecoder(compiled=False)
    con_c = ConstructDecoder(compiled=True)
    # Both sides agree before they are timed.
    for b in msgs[:200]:
        ours, theirs = rltop.decode(b), con.decode(b)
        assert ours.header.seq_num == theirs.header.seq_num
        assert con_c.decode(b).header.seq_num == theirs.header.seq_num
    result = {
        "crc": "crc32c (C)" if rltop.ACCELERATED_CRC else "pure Python",
        "rltop_per_message": rate(rltop.decode, msgs),
        "construct_per_message": rate(con.decode, msgs[:1024], repeat=3),
        "construct_compiled_per_message": rate(con_c.decode, msgs, repeat=3),
    }
    one = msgs[0] if msgs[0][6] == rltop.AddOrder.TYPE_CODE else rltop.encode(rltop.AddOrder(side=rltop.Side.Buy))
    big = one * 1_000_000
    t = []
    for _ in range(5):
        s = time.perf_counter()
        arr = bulk.decode_array(big, rltop.AddOrder)
        t.append(time.perf_counter() - s)
    assert len(arr) == 1_000_000
    result["numpy_bulk"] = 1_000_000 / statistics.median(t)
    # Every checksum verified too: one call for the whole buffer with the package's C
    # accelerator (rltop/_crc.c), one per message without it (then a smaller buffer).
    from rltop import _runtime
    n = 1_000_000 if _runtime.NATIVE_CRC is not None else 100_000
    t = []
    for _ in range(5 if _runtime.NATIVE_CRC is not None else 1):
        s = time.perf_counter()
        bulk.decode_array(big[:n * len(one)], rltop.AddOrder, verify_checksum=True)
        t.append(time.perf_counter() - s)
    result["numpy_bulk_with_checksum"] = n / statistics.median(t)
    result["bulk_crc"] = "C accelerator (rltop._crc)" if _runtime.NATIVE_CRC is not None else "one call per message"
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
