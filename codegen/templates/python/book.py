"""A small book builder: datagrams in, per-instrument books and events out, by the subscriber
procedure of SPEC.md §8 — the same rules as the Rust feed handler (``rltop-feed``), written
for clarity rather than speed. Both pass the stream scenarios of ``conformance/``.

    feed = rltop.book.FeedHandler()
    for event in feed.on_datagram(payload):        # or on_datagram(payload, line="B")
        if isinstance(event, rltop.book.BookChanged):
            print(event.symbol_id, event.book.top(rltop.Side.Buy, 5))

A :class:`Book` followed from the instrument's first increment is *order-complete*: it knows
every order, applies increments by order id and checks the level state each one states.
After a snapshot it is a *level book*: increments set the levels they name. Every operation
checks first and changes nothing when it raises :class:`BookError`.
"""

from typing import Dict, List, NamedTuple, Optional, Union

from ._runtime import DecodeError
from .messages import (
    AddOrder, DeleteOrder, ExecuteOrder, ModifyOrder, ModifyType, OrderBookSnapshot, OrderFlags,
    Side, Trade, iter_datagram,
)

#: How far back (in seq_num) a session remembers what it has seen, as rltop-feed does.
WINDOW = 4096


class BookError(ValueError):
    """An increment or snapshot that does not fit the book; ``kind`` names the rule (the
    names of rltop-book's ``BookError``). The book is unchanged."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


class Level(NamedTuple):
    """A visible price level."""

    price: int
    quantity: int
    order_count: int


class _Order:
    __slots__ = ("side", "price", "qty", "hidden")

    def __init__(self, side: Side, price: int, qty: int, hidden: bool):
        self.side, self.price, self.qty, self.hidden = side, price, qty, hidden


def _check_level(side: Side, price: int, qty: int, count: int) -> None:
    if (count == 0) != (qty == 0):
        raise BookError("InvalidLevel", f"{side.name} level {price}: {qty} quantity with {count} orders")


def _expect(side: Side, price: int, stated, computed) -> None:
    if tuple(stated) != tuple(computed):
        raise BookError(
            "LevelMismatch",
            f"{side.name} level {price}: increment states {stated[0]}/{stated[1]} (qty/orders), "
            f"book has {computed[0]}/{computed[1]}",
        )


class Book:
    """One instrument's book (see the module's documentation)."""

    def __init__(self):
        self.order_complete = True
        self._orders: Dict[int, _Order] = {}
        # price -> [visible quantity, visible orders, all orders (hidden too)]
        self._levels: Dict[Side, Dict[int, List[int]]] = {Side.Buy: {}, Side.Sell: {}}

    # -- reading ------------------------------------------------------------------------------

    def top(self, side: Side, n: int) -> List[Level]:
        """The best ``n`` visible levels of a side, best first."""
        levels = self._levels[side]
        prices = sorted((p for p, l in levels.items() if l[1] > 0), reverse=side == Side.Buy)
        return [Level(p, levels[p][0], levels[p][1]) for p in prices[:n]]

    def best_bid(self) -> Optional[Level]:
        return next(iter(self.top(Side.Buy, 1)), None)

    def best_ask(self) -> Optional[Level]:
        return next(iter(self.top(Side.Sell, 1)), None)

    def spread(self) -> Optional[int]:
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else ask.price - bid.price

    def order_count(self) -> int:
        return len(self._orders)

    def _now(self, side: Side, price: int):
        l = self._levels[side].get(price)
        return (l[0], l[1]) if l else (0, 0)

    def _crosses(self, side: Side, price: int) -> None:
        # Any level resting on the other side counts, hidden orders included.
        other = self._levels[Side.Sell if side == Side.Buy else Side.Buy]
        if not other:
            return
        if side == Side.Buy and price >= min(other):
            raise BookError("Crossed", f"crossed book: bid {price} ≥ ask {min(other)}")
        if side == Side.Sell and price <= max(other):
            raise BookError("Crossed", f"crossed book: bid {max(other)} ≥ ask {price}")

    def _level_crosses(self, side: Side, price: int, count: int) -> None:
        # A level book takes the level states increments state: one left with orders must not
        # cross (a delete or execution naming a level the book never had would).
        if count:
            self._crosses(side, price)

    def _resting(self, order_id: int, side: Side, price: int) -> _Order:
        o = self._orders.get(order_id)
        if o is None:
            raise BookError("UnknownOrder", f"order {order_id} is not in the book")
        if o.side != side or o.price != price:
            what = "side" if o.side != side else "price"
            raise BookError("OrderMismatch", f"order {order_id}: {what} differs from the resting order's")
        return o

    # -- changing -----------------------------------------------------------------------------

    def _set_level(self, side: Side, price: int, qty: int, count: int) -> None:
        levels = self._levels[side]
        if count == 0:
            l = levels.get(price)
            if l is not None:
                l[0] = l[1] = 0
                if l[2] == 0:
                    del levels[price]
        else:
            l = levels.setdefault(price, [0, 0, 0])
            l[0], l[1] = qty, count

    def _link(self, o: _Order) -> None:
        l = self._levels[o.side].setdefault(o.price, [0, 0, 0])
        l[2] += 1
        if not o.hidden:
            l[0] += o.qty
            l[1] += 1

    def _unlink(self, o: _Order) -> None:
        levels = self._levels[o.side]
        l = levels[o.price]
        l[2] -= 1
        if not o.hidden:
            l[0] -= o.qty
            l[1] -= 1
        if l[1] == 0 and l[2] == 0:
            del levels[o.price]

    def add(self, m: AddOrder) -> None:
        side, price, hidden = m.side, m.price, bool(m.flags & OrderFlags.Hidden)
        if m.quantity == 0:
            raise BookError("ZeroQuantity", f"order {m.order_id}: zero quantity")
        _check_level(side, price, m.level_quantity, m.level_order_count)
        self._crosses(side, price)
        if not self.order_complete:
            self._set_level(side, price, m.level_quantity, m.level_order_count)
            return
        if m.order_id in self._orders:
            raise BookError("DuplicateOrder", f"order {m.order_id} is already in the book")
        qty, count = self._now(side, price)
        after = (qty, count) if hidden else (qty + m.quantity, count + 1)
        _expect(side, price, (m.level_quantity, m.level_order_count), after)
        o = _Order(side, price, m.quantity, hidden)
        self._orders[m.order_id] = o
        self._link(o)

    def modify(self, m: ModifyOrder) -> None:
        side, oid = m.side, m.order_id
        _check_level(side, m.old_price, m.old_level_quantity, m.old_level_order_count)
        _check_level(side, m.new_price, m.new_level_quantity, m.new_level_order_count)
        if m.new_quantity == 0:
            raise BookError("ZeroQuantity", f"order {oid}: zero quantity")
        moved = m.new_price != m.old_price
        if moved != (m.modify_type == ModifyType.PriceModify):
            raise BookError("InconsistentModify", f"order {oid}: modify type {m.modify_type.name} does not match the change")
        if moved:
            self._crosses(side, m.new_price)
        old_stated = (m.old_level_quantity, m.old_level_order_count)
        new_stated = (m.new_level_quantity, m.new_level_order_count)
        if not self.order_complete:
            self._level_crosses(side, m.old_price, m.old_level_order_count)
            self._level_crosses(side, m.new_price, m.new_level_order_count)
            self._set_level(side, m.old_price, *old_stated)
            self._set_level(side, m.new_price, *new_stated)
            return
        o = self._resting(oid, side, m.old_price)
        kind_ok = {
            ModifyType.PriceModify: True,
            ModifyType.QuantityDecrease: m.new_quantity < o.qty,
            ModifyType.QuantityIncrease: m.new_quantity > o.qty,
        }[m.modify_type]
        if not kind_ok:
            raise BookError("InconsistentModify", f"order {oid}: modify type {m.modify_type.name} does not match the change")
        vis = 0 if o.hidden else 1
        qty, count = self._now(side, m.old_price)
        if moved:
            nqty, ncount = self._now(side, m.new_price)
            _expect(side, m.old_price, old_stated, (qty - vis * o.qty, count - vis))
            _expect(side, m.new_price, new_stated, (nqty + vis * m.new_quantity, ncount + vis))
        else:
            after = (qty - vis * o.qty + vis * m.new_quantity, count)
            _expect(side, m.old_price, old_stated, after)
            _expect(side, m.new_price, new_stated, after)
        # A price change or an increase loses queue priority (this builder keeps no queues,
        # only what the levels show).
        self._unlink(o)
        o.price, o.qty = m.new_price, m.new_quantity
        self._link(o)

    def delete(self, m: DeleteOrder) -> None:
        side, price = m.side, m.price
        _check_level(side, price, m.level_quantity, m.level_order_count)
        if not self.order_complete:
            self._level_crosses(side, price, m.level_order_count)
            self._set_level(side, price, m.level_quantity, m.level_order_count)
            return
        o = self._resting(m.order_id, side, price)
        qty, count = self._now(side, price)
        after = (qty, count) if o.hidden else (qty - o.qty, count - 1)
        _expect(side, price, (m.level_quantity, m.level_order_count), after)
        self._unlink(o)
        del self._orders[m.order_id]

    def execute(self, m: ExecuteOrder) -> None:
        side, price, oid = m.side, m.price, m.order_id
        if m.executed_quantity == 0:
            raise BookError("ZeroQuantity", f"order {oid}: zero quantity")
        _check_level(side, price, m.level_quantity, m.level_order_count)
        if not self.order_complete:
            self._level_crosses(side, price, m.level_order_count)
            self._set_level(side, price, m.level_quantity, m.level_order_count)
            return
        o = self._resting(oid, side, price)
        if m.executed_quantity > o.qty:
            raise BookError("Overfill", f"order {oid}: {m.executed_quantity} executed, only {o.qty} resting")
        left = o.qty - m.executed_quantity
        if left != m.remaining_quantity:
            raise BookError("RemainingMismatch", f"order {oid}: {m.remaining_quantity} stated remaining, {left} computed")
        qty, count = self._now(side, price)
        if o.hidden:
            after = (qty, count)
        elif left == 0:
            after = (qty - o.qty, count - 1)
        else:
            after = (qty - m.executed_quantity, count)
        _expect(side, price, (m.level_quantity, m.level_order_count), after)
        self._unlink(o)
        if left == 0:
            del self._orders[oid]
        else:
            o.qty = left
            self._link(o)

    def apply_snapshot(self, s: OrderBookSnapshot) -> None:
        """Replaces the book with the snapshot's levels: a level book from now on."""
        bids = [(l.price, l.quantity, l.order_count) for l in s.bids]
        asks = [(l.price, l.quantity, l.order_count) for l in s.asks]
        if any(a[0] <= b[0] for a, b in zip(bids, bids[1:])) or any(
            a[0] >= b[0] for a, b in zip(asks, asks[1:])
        ):
            raise BookError("InvalidSnapshot", "invalid snapshot: levels not strictly ordered from the best")
        if any(q == 0 or c == 0 for _, q, c in bids + asks):
            raise BookError("InvalidSnapshot", "invalid snapshot: a level without quantity or orders")
        if bids and asks and bids[0][0] >= asks[0][0]:
            raise BookError("InvalidSnapshot", "invalid snapshot: crossed")
        self.__init__()
        self.order_complete = False
        for side, levels in ((Side.Buy, bids), (Side.Sell, asks)):
            for price, qty, count in levels:
                self._set_level(side, price, qty, count)

    def apply(self, m) -> None:
        """Applies an increment message (AddOrder, ModifyOrder, DeleteOrder, ExecuteOrder)."""
        _APPLY[type(m)](self, m)


