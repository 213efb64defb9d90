//! A deterministic market simulator for RLTOP.
//!
//! `N` instruments, each with its own matching engine ([`engine::Engine`]), receive a seeded
//! stream of order flow: passive orders placed a geometric number of ticks from the touch
//! around a random-walking price, heavy-tailed (Pareto) sizes, many cancels and
//! modifications for each trade (as on real venues), and aggressive orders that trade
//! through several levels. The engines are the matching engine of the reference publisher
//! ([`rltop_publish::Publisher`]), which they tell every change order by order; the
//! publisher numbers, packs and sends on the channel plan (the draft's by default) with
//! its snapshot, statistics, definition and heartbeat cycles. [`Market`] is that order
//! flow, step by step (what `rltop publish --source sim` runs); [`Simulation`] runs a
//! whole session on virtual time and keeps the datagrams (what `rltop sim` writes).
//!
//! The engines' books are the oracle: a feed handler fed the datagrams, with any loss, must
//! end with the same top-N books ([`Simulation::top`]).

pub mod engine;
mod rng;

use std::net::SocketAddrV4;

use rltop::*;
use rltop_net::plan::Plan;
use rltop_publish::transport::Memory;
use rltop_publish::{Event, Publisher};

use engine::{Engine, Resting};
pub use rng::Rng;

pub use rltop_net::plan::Stream;

/// One published datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub time_ns: u64,
    /// The multicast group and port it was sent to.
    pub dst: SocketAddrV4,
    pub stream: Stream,
    /// The session its messages carry.
    pub session: u64,
    pub bytes: Vec<u8>,
}

/// Simulation settings.
#[derive(Debug, Clone)]
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
    /// Symbols of the first instruments, in symbol-id order; the others are `SIM<id>USDT`.
    /// Each must fit `InstrumentDefinition.symbol` ([`Config::check`]).
    pub symbols: Vec<String>,
}

impl Config {
    /// Refuses symbols the definition's text field cannot carry (too long, not printable
    /// ASCII), naming the first such symbol and why.
    pub fn check(&self) -> Result<(), String> {
        let mut d = InstrumentDefinition::new();
        for (i, symbol) in self.symbols.iter().enumerate() {
            d.set_symbol(symbol)
                .map_err(|e| format!("symbol {} ({symbol:?}): {e}", i + 1))?;
        }
        Ok(())
    }

    fn symbol(&self, symbol_id: u32) -> String {
        match self.symbols.get(symbol_id as usize - 1) {
            Some(s) => s.clone(),
            None => format!("SIM{symbol_id}USDT"),
        }
    }
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
            symbols: Vec::new(),
        }
    }
}

const SECOND_NS: u64 = 1_000_000_000;
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
    /// Fills of the engine already counted in `day` and `bar`.
    accounted: usize,
}

/// The simulated market: seeded order flow through the matching engines, as events for a
/// publisher. See the crate documentation.
pub struct Market {
    cfg: Config,
    rng: Rng,
    now: u64,
    insts: Vec<Inst>,
    next_order_id: u64,
    next_trade_id: u64,
    next_liquidation_id: u64,
    events_done: u64,
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

impl Market {
    pub fn new(cfg: Config) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let insts = (0..cfg.instruments)
            .map(|i| Inst {
                engine: Engine::new(i + 1),
                ref_price: 10_000 + rng.below(90_000) as i64,
                day: Day::default(),
                bar: None,
                accounted: 0,
            })
            .collect();
        Self {
            now: cfg.start_ns,
            last_second: cfg.start_ns / SECOND_NS,
            cfg,
            rng,
            insts,
            next_order_id: 1,
            next_trade_id: 0,
            next_liquidation_id: 0,
            events_done: 0,
        }
    }

    /// The market's virtual time, ns since the epoch.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The instruments' definitions: the first events of a session.
    pub fn definitions(&self, out: &mut Vec<Event>) {
        for i in 0..self.insts.len() {
            out.push(Event::Instrument(Box::new(self.definition(i))));
        }
    }

