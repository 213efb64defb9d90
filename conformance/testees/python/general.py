"""Conformance testee for a generated Python package of a protocol not of RLTOP's shape
(ITCH over MoldUDP64: generated/itch50/python, package `itch`).

Usage: python3 general.py PACKAGE_PARENT_DIR PACKAGE. One JSON request per line on stdin, one
JSON response per line on stdout (protocol: conformance/README.md). A decode request's bytes
are one MoldUDP64 packet, walked with the package's mold_blocks and decode: each block's
result carries its sequence number, and a framing fault is BadFrame at its byte. Encoding is
the package's from_json, then encode."""

import importlib
import json
import sys


def error(e):
    err = {"kind": e.kind, "offset": e.offset, "detail": str(e)}
    if e.field is not None:
        err["field"] = e.field
    return err


def decode(pkg, data: bytes):
    results = []
    try:
        _, blocks = pkg.mold_blocks(data)
        for seq, offset, block in blocks:
            try:
                message = json.loads(pkg.decode(block, offset).to_json())
                results.append({"sequence": str(seq), "message": message})
            except pkg.DecodeError as e:
                results.append({"sequence": str(seq), "error": error(e)})
    except pkg.FrameError as e:
        results.append({"error": {"kind": "BadFrame", "offset": e.offset, "detail": str(e)}})
    return {"results": results}


def answer(pkg, request):
    op = request.get("op")
    if op == "decode":
        return decode(pkg, bytes.fromhex(request["hex"]))
    if op == "encode":
        try:
            return {"hex": pkg.from_json(request["message"]).encode().hex()}
        except ValueError as e:
            return {"error": str(e)}
    return {"unsupported": f"op {op!r}"}


def main(parent: str, name: str):
    sys.path.insert(0, parent)
    pkg = importlib.import_module(name)
    if not hasattr(pkg, "mold_blocks"):
        sys.exit(f"{name}: this testee walks MoldUDP64 packets, and the package has no mold_blocks")
    for line in sys.stdin:
        try:
            request = json.loads(line)
            response = answer(pkg, request)
            response["id"] = request.get("id")
        except (ValueError, KeyError) as e:
            response = {"error": f"bad request: {e}"}
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
