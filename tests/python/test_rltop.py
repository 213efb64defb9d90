"""Tests of the generated Python package, against the conformance vectors (built by the
Rust generator, not by this package) and against independent expectations."""

import io
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import rltop
from rltop import bulk, canonical, pcap
from rltop._runtime import _crc32c_py

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "conformance" / "vectors"


def message_cases():
    for path in sorted((VECTORS / "messages").glob("*.json")):
        for case in json.loads(path.read_text())["cases"]:
            yield pytest.param(case, id=case["name"])


def error_cases():
    for case in json.loads((VECTORS / "errors.json").read_text())["cases"]:
        yield pytest.param(case, id=case["name"])


def test_crc32c_check_values():
    # The catalogue check value, and RFC 3720 B.4 (32 zero bytes), in pure Python.
    assert _crc32c_py(b"123456789") == 0xE3069283
    assert _crc32c_py(bytes(32)) == 0x8A9136AA
    assert rltop.crc32c(b"123456789") == 0xE3069283


@pytest.mark.parametrize("case", list(message_cases()))
def test_vector_round_trip(case):
    data = bytes.fromhex(case["hex"])
    msg = rltop.decode(data)
    assert canonical.to_json(msg) == case["json"]
    assert canonical.dumps(msg) == json.dumps(case["json"], separators=(",", ":")), "key order is the vector's"
    assert rltop.encode(msg) == data
    assert rltop.encode(canonical.from_json(case["json"])) == data
    assert type(msg).SIZE == len(data)


@pytest.mark.parametrize("case", list(error_cases()))
def test_error_vectors(case):
    got = []
    for item in rltop.iter_datagram(bytes.fromhex(case["hex"])):
        if isinstance(item, rltop.DecodeError):
            err = {"kind": item.kind, "offset": item.offset}
            if item.field is not None:
                err["field"] = item.field
            got.append({"error": err})
        else:
            got.append({"message": canonical.to_json(item)})
    assert got == case["expect"]


def test_typed_api_and_errors():
    order = rltop.AddOrder(order_id=7, symbol_id=3, side=rltop.Side.Sell, price=-125, quantity=4,
                           flags=rltop.OrderFlags.PostOnly)
    order.header.seq_num = 99
    data = rltop.encode(order)
    assert data[:4] == b"OTLR" and len(data) == 128
    back = rltop.decode_as(rltop.AddOrder, data)
    assert back.side is rltop.Side.Sell and back.price == -125 and back.header.seq_num == 99
    assert rltop.OrderFlags.PostOnly in back.flags
    with pytest.raises(rltop.UnexpectedType) as e:
        rltop.decode_as(rltop.Trade, data)
    assert e.value.offset == 6
    bad = bytearray(data)
    bad[60] = 9  # side
    with pytest.raises(rltop.BadChecksum):
        rltop.decode(bytes(bad))
    with pytest.raises(rltop.Truncated):
        rltop.decode(data[:100])


def test_encoder_names_the_bad_field():
    with pytest.raises(rltop.EncodeError, match=r"AddOrder\.price: .* is outside"):
        rltop.encode(rltop.AddOrder(price=2**63))
    with pytest.raises(rltop.EncodeError, match=r"AddOrder\.side: .* not a defined value"):
        rltop.encode(rltop.AddOrder(side=5))
    with pytest.raises(rltop.EncodeError, match=r"InstrumentDefinition\.symbol: 17 characters, at most 16"):
        rltop.encode(rltop.InstrumentDefinition(symbol="X" * 17))
    with pytest.raises(rltop.EncodeError, match=r"OrderBookSnapshot\.bids: 11 entries, at most 10"):
        rltop.encode(rltop.OrderBookSnapshot(bids=[rltop.PriceLevel()] * 11))


def test_unknown_flag_bits_are_carried():
    data = rltop.encode(rltop.AddOrder(flags=0xF0))
    assert int(rltop.decode(data).flags) == 0xF0


def test_bulk_decode_matches_per_message_decode():
    import numpy as np  # the test command installs it: a missing numpy is a failure
    cases = json.loads((VECTORS / "messages" / "OrderBookSnapshot.json").read_text())["cases"]
    buf = b"".join(bytes.fromhex(c["hex"]) for c in cases)
    arr = bulk.decode_array(buf, rltop.OrderBookSnapshot, verify_checksum=True)
    assert len(arr) == len(cases)
    for row, case in zip(arr, cases):
        msg = rltop.decode(bytes.fromhex(case["hex"]))
        n = len(msg.bids)
        assert int(row["num_bid_levels"]) == n
        assert [int(p) for p in row["bids"]["price"][:n]] == [lv.price for lv in msg.bids]
        assert int(row["header"]["seq_num"]) == msg.header.seq_num
    assert arr.dtype.itemsize == 576 and isinstance(arr, np.ndarray)


