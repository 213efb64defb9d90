//! The RLTOP reference publisher, as a library an exchange's matching engine calls.
//!
//! The engine says what happened, order by order ([`Event`]: add, modify, cancel, execute,
//! trade, instrument definitions, statistics). The publisher:
//!
//! * keeps its own book per instrument ([`rltop_book::Book::for_publisher`]) and takes the
//!   level fields every increment carries (SPEC.md §8) from it — the level states the book
//!   computes when it applies the change — so they cannot disagree with the orders; a change that does not fit the book (unknown order,
//!   overfill, a crossing price) is refused with [`PublishError::Refused`] and publishes
//!   nothing;
//! * numbers each instrument's increments (`order_book_seq`) and each session's messages
//!   (`seq_num`: one session per stream and instrument group of the [`Plan`]);
//! * packs the messages of each stream into datagrams of at most the plan's MTU, closing a
//!   datagram when the next message does not fit or when its first message has waited the
//!   plan's hold time, and hands the closed datagrams to the [`Transport`] in batches
//!   across streams (one `sendmmsg` or one DPDK tx burst for many);
//! * runs the cycles a late joiner rebuilds from (SPEC.md §10): full-book and trade
//!   snapshots, conflated top of book, statistics and instrument definitions at the plan's
//!   cadence, and heartbeats on silent streams; [`Publisher::end_session`] closes the
//!   session with final snapshots and an end-of-session heartbeat (`interval_ms` = 0).
//!
//! Time is the caller's: every call takes `now_ns`, so a simulator can run the publisher on
//! virtual time (and produce the same bytes whatever the backend) and an exchange on its
//! clock.

pub mod transport;

use std::fmt;
use std::net::SocketAddrV4;

use rltop::{
    AddOrder, DailyStatistics, DeleteOrder, DeleteReason, ExecuteOrder, Heartbeat,
    InstrumentDefinition, KlineUpdate, LiquidationEvent, ModifyOrder, ModifyType,
    OrderBookSnapshot, OrderFlags, Side, TickerUpdate, TopOfBookSnapshot, Trade, TradeSnapshot,
    TradingStatus,
};
use rltop_book::{Book, BookError, LevelState};
use rltop_net::plan::{Line, Plan, Stream};
use rltop_runtime::{Encoder, Message};

pub use rltop_net::mcast::Outgoing;
pub use transport::Transport;

/// What the matching engine tells the publisher. The order events are small and inline;
/// the rare 128-byte messages are boxed, so an event is 40 bytes and a stream of them stays
/// in cache.
#[derive(Debug, Clone)]
pub enum Event {
    /// A new order rests on the book.
    Add {
        symbol_id: u32,
        order_id: u64,
        side: Side,
        price: i64,
        quantity: u64,
        flags: OrderFlags,
    },
    /// A resting order's new price and/or quantity (a price change or an increase loses
    /// queue priority, a decrease keeps it).
    Modify {
        symbol_id: u32,
        order_id: u64,
        price: i64,
        quantity: u64,
    },
    /// A resting order leaves the book unexecuted.
    Cancel {
        symbol_id: u32,
        order_id: u64,
        reason: DeleteReason,
    },
    /// An aggressor (`taker_order_id`) executes `quantity` of a resting order at its price:
    /// publishes the increment and the public trade.
    Execute {
        symbol_id: u32,
        order_id: u64,
        quantity: u64,
        trade_id: u64,
        taker_order_id: u64,
    },
    /// A trade that does not touch a visible resting order (e.g. against a hidden one the
    /// engine does not report order by order, or an auction print): the public trade only.
    Trade {
        symbol_id: u32,
        trade_id: u64,
        price: i64,
        quantity: u64,
        taker_side: Side,
        maker_order_id: u64,
        taker_order_id: u64,
    },
    /// An instrument's reference data; repeated on the definitions cycle.
    Instrument(Box<InstrumentDefinition>),
    /// Rolling daily statistics; repeated on the statistics cycle until replaced.
    Daily(Box<DailyStatistics>),
    /// Ticker; repeated on the statistics cycle until replaced.
    Ticker(Box<TickerUpdate>),
    /// A kline update (published once).
    Kline(Box<KlineUpdate>),
    /// A liquidation (published once).
    Liquidation(Box<LiquidationEvent>),
}

impl Event {
    /// The instrument the event concerns.
    pub fn symbol_id(&self) -> u32 {
        match self {
            Event::Add { symbol_id, .. }
            | Event::Modify { symbol_id, .. }
            | Event::Cancel { symbol_id, .. }
            | Event::Execute { symbol_id, .. }
            | Event::Trade { symbol_id, .. } => *symbol_id,
            Event::Instrument(d) => d.symbol_id(),
            Event::Daily(d) => d.symbol_id(),
            Event::Ticker(t) => t.symbol_id(),
            Event::Kline(k) => k.symbol_id(),
            Event::Liquidation(l) => l.symbol_id(),
        }
    }
}

