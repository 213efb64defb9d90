"""rltop.book against the simulator's oracle: `rltop sim` writes a capture and the final books of
its matching engines; the Python book builder, fed the capture through a lossy, reordering
network (and redundant A/B lines), must end live with exactly those books — as the Rust feed
handler does in reference/sim/tests/oracle.rs. Plus the book's refusals, which change nothing."""

import json
import os
import random
import subprocess
from pathlib import Path

import pytest

import rltop
from rltop import book, pcap
from rltop.book import Book, BookError, BookChanged, FeedHandler, Recovered, Rejected, Stale

ROOT = Path(__file__).resolve().parents[2]
SETTLE_NS = 3_000_000_000


@pytest.fixture(scope="module", params=[1, 2])
def capture(request, tmp_path_factory):
    """(packets, oracle books by symbol) of one simulator run."""
    seed = request.param
    d = tmp_path_factory.mktemp(f"sim{seed}")
    cap, books = d / "capture.pcap", d / "books.json"
    subprocess.run(
        [os.environ.get("CARGO", "cargo"), "run", "-q", "-p", "rltop-cli", "--", "sim",
         "--out", str(cap), "--books", str(books), "--seed", str(seed),
         "--instruments", "3", "--events", "15000", "--quiet-tail", "6"],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )
    with open(cap, "rb") as f:
        packets = list(pcap.read(f))
    oracle = {b["symbol_id"]: b for b in json.loads(books.read_text())}
    assert packets and len(oracle) == 3
    return packets, oracle


def network(packets, rng, loss, reorder=0.05):
    """Loss (random or in bursts), then adjacent pairs swapped; the last seconds (the quiet
    tail's final snapshots) are delivered, so the books must be right once it settles."""
    settle = packets[-1].timestamp_ns - SETTLE_NS
    out, burst = [], 0
    for p in packets:
        if loss[0] == "random":
            lost = rng.random() < loss[1]
        else:
            if burst == 0 and rng.random() < loss[1]:
                burst = loss[2]
            lost = burst > 0
            burst = max(0, burst - 1)
        if not lost or p.timestamp_ns >= settle:
            out.append(p)
    for i in range(1, len(out)):
        if out[i].timestamp_ns < settle and rng.random() < reorder:
            out[i - 1], out[i] = out[i], out[i - 1]
    return out


def levels(side):
    return [(int(l["price"]), int(l["quantity"]), l["order_count"]) for l in side]


def assert_oracle_books(feed, oracle, what):
    for sym, want in oracle.items():
        b = feed.book(sym)
        assert b is not None, f"{what}: no book for instrument {sym}"
        assert feed.is_live(sym), f"{what}: instrument {sym} still stale"
        assert [tuple(l) for l in b.top(rltop.Side.Buy, 10)] == levels(want["bids"]), f"{what}: {sym} bids"
        assert [tuple(l) for l in b.top(rltop.Side.Sell, 10)] == levels(want["asks"]), f"{what}: {sym} asks"


def test_lossless_feed_is_followed_order_by_order(capture):
    packets, oracle = capture
    feed = FeedHandler()
    bad = [e for p in packets for e in feed.on_datagram(p.payload) if isinstance(e, (Stale, Rejected))]
    assert bad == []
    assert_oracle_books(feed, oracle, "lossless")
    assert all(feed.book(s).order_complete for s in oracle)


@pytest.mark.parametrize(
    "loss", [("random", 0.01), ("random", 0.05), ("random", 0.20), ("bursts", 0.01, 25)],
    ids=["1%", "5%", "20%", "bursts"],
)
def test_every_loss_pattern_ends_with_the_oracle_books(capture, loss):
    packets, oracle = capture
    feed = FeedHandler()
    stale = recovered = 0
    for p in network(packets, random.Random(7), loss):
        for e in feed.on_datagram(p.payload):
            stale += isinstance(e, Stale)
            recovered += isinstance(e, Recovered)
    assert stale > 0 and recovered > 0, "the loss was felt and repaired"
    assert_oracle_books(feed, oracle, str(loss))


