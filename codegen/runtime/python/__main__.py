"""``python -m rltop dump FILE``: every message of a pcap capture, or of a raw file of
messages back to back, one line each as canonical JSON, with errors where they are."""

import argparse
import os
import sys

from . import canonical, pcap
from ._runtime import DecodeError
from .messages import iter_datagram


def _dump_datagram(label: str, payload: bytes, out) -> int:
    errors = 0
    for item in iter_datagram(payload):
        if isinstance(item, DecodeError):
            errors += 1
            field = f" field={item.field}" if item.field else ""
            out.write(f"{label} ERROR {item.kind} offset={item.offset}{field}: {item}\n")
        else:
            out.write(f"{label} {canonical.dumps(item)}\n")
    return errors


def _timestamp(ns: int) -> str:
    """Seconds and a 9-digit fraction, from the integer: a float holds about 16 digits."""
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


def dump(path: str, out=sys.stdout) -> int:
    """Prints the file's messages; returns the number of errors met."""
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0)
        if pcap.is_pcap(head):
            errors = 0
            for p in pcap.read(f):
                label = f"#{p.index} {_timestamp(p.timestamp_ns)} {p.src}:{p.sport} > {p.dst}:{p.dport}"
                errors += _dump_datagram(label, p.payload, out)
            return errors
        return _dump_datagram(path, f.read(), out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rltop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="print the messages of a pcap capture or a raw file of messages")
    d.add_argument("file")
    args = parser.parse_args(argv)
    try:
        errors = dump(args.file)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped (`| head`): not an error. Python would flush stdout once more
        # at exit and complain; point it at /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (OSError, pcap.PcapError) as e:
        print(f"python -m rltop dump: {args.file}: {e}", file=sys.stderr)
        return 2
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
