"""``python -m rltop dump FILE``: every message of a pcap capture, or of a raw file of
messages back to back, one line each as canonical JSON, with errors where they are; the
same bytes as ``rltop dump`` (reference/cli/src/dump.rs).

A capture's lines start ``#N sec.nanos src > dst``, N the record's place in the file from
0 (tshark's frame N + 1), whatever the records before it hold. A record with no UDP datagram
over IPv4 in it gets one line, ``#N sec.nanos SKIP reason`` (``rltop.pcap.records``)."""

import argparse
import os
import sys

from . import canonical, pcap
from ._runtime import DecodeError
from .messages import iter_datagram


def _error_line(label: str, e: DecodeError) -> str:
    """``<label> ERROR <kind> offset=<byte>[ field=<path>]: <detail>``, the detail in the
    words every binding's dump uses (the Rust binding's ``DecodeError::detail``)."""
    field = f" field={e.field}" if e.field else ""
    return f"{label} ERROR {e.kind} offset={e.offset}{field}: {e.detail}\n"


def _dump_datagram(label: str, payload: bytes, out) -> int:
    errors = 0
    for item in iter_datagram(payload):
        if isinstance(item, DecodeError):
            errors += 1
            out.write(_error_line(label, item))
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
            for r in pcap.records(f):
                if isinstance(r, pcap.Skipped):
                    out.write(f"#{r.index} {_timestamp(r.timestamp_ns)} SKIP {r.reason}\n")
                    continue
                label = f"#{r.index} {_timestamp(r.timestamp_ns)} {r.src}:{r.sport} > {r.dst}:{r.dport}"
                errors += _dump_datagram(label, r.payload, out)
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