def test_ab_lines_with_independent_loss(capture):
    packets, oracle = capture
    a = network(packets, random.Random(1), ("random", 0.2), reorder=0)
    b = network(packets, random.Random(2), ("random", 0.2), reorder=0)
    feed = FeedHandler()
    merged = sorted([(p.timestamp_ns, 0, p) for p in a] + [(p.timestamp_ns, 1, p) for p in b],
                    key=lambda t: (t[0], t[1]))
    for _, line, p in merged:
        feed.on_datagram(p.payload, "AB"[line])
    assert_oracle_books(feed, oracle, "A/B")


# -- the book's refusals ----------------------------------------------------------------------


def add(oid, side, price, qty, level, hidden=False):
    return rltop.AddOrder(
        order_id=oid, side=side, price=price, quantity=qty,
        flags=rltop.OrderFlags.Hidden if hidden else rltop.OrderFlags(0),
        level_quantity=level[0], level_order_count=level[1],
    )


def snapshot_of(b):
    return (b.top(rltop.Side.Buy, 100), b.top(rltop.Side.Sell, 100), b.order_count())


def refused(b, apply, kind):
    before = snapshot_of(b)
    with pytest.raises(BookError) as e:
        apply(b)
    assert e.value.kind == kind, str(e.value)
    assert snapshot_of(b) == before, "a refusal changes nothing"


def test_refusals_change_nothing():
    Buy, Sell = rltop.Side.Buy, rltop.Side.Sell
    b = Book()
    b.add(add(1, Buy, 100, 10, (10, 1)))
    b.add(add(2, Sell, 105, 5, (5, 1)))
    refused(b, lambda b: b.add(add(3, Buy, 100, 5, (16, 2))), "LevelMismatch")
    refused(b, lambda b: b.add(add(3, Buy, 105, 5, (5, 1))), "Crossed")
    refused(b, lambda b: b.add(add(1, Buy, 99, 5, (5, 1))), "DuplicateOrder")
    refused(b, lambda b: b.add(add(3, Buy, 99, 0, (0, 0))), "ZeroQuantity")
    refused(b, lambda b: b.add(add(3, Buy, 99, 5, (5, 0))), "InvalidLevel")
    refused(b, lambda b: b.delete(rltop.DeleteOrder(order_id=9, side=Buy, price=100)), "UnknownOrder")
    refused(b, lambda b: b.delete(rltop.DeleteOrder(order_id=1, side=Sell, price=100)), "OrderMismatch")
    refused(b, lambda b: b.execute(rltop.ExecuteOrder(
        order_id=2, side=Sell, price=105, executed_quantity=6, remaining_quantity=0)), "Overfill")
    refused(b, lambda b: b.execute(rltop.ExecuteOrder(
        order_id=2, side=Sell, price=105, executed_quantity=2, remaining_quantity=2,
        level_quantity=3, level_order_count=1)), "RemainingMismatch")
    refused(b, lambda b: b.modify(rltop.ModifyOrder(
        order_id=1, side=Buy, modify_type=rltop.ModifyType.QuantityIncrease, old_price=100,
        new_price=100, new_quantity=4, old_level_quantity=4, new_level_quantity=4,
        old_level_order_count=1, new_level_order_count=1)), "InconsistentModify")
    # A hidden order rests (and counts for crossing) without showing in its level.
    b.add(add(4, Buy, 101, 7, (0, 0), hidden=True))
    assert b.best_bid() == book.Level(100, 10, 1)
    refused(b, lambda b: b.add(add(5, Sell, 101, 1, (1, 1))), "Crossed")
    assert b.order_count() == 3


def test_stream_events_name_their_cause():
    # A late joiner's first increment: buffered, and the instrument says why it is stale.
    m = rltop.AddOrder(order_book_seq=5, order_id=1, symbol_id=3, side=rltop.Side.Buy,
                       price=10, quantity=1, level_quantity=1, level_order_count=1)
    m.header.session_id, m.header.seq_num = 2, 1
    feed = FeedHandler()
    assert feed.on_datagram(rltop.encode(m)) == [Stale(3, "awaiting_snapshot")]
    assert not feed.is_live(3) and feed.order_book_seq(3) == 0
    m2 = rltop.AddOrder(order_book_seq=1, order_id=2, symbol_id=4, side=rltop.Side.Sell,
                        price=10, quantity=1, level_quantity=1, level_order_count=1)
    m2.header.session_id, m2.header.seq_num = 2, 2
    events = feed.on_datagram(rltop.encode(m2))
    assert [type(e) for e in events] == [BookChanged] and events[0].symbol_id == 4