def test_bulk_decode_reports_the_first_bad_message():
    one = bytes.fromhex(json.loads((VECTORS / "messages" / "TradeSnapshot.json").read_text())["cases"][0]["hex"])
    buf = bytearray(one * 5)
    entry0_side = 48 + 32  # trades[0].taker_side
    buf[3 * 256 + entry0_side] = 7
    count = buf[3 * 256 + 44]
    if count == 0:
        buf[3 * 256 + 44] = 1
    with pytest.raises(rltop.BadEnum) as e:
        bulk.decode_array(bytes(buf), rltop.TradeSnapshot)
    assert e.value.offset == 3 * 256 + entry0_side
    assert e.value.field == "TradeSnapshot.trades[0].taker_side"
    with pytest.raises(rltop.Truncated):
        bulk.decode_array(bytes(buf[:-1]), rltop.TradeSnapshot)


def test_native_checksum_pass_is_built_and_agrees_with_pure_python():
    """The C accelerator (rltop/_crc.c) is built by the README's pip install here, and it
    finds exactly the first message a byte-by-byte pure-Python CRC finds wrong."""
    import random

    from rltop import _runtime

    native = _runtime.NATIVE_CRC
    assert native is not None, "rltop._crc was not built by pip install ./generated/python"
    cases = json.loads((VECTORS / "messages" / "AddOrder.json").read_text())["cases"]
    one = bytes.fromhex(cases[0]["hex"])
    size, hole = len(one), rltop.messages.CHECKSUM_OFFSET

    def pure_first_bad(buf, count):
        for i in range(count):
            m = bytearray(buf[i * size:(i + 1) * size])
            stored = int.from_bytes(m[hole:hole + 4], "little")
            m[hole:hole + 4] = b"\0\0\0\0"
            if _crc32c_py(bytes(m)) != stored:
                return i
        return -1

    rng = random.Random(7)
    for _ in range(300):
        count = rng.randrange(0, 23)
        buf = bytearray(b"".join(bytes.fromhex(rng.choice(cases)["hex"]) for _ in range(count)))
        for _ in range(rng.randrange(0, 3)):
            if buf:
                buf[rng.randrange(len(buf))] ^= rng.randrange(1, 256)
        checked = rng.randrange(0, count + 1)
        assert native.first_bad_checksum(bytes(buf), size, hole, checked) == pure_first_bad(buf, checked)
    with pytest.raises(ValueError, match="do not fit"):
        native.first_bad_checksum(one, size, hole, 2)
    with pytest.raises(ValueError):
        native.first_bad_checksum(one, size, size - 3, 1)


def test_pcap_round_trip_and_dump(tmp_path):
    msgs = [rltop.Heartbeat(channel=rltop.Channel.Statistics, interval_ms=500), rltop.Trade(price=-3, quantity=2)]
    path = tmp_path / "cap.pcap"
    with open(path, "wb") as f:
        w = pcap.Writer(f)
        w.write(1_700_000_000_123_456_789, "10.0.0.1", "239.255.0.4", 40000, 9004, rltop.encode_datagram(msgs))
        w.write(1_700_000_000_223_456_789, "10.0.0.1", "239.255.0.4", 40000, 9004, b"\x00" * 12)
    with open(path, "rb") as f:
        pkts = list(pcap.read(f))
    assert [p.dst for p in pkts] == ["239.255.0.4", "239.255.0.4"]
    assert pkts[0].timestamp_ns == 1_700_000_000_123_456_789
    assert [type(m).__name__ for m in rltop.iter_datagram(pkts[0].payload)] == ["Heartbeat", "Trade"]
    out = subprocess.run([sys.executable, "-m", "rltop", "dump", str(path)], capture_output=True, text=True)
    lines = out.stdout.splitlines()
    assert out.returncode == 1, "an error was met, so the exit status says so"
    assert lines[0].startswith("#0 1700000000.123456789 10.0.0.1:40000 > 239.255.0.4:9004 {")
    assert lines[2].startswith("#1 1700000000.223456789 ")
    assert '"type":"Heartbeat"' in lines[0] and '"type":"Trade"' in lines[1]
    assert "ERROR Truncated offset=0" in lines[2]


def test_dump_raw_file(tmp_path):
    path = tmp_path / "raw.bin"
    path.write_bytes(rltop.encode(rltop.Heartbeat(interval_ms=1)))
    out = io.StringIO()
    from rltop.__main__ import dump

    assert dump(str(path), out) == 0
    assert '"interval_ms":1' in out.getvalue()


def _raw_record(timestamp_ns: int, frame: bytes, wire_len: int = 0) -> bytes:
    sec, ns = divmod(timestamp_ns, 1_000_000_000)
    return struct.pack("<IIII", sec, ns, len(frame), max(wire_len, len(frame))) + frame