/// Why an event was not published.
#[derive(Debug)]
pub enum PublishError {
    /// The change does not fit the publisher's book; nothing was published.
    Refused { symbol_id: u32, error: BookError },
    /// A modification that changes nothing; nothing was published.
    NoChange { symbol_id: u32, order_id: u64 },
    /// The transport failed to send (the messages stay numbered: subscribers see a gap).
    Send(std::io::Error),
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused { symbol_id, error } => {
                write!(f, "instrument {symbol_id}: refused: {error}")
            }
            Self::NoChange {
                symbol_id,
                order_id,
            } => write!(
                f,
                "instrument {symbol_id}: order {order_id}: modification changes nothing"
            ),
            Self::Send(e) => write!(f, "send failed: {e}"),
        }
    }
}

impl std::error::Error for PublishError {}

impl From<std::io::Error> for PublishError {
    fn from(e: std::io::Error) -> Self {
        Self::Send(e)
    }
}

/// Counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub events: u64,
    pub refused: u64,
    pub messages: u64,
    pub datagrams: u64,
    pub bytes: u64,
    /// Transport calls (one per batch).
    pub batches: u64,
    pub snapshots: u64,
    pub heartbeats: u64,
}

fn book_side(side: Side) -> rltop_book::Side {
    match side {
        Side::Buy => rltop_book::Side::Bid,
        Side::Sell => rltop_book::Side::Ask,
    }
}

