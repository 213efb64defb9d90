"""The generated ITCH 5.0 Python package in bench-itch: per-message decoding and numpy bulk
decoding of the file bench-itch writes, folding the same fields as the Rust side into the
same checksum. Prints one JSON object. Usage: bench_itch.py FILE PER_MESSAGE_COUNT
(generated/itch50/python on sys.path is set up here)."""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "generated" / "itch50" / "python"))

import itch  # noqa: E402
import itch.bulk  # noqa: E402

MASK = (1 << 64) - 1
FIELD = {
    "AddOrder": "order_reference_number",
    "AddOrderMpid": "order_reference_number",
    "OrderExecuted": "match_number",
    "OrderExecutedWithPrice": "match_number",
    "OrderCancel": "order_reference_number",
    "OrderDelete": "order_reference_number",
    "OrderReplace": "new_order_reference_number",
    "Trade": "match_number",
    "CrossTrade": "match_number",
    "BrokenTrade": "match_number",
    "Noii": "paired_shares",
    "MwcbDeclineLevel": "level1",
}


def per_message(data, limit):
    pos, n, total = 0, 0, 0
    while pos + 2 <= len(data) and n < limit:
        size = int.from_bytes(data[pos:pos + 2], "big")
        m = itch.decode(data[pos + 2:pos + 2 + size], pos + 2)
        field = FIELD.get(type(m).__name__)
        if field is None:
            total = (total * 31 + m.TYPE_CODE) & MASK
        else:
            total = (total * 31 + (m.timestamp ^ m.stock_locate ^ getattr(m, field))) & MASK
        n += 1
        pos += 2 + size
    return n, total


def main(path, limit):
    data = Path(path).read_bytes()
    start = time.perf_counter()
    n, total = per_message(data, limit)
    per_message_rate = n / (time.perf_counter() - start)
    start = time.perf_counter()
    tables = itch.bulk.load(data)
    bulk_rate = sum(len(next(iter(c.values()))) for c in tables.values()) / (time.perf_counter() - start)
    print(json.dumps({
        "per_message_messages": n,
        "per_message_checksum": str(total),
        "per_message_msgs_per_s": per_message_rate,
        "bulk_messages": sum(len(next(iter(c.values()))) for c in tables.values()),
        "bulk_msgs_per_s": bulk_rate,
    }))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
