"""Walks a file of MoldUDP64 packets (each behind a big-endian u16 length) with the generated
ITCH package and prints one line a message, as codec-tests/c/itch_walk.c does:
"SEQ JSON", or "SEQ ERROR KIND OFFSET FIELD VALUE". Usage: python3 itch_walk.py FILE
(with generated/itch50/python on PYTHONPATH)."""

import sys

import itch


def main(path: str) -> None:
    data = open(path, "rb").read()
    pos, out = 0, []
    while pos + 2 <= len(data):
        n = int.from_bytes(data[pos:pos + 2], "big")
        packet = data[pos + 2:pos + 2 + n]
        pos += 2 + n
        _, messages = itch.packet(packet)
        for seq, m in messages:
            if isinstance(m, itch.DecodeError):
                out.append(f"{seq} ERROR {m.kind} {m.offset} {m.field or '-'} {m.value}")
            else:
                out.append(f"{seq} {m.to_json()}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
