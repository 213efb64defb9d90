//! A deterministic market simulator for RLTOP.
//!
//! `N` instruments, each with its own matching engine ([`engine::Engine`]), receive a seeded
//! stream of order flow: passive orders placed a geometric number of ticks from the touch
//! around a random-walking price, heavy-tailed (Pareto) sizes, many cancels and
//! modifications for each trade (as on real venues), and aggressive orders that trade
//! through several levels. Every change goes out through the generated encoders on the
//! protocol's channels (SPEC.md §6), packed into datagrams of at most 1472 bytes:
//! increments, trades, top-of-book, full snapshots every second or 100 increments, trade
//! snapshots, 24-hour statistics, tickers, 1-minute klines, instrument definitions,
//! liquidations and heartbeats on quiet channels.
//!
//! The engines' books are the oracle: a feed handler fed the datagrams, with any loss, must
//! end with the same top-N books ([`Simulation::top`]).

pub mod engine;
mod rng;

use std::net::{Ipv4Addr, SocketAddrV4};

use rltop::*;
use rltop_runtime::Encoder;

use engine::{Engine, Resting};
pub use rng::Rng;

/// A message waiting to be published.
#[derive(Debug, Clone)]
pub enum Msg {
    Add(AddOrder),
    Modify(ModifyOrder),
    Delete(DeleteOrder),
    Execute(ExecuteOrder),
    Trade(Trade),
    Snapshot(Box<OrderBookSnapshot>),
    TopOfBook(TopOfBookSnapshot),
    TradeSnapshot(Box<TradeSnapshot>),
    Daily(DailyStatistics),
    Kline(KlineUpdate),
    Ticker(TickerUpdate),
    Liquidation(LiquidationEvent),
    Definition(InstrumentDefinition),
}

/// A multicast stream of the channel plan: its group, port, session and channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    FullBook,
    TopOfBook,
    Incremental,
    Trades,
    Statistics,
}

impl Stream {
    pub const ALL: [Stream; 5] = [
        Stream::FullBook,
        Stream::TopOfBook,
        Stream::Incremental,
        Stream::Trades,
        Stream::Statistics,
    ];

    /// Multicast group and port (SPEC.md §6).
    pub fn group(self) -> SocketAddrV4 {
        let (ip, port) = match self {
            Stream::FullBook => (Ipv4Addr::new(239, 255, 0, 1), 9001),
            Stream::TopOfBook => (Ipv4Addr::new(239, 255, 0, 2), 9001),
            Stream::Incremental => (Ipv4Addr::new(239, 255, 1, 1), 9002),
            Stream::Trades => (Ipv4Addr::new(239, 255, 2, 1), 9003),
            Stream::Statistics => (Ipv4Addr::new(239, 255, 3, 1), 9004),
        };
        SocketAddrV4::new(ip, port)
    }

    /// The session id its messages carry.
    pub fn session(self) -> u64 {
        match self {
            Stream::FullBook => 1,
            Stream::TopOfBook => 2,
            Stream::Incremental => 3,
            Stream::Trades => 4,
            Stream::Statistics => 5,
        }
    }

    pub fn channel(self) -> Channel {
        match self {
            Stream::FullBook | Stream::TopOfBook => Channel::Snapshot,
            Stream::Incremental => Channel::Incremental,
            Stream::Trades => Channel::Trade,
            Stream::Statistics => Channel::Statistics,
        }
    }

    fn of(m: &Msg) -> Stream {
        match m {
            Msg::Add(_) | Msg::Modify(_) | Msg::Delete(_) | Msg::Execute(_) => Stream::Incremental,
            Msg::Trade(_) => Stream::Trades,
            Msg::Snapshot(_) | Msg::TradeSnapshot(_) => Stream::FullBook,
            Msg::TopOfBook(_) => Stream::TopOfBook,
            _ => Stream::Statistics,
        }
    }
}

/// One published datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub time_ns: u64,
    pub stream: Stream,
    pub bytes: Vec<u8>,
}

