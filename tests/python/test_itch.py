"""The generated ITCH 5.0 package (generated/itch50/python): its numpy bulk decoder against its
own per-message decoder, on messages it encodes. (Its per-message decoding is held to the Rust
crate's and the C header's, line by line, by codec-tests/tests/itch.rs.)"""

import random
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "generated" / "itch50" / "python"))

import itch  # noqa: E402
import itch.bulk  # noqa: E402

STOCKS = ["AAPL", "MSFT", "BRK A", "ZVZZT"]


def sample(n):
    rng = random.Random(7)
    out = []
    for i in range(n):
        t = 34_200_000_000_000 + i * 1_000
        head = dict(stock_locate=rng.randrange(1, 9000), tracking_number=rng.randrange(1 << 16), timestamp=t)
        k = i % 4
        if k == 0:
            m = itch.AddOrder(order_reference_number=rng.getrandbits(64), buy_sell_indicator=rng.choice(list(itch.BuySell)),
                              shares=rng.randrange(100_000), stock=rng.choice(STOCKS), price=rng.randrange(1 << 32), **head)
        elif k == 1:
            m = itch.OrderExecuted(order_reference_number=rng.getrandbits(64), executed_shares=rng.randrange(1000),
                                   match_number=rng.getrandbits(64), **head)
        elif k == 2:
            m = itch.MwcbDeclineLevel(level1=rng.getrandbits(64), level2=0, level3=rng.getrandbits(40), **head)
        else:
            m = itch.StockTradingAction(stock=rng.choice(STOCKS), trading_state=rng.choice(list(itch.TradingState)),
                                        reason="LUDP", **head)
        out.append(m.encode())
    return out


def file_of(messages):
    return b"".join(len(m).to_bytes(2, "big") + m for m in messages)


def test_columns_equal_the_per_message_decoding():
    messages = sample(4_000)
    tables = itch.bulk.load(file_of(messages))
    decoded = [itch.decode(m) for m in messages]
    for name, columns in tables.items():
        rows = [d for d in decoded if type(d).__name__ == name]
        assert rows, name
        for field, column in columns.items():
            assert len(column) == len(rows), (name, field)
            for value, row in zip(column.tolist(), rows):
                expected = getattr(row, field)
                if isinstance(value, bytes):
                    value = value.decode("ascii")
                assert value == (int(expected) if not isinstance(expected, str) else expected), (name, field)
    assert set(tables) == {"AddOrder", "OrderExecuted", "MwcbDeclineLevel", "StockTradingAction"}


def test_byte_orders_are_dtypes_and_48_bit_columns_are_assembled():
    tables = itch.bulk.load(file_of(sample(8)))
    adds = tables["AddOrder"]
    assert adds["price"].dtype == np.dtype(">u4")
    assert adds["order_reference_number"].dtype == np.dtype(">u8")
    assert adds["timestamp"].dtype == np.uint64
    assert adds["timestamp"].tolist() == [34_200_000_000_000, 34_200_000_004_000]
    assert adds["stock"].dtype.kind == "S"


def test_a_damaged_file_raises_what_decode_raises_at_its_byte():
    messages = sample(40)
    bad = bytearray(messages[8])  # an AddOrder
    bad[19] = ord("X")
    messages[8] = bytes(bad)
    data = file_of(messages)
    with pytest.raises(itch.DecodeError) as e:
        itch.bulk.load(data)
    start = sum(len(m) + 2 for m in messages[:8]) + 2
    assert (e.value.kind, e.value.offset, e.value.field, e.value.value) == ("BadEnum", start + 19, "AddOrder.buy_sell_indicator", ord("X"))
    with pytest.raises(itch.DecodeError) as d:
        itch.decode(messages[8], start)
    assert (d.value.kind, d.value.offset) == (e.value.kind, e.value.offset)
    with pytest.raises(itch.DecodeError) as cut:
        itch.bulk.load(data[:-3])
    assert cut.value.kind == "Truncated"


def test_an_enumeration_given_as_its_code_is_named_in_json_and_a_bad_code_is_refused():
    m = itch.AddOrder(buy_sell_indicator=ord("S"))
    assert '"buy_sell_indicator":"Sell"' in m.to_json()
    assert itch.decode(m.encode()).to_json() == m.to_json()
    with pytest.raises(ValueError, match="88 is not a valid BuySell"):
        itch.AddOrder(buy_sell_indicator=ord("X")).to_json()
