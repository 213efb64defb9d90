"""Walks a file of MoldUDP64 packets (each behind a big-endian u16 length) with the generated
ITCH package and prints one line a message, as codec-tests/c/itch_walk.c does:
"SEQ JSON", or "SEQ ERROR KIND OFFSET FIELD VALUE". Each message it decodes is encoded back from
its dataclass, and a message whose bytes differ prints "SEQ ENCODED HEX" instead. Usage: python3 itch_walk.py FILE
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
        _, blocks = itch.mold_blocks(packet)
        for seq, offset, block in blocks:
            try:
                m = itch.decode(block, offset)
            except itch.DecodeError as e:
                out.append(f"{seq} ERROR {e.kind} {e.offset} {e.field or '-'} {e.value}")
                continue
            encoded = m.encode()
            out.append(f"{seq} {m.to_json()}" if encoded == block else f"{seq} ENCODED {encoded.hex()}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