/// Simulation settings.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub seed: u64,
    pub instruments: u32,
    /// Order-flow events (all instruments together).
    pub events: u64,
    /// Mean time between events, nanoseconds.
    pub mean_gap_ns: f64,
    /// Seconds of quiet after the flow, with snapshots and heartbeats still published (so a
    /// subscriber that lost the end of the flow can recover).
    pub quiet_tail_s: u64,
    /// Start of the session, ns since the epoch.
    pub start_ns: u64,
    /// Resting orders an instrument's book is kept at or above (real books hold hundreds to
    /// thousands): below it, order flow is passive orders only.
    pub min_resting: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: 1,
            instruments: 4,
            events: 20_000,
            mean_gap_ns: 20_000.0,
            quiet_tail_s: 3,
            start_ns: 1_700_000_000_000_000_000,
            min_resting: 500,
        }
    }
}

const MTU_PAYLOAD: usize = 1472;
const SNAPSHOT_EVERY_NS: u64 = 1_000_000_000;
const SNAPSHOT_EVERY_INCREMENTS: u64 = 100;
const HEARTBEAT_MS: u32 = 1000;
const TICK: i64 = 1;

#[derive(Debug, Default, Clone, Copy)]
struct Day {
    open: i64,
    high: i64,
    low: i64,
    last: i64,
    last_qty: u64,
    volume: u64,
    turnover: u64,
    trades: u32,
}

#[derive(Debug, Default, Clone, Copy)]
struct Bar {
    open_time: u64,
    open: i64,
    high: i64,
    low: i64,
    close: i64,
    volume: u64,
    turnover: u64,
    trades: u32,
}

struct Inst {
    engine: Engine,
    ref_price: i64,
    day: Day,
    bar: Option<Bar>,
    last_snapshot_ns: u64,
    last_bbo: (Option<i64>, u64, Option<i64>, u64),
}

/// The simulator. See the crate documentation.
pub struct Simulation {
    cfg: Config,
    rng: Rng,
    now: u64,
    insts: Vec<Inst>,
    encoders: Vec<(Stream, Encoder, Vec<u8>, u64)>,
    out: Vec<Datagram>,
    next_order_id: u64,
    next_trade_id: u64,
    next_liquidation_id: u64,
    pending: Vec<Msg>,
    last_second: u64,
}

fn ticker_stats(day: &Day) -> (i64, i32) {
    let change = day.last - day.open;
    let pct = if day.open != 0 {
        (change as f64 / day.open as f64 * 10_000.0) as i32
    } else {
        0
    };
    (change, pct)
}