_APPLY = {
    AddOrder: Book.add,
    ModifyOrder: Book.modify,
    DeleteOrder: Book.delete,
    ExecuteOrder: Book.execute,
}


# -- events -------------------------------------------------------------------------------------


class BookChanged(NamedTuple):
    """An increment or a snapshot was applied (once per replay of buffered increments)."""

    symbol_id: int
    order_book_seq: int
    book: Book


class Stale(NamedTuple):
    """The book is not to be trusted until :class:`Recovered`. ``cause``: ``awaiting_snapshot``,
    ``gap``, ``refused`` (``error`` says why) or ``buffer_overflow``."""

    symbol_id: int
    cause: str
    error: Optional[BookError] = None


class Recovered(NamedTuple):
    """The book is live again; ``replayed`` buffered increments were applied."""

    symbol_id: int
    order_book_seq: int
    replayed: int


class SessionGap(NamedTuple):
    session_id: int
    expected: int
    received: int


class Rejected(NamedTuple):
    """A message that failed verification."""

    error: DecodeError


class Received(NamedTuple):
    """Any other message: trades, statistics, definitions, heartbeats, top-of-book."""

    message: object


Event = Union[BookChanged, Stale, Recovered, SessionGap, Rejected, Received]


class _Session:
    """Which seq_nums of a session have been seen, over a window (rltop-feed's SeqWindow)."""

    __slots__ = ("highest", "seen")

    def __init__(self):
        self.highest: Optional[int] = None
        self.seen = set()

    def arrive(self, s: int):
        """``"in_order"``, ``("gap", expected)``, ``"late"`` or ``"duplicate"``."""
        if self.highest is None or s > self.highest:
            prev, self.highest = self.highest, s
            self.seen.add(s)
            if len(self.seen) > 2 * WINDOW:
                self.seen = {x for x in self.seen if s - x < WINDOW}
            if prev is None or s == prev + 1:
                return "in_order"
            return ("gap", prev + 1)
        if self.highest - s >= WINDOW or s in self.seen:
            return "duplicate"
        self.seen.add(s)
        return "late"