    /// The next order-flow event and, at each new second, the statistics: advances the
    /// virtual time and appends the events. False once the configured events are done.
    pub fn step(&mut self, out: &mut Vec<Event>) -> bool {
        if self.events_done >= self.cfg.events {
            return false;
        }
        self.events_done += 1;
        self.now += self.rng.exp(self.cfg.mean_gap_ns) as u64 + 1;
        let i = self.rng.below(self.insts.len() as u64) as usize;
        self.event(i, out);
        self.statistics(out);
        true
    }

    /// Lets `ns` pass without order flow (statistics still come each second).
    pub fn idle(&mut self, ns: u64, out: &mut Vec<Event>) {
        self.now += ns;
        self.statistics(out);
    }

    /// The engines' books now: what every subscriber must end with.
    pub fn oracle(&self) -> Oracle {
        Oracle {
            books: self
                .insts
                .iter()
                .map(|i| {
                    (
                        i.engine.symbol_id,
                        i.engine.top(Side::Buy, rltop_publish::SNAPSHOT_DEPTH),
                        i.engine.top(Side::Sell, rltop_publish::SNAPSHOT_DEPTH),
                    )
                })
                .collect(),
        }
    }

    fn size(&mut self) -> u64 {
        self.rng.pareto(1.0, 1.5, 10_000.0)
    }

    /// One order-flow event on instrument `i`.
    fn event(&mut self, i: usize, out: &mut Vec<Event>) {
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
        if r < 0.45 || count < self.cfg.min_resting as u64 {
            self.limit_order(i, out);
        } else if r < 0.82 {
            self.cancel(i, out);
        } else if r < 0.93 {
            self.modify(i, out);
        } else {
            self.take(i, out);
        }
        self.account(i);
    }

    /// A limit order near the reference price: it rests, or trades if it crosses (unless
    /// post-only, then it is dropped).
    fn limit_order(&mut self, i: usize, out: &mut Vec<Event>) {
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
                    out,
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
                out,
            );
        }
    }

    /// A resting order canceled (or expired).
    fn cancel(&mut self, i: usize, out: &mut Vec<Event>) {
        let pick = self.rng.next_u64();
        if let Some(o) = self.insts[i].engine.order_at(pick) {
            let reason = if self.rng.chance(0.9) {
                DeleteReason::Canceled
            } else {
                DeleteReason::Expired
            };
            self.insts[i].engine.cancel(o.id, reason, out);
        }
    }

    /// A resting order's price moved a few ticks, or its quantity halved or grown.
    fn modify(&mut self, i: usize, out: &mut Vec<Event>) {
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
            self.insts[i].engine.modify(o.id, price, qty, out);
        }
    }

    /// An aggressive order taking liquidity (a market order one time in five), now and
    /// then reported as a liquidation.
    fn take(&mut self, i: usize, out: &mut Vec<Event>) {
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
            out,
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
            out.push(Event::Liquidation(Box::new(l)));
        }
    }

    fn next_id(&mut self) -> u64 {
        self.next_order_id += 1;
        self.next_order_id
    }

    /// The engine's new fills into the day's statistics and the current bar.
    fn account(&mut self, i: usize) {
        let now = self.now;
        let inst = &mut self.insts[i];
        for f in &inst.engine.fills[inst.accounted..] {
            let (p, q) = (f.price, f.qty);
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
        inst.accounted = inst.engine.fills.len();
    }

    /// Once a second: statistics, tickers, klines (closed at the minute). Snapshots,
    /// trade snapshots and definitions are the publisher's cycles.
    fn statistics(&mut self, out: &mut Vec<Event>) {
        let second = self.now / SECOND_NS;
        if second == self.last_second {
            return;
        }
        self.last_second = second;
        let now = self.now;
        for i in 0..self.insts.len() {
            let inst = &mut self.insts[i];
            let sym = inst.engine.symbol_id;
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
            out.push(Event::Daily(Box::new(d)));
            out.push(Event::Ticker(Box::new(t)));
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
                out.push(Event::Kline(Box::new(k)));
            }
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
        // Config::check refuses a symbol the field cannot carry; the default names and
        // the assets are short ASCII.
        let _ = d.set_symbol(&self.cfg.symbol(sym));
        let _ = d.set_base_asset(&format!("SIM{sym}"));
        let _ = d.set_quote_asset("USDT");
        d.set_tick_size(TICK);
        d.set_lot_size(1);
        d.set_min_quantity(1);
        d.set_max_quantity(1_000_000);
        d
    }
}