impl Simulation {
    pub fn new(cfg: Config) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let insts = (0..cfg.instruments)
            .map(|i| Inst {
                engine: Engine::new(i + 1),
                ref_price: 10_000 + rng.below(90_000) as i64,
                day: Day::default(),
                bar: None,
                last_snapshot_ns: cfg.start_ns,
                last_bbo: (None, 0, None, 0),
            })
            .collect();
        let encoders = Stream::ALL
            .iter()
            .map(|&s| (s, Encoder::new(s.session(), 1), Vec::new(), cfg.start_ns))
            .collect();
        Self {
            cfg,
            rng,
            now: cfg.start_ns,
            insts,
            encoders,
            out: Vec::new(),
            next_order_id: 1,
            next_trade_id: 0,
            next_liquidation_id: 0,
            pending: Vec::new(),
            last_second: cfg.start_ns / SNAPSHOT_EVERY_NS,
        }
    }

    /// Runs the whole session; returns every datagram in publication order.
    pub fn run(mut self) -> (Vec<Datagram>, Oracle) {
        for i in 0..self.insts.len() {
            self.pending.push(Msg::Definition(self.definition(i)));
        }
        self.flush();
        for _ in 0..self.cfg.events {
            self.now += self.rng.exp(self.cfg.mean_gap_ns) as u64 + 1;
            let i = self.rng.below(self.insts.len() as u64) as usize;
            self.event(i);
            self.periodic();
            self.flush();
        }
        // The quiet tail: time passes, snapshots, statistics and heartbeats go on.
        let end = self.now + self.cfg.quiet_tail_s * SNAPSHOT_EVERY_NS;
        while self.now < end {
            self.now += SNAPSHOT_EVERY_NS / 4;
            self.periodic();
            self.flush();
        }
        let oracle = Oracle {
            books: self
                .insts
                .iter()
                .map(|i| {
                    (
                        i.engine.symbol_id,
                        i.engine.top(Side::Buy, 10),
                        i.engine.top(Side::Sell, 10),
                    )
                })
                .collect(),
        };
        (self.out, oracle)
    }

    fn size(&mut self) -> u64 {
        self.rng.pareto(1.0, 1.5, 10_000.0)
    }

    /// One order-flow event on instrument `i`.
    fn event(&mut self, i: usize) {
        let r = self.rng.f64();
        let inst = &mut self.insts[i];
        // The reference price walks, pulled towards the book's mid.
        let e = &inst.engine;
        if let (Some(b), Some(a)) = (e.best(Side::Buy), e.best(Side::Sell)) {
            inst.ref_price = (b + a) / 2;
        }
        if self.rng.chance(0.05) {
            inst.ref_price += if self.rng.chance(0.5) { TICK } else { -TICK };
        }
        let count = inst.engine.order_count() as u64;
        let mut out = Vec::new();
        if r < 0.45 || count < self.cfg.min_resting as u64 {
            let side = if self.rng.chance(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let away = self.rng.geometric(0.25) as i64 * TICK;
            let inst = &self.insts[i];
            let price = match side {
                Side::Buy => inst
                    .engine
                    .best(Side::Sell)
                    .map_or(inst.ref_price - away, |a| {
                        (a - away).min(inst.ref_price - away + TICK)
                    }),
                Side::Sell => inst
                    .engine
                    .best(Side::Buy)
                    .map_or(inst.ref_price + away, |b| {
                        (b + away).max(inst.ref_price + away - TICK)
                    }),
            };
            let qty = self.size();
            let hidden = self.rng.chance(0.03);
            let post_only = self.rng.chance(0.1);
            let id = self.next_id();
            let inst = &mut self.insts[i];
            if inst.engine.crosses(side, price) {
                if !post_only {
                    inst.engine.take_liquidity(
                        id,
                        side,
                        Some(price),
                        qty,
                        true,
                        &mut self.next_trade_id,
                        self.now,
                        &mut out,
                    );
                }
            } else {
                inst.engine.add(
                    Resting {
                        id,
                        side,
                        price,
                        qty,
                        hidden,
                    },
                    post_only,
                    &mut out,
                );
            }
        } else if r < 0.82 {
            let pick = self.rng.next_u64();
            if let Some(o) = self.insts[i].engine.order_at(pick) {
                let reason = if self.rng.chance(0.9) {
                    DeleteReason::Canceled
                } else {
                    DeleteReason::Expired
                };
                self.insts[i].engine.cancel(o.id, reason, &mut out);
            }
        } else if r < 0.93 {
            let pick = self.rng.next_u64();
            if let Some(o) = self.insts[i].engine.order_at(pick) {
                let step = (1 + self.rng.below(3) as i64) * TICK;
                let (price, qty) = match self.rng.below(3) {
                    0 => (
                        if self.rng.chance(0.5) {
                            o.price + step
                        } else {
                            o.price - step
                        },
                        o.qty,
                    ),
                    1 => (o.price, (o.qty / 2).max(1)),
                    _ => (o.price, o.qty + self.size()),
                };
                self.insts[i].engine.modify(o.id, price, qty, &mut out);
            }
        } else {
            let side = if self.rng.chance(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let qty = self.size() * 4;
            let through = self.rng.below(4) as i64 * TICK;
            let id = self.next_id();
            let market = self.rng.chance(0.2);
            let now = self.now;
            let inst = &mut self.insts[i];
            let limit = match side {
                Side::Buy => inst.engine.best(Side::Sell).map(|a| a + through),
                Side::Sell => inst.engine.best(Side::Buy).map(|b| b - through),
            };
            let liquidation = self.rng.chance(0.02);
            let traded = inst.engine.take_liquidity(
                id,
                side,
                if market { None } else { limit },
                qty,
                !market,
                &mut self.next_trade_id,
                now,
                &mut out,
            );
            if liquidation && traded > 0 {
                self.next_liquidation_id += 1;
                let mut l = LiquidationEvent::new();
                l.set_symbol_id(self.insts[i].engine.symbol_id);
                l.set_side(side);
                l.set_status(if traded < qty {
                    LiquidationStatus::PartiallyFilled
                } else {
                    LiquidationStatus::Filled
                });
                l.set_liquidation_id(self.next_liquidation_id);
                l.set_price(limit.unwrap_or(0));
                l.set_quantity(qty);
                l.set_avg_price(limit.unwrap_or(0));
                l.set_filled_quantity(traded);
                l.set_last_fill_quantity(traded);
                out.push(Msg::Liquidation(l));
            }
        }
        self.account(i, &out);
        self.pending.extend(out);
        self.top_of_book(i);
        if self.insts[i].engine.since_snapshot >= SNAPSHOT_EVERY_INCREMENTS {
            self.snapshot(i);
        }
    }

    fn next_id(&mut self) -> u64 {
        self.next_order_id += 1;
        self.next_order_id
    }

    /// Trades into the day's statistics and the current bar.
    fn account(&mut self, i: usize, msgs: &[Msg]) {
        let now = self.now;
        let inst = &mut self.insts[i];
        for m in msgs {
            let Msg::Trade(t) = m else { continue };
            let (p, q) = (t.price(), t.quantity());
            let d = &mut inst.day;
            if d.trades == 0 {
                d.open = p;
                d.high = p;
                d.low = p;
            }
            d.high = d.high.max(p);
            d.low = d.low.min(p);
            d.last = p;
            d.last_qty = q;
            d.volume += q;
            d.turnover = d.turnover.wrapping_add((p.unsigned_abs()).wrapping_mul(q));
            d.trades += 1;
            let minute = now / 60_000_000_000 * 60_000_000_000;
            let bar = inst.bar.get_or_insert(Bar {
                open_time: minute,
                open: p,
                high: p,
                low: p,
                close: p,
                ..Bar::default()
            });
            bar.high = bar.high.max(p);
            bar.low = bar.low.min(p);
            bar.close = p;
            bar.volume += q;
            bar.turnover = bar.turnover.wrapping_add(p.unsigned_abs().wrapping_mul(q));
            bar.trades += 1;
        }
    }

    fn top_of_book(&mut self, i: usize) {
        let e = &self.insts[i].engine;
        let (b, a) = (
            e.top(Side::Buy, 1).first().copied(),
            e.top(Side::Sell, 1).first().copied(),
        );
        let bbo = (
            b.map(|l| l.0),
            b.map_or(0, |l| l.1),
            a.map(|l| l.0),
            a.map_or(0, |l| l.1),
        );
        if bbo == self.insts[i].last_bbo {
            return;
        }
        let symbol_id = e.symbol_id;
        self.insts[i].last_bbo = bbo;
        let mut t = TopOfBookSnapshot::new();
        t.set_symbol_id(symbol_id);
        t.set_best_bid_price(bbo.0.unwrap_or(0));
        t.set_best_bid_qty(bbo.1);
        t.set_best_ask_price(bbo.2.unwrap_or(0));
        t.set_best_ask_qty(bbo.3);
        if let (Some(b), Some(a)) = (bbo.0, bbo.2) {
            t.set_spread(a - b);
            t.set_mid_price(b + (a - b) / 2);
        }
        self.pending.push(Msg::TopOfBook(t));
    }

    fn snapshot(&mut self, i: usize) {
        let inst = &mut self.insts[i];
        let e = &mut inst.engine;
        let mut s = OrderBookSnapshot::new();
        s.set_symbol_id(e.symbol_id);
        s.set_snapshot_seq(e.book_seq);
        let (bids, asks) = (e.top(Side::Buy, 10), e.top(Side::Sell, 10));
        s.set_num_bid_levels(bids.len() as u8);
        s.set_num_ask_levels(asks.len() as u8);
        fill_levels(s.bids_mut(), &bids);
        fill_levels(s.asks_mut(), &asks);
        s.set_last_trade_price(inst.day.last);
        s.set_volume_24h(inst.day.volume);
        e.since_snapshot = 0;
        inst.last_snapshot_ns = self.now;
        self.pending.push(Msg::Snapshot(Box::new(s)));
    }

    /// Once a second: snapshots not sent for a second, trade snapshots, statistics, tickers,
    /// klines (closed at the minute), definitions every 10 s.
    fn periodic(&mut self) {
        let second = self.now / SNAPSHOT_EVERY_NS;
        if second == self.last_second {
            return;
        }
        self.last_second = second;
        let now = self.now;
        for i in 0..self.insts.len() {
            if now - self.insts[i].last_snapshot_ns >= SNAPSHOT_EVERY_NS {
                self.snapshot(i);
            }
            let inst = &mut self.insts[i];
            let sym = inst.engine.symbol_id;
            let mut ts = TradeSnapshot::new();
            ts.set_symbol_id(sym);
            let recent: Vec<_> = inst.engine.fills.iter().rev().take(5).copied().collect();
            ts.set_num_trades(recent.len() as u8);
            for (slot, f) in ts.trades_mut().iter_mut().zip(&recent) {
                slot.set_trade_id(f.trade_id);
                slot.set_price(f.price);
                slot.set_quantity(f.qty);
                slot.set_trade_time(f.time_ns);
                slot.set_taker_side(f.taker_side);
            }
            let day = inst.day;
            let (change, pct) = ticker_stats(&day);
            let mut d = DailyStatistics::new();
            d.set_symbol_id(sym);
            d.set_open_price(day.open);
            d.set_high_price(day.high);
            d.set_low_price(day.low);
            d.set_last_price(day.last);
            d.set_volume_24h(day.volume);
            d.set_turnover_24h(day.turnover);
            d.set_price_change(change);
            d.set_price_change_pct(pct);
            d.set_trade_count(day.trades);
            let (b, a) = (
                inst.engine.top(Side::Buy, 1).first().copied(),
                inst.engine.top(Side::Sell, 1).first().copied(),
            );
            let mut t = TickerUpdate::new();
            t.set_symbol_id(sym);
            t.set_last_price(day.last);
            t.set_last_qty(day.last_qty);
            t.set_best_bid_price(b.map_or(0, |l| l.0));
            t.set_best_bid_qty(b.map_or(0, |l| l.1));
            t.set_best_ask_price(a.map_or(0, |l| l.0));
            t.set_best_ask_qty(a.map_or(0, |l| l.1));
            t.set_price_change_24h(change);
            t.set_volume_24h(day.volume);
            t.set_turnover_24h(day.turnover);
            t.set_price_change_pct_24h(pct);
            let mut msgs = vec![
                Msg::TradeSnapshot(Box::new(ts)),
                Msg::Daily(d),
                Msg::Ticker(t),
            ];
            if let Some(bar) = inst.bar {
                let closed = now >= bar.open_time + 60_000_000_000;
                let mut k = KlineUpdate::new();
                k.set_symbol_id(sym);
                k.set_interval(KlineInterval::OneMinute);
                if closed {
                    k.set_flags(KlineFlags::CLOSED);
                    inst.bar = None;
                }
                k.set_open_time(bar.open_time);
                k.set_open_price(bar.open);
                k.set_high_price(bar.high);
                k.set_low_price(bar.low);
                k.set_close_price(bar.close);
                k.set_volume(bar.volume);
                k.set_turnover(bar.turnover);
                k.set_trade_count(bar.trades);
                msgs.push(Msg::Kline(k));
            }
            if second % 10 == 0 {
                msgs.push(Msg::Definition(self.definition(i)));
            }
            self.pending.extend(msgs);
        }
    }

    fn definition(&self, i: usize) -> InstrumentDefinition {
        let sym = self.insts[i].engine.symbol_id;
        let mut d = InstrumentDefinition::new();
        d.set_symbol_id(sym);
        d.set_total_instruments(self.cfg.instruments);
        d.set_trading_status(TradingStatus::Trading);
        d.set_price_exponent(-2);
        d.set_quantity_exponent(-3);
        // Names are short ASCII, within the 16/8-byte fields: these cannot fail.
        let _ = d.set_symbol(&format!("SIM{sym}USDT"));
        let _ = d.set_base_asset(&format!("SIM{sym}"));
        let _ = d.set_quote_asset("USDT");
        d.set_tick_size(TICK);
        d.set_lot_size(1);
        d.set_min_quantity(1);
        d.set_max_quantity(1_000_000);
        d
    }

    /// Encodes the pending messages, stream by stream, into datagrams; heartbeats go out on
    /// streams quiet for longer than their interval.
    fn flush(&mut self) {
        let now = self.now;
        for m in std::mem::take(&mut self.pending) {
            let s = Stream::of(&m);
            let slot = self
                .encoders
                .iter_mut()
                .find(|e| e.0 == s)
                .expect("every stream has an encoder");
            let (_, enc, buf, last) = slot;
            macro_rules! put {
                ($msg:expr) => {{
                    let mut msg = $msg;
                    if !enc.append(buf, MTU_PAYLOAD, &mut msg, now) {
                        self.out.push(Datagram {
                            time_ns: now,
                            stream: s,
                            bytes: std::mem::take(buf),
                        });
                        enc.append(buf, MTU_PAYLOAD, &mut msg, now);
                    }
                }};
            }
            match m {
                Msg::Add(x) => put!(x),
                Msg::Modify(x) => put!(x),
                Msg::Delete(x) => put!(x),
                Msg::Execute(x) => put!(x),
                Msg::Trade(x) => put!(x),
                Msg::Snapshot(x) => put!(*x),
                Msg::TopOfBook(x) => put!(x),
                Msg::TradeSnapshot(x) => put!(*x),
                Msg::Daily(x) => put!(x),
                Msg::Kline(x) => put!(x),
                Msg::Ticker(x) => put!(x),
                Msg::Liquidation(x) => put!(x),
                Msg::Definition(x) => put!(x),
            }
            *last = now;
        }
        for (s, enc, buf, last) in &mut self.encoders {
            if buf.is_empty() && now - *last >= u64::from(HEARTBEAT_MS) * 1_000_000 {
                let mut hb = Heartbeat::new();
                hb.set_channel(s.channel());
                hb.set_interval_ms(HEARTBEAT_MS);
                enc.append(buf, MTU_PAYLOAD, &mut hb, now);
                *last = now;
            }
            if !buf.is_empty() {
                self.out.push(Datagram {
                    time_ns: now,
                    stream: *s,
                    bytes: std::mem::take(buf),
                });
            }
        }
    }
}

/// Writes levels (best first) into a snapshot's array; entries past them stay zero.
fn fill_levels(slots: &mut [PriceLevel], levels: &[engine::Level]) {
    for (slot, &(p, q, c)) in slots.iter_mut().zip(levels) {
        slot.set_price(p);
        slot.set_quantity(q);
        slot.set_order_count(c);
    }
}

/// The engines' final books: what every subscriber must end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oracle {
    /// (symbol id, best 10 bids, best 10 asks), levels as (price, quantity, orders).
    pub books: Vec<(u32, Vec<engine::Level>, Vec<engine::Level>)>,
}
