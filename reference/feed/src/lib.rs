//! The RLTOP feed handler: datagrams in, consistent books and events out.
//!
//! It consumes datagrams from any source (sockets, a pcap, a simulator), verifies every
//! message, tracks each session's `seq_num` (gaps, duplicates, reordering; A/B copies of a
//! session are duplicates of each other, so the first arrival wins) and each instrument's
//! `order_book_seq`, and keeps one [`Book`] per instrument by SPEC.md §8:
//!
//! * An instrument whose first increment has `order_book_seq` 1 is followed from the empty
//!   book, order by order. Otherwise (a late joiner) its increments are buffered until an
//!   `OrderBookSnapshot`; the book is the snapshot's, then the buffered increments after its
//!   `snapshot_seq` are applied.
//! * An increment ahead of the next expected marks the instrument **stale** and is buffered:
//!   the missing ones may still come (reordering) — then the buffer drains and the book is
//!   live again — or a snapshot newer than the book recovers it.
//! * Duplicates (`order_book_seq` already applied) are dropped; applying is idempotent.
//! * A live book that meets a snapshot newer than itself missed increments nobody could see
//!   missing (the tail of a burst); it takes the snapshot.
//!
//! Events borrow the datagram and the books: nothing is copied for a consumer.

pub mod decimal;
mod table;
mod window;

use rltop::{Message, Side as WireSide};
use rltop_book::{
    Add, Book, BookError, Delete, Execute, LevelState, Modify, ModifyKind, Side, TopLevel,
};
use rltop_runtime::DecodeError;
use std::collections::BTreeMap;

pub use window::{Arrival, SeqWindow, WINDOW};

/// Which redundant line a datagram came in on (A/B arbitration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Line {
    A,
    B,
}

/// Why an instrument's book cannot be trusted until it recovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleCause {
    /// No snapshot yet (joined after the instrument's first increment).
    AwaitingSnapshot,
    /// Increments `expected..received` are missing.
    Gap { expected: u64, received: u64 },
    /// An increment did not fit the book (after undetected loss, or a bad publisher).
    Refused(BookError),
    /// More increments waited for recovery than the buffer holds; they were dropped.
    BufferOverflow,
}