/// A whole session on virtual time: the market's order flow through the publisher, the
/// datagrams kept. See the crate documentation.
pub struct Simulation {
    cfg: Config,
    plan: Plan,
}

impl Simulation {
    /// A simulation on the draft's channel plan.
    pub fn new(cfg: Config) -> Self {
        Self::with_plan(cfg, Plan::default())
    }

    pub fn with_plan(cfg: Config, plan: Plan) -> Self {
        Self { cfg, plan }
    }

    /// Runs the whole session: definitions, the order flow, the quiet tail (snapshots,
    /// statistics and heartbeats go on, so a subscriber that lost the end of the flow
    /// recovers), and the end of the session. Returns every datagram in publication order
    /// and the engines' final books.
    pub fn run(self) -> (Vec<Datagram>, Oracle) {
        let quiet_tail_s = self.cfg.quiet_tail_s;
        let mut market = Market::new(self.cfg);
        let endpoints = self.plan.endpoints();
        let mut publisher = Publisher::new(self.plan, Memory::default());
        let mut events = Vec::new();
        market.definitions(&mut events);
        let publish = |publisher: &mut Publisher<Memory>, events: &mut Vec<Event>, now| {
            // The engines and the publisher's books must agree: a refusal is a bug here.
            if let Err(e) = publisher.publish_all(events, now) {
                panic!("the publisher refused the simulator's event: {e}");
            }
            events.clear();
        };
        publish(&mut publisher, &mut events, market.now());
        while market.step(&mut events) {
            publish(&mut publisher, &mut events, market.now());
        }
        let end = market.now() + quiet_tail_s * SECOND_NS;
        while market.now() < end {
            market.idle(SECOND_NS / 4, &mut events);
            publish(&mut publisher, &mut events, market.now());
            let _ = publisher.poll(market.now());
        }
        if let Err(e) = publisher.end_session(market.now()) {
            panic!("in-memory transport cannot fail: {e}");
        }
        let datagrams = publisher
            .into_transport()
            .sent
            .into_iter()
            .map(|d| {
                let e = endpoints
                    .iter()
                    .find(|e| e.addr == d.dst)
                    .expect("the publisher sends only to the plan's groups");
                Datagram {
                    time_ns: d.time_ns,
                    dst: d.dst,
                    stream: e.stream,
                    session: e.session,
                    bytes: d.bytes,
                }
            })
            .collect();
        (datagrams, market.oracle())
    }
}

/// The engines' final books: what every subscriber must end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oracle {
    /// (symbol id, best 10 bids, best 10 asks), levels as (price, quantity, orders).
    pub books: Vec<(u32, Vec<engine::Level>, Vec<engine::Level>)>,
}

impl Oracle {
    /// The books as JSON (what `rltop sim --books` and `rltop listen --books-out` write):
    /// `[{"symbol_id", "bids": [{"price", "quantity", "order_count"}], "asks": […]}]`,
    /// 64-bit integers as decimal strings (the conformance suite's book form).
    pub fn to_json(&self) -> String {
        let side = |levels: &[engine::Level]| {
            let items: Vec<String> = levels
                .iter()
                .map(|(p, q, c)| {
                    format!(r#"{{"price": "{p}", "quantity": "{q}", "order_count": {c}}}"#)
                })
                .collect();
            format!("[{}]", items.join(", "))
        };
        let books: Vec<String> = self
            .books
            .iter()
            .map(|(id, bids, asks)| {
                format!(
                    r#"  {{"symbol_id": {id}, "bids": {}, "asks": {}}}"#,
                    side(bids),
                    side(asks)
                )
            })
            .collect();
        format!("[\n{}\n]\n", books.join(",\n"))
    }
}