class _Instrument:
    def __init__(self):
        self.book = Book()
        self.live = False
        self.last = 0  # order_book_seq of the last increment applied, or of the snapshot
        self.started = False  # has a starting point: empty at 0, or a snapshot
        self.buffer: Dict[int, object] = {}
        self.epoch = 0  # the handler's gap epoch when this book was last known complete


class FeedHandler:
    """Datagrams in, books and events out (see the module's documentation)."""

    def __init__(self, max_buffered: int = 1 << 16):
        self.max_buffered = max_buffered
        self._sessions: Dict[int, _Session] = {}
        self._instruments: Dict[int, _Instrument] = {}
        # Counts session gaps: a book that has applied nothing in order since the last one may
        # have lost increments nobody has seen missing yet.
        self._gap_epoch = 0

    def symbols(self) -> List[int]:
        return sorted(self._instruments)

    def book(self, symbol_id: int) -> Optional[Book]:
        i = self._instruments.get(symbol_id)
        return i.book if i else None

    def is_live(self, symbol_id: int) -> bool:
        i = self._instruments.get(symbol_id)
        return bool(i and i.live)

    def order_book_seq(self, symbol_id: int) -> Optional[int]:
        i = self._instruments.get(symbol_id)
        return i.last if i else None

    def on_datagram(self, datagram: bytes, line: str = "A") -> List[Event]:
        """The events one datagram causes, in order. ``line`` (A or B) is informational: A/B
        copies of a session are duplicates of each other, whichever comes first is used."""
        events: List[Event] = []
        for item in iter_datagram(datagram):
            if isinstance(item, DecodeError):
                events.append(Rejected(item))
            else:
                self._on_message(item, events)
        return events

    def _on_message(self, m, events: List[Event]) -> None:
        h = m.header
        arrival = self._sessions.setdefault(h.session_id, _Session()).arrive(h.seq_num)
        if arrival == "duplicate":
            return
        if isinstance(arrival, tuple):
            self._gap_epoch += 1
            events.append(SessionGap(h.session_id, arrival[1], h.seq_num))
        if type(m) in _APPLY:
            self._on_increment(m, events)
        elif isinstance(m, OrderBookSnapshot):
            self._on_snapshot(m, events)
        else:
            events.append(Received(m))

    def _on_increment(self, m, events: List[Event]) -> None:
        sym, seq = m.symbol_id, m.order_book_seq
        inst = self._instruments.setdefault(sym, _Instrument())
        if not inst.started:
            if seq == 1:
                # The instrument's first increment: follow it from the empty book.
                inst.started, inst.live, inst.epoch = True, True, self._gap_epoch
            else:
                if not inst.buffer:
                    events.append(Stale(sym, "awaiting_snapshot"))
                self._buffer(inst, sym, seq, m, events)
                return
        if seq <= inst.last:
            return  # already applied
        if inst.live and seq == inst.last + 1:
            try:
                inst.book.apply(m)
            except BookError as e:
                inst.live = False
                inst.buffer.clear()
                events.append(Stale(sym, "refused", e))
                return
            inst.last, inst.epoch = seq, self._gap_epoch
            events.append(BookChanged(sym, seq, inst.book))
            if inst.buffer:
                # Increments that came early (reordered at the start) follow now.
                inst.live = False
                self._drain(inst, sym, events)
            return
        if inst.live:
            inst.live = False
            events.append(Stale(sym, "gap"))
        self._buffer(inst, sym, seq, m, events)
        # The missing increment may just have arrived late: apply what is now contiguous.
        self._drain(inst, sym, events)

    def _buffer(self, inst: _Instrument, sym: int, seq: int, m, events: List[Event]) -> None:
        if len(inst.buffer) >= self.max_buffered and seq not in inst.buffer:
            inst.buffer.clear()
            events.append(Stale(sym, "buffer_overflow"))
        inst.buffer.setdefault(seq, m)

    def _drain(self, inst: _Instrument, sym: int, events: List[Event]) -> None:
        """Applies buffered increments that follow the book without a hole; live again when
        the buffer is empty."""
        if not inst.started or inst.live:
            return
        for s in [s for s in inst.buffer if s <= inst.last]:
            del inst.buffer[s]
        replayed = 0
        while inst.last + 1 in inst.buffer:
            m = inst.buffer.pop(inst.last + 1)
            try:
                inst.book.apply(m)
            except BookError as e:
                inst.buffer.clear()
                if replayed:
                    events.append(BookChanged(sym, inst.last, inst.book))
                events.append(Stale(sym, "refused", e))
                return
            inst.last += 1
            replayed += 1
        if replayed:
            events.append(BookChanged(sym, inst.last, inst.book))
        if not inst.buffer:
            inst.live, inst.epoch = True, self._gap_epoch
            events.append(Recovered(sym, inst.last, replayed))

    def _on_snapshot(self, s: OrderBookSnapshot, events: List[Event]) -> None:
        sym, seq = s.symbol_id, s.snapshot_seq
        inst = self._instruments.setdefault(sym, _Instrument())
        # When to take a snapshot (SPEC.md §8, step 5) — as rltop-feed:
        suspect = inst.epoch < self._gap_epoch
        if not inst.started:
            take = True
        elif not inst.live:
            take = seq > inst.last
        elif inst.book.order_complete:
            # An order-level book trusts itself unless a session gap since its last in-order
            # increment may have hidden lost increments.
            take = suspect and seq > inst.last
        else:
            # A level book also refreshes the depth beyond what its increments showed.
            take = seq >= inst.last
        if not take:
            return
        try:
            inst.book.apply_snapshot(s)
        except BookError as e:
            # Refused as an increment is: stale, and the buffer emptied (SPEC.md §8).
            inst.live = False
            inst.buffer.clear()
            events.append(Stale(sym, "refused", e))
            return
        was_live = inst.started and inst.live
        if was_live and seq > inst.last:
            events.append(Stale(sym, "gap"))  # live but behind: lost at the tail of a burst
        refresh = was_live and seq == inst.last
        inst.started, inst.last, inst.epoch = True, seq, self._gap_epoch
        events.append(BookChanged(sym, seq, inst.book))
        if refresh:
            return
        inst.live = False
        self._drain(inst, sym, events)