fn opposite(side: Side) -> Side {
    match side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

fn wire_side(side: rltop_book::Side) -> Side {
    match side {
        rltop_book::Side::Bid => Side::Buy,
        rltop_book::Side::Ask => Side::Sell,
    }
}

/// The length of the array a message accessor returns, at compile time.
const fn array_len<M, T, const N: usize>(_: fn(&M) -> &[T; N]) -> usize {
    N
}

/// Levels a side of a full-book snapshot carries: the schema's `OrderBookSnapshot.bids`.
pub const SNAPSHOT_DEPTH: usize = array_len(OrderBookSnapshot::bids);
/// Trades a trade snapshot carries: the schema's `TradeSnapshot.trades`.
const RECENT_TRADES: usize = array_len(TradeSnapshot::trades);

/// One instrument's state.
struct Instrument {
    symbol_id: u32,
    group: u32,
    book: Book,
    order_book_seq: u64,
    since_snapshot: u64,
    last_full_ns: u64,
    last_tob_ns: u64,
    /// Newest last.
    recent: std::collections::VecDeque<rltop::TradeEntry>,
    last_trade_price: i64,
    volume: u64,
    definition: Option<InstrumentDefinition>,
    last_definition_ns: u64,
    daily: Option<DailyStatistics>,
    ticker: Option<TickerUpdate>,
    last_stats_ns: u64,
}

/// One session's stream to one multicast group (and its B copy): numbering and packing.
struct Slot {
    a: SocketAddrV4,
    b: Option<SocketAddrV4>,
    group: u32,
    stream: Stream,
    encoder: Encoder,
    /// The datagram being filled, and when its first message came.
    open: Vec<u8>,
    opened_ns: u64,
    last_sent_ns: u64,
}

/// A closed datagram waiting in the outbox.
struct Ready {
    dst: SocketAddrV4,
    bytes: Vec<u8>,
    born_ns: u64,
}

/// The publisher. See the crate documentation.
pub struct Publisher<T: Transport> {
    plan: Plan,
    transport: T,
    mtu: usize,
    hold_ns: u64,
    /// Datagrams per transport call at most.
    batch: usize,
    /// Pack several messages per datagram (off: one message a datagram, for comparison).
    pack: bool,
    slots: Vec<Slot>,
    instruments: Vec<Instrument>,
    /// symbol id → index into `instruments` (ids may be sparse: a map, not a table).
    index: rustc_hash::FxHashMap<u32, u32>,
    outbox: Vec<Ready>,
    spare: Vec<Vec<u8>>,
    next_cycle_ns: u64,
    /// No datagram is due to leave before this (hold time): `flush_due` returns at once.
    next_due_ns: u64,
    stats: Stats,
}

const MS: u64 = 1_000_000;
/// The cycles are looked at once a millisecond of the caller's time at most.
const CYCLE_TICK_NS: u64 = MS;

impl<T: Transport> Publisher<T> {
    /// A publisher on `plan`, sending through `transport`; each session's first message
    /// gets sequence number 1.
    pub fn new(plan: Plan, transport: T) -> Self {
        let mut slots = Vec::new();
        for group in 0..plan.groups() {
            for stream in Stream::ALL {
                let a = plan
                    .endpoint(stream, group, Line::A)
                    .expect("every plan has an A line");
                slots.push(Slot {
                    a: a.addr,
                    b: plan.endpoint(stream, group, Line::B).map(|e| e.addr),
                    group,
                    stream,
                    encoder: Encoder::new(a.session, 1),
                    open: Vec::new(),
                    opened_ns: 0,
                    last_sent_ns: 0,
                });
            }
        }
        Self {
            mtu: plan.mtu(),
            hold_ns: plan.hold_us * 1000,
            batch: rltop_net::mcast::BATCH,
            pack: true,
            transport,
            slots,
            instruments: Vec::new(),
            index: Default::default(),
            outbox: Vec::new(),
            spare: Vec::new(),
            next_cycle_ns: 0,
            next_due_ns: u64::MAX,
            stats: Stats::default(),
            plan,
        }
    }

    /// Packing on (the default: messages of a stream share datagrams up to the MTU) or
    /// off (one message a datagram: what a naive publisher does; benchmarks compare).
    pub fn set_packing(&mut self, pack: bool) {
        self.pack = pack;
    }

    /// Datagrams handed to the transport per call, at most: 1 to 64 (the default, one
    /// `sendmmsg`); other values are clamped into that range.
    pub fn set_batch(&mut self, batch: usize) {
        self.batch = batch.clamp(1, rltop_net::mcast::BATCH);
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// The publisher's book of an instrument.
    pub fn book(&self, symbol_id: u32) -> Option<&Book> {
        self.instrument_index(symbol_id)
            .map(|i| &self.instruments[i].book)
    }

    /// Instruments seen so far, by symbol id.
    pub fn symbols(&self) -> impl Iterator<Item = u32> + '_ {
        self.instruments.iter().map(|i| i.symbol_id)
    }

    /// Takes the transport back (after [`Publisher::end_session`]).
    pub fn into_transport(self) -> T {
        self.transport
    }

    fn instrument_index(&self, symbol_id: u32) -> Option<usize> {
        self.index.get(&symbol_id).map(|&i| i as usize)
    }

    fn instrument(&mut self, symbol_id: u32, now_ns: u64) -> usize {
        if let Some(i) = self.instrument_index(symbol_id) {
            return i;
        }
        self.index.insert(symbol_id, self.instruments.len() as u32);
        self.instruments.push(Instrument {
            symbol_id,
            group: self.plan.group_of(symbol_id),
            book: Book::for_publisher(),
            order_book_seq: 0,
            since_snapshot: 0,
            last_full_ns: now_ns,
            last_tob_ns: now_ns,
            recent: std::collections::VecDeque::with_capacity(RECENT_TRADES),
            last_trade_price: 0,
            volume: 0,
            definition: None,
            last_definition_ns: now_ns,
            daily: None,
            ticker: None,
            last_stats_ns: now_ns,
        });
        self.instruments.len() - 1
    }

    fn slot_index(&self, group: u32, stream: Stream) -> usize {
        group as usize * Stream::ALL.len() + stream.index()
    }

    /// Numbers `msg` on the stream its type goes on (the plan's answer) in `group`, and
    /// appends it to that stream's datagram.
    fn put<M: Message>(&mut self, group: u32, msg: &mut M, now_ns: u64) {
        let stream = Stream::of_type(M::TYPE_CODE).expect("every message type is on a stream");
        self.put_on(group, stream, msg, now_ns);
    }

    /// [`Self::put`] on a stream given: heartbeats go on every stream.
    fn put_on<M: Message>(&mut self, group: u32, stream: Stream, msg: &mut M, now_ns: u64) {
        let k = self.slot_index(group, stream);
        if !self.slots[k].open.is_empty()
            && (!self.pack || self.slots[k].open.len() + M::SIZE > self.mtu)
        {
            self.close(k);
        }
        let slot = &mut self.slots[k];
        if slot.open.is_empty() {
            slot.opened_ns = now_ns;
            self.next_due_ns = self.next_due_ns.min(now_ns.saturating_add(self.hold_ns));
            if slot.open.capacity() == 0 {
                slot.open = self
                    .spare
                    .pop()
                    .unwrap_or_else(|| Vec::with_capacity(self.mtu));
            }
        }
        let bytes = slot.encoder.encode(msg, now_ns);
        slot.open.extend_from_slice(bytes);
        self.stats.messages += 1;
    }

    /// Moves a slot's open datagram to the outbox (and its B copy).
    fn close(&mut self, slot_at: usize) {
        let slot = &mut self.slots[slot_at];
        if slot.open.is_empty() {
            return;
        }
        let born_ns = slot.opened_ns;
        slot.last_sent_ns = born_ns;
        let bytes = std::mem::take(&mut slot.open);
        self.stats.datagrams += 1;
        self.stats.bytes += bytes.len() as u64;
        if let Some(b) = slot.b {
            let mut copy = self.spare.pop().unwrap_or_default();
            copy.clear();
            copy.extend_from_slice(&bytes);
            self.outbox.push(Ready {
                dst: b,
                bytes: copy,
                born_ns,
            });
        }
        self.outbox.push(Ready {
            dst: slot.a,
            bytes,
            born_ns,
        });
    }

    /// Hands the outbox to the transport, `batch` datagrams a call.
    fn send_outbox(&mut self, now_ns: u64) -> std::io::Result<()> {
        if self.outbox.is_empty() {
            return Ok(());
        }
        let mut result = Ok(());
        // A batch at a time, described on the stack (no allocation per send).
        const MAX: usize = rltop_net::mcast::BATCH;
        let per_call = self.batch.min(MAX);
        let unspecified = Outgoing {
            dst: std::net::SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0),
            payload: &[],
        };
        for chunk in self.outbox.chunks(per_call) {
            let mut items = [unspecified; MAX];
            for (item, r) in items.iter_mut().zip(chunk) {
                *item = Outgoing {
                    dst: r.dst,
                    payload: &r.bytes,
                };
            }
            self.stats.batches += 1;
            if let Err(e) = self.transport.send(&items[..chunk.len()], now_ns) {
                result = Err(e);
                break;
            }
        }
        for mut r in self.outbox.drain(..) {
            r.bytes.clear();
            self.spare.push(r.bytes);
        }
        result
    }

    /// Closes datagrams whose first message has waited the hold time and sends the outbox
    /// when it is full or its oldest datagram has waited the hold time.
    fn flush_due(&mut self, now_ns: u64) -> std::io::Result<()> {
        if now_ns < self.next_due_ns && self.outbox.len() < self.batch {
            return Ok(());
        }
        self.next_due_ns = u64::MAX;
        for k in 0..self.slots.len() {
            let s = &self.slots[k];
            if !s.open.is_empty() && now_ns.saturating_sub(s.opened_ns) >= self.hold_ns {
                self.close(k);
            }
        }
        let oldest = self.outbox.iter().map(|r| r.born_ns).min();
        let mut sent = Ok(());
        if self.outbox.len() >= self.batch
            || oldest.is_some_and(|t| now_ns.saturating_sub(t) >= self.hold_ns)
        {
            sent = self.send_outbox(now_ns);
        }
        // When something next comes due: the oldest open datagram or outbox entry (also
        // after a failed send: the open datagrams keep their deadlines).
        let open = self
            .slots
            .iter()
            .filter(|s| !s.open.is_empty())
            .map(|s| s.opened_ns);
        let waiting = self.outbox.iter().map(|r| r.born_ns);
        if let Some(oldest) = open.chain(waiting).min() {
            self.next_due_ns = oldest.saturating_add(self.hold_ns);
        }
        sent
    }

    /// Closes every open datagram and sends everything now.
    pub fn flush(&mut self, now_ns: u64) -> Result<(), PublishError> {
        for k in 0..self.slots.len() {
            self.close(k);
        }
        Ok(self.send_outbox(now_ns)?)
    }

    /// Publishes one event at time `now_ns` (ns since the epoch; never decreasing).
    ///
    /// The event is applied even when sending earlier datagrams fails (the book stays in
    /// step with the engine; subscribers see a gap): a send failure is returned after it,
    /// and wins over a refusal of the event itself.
    pub fn publish(&mut self, event: &Event, now_ns: u64) -> Result<(), PublishError> {
        self.publish_all(std::slice::from_ref(event), now_ns)
    }

    /// Publishes several events at one time, then runs the cycles and the hold-time flush
    /// once. Returns the first send failure, else the first refusal (every event is tried).
    pub fn publish_all(&mut self, events: &[Event], now_ns: u64) -> Result<(), PublishError> {
        // Datagrams whose hold ran out before these events leave without their messages,
        // whether or not `poll` was called in between: the bytes depend on the times
        // given, not on how often the caller polls.
        let before = self.flush_due(now_ns);
        let mut first_refusal = None;
        for event in events {
            self.stats.events += 1;
            if let Err(e) = self.apply(event, now_ns) {
                self.stats.refused += 1;
                first_refusal.get_or_insert(e);
            }
        }
        if now_ns >= self.next_cycle_ns {
            self.cycles(now_ns);
        }
        let after = self.flush_due(now_ns);
        before.and(after)?;
        first_refusal.map_or(Ok(()), Err)
    }

    /// Runs the cycles and the hold-time flush without an event: call it when idle (the
    /// CLI calls it every millisecond or so).
    pub fn poll(&mut self, now_ns: u64) -> Result<(), PublishError> {
        if now_ns >= self.next_cycle_ns {
            self.cycles(now_ns);
        }
        Ok(self.flush_due(now_ns)?)
    }

    fn refused(symbol_id: u32) -> impl Fn(BookError) -> PublishError {
        move |error| PublishError::Refused { symbol_id, error }
    }

    /// The instrument `event` concerns, introduced by it if it can be published: a change
    /// to an order of an instrument never seen, or an empty order, is refused before
    /// anything is kept.
    fn instrument_for(&mut self, event: &Event, now_ns: u64) -> Result<usize, PublishError> {
        let symbol_id = event.symbol_id();
        let refused = |error| PublishError::Refused { symbol_id, error };
        match *event {
            Event::Modify { order_id, .. }
            | Event::Cancel { order_id, .. }
            | Event::Execute { order_id, .. } => self
                .instrument_index(symbol_id)
                .ok_or_else(|| refused(BookError::UnknownOrder { order_id })),
            Event::Add {
                order_id,
                quantity: 0,
                ..
            } => Err(refused(BookError::ZeroQuantity { order_id })),
            _ => Ok(self.instrument(symbol_id, now_ns)),
        }
    }

    fn apply(&mut self, event: &Event, now_ns: u64) -> Result<(), PublishError> {
        let i = self.instrument_for(event, now_ns)?;
        match *event {
            Event::Add {
                order_id,
                side,
                price,
                quantity,
                flags,
                ..
            } => {
                let add = rltop_book::Add {
                    order_id,
                    side: book_side(side),
                    price,
                    qty: quantity,
                    hidden: flags.contains(OrderFlags::HIDDEN),
                    level: LevelState::default(),
                };
                self.add_order(i, &add, flags, now_ns)?;
            }
            Event::Modify {
                order_id,
                price,
                quantity,
                ..
            } => self.modify_order(i, order_id, price, quantity, now_ns)?,
            Event::Cancel {
                order_id, reason, ..
            } => self.delete_order(i, order_id, reason, now_ns)?,
            Event::Execute {
                order_id,
                quantity,
                trade_id,
                taker_order_id,
                ..
            } => {
                let o = resting(&self.instruments[i].book, event.symbol_id(), order_id)?;
                self.execute_order(i, &o, quantity, trade_id, now_ns)?;
                self.trade(
                    i,
                    trade_id,
                    o.price,
                    quantity,
                    opposite(wire_side(o.side)),
                    order_id,
                    taker_order_id,
                    now_ns,
                );
                self.after_increment(i, now_ns);
            }
            Event::Trade {
                trade_id,
                price,
                quantity,
                taker_side,
                maker_order_id,
                taker_order_id,
                ..
            } => self.trade(
                i,
                trade_id,
                price,
                quantity,
                taker_side,
                maker_order_id,
                taker_order_id,
                now_ns,
            ),
            Event::Instrument(ref d) => {
                let mut d = **d;
                let inst = &mut self.instruments[i];
                inst.definition = Some(d);
                inst.last_definition_ns = now_ns;
                let group = inst.group;
                self.put(group, &mut d, now_ns);
            }
            Event::Daily(ref d) => {
                let inst = &mut self.instruments[i];
                inst.daily = Some(**d);
                inst.last_stats_ns = now_ns;
                self.statistic(i, &mut { **d }, now_ns);
            }
            Event::Ticker(ref t) => {
                let inst = &mut self.instruments[i];
                inst.ticker = Some(**t);
                inst.last_stats_ns = now_ns;
                self.statistic(i, &mut { **t }, now_ns);
            }
            Event::Kline(ref k) => self.statistic(i, &mut { **k }, now_ns),
            Event::Liquidation(ref l) => self.statistic(i, &mut { **l }, now_ns),
        }
        Ok(())
    }

    /// An increment of instrument `i`, on its group's incremental stream; then what follows
    /// every increment (a snapshot due, …).
    fn increment<M: Message>(&mut self, i: usize, msg: &mut M, now_ns: u64) {
        let group = self.instruments[i].group;
        self.put(group, msg, now_ns);
        self.after_increment(i, now_ns);
    }

    fn add_order(
        &mut self,
        i: usize,
        add: &rltop_book::Add,
        flags: OrderFlags,
        now_ns: u64,
    ) -> Result<(), PublishError> {
        let inst = &mut self.instruments[i];
        let symbol_id = inst.symbol_id;
        let after = inst.book.add(add).map_err(Self::refused(symbol_id))?;
        let mut m = AddOrder::new();
        m.set_order_book_seq(inst.next_book_seq());
        m.set_order_id(add.order_id);
        m.set_symbol_id(symbol_id);
        m.set_side(wire_side(add.side));
        m.set_flags(flags);
        m.set_price(add.price);
        m.set_quantity(add.qty);
        m.set_level_quantity(after.qty);
        m.set_level_order_count(after.count);
        self.increment(i, &mut m, now_ns);
        Ok(())
    }

    fn modify_order(
        &mut self,
        i: usize,
        order_id: u64,
        price: i64,
        quantity: u64,
        now_ns: u64,
    ) -> Result<(), PublishError> {
        let inst = &mut self.instruments[i];
        let symbol_id = inst.symbol_id;
        let o = resting(&inst.book, symbol_id, order_id)?;
        let (kind, book_kind) = if price != o.price {
            (ModifyType::PriceModify, rltop_book::ModifyKind::Price)
        } else if quantity < o.qty {
            let kind = rltop_book::ModifyKind::QuantityDecrease;
            (ModifyType::QuantityDecrease, kind)
        } else if quantity > o.qty {
            let kind = rltop_book::ModifyKind::QuantityIncrease;
            (ModifyType::QuantityIncrease, kind)
        } else {
            return Err(PublishError::NoChange {
                symbol_id,
                order_id,
            });
        };
        let (old_after, new_after) = inst
            .book
            .modify(&rltop_book::Modify {
                order_id,
                side: o.side,
                kind: book_kind,
                old_price: o.price,
                new_price: price,
                new_qty: quantity,
                old_level: LevelState::default(),
                new_level: LevelState::default(),
            })
            .map_err(Self::refused(symbol_id))?;
        let mut m = ModifyOrder::new();
        m.set_order_book_seq(inst.next_book_seq());
        m.set_order_id(order_id);
        m.set_symbol_id(symbol_id);
        m.set_side(wire_side(o.side));
        m.set_modify_type(kind);
        m.set_old_price(o.price);
        m.set_new_price(price);
        m.set_new_quantity(quantity);
        m.set_old_level_quantity(old_after.qty);
        m.set_old_level_order_count(old_after.count);
        m.set_new_level_quantity(new_after.qty);
        m.set_new_level_order_count(new_after.count);
        self.increment(i, &mut m, now_ns);
        Ok(())
    }

    fn delete_order(
        &mut self,
        i: usize,
        order_id: u64,
        reason: DeleteReason,
        now_ns: u64,
    ) -> Result<(), PublishError> {
        let inst = &mut self.instruments[i];
        let symbol_id = inst.symbol_id;
        let o = resting(&inst.book, symbol_id, order_id)?;
        let after = inst
            .book
            .delete(&rltop_book::Delete {
                order_id,
                side: o.side,
                price: o.price,
                level: LevelState::default(),
            })
            .map_err(Self::refused(symbol_id))?;
        let mut m = DeleteOrder::new();
        m.set_order_book_seq(inst.next_book_seq());
        m.set_order_id(order_id);
        m.set_symbol_id(symbol_id);
        m.set_side(wire_side(o.side));
        m.set_delete_reason(reason);
        m.set_price(o.price);
        m.set_level_quantity(after.qty);
        m.set_level_order_count(after.count);
        self.increment(i, &mut m, now_ns);
        Ok(())
    }

    /// The increment of an execution of resting order `o` (its public trade and what follows
    /// the increment are the caller's: the trade goes between them).
    fn execute_order(
        &mut self,
        i: usize,
        o: &rltop_book::OrderView,
        quantity: u64,
        trade_id: u64,
        now_ns: u64,
    ) -> Result<(), PublishError> {
        let inst = &mut self.instruments[i];
        let symbol_id = inst.symbol_id;
        let remaining = o.qty.saturating_sub(quantity);
        let after = inst
            .book
            .execute(&rltop_book::Execute {
                order_id: o.order_id,
                side: o.side,
                price: o.price,
                executed: quantity,
                remaining,
                level: LevelState::default(),
            })
            .map_err(Self::refused(symbol_id))?;
        let mut e = ExecuteOrder::new();
        e.set_order_book_seq(inst.next_book_seq());
        e.set_order_id(o.order_id);
        e.set_symbol_id(symbol_id);
        e.set_side(wire_side(o.side));
        e.set_price(o.price);
        e.set_executed_quantity(quantity);
        e.set_remaining_quantity(remaining);
        e.set_trade_id(trade_id);
        e.set_level_quantity(after.qty);
        e.set_level_order_count(after.count);
        let group = inst.group;
        self.put(group, &mut e, now_ns);
        Ok(())
    }

    /// A message of the statistics stream of instrument `i`'s group.
    fn statistic<M: Message>(&mut self, instrument_at: usize, msg: &mut M, now_ns: u64) {
        let group = self.instruments[instrument_at].group;
        self.put(group, msg, now_ns);
    }

    #[allow(clippy::too_many_arguments)]
    fn trade(
        &mut self,
        instrument_at: usize,
        trade_id: u64,
        price: i64,
        quantity: u64,
        taker_side: Side,
        maker_order_id: u64,
        taker_order_id: u64,
        now_ns: u64,
    ) {
        let inst = &mut self.instruments[instrument_at];
        let mut t = Trade::new();
        t.set_trade_id(trade_id);
        t.set_symbol_id(inst.symbol_id);
        t.set_taker_side(taker_side);
        t.set_price(price);
        t.set_quantity(quantity);
        t.set_maker_order_id(maker_order_id);
        t.set_taker_order_id(taker_order_id);
        inst.last_trade_price = price;
        inst.volume = inst.volume.saturating_add(quantity);
        let mut entry = rltop::TradeEntry::default();
        entry.set_trade_id(trade_id);
        entry.set_price(price);
        entry.set_quantity(quantity);
        entry.set_trade_time(now_ns);
        entry.set_taker_side(taker_side);
        if inst.recent.len() == RECENT_TRADES {
            inst.recent.pop_front();
        }
        inst.recent.push_back(entry);
        let group = inst.group;
        self.put(group, &mut t, now_ns);
    }

    /// After an increment: the snapshot every N increments.
    fn after_increment(&mut self, instrument_at: usize, now_ns: u64) {
        let every = self.plan.cadence.full_book_every_increments;
        if every > 0 && self.instruments[instrument_at].since_snapshot >= every {
            self.full_book(instrument_at, now_ns);
        }
    }

    fn full_book(&mut self, instrument_at: usize, now_ns: u64) {
        // The datagram holding the increments the snapshot covers goes to the outbox ahead
        // of the snapshot's: a subscriber that gets the streams in the order they were sent
        // (a gateway's TCP connection) never meets a snapshot newer than the increments
        // before it, which a live level book must take for a loss (SPEC.md §8).
        let group = self.instruments[instrument_at].group;
        self.close(self.slot_index(group, Stream::Incremental));
        let inst = &mut self.instruments[instrument_at];
        let mut s = OrderBookSnapshot::new();
        s.set_symbol_id(inst.symbol_id);
        s.set_snapshot_seq(inst.order_book_seq);
        let bids = inst.book.top(rltop_book::Side::Bid, SNAPSHOT_DEPTH);
        let asks = inst.book.top(rltop_book::Side::Ask, SNAPSHOT_DEPTH);
        s.set_num_bid_levels(bids.len() as u8);
        s.set_num_ask_levels(asks.len() as u8);
        fill_levels(s.bids_mut(), &bids);
        fill_levels(s.asks_mut(), &asks);
        s.set_last_trade_price(inst.last_trade_price);
        s.set_volume_24h(inst.volume);
        inst.since_snapshot = 0;
        inst.last_full_ns = now_ns;
        let mut ts = TradeSnapshot::new();
        ts.set_symbol_id(inst.symbol_id);
        ts.set_num_trades(inst.recent.len() as u8);
        for (slot, t) in ts.trades_mut().iter_mut().zip(inst.recent.iter().rev()) {
            *slot = *t;
        }
        self.stats.snapshots += 1;
        self.put(group, &mut s, now_ns);
        self.put(group, &mut ts, now_ns);
    }

    fn top_of_book(&mut self, instrument_at: usize, now_ns: u64) {
        let inst = &mut self.instruments[instrument_at];
        let best = |l: Option<rltop_book::TopLevel>| l.map(|l| (l.price, l.qty));
        let now = [best(inst.book.best_bid()), best(inst.book.best_ask())];
        inst.last_tob_ns = now_ns;
        let mut t = TopOfBookSnapshot::new();
        t.set_symbol_id(inst.symbol_id);
        if let Some((p, q)) = now[0] {
            t.set_best_bid_price(p);
            t.set_best_bid_qty(q);
        }
        if let Some((p, q)) = now[1] {
            t.set_best_ask_price(p);
            t.set_best_ask_qty(q);
        }
        if let (Some((b, _)), Some((a, _))) = (now[0], now[1]) {
            t.set_spread(a - b);
            t.set_mid_price(b + (a - b) / 2);
        }
        let group = inst.group;
        self.put(group, &mut t, now_ns);
    }

    /// The cadence: what is due at `now_ns`.
    fn cycles(&mut self, now_ns: u64) {
        self.next_cycle_ns = now_ns + CYCLE_TICK_NS;
        let cadence = self.plan.cadence.clone();
        let due = |last: u64, period_ms: u64| period_ms > 0 && now_ns >= last + period_ms * MS;
        for i in 0..self.instruments.len() {
            if due(self.instruments[i].last_full_ns, cadence.full_book_ms) {
                self.full_book(i, now_ns);
            }
            if due(self.instruments[i].last_tob_ns, cadence.top_of_book_ms) {
                self.top_of_book(i, now_ns);
            }
            let inst = &mut self.instruments[i];
            let group = inst.group;
            if due(inst.last_stats_ns, cadence.statistics_ms) {
                inst.last_stats_ns = now_ns;
                let (daily, ticker) = (inst.daily, inst.ticker);
                if let Some(mut d) = daily {
                    self.put(group, &mut d, now_ns);
                }
                if let Some(mut t) = ticker {
                    self.put(group, &mut t, now_ns);
                }
            }
            let inst = &mut self.instruments[i];
            if due(inst.last_definition_ns, cadence.definitions_ms) {
                inst.last_definition_ns = now_ns;
                if let Some(mut d) = inst.definition {
                    self.put(group, &mut d, now_ns);
                }
            }
        }
        if cadence.heartbeat_ms > 0 {
            for k in 0..self.slots.len() {
                let s = &mut self.slots[k];
                if s.last_sent_ns == 0 {
                    // The session starts now: its first heartbeat is due an interval later.
                    s.last_sent_ns = now_ns;
                }
                if s.open.is_empty() && now_ns >= s.last_sent_ns + cadence.heartbeat_ms * MS {
                    self.heartbeat(k, cadence.heartbeat_ms as u32, now_ns);
                }
            }
        }
    }

    fn heartbeat(&mut self, slot_at: usize, interval_ms: u32, now_ns: u64) {
        let mut hb = Heartbeat::new();
        hb.set_channel(self.slots[slot_at].stream.channel());
        hb.set_interval_ms(interval_ms);
        let (group, stream) = (self.slots[slot_at].group, self.slots[slot_at].stream);
        self.stats.heartbeats += 1;
        self.put_on(group, stream, &mut hb, now_ns);
        // A heartbeat is its datagram's only message: closed at once, it leaves with the
        // next send of the outbox (within the hold time, like any datagram).
        self.close(slot_at);
    }

    /// Ends the session: a final full-book, trade and top-of-book snapshot of every
    /// instrument, its definition with trading status `Closed`, then on every stream a
    /// heartbeat with `interval_ms` = 0 (SPEC.md §10: nothing more will come on this
    /// session), and everything is sent.
    pub fn end_session(&mut self, now_ns: u64) -> Result<(), PublishError> {
        for i in 0..self.instruments.len() {
            self.full_book(i, now_ns);
            self.top_of_book(i, now_ns);
            let inst = &mut self.instruments[i];
            if let Some(mut d) = inst.definition {
                d.set_trading_status(TradingStatus::Closed);
                inst.definition = Some(d);
                let group = inst.group;
                self.put(group, &mut d, now_ns);
            }
        }
        for k in 0..self.slots.len() {
            self.close(k);
            self.heartbeat(k, 0, now_ns);
        }
        self.flush(now_ns)
    }
}

/// The resting order an event names, or the refusal.
fn resting(
    book: &Book,
    symbol_id: u32,
    order_id: u64,
) -> Result<rltop_book::OrderView, PublishError> {
    book.order(order_id).ok_or(PublishError::Refused {
        symbol_id,
        error: BookError::UnknownOrder { order_id },
    })
}

/// A snapshot's levels, best first; entries past them stay zero.
fn fill_levels(slots: &mut [rltop::PriceLevel], levels: &[rltop_book::TopLevel]) {
    for (slot, l) in slots.iter_mut().zip(levels) {
        slot.set_price(l.price);
        slot.set_quantity(l.qty);
        slot.set_order_count(l.count);
    }
}

impl Instrument {
    fn next_book_seq(&mut self) -> u64 {
        self.order_book_seq += 1;
        self.since_snapshot += 1;
        self.order_book_seq
    }
}

// An event stays small (a stream of them stays in cache): the 128-byte messages are boxed.
const _: () = assert!(std::mem::size_of::<Event>() <= 48);