def test_pcap_records_are_numbered_in_the_file_and_say_why_they_hold_no_datagram(tmp_path):
    # Python's Writer, then frames edited or written by hand: what tshark numbers 1, 2, ...
    buf = io.BytesIO()
    w = pcap.Writer(buf)
    msg = rltop.encode(rltop.Heartbeat(interval_ms=5))
    for i in range(2):
        w.write(1_000 + i, "10.0.0.1", "239.255.0.4", 40000, 9004, msg)
    head, whole = buf.getvalue()[:24], buf.getvalue()[24 + 16:24 + 16 + 42 + len(msg)]
    arp = b"\xff" * 6 + b"\x02\x00\x0a\x00\x00\x01\x08\x06" + bytes(28)
    frag = whole[:20] + b"\x20\x00" + whole[22:]  # more fragments
    tail = whole[:20] + (1480 // 8).to_bytes(2, "big") + whole[22:]
    ipv6 = whole[:14] + b"\x65" + whole[15:]
    records = [_raw_record(2_000, arp), _raw_record(2_001, frag), _raw_record(2_002, tail),
               _raw_record(2_003, ipv6), _raw_record(2_004, whole[:60], len(whole))]
    path = tmp_path / "odd.pcap"
    path.write_bytes(buf.getvalue() + b"".join(records))
    with open(path, "rb") as f:
        got = list(pcap.records(f))
    assert [r.index for r in got] == list(range(7))
    assert [type(r).__name__ for r in got] == ["Packet"] * 2 + ["Skipped"] * 5
    assert [(r.reason, r.damaged) for r in got[2:]] == [
        ("ethertype 0x0806 is not IPv4", False),
        ("IPv4 fragment at offset 0, more follow: fragments are not reassembled", False),
        ("IPv4 fragment at offset 1480, the last: fragments are not reassembled", False),
        ("IP version 6 is not IPv4", False),
        (f"packet cut short in the capture: IPv4 total length {len(whole) - 14}, 46 bytes captured", True),
    ]
    # The packets alone: other protocols and fragments passed over, a damaged one an error.
    with open(path, "rb") as f, pytest.raises(pcap.PcapError, match="record at byte .*: packet cut short"):
        assert len([p.index for p in pcap.read(f)]) == 2
    out = subprocess.run([sys.executable, "-m", "rltop", "dump", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[2:] == [
        "#2 0.000002000 SKIP ethertype 0x0806 is not IPv4",
        "#3 0.000002001 SKIP IPv4 fragment at offset 0, more follow: fragments are not reassembled",
        "#4 0.000002002 SKIP IPv4 fragment at offset 1480, the last: fragments are not reassembled",
        "#5 0.000002003 SKIP IP version 6 is not IPv4",
        f"#6 0.000002004 SKIP packet cut short in the capture: IPv4 total length {len(whole) - 14}, 46 bytes captured",
    ]


def test_dump_error_lines_name_kind_offset_field_and_detail(tmp_path):
    good = rltop.encode(rltop.AddOrder(side=rltop.Side.Buy))
    bad = bytearray(good)
    bad[60] = 7
    bad[32:36] = rltop._runtime.crc_with_hole(bad, 0, len(bad), 32).to_bytes(4, "little")
    path = tmp_path / "raw.bin"
    path.write_bytes(good + bytes(bad))
    out = io.StringIO()
    from rltop.__main__ import dump

    assert dump(str(path), out) == 1
    assert out.getvalue().splitlines()[1] == f"{path} ERROR BadEnum offset=188 field=AddOrder.side: invalid value 7"
    e = list(rltop.iter_datagram(bytes(bad)))[0]
    assert (e.kind, e.offset, e.field, e.detail) == ("BadEnum", 60, "AddOrder.side", "invalid value 7")
    assert str(e) == "invalid value 7 at byte 60 (AddOrder.side)", "the exception's text is unchanged"


def test_dump_into_a_reader_that_stops_exits_quietly(tmp_path):
    # As `python -m rltop dump big.pcap | head -1`: the reader closes after one line.
    path = tmp_path / "many.bin"
    path.write_bytes(rltop.encode(rltop.Heartbeat(interval_ms=1)) * 20_000)
    dump = subprocess.Popen([sys.executable, "-m", "rltop", "dump", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = dump.stdout.readline()
    dump.stdout.close()
    assert dump.wait(timeout=60) == 0
    assert b'"interval_ms":1' in first
    assert dump.stderr.read() == b"", "no BrokenPipe message"


def test_numpy_not_imported_by_default():
    code = "import sys, rltop; rltop.decode(rltop.encode(rltop.Heartbeat())); print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ})
    assert out.stdout.strip() == "False"


def test_bulk_header_check_in_a_later_chunk():
    import numpy  # noqa: F401  (installed by the test command)

    one = rltop.encode(rltop.AddOrder(side=rltop.Side.Buy))
    buf = bytearray(one * 10_000)
    buf[9_000 * 128 + 1] ^= 0xFF  # magic of message 9000, well past the first chunk
    buf[9_500 * 128 + 60] = 7  # and a bad side later: the first fault wins
    with pytest.raises(rltop.BadMagic) as e:
        bulk.decode_array(bytes(buf), rltop.AddOrder)
    assert e.value.offset == 9_000 * 128
    buf[9_000 * 128 + 1] ^= 0xFF
    with pytest.raises(rltop.BadEnum) as e:
        bulk.decode_array(bytes(buf), rltop.AddOrder)
    assert e.value.offset == 9_500 * 128 + 60 and e.value.field == "AddOrder.side"