def scenario_json(feed: FeedHandler, events: List[Event], depth: int) -> dict:
    """Events and final books in the conformance suite's form (conformance/README.md)."""

    def ev(e):
        if isinstance(e, BookChanged):
            return {"book": {"symbol_id": e.symbol_id, "order_book_seq": str(e.order_book_seq)}}
        if isinstance(e, Stale):
            return {"stale": {"symbol_id": e.symbol_id, "cause": e.cause}}
        if isinstance(e, Recovered):
            return {"recovered": {"symbol_id": e.symbol_id, "order_book_seq": str(e.order_book_seq), "replayed": e.replayed}}
        if isinstance(e, SessionGap):
            return {"session_gap": {"session_id": str(e.session_id), "expected": str(e.expected), "received": str(e.received)}}
        if isinstance(e, Rejected):
            return {"rejected": {"kind": e.error.kind, "offset": e.error.offset, "detail": str(e.error)}}
        if isinstance(e.message, Trade):
            return {"trade": {"symbol_id": e.message.symbol_id, "trade_id": str(e.message.trade_id)}}
        return {"message": type(e.message).__name__}

    def lv(levels):
        return [{"price": str(l.price), "quantity": str(l.quantity), "order_count": l.order_count} for l in levels]

    books = []
    for sym in feed.symbols():
        b = feed.book(sym)
        books.append({
            "symbol_id": sym,
            "state": "live" if feed.is_live(sym) else "stale",
            "order_book_seq": str(feed.order_book_seq(sym)),
            "bids": lv(b.top(Side.Buy, depth)),
            "asks": lv(b.top(Side.Sell, depth)),
        })
    return {"events": [ev(e) for e in events], "books": books}
