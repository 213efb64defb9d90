"""Reads a SoupBinTCP stream (a file) in chunks of 97 bytes, as a TCP reader gets it, with the
package generated for ITCH over SoupBinTCP, and prints one line a packet as
codec-tests/c/itch_soup_walk.c does. Usage: python3 itch_soup_walk.py PACKAGE_PARENT FILE."""

import sys


def main(parent: str, path: str) -> None:
    sys.path.insert(0, parent)
    import itch

    data = open(path, "rb").read()
    buf, base, nxt, out = b"", 0, None, []
    for at in range(0, len(data), 97):
        buf += data[at:at + 97]
        packets, used, error = itch.soup_split(buf)
        for kind, payload, offset in packets:
            offset += base
            announced = itch.soup_login_sequence(payload) if kind == "A" else None
            if announced is not None:
                nxt = announced
            seq = "-"
            if kind == "S" and nxt is not None:
                seq, nxt = str(nxt), nxt + 1
            try:
                m = itch.soup_message(kind, payload, offset)
            except itch.DecodeError as e:
                out.append(f"{seq} {kind} ERROR {e.kind} {e.offset} {e.field or '-'} {e.value}")
                continue
            out.append(f"- {kind}" if m is None else f"{seq} {kind} {m.to_json()}")
        if error is not None:
            out.append(f"FRAME BadFrame {base + error.offset}")
            break
        buf, base = buf[used:], base + used
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
