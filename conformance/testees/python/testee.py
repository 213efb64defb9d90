"""Conformance testee for the generated Python package (generated/python, `import rltop`).

One JSON request per line on stdin, one JSON response per line on stdout (protocol:
conformance/README.md). Decoding uses rltop.iter_datagram, the JSON rltop.canonical, and
encoding rltop.encode; stream scenarios go through rltop.book.FeedHandler."""

import json
import sys

import rltop
from rltop import book, canonical


def decode(hex_bytes: str):
    results = []
    for item in rltop.iter_datagram(bytes.fromhex(hex_bytes)):
        if isinstance(item, rltop.DecodeError):
            err = {"kind": item.kind, "offset": item.offset, "detail": str(item)}
            if item.field is not None:
                err["field"] = item.field
            results.append({"error": err})
        else:
            results.append({"message": canonical.to_json(item)})
    return {"results": results}


def answer(request):
    op = request.get("op")
    if op == "decode":
        return decode(request["hex"])
    if op == "encode":
        try:
            return {"hex": rltop.encode(canonical.from_json(request["message"])).hex()}
        except (rltop.EncodeError, ValueError) as e:
            return {"error": str(e)}
    if op == "stream":
        feed = book.FeedHandler()
        events = []
        for d in request["datagrams"]:
            events.extend(feed.on_datagram(bytes.fromhex(d["hex"]), d.get("line", "A")))
        return book.scenario_json(feed, events, request["depth"])
    return {"unsupported": f"op {op!r}"}


def main():
    for line in sys.stdin:
        try:
            request = json.loads(line)
            response = answer(request)
            response["id"] = request.get("id")
        except (ValueError, KeyError) as e:
            response = {"error": f"bad request: {e}"}
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