/// What the handler reports. Borrowed from the datagram and the handler.
#[derive(Debug)]
pub enum Event<'a> {
    /// An instrument's book changed (an increment or a snapshot was applied).
    Book {
        symbol_id: u32,
        order_book_seq: u64,
        book: &'a Book,
    },
    /// A public trade.
    Trade(&'a rltop::Trade),
    /// Statistics, klines, tickers, liquidations, top-of-book and trade snapshots.
    Market(Message<'a>),
    /// A new or updated instrument definition.
    Instrument(&'a rltop::InstrumentDefinition),
    /// A heartbeat (its sequence number has been checked like any other).
    Heartbeat(&'a rltop::Heartbeat),
    /// The instrument's book is not to be trusted until `Recovered`.
    Stale { symbol_id: u32, cause: StaleCause },
    /// The instrument's book is live again; `replayed` buffered increments were applied.
    Recovered {
        symbol_id: u32,
        order_book_seq: u64,
        replayed: usize,
    },
    /// Messages of a session were skipped (lost, or still to come out of order).
    SessionGap {
        session_id: u64,
        expected: u64,
        received: u64,
    },
    /// A message that failed verification (its bytes are in the datagram at `offset`).
    Rejected { error: DecodeError },
}

/// Counters, for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub datagrams: u64,
    pub messages: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub late: u64,
    pub session_gaps: u64,
    pub increments_applied: u64,
    pub increments_buffered: u64,
    pub snapshots_applied: u64,
    pub recoveries: u64,
    pub won_a: u64,
    pub won_b: u64,
}

/// Handler settings.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Increments buffered per instrument while it waits for recovery.
    pub max_buffered: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_buffered: 1 << 16,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Add(Add),
    Modify(Modify),
    Delete(Delete),
    Execute(Execute),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Applying increments as they come; `last` applied.
    Live,
    /// Waiting: for missing increments or a snapshot.
    Stale,
}

#[derive(Debug)]
struct Instrument {
    book: Book,
    state: State,
    /// `order_book_seq` of the last increment applied (or of the snapshot).
    last: u64,
    /// Whether the book has a starting point (empty at seq 0, or a snapshot).
    started: bool,
    buffer: BTreeMap<u64, Op>,
    /// The handler's `gap_epoch` when this book was last known complete.
    epoch: u64,
}

impl Instrument {
    fn new() -> Self {
        Self {
            book: Book::new(),
            state: State::Stale,
            last: 0,
            started: false,
            buffer: BTreeMap::new(),
            epoch: 0,
        }
    }
}

/// The feed handler. See the crate documentation.
#[derive(Debug, Default)]
pub struct FeedHandler {
    config: Config,
    sessions: table::Sessions,
    instruments: table::ById<Instrument>,
    stats: Stats,
    /// Counts session gaps: a book that has applied nothing in order since the last one may
    /// have lost increments nobody has seen missing yet.
    gap_epoch: u64,
}

fn side(s: Result<WireSide, rltop_runtime::InvalidEnum>) -> Side {
    // Decoding has validated enumerations; Sell is the only other value.
    match s {
        Ok(WireSide::Buy) => Side::Bid,
        _ => Side::Ask,
    }
}

fn lvl(qty: u64, count: u32) -> LevelState {
    LevelState { qty, count }
}

/// An increment message as a book operation, with its instrument and `order_book_seq`.
fn increment(m: &Message<'_>) -> Option<(u32, u64, Op)> {
    Some(match m {
        Message::AddOrder(a) => (
            a.symbol_id(),
            a.order_book_seq(),
            Op::Add(Add {
                order_id: a.order_id(),
                side: side(a.side()),
                price: a.price(),
                qty: a.quantity(),
                hidden: a.flags().contains(rltop::OrderFlags::HIDDEN),
                level: lvl(a.level_quantity(), a.level_order_count()),
            }),
        ),
        Message::ModifyOrder(m) => (
            m.symbol_id(),
            m.order_book_seq(),
            Op::Modify(Modify {
                order_id: m.order_id(),
                side: side(m.side()),
                kind: match m.modify_type() {
                    Ok(rltop::ModifyType::PriceModify) => ModifyKind::Price,
                    Ok(rltop::ModifyType::QuantityDecrease) => ModifyKind::QuantityDecrease,
                    _ => ModifyKind::QuantityIncrease,
                },
                old_price: m.old_price(),
                new_price: m.new_price(),
                new_qty: m.new_quantity(),
                old_level: lvl(m.old_level_quantity(), m.old_level_order_count()),
                new_level: lvl(m.new_level_quantity(), m.new_level_order_count()),
            }),
        ),
        Message::DeleteOrder(d) => (
            d.symbol_id(),
            d.order_book_seq(),
            Op::Delete(Delete {
                order_id: d.order_id(),
                side: side(d.side()),
                price: d.price(),
                level: lvl(d.level_quantity(), d.level_order_count()),
            }),
        ),
        Message::ExecuteOrder(e) => (
            e.symbol_id(),
            e.order_book_seq(),
            Op::Execute(Execute {
                order_id: e.order_id(),
                side: side(e.side()),
                price: e.price(),
                executed: e.executed_quantity(),
                remaining: e.remaining_quantity(),
                level: lvl(e.level_quantity(), e.level_order_count()),
            }),
        ),
        _ => return None,
    })
}

fn apply(book: &mut Book, op: &Op) -> Result<(), BookError> {
    match op {
        Op::Add(a) => book.add(a).map(drop),
        Op::Modify(m) => book.modify(m).map(drop),
        Op::Delete(d) => book.delete(d).map(drop),
        Op::Execute(e) => book.execute(e).map(drop),
    }
}

impl FeedHandler {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The book of an instrument, if any message of it has been seen.
    pub fn book(&self, symbol_id: u32) -> Option<&Book> {
        self.instruments.get(symbol_id).map(|i| &i.book)
    }

    /// Whether the instrument's book is live (not waiting for recovery).
    pub fn is_live(&self, symbol_id: u32) -> bool {
        self.instruments
            .get(symbol_id)
            .is_some_and(|i| i.state == State::Live)
    }

    /// The `order_book_seq` the instrument's book is at (of its last increment applied, or
    /// of the snapshot it was rebuilt from; 0 before either).
    pub fn order_book_seq(&self, symbol_id: u32) -> Option<u64> {
        self.instruments.get(symbol_id).map(|i| i.last)
    }

    /// Instruments seen so far.
    pub fn symbols(&self) -> impl Iterator<Item = u32> + '_ {
        self.instruments.ids()
    }

    /// A datagram from a single line.
    pub fn on_datagram(&mut self, datagram: &[u8], on_event: &mut impl FnMut(Event<'_>)) {
        self.on_datagram_from(Line::A, datagram, on_event);
    }

    /// A datagram from line A or B of redundant feeds: whichever copy of a message comes
    /// first is used, the other is a duplicate.
    pub fn on_datagram_from(
        &mut self,
        line: Line,
        datagram: &[u8],
        on_event: &mut impl FnMut(Event<'_>),
    ) {
        self.stats.datagrams += 1;
        for item in rltop::messages(datagram) {
            self.stats.messages += 1;
            match item {
                Ok(m) => self.on_message(line, m, false, on_event),
                Err(error) => {
                    self.stats.rejected += 1;
                    on_event(Event::Rejected { error });
                }
            }
        }
    }

    /// Messages sent again on request (a gateway's replay, SPEC.md §11): whole messages back
    /// to back, of any sessions. They are taken as late arrivals, except that an increment
    /// older than the session window is still offered to its book, which drops it if it
    /// has it already (by `order_book_seq`): a replay may come after the window has moved
    /// on, and the increments it carries are what repairs a stale book.
    pub fn on_replayed(&mut self, messages: &[u8], on_event: &mut impl FnMut(Event<'_>)) {
        for item in rltop::messages(messages) {
            self.stats.messages += 1;
            match item {
                Ok(m) => self.on_message(Line::A, m, true, on_event),
                Err(error) => {
                    self.stats.rejected += 1;
                    on_event(Event::Rejected { error });
                }
            }
        }
    }

    fn on_message<'a>(
        &mut self,
        line: Line,
        m: Message<'a>,
        replayed: bool,
        on_event: &mut impl FnMut(Event<'_>),
    ) {
        let h = m.header();
        let session = h.session_id();
        match self.sessions.window(session).arrive(h.seq_num()) {
            Arrival::Duplicate => {
                self.stats.duplicates += 1;
                if replayed {
                    if let Some((symbol_id, seq, op)) = increment(&m) {
                        self.on_increment(symbol_id, seq, op, on_event);
                    }
                }
                return;
            }
            Arrival::Late => self.stats.late += 1,
            Arrival::Gap { expected, missing } => {
                self.stats.session_gaps += 1;
                self.gap_epoch += 1;
                on_event(Event::SessionGap {
                    session_id: session,
                    expected,
                    received: expected + missing,
                });
            }
            Arrival::InOrder => {}
        }
        match line {
            Line::A => self.stats.won_a += 1,
            Line::B => self.stats.won_b += 1,
        }
        if let Some((symbol_id, seq, op)) = increment(&m) {
            self.on_increment(symbol_id, seq, op, on_event);
            return;
        }
        match m {
            Message::OrderBookSnapshot(s) => self.on_snapshot(s, on_event),
            Message::Trade(t) => on_event(Event::Trade(t)),
            Message::InstrumentDefinition(d) => on_event(Event::Instrument(d)),
            Message::Heartbeat(hb) => on_event(Event::Heartbeat(hb)),
            other => on_event(Event::Market(other)),
        }
    }

    fn on_increment(
        &mut self,
        symbol_id: u32,
        seq: u64,
        op: Op,
        on_event: &mut impl FnMut(Event<'_>),
    ) {
        let max_buffered = self.config.max_buffered;
        let inst = self
            .instruments
            .get_or_insert_with(symbol_id, Instrument::new);
        if !inst.started {
            if seq == 1 {
                // The instrument's first increment: follow it from the empty book.
                inst.started = true;
                inst.state = State::Live;
                inst.epoch = self.gap_epoch;
            } else {
                if inst.buffer.is_empty() {
                    on_event(Event::Stale {
                        symbol_id,
                        cause: StaleCause::AwaitingSnapshot,
                    });
                }
                Self::buffer(
                    inst,
                    seq,
                    op,
                    max_buffered,
                    symbol_id,
                    &mut self.stats,
                    on_event,
                );
                return;
            }
        }
        if seq <= inst.last {
            self.stats.duplicates += 1;
            return;
        }
        if inst.state == State::Live && seq == inst.last + 1 {
            match apply(&mut inst.book, &op) {
                Ok(()) => {
                    inst.last = seq;
                    inst.epoch = self.gap_epoch;
                    self.stats.increments_applied += 1;
                    on_event(Event::Book {
                        symbol_id,
                        order_book_seq: seq,
                        book: &inst.book,
                    });
                    if !inst.buffer.is_empty() {
                        // Increments that came early (reordered at the start) follow now.
                        inst.state = State::Stale;
                        Self::drain(self.gap_epoch, inst, symbol_id, &mut self.stats, on_event);
                    }
                }
                Err(e) => {
                    // The book stays as it was; only a snapshot can repair it.
                    inst.state = State::Stale;
                    inst.buffer.clear();
                    on_event(Event::Stale {
                        symbol_id,
                        cause: StaleCause::Refused(e),
                    });
                }
            }
            return;
        }
        if inst.state == State::Live {
            inst.state = State::Stale;
            on_event(Event::Stale {
                symbol_id,
                cause: StaleCause::Gap {
                    expected: inst.last + 1,
                    received: seq,
                },
            });
        }
        Self::buffer(
            inst,
            seq,
            op,
            max_buffered,
            symbol_id,
            &mut self.stats,
            on_event,
        );
        // The missing increment may just have arrived late: drain what is now contiguous.
        Self::drain(self.gap_epoch, inst, symbol_id, &mut self.stats, on_event);
    }

    fn buffer(
        inst: &mut Instrument,
        seq: u64,
        op: Op,
        max: usize,
        symbol_id: u32,
        stats: &mut Stats,
        on_event: &mut impl FnMut(Event<'_>),
    ) {
        if inst.buffer.len() >= max && !inst.buffer.contains_key(&seq) {
            inst.buffer.clear();
            on_event(Event::Stale {
                symbol_id,
                cause: StaleCause::BufferOverflow,
            });
        }
        if inst.buffer.insert(seq, op).is_none() {
            stats.increments_buffered += 1;
        } else {
            stats.duplicates += 1;
        }
    }

    /// Applies buffered increments that follow the book without a hole; goes live when the
    /// buffer is empty again.
    fn drain(
        epoch: u64,
        inst: &mut Instrument,
        symbol_id: u32,
        stats: &mut Stats,
        on_event: &mut impl FnMut(Event<'_>),
    ) -> usize {
        if !inst.started || inst.state == State::Live {
            return 0;
        }
        // Increments at or before the book's sequence are already in it.
        while inst
            .buffer
            .first_key_value()
            .is_some_and(|(&s, _)| s <= inst.last)
        {
            inst.buffer.pop_first();
        }
        let mut replayed = 0;
        while let Some((&s, op)) = inst.buffer.first_key_value() {
            if s != inst.last + 1 {
                break;
            }
            let op = *op;
            inst.buffer.pop_first();
            match apply(&mut inst.book, &op) {
                Ok(()) => {
                    inst.last = s;
                    replayed += 1;
                    stats.increments_applied += 1;
                }
                Err(e) => {
                    inst.buffer.clear();
                    if replayed > 0 {
                        on_event(Event::Book {
                            symbol_id,
                            order_book_seq: inst.last,
                            book: &inst.book,
                        });
                    }
                    on_event(Event::Stale {
                        symbol_id,
                        cause: StaleCause::Refused(e),
                    });
                    return replayed;
                }
            }
        }
        if replayed > 0 {
            on_event(Event::Book {
                symbol_id,
                order_book_seq: inst.last,
                book: &inst.book,
            });
        }
        if inst.buffer.is_empty() {
            inst.state = State::Live;
            inst.epoch = epoch;
            stats.recoveries += 1;
            on_event(Event::Recovered {
                symbol_id,
                order_book_seq: inst.last,
                replayed,
            });
        }
        replayed
    }

    fn on_snapshot(&mut self, s: &rltop::OrderBookSnapshot, on_event: &mut impl FnMut(Event<'_>)) {
        let symbol_id = s.symbol_id();
        let seq = s.snapshot_seq();
        let inst = self
            .instruments
            .get_or_insert_with(symbol_id, Instrument::new);
        // When to take a snapshot (SPEC.md §8, step 5):
        // * an order-level book that is live and has no reason to doubt itself ignores it:
        //   one newer than the book is only ahead of increments still on their way (the
        //   channels are separate streams);
        // * an order-level book that may have lost its latest increments without seeing a
        //   gap (a session gap since its last in-order increment) takes a newer one;
        // * a level book takes any snapshot not older than itself: it also refreshes the
        //   depth beyond what increments showed;
        // * a stale or unstarted book takes one newer than itself.
        let suspect = inst.epoch < self.gap_epoch;
        let take = if !inst.started {
            true
        } else if inst.state == State::Stale {
            seq > inst.last
        } else if inst.book.is_order_complete() {
            suspect && seq > inst.last
        } else {
            seq >= inst.last
        };
        if !take {
            return;
        }
        let conv = |l: &rltop::PriceLevel| TopLevel {
            price: l.price(),
            qty: l.quantity(),
            count: l.order_count(),
        };
        let bids: Vec<TopLevel> = s.bids_used().iter().map(conv).collect();
        let asks: Vec<TopLevel> = s.asks_used().iter().map(conv).collect();
        if let Err(e) = inst.book.apply_snapshot(&bids, &asks) {
            // Refused as an increment is: stale, and the buffer emptied (SPEC.md §8).
            inst.state = State::Stale;
            inst.buffer.clear();
            on_event(Event::Stale {
                symbol_id,
                cause: StaleCause::Refused(e),
            });
            return;
        }
        self.stats.snapshots_applied += 1;
        let was_live = inst.started && inst.state == State::Live;
        if was_live && seq > inst.last {
            // Live but behind: increments went missing where no later one showed it (the
            // tail of a burst). The snapshot repairs that.
            on_event(Event::Stale {
                symbol_id,
                cause: StaleCause::Gap {
                    expected: inst.last + 1,
                    received: seq + 1,
                },
            });
        }
        let refresh = was_live && seq == inst.last;
        inst.started = true;
        inst.last = seq;
        inst.epoch = self.gap_epoch;
        on_event(Event::Book {
            symbol_id,
            order_book_seq: seq,
            book: &inst.book,
        });
        if refresh {
            // A level book refreshed at its own sequence (deeper levels): still live.
            return;
        }
        inst.state = State::Stale;
        Self::drain(self.gap_epoch, inst, symbol_id, &mut self.stats, on_event);
    }
}
