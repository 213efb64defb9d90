//! The Binance view of an RLTOP feed: what the bridge keeps per instrument beyond the
//! feed handler's book, and every event it renders.
//!
//! # Depth: snapshots and diffs that fit
//!
//! Binance's local-book procedure (fetch `/api/v3/depth`, drop diff events with
//! `u <= lastUpdateId`, apply the rest in order, `U` of each = previous `u` + 1) needs the
//! REST snapshot and the diff stream to describe the same sequence of states. Here the
//! sequence numbers are the instrument's `order_book_seq` and the states are taken at
//! fixed boundaries, every 100 ms:
//!
//! * At each boundary the live book is compared with the **published view** (the levels as
//!   of the previous boundary). The levels that differ, with their new quantity (0: gone),
//!   are the `@depth@100ms` event, `U` = the view's `u` + 1, `u` = the book's seq; the
//!   view becomes the book.
//! * `/api/v3/depth` and the partial-book streams serve the view, so a snapshot's
//!   `lastUpdateId` is always some event's `u`, and the next event starts right after it.
//! * `@depth` (1000 ms) is the union of ten 100 ms diffs, each level with its latest
//!   quantity: a snapshot taken inside that second is still repaired by it, because every
//!   level that changed after the snapshot was in one of the 100 ms diffs it merges.
//!
//! A diff against the previous view is right however the book got to its new state:
//! increment by increment, or replaced by a snapshot after loss. While the feed marks an
//! instrument stale its view stands still (no events); when it recovers, the next diff
//! takes clients from the last good state to the recovered one.
//!
//! # Text
//!
//! Symbols and assets come off the wire: the alphabet ([`SymbolAlphabet`]) decides which
//! instruments are served, and every string is written through [`crate::json`]; the symbol
//! is escaped once per definition ([`Definition::symbol_json`]).
//!
//! # Prices and quantities
//!
//! Decimal strings with Binance spot's 8 places, from the scaled integers and the
//! definition's exponents ([`crate::decimal`]); an instrument is not rendered before its
//! definition has arrived, and one whose price or quantity exponent is finer than 8 places
//! is refused ([`Why::Precision`]): it could not be written without rounding. Turnover is
//! Σ price × quantity of the scaled integers, so its exponent is the sum of the two.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write;

use rltop::{KlineFlags, Message, TradingStatus};
use rltop_book::{Book, Side, TopLevel};
use rltop_feed::decimal::write_decimal;

use crate::decimal;
use rltop_feed::FeedHandler;

use crate::json::{self, Quoted};
use crate::streams::{Interval, Kind, SymbolAlphabet, SymbolKey, Symbols, Topic};

/// Trades kept per instrument for `/api/v3/trades` (Binance's maximum `limit`).
pub const TRADES_KEPT: usize = 1000;
/// Aggregate trades kept per instrument for `/api/v3/aggTrades` (its maximum `limit`).
pub const AGG_TRADES_KEPT: usize = 1000;
/// Closed bars kept per instrument and interval for `/api/v3/klines`.
pub const BARS_KEPT: usize = 1000;
const DAY_MS: u64 = 86_400_000;

/// Where rendered events go: the hub, or a test's vector.
pub trait Sink {
    /// Does anyone listen? (Nothing is rendered for nobody.)
    fn wants(&self, topic: Topic) -> bool;
    fn send(&mut self, topic: Topic, json: String);
}

/// An instrument's definition, as the streams and `exchangeInfo` need it.
#[derive(Debug, Clone)]
pub struct Definition {
    pub symbol_id: u32,
    pub key: SymbolKey,
    /// As the exchange writes it (`SIM1USDT`).
    pub symbol: String,
    /// `symbol` as a JSON string literal, escaped once for every event that names it.
    pub symbol_json: Quoted,
    pub base: String,
    pub quote: String,
    pub status: &'static str,
    pub price_exponent: i8,
    pub quantity_exponent: i8,
    pub tick_size: i64,
    pub lot_size: u64,
    pub min_quantity: u64,
    pub max_quantity: u64,
}

impl Definition {
    /// A price as a JSON string, 8 places (`"180.04000000"`).
    pub fn price(&self, out: &mut String, value: i128) {
        decimal::quoted(out, value, self.price_exponent);
    }

    /// A quantity as a JSON string, 8 places (`"0.00000000"` for a level removed).
    pub fn qty(&self, out: &mut String, value: u64) {
        decimal::quoted(out, i128::from(value), self.quantity_exponent);
    }

    /// Turnover (Σ price × quantity, scaled integers) as a JSON string: 8 places, more only
    /// where the exact value has digits past the eighth.
    pub fn turnover(&self, out: &mut String, value: u128) {
        out.push('"');
        decimal::write_unsigned(out, value, self.turnover_exponent());
        out.push('"');
    }

    /// Turnover / volume (a volume-weighted average price) as a JSON string, 8 places,
    /// truncated.
    pub fn average(&self, out: &mut String, turnover: u128, volume: u64) {
        out.push('"');
        decimal::write_ratio(out, turnover, volume, self.price_exponent);
        out.push('"');
    }

    pub fn turnover_exponent(&self) -> i8 {
        self.price_exponent.saturating_add(self.quantity_exponent)
    }

    pub fn price_string(&self, value: i128) -> String {
        decimal::string(value, self.price_exponent)
    }

    pub fn qty_string(&self, value: u64) -> String {
        decimal::string(i128::from(value), self.quantity_exponent)
    }
}

/// A change in basis points as Binance's percentage, three places (`523` → `"5.230"`), as
/// Binance writes `priceChangePercent` and `P`.
pub fn percent(out: &mut String, basis_points: i32) {
    out.push('"');
    write_decimal(out, i128::from(basis_points) * 10, -3);
    out.push('"');
}

fn status_name(s: Result<TradingStatus, rltop_runtime::InvalidEnum>) -> &'static str {
    match s {
        Ok(TradingStatus::PreOpen) => "PRE_TRADING",
        Ok(TradingStatus::Trading) => "TRADING",
        Ok(TradingStatus::Halted) => "HALT",
        Ok(TradingStatus::Closed) => "END_OF_DAY",
        Err(_) => "BREAK",
    }
}

/// A price level: (price, quantity), scaled integers.
pub type Level = (i64, u64);

/// The published levels of an instrument: the book as of the last 100 ms boundary.
#[derive(Debug, Clone, Default)]
pub struct DepthView {
    /// Best first.
    pub bids: Vec<(i64, u64)>,
    pub asks: Vec<(i64, u64)>,
    pub last_update_id: u64,
}

/// A public trade as `/api/v3/trades` gives it back.
#[derive(Debug, Clone, Copy)]
pub struct TradeRecord {
    pub id: u64,
    pub price: i64,
    pub qty: u64,
    pub time_ms: u64,
    pub buyer_maker: bool,
}

/// An aggregate trade (fills of one taker order at one price and time), as
/// `/api/v3/aggTrades` gives it back.
#[derive(Debug, Clone, Copy)]
pub struct AggTrade {
    pub id: u64,
    pub price: i64,
    pub qty: u64,
    pub first: u64,
    pub last: u64,
    pub time_ms: u64,
    pub buyer_maker: bool,
}

/// One candlestick.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bar {
    pub open_ms: u64,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    pub volume: u64,
    pub turnover: u64,
    pub trades: u32,
    pub closed: bool,
    /// From the trades the bridge saw inside the bar: first and last trade ids, taker-buy
    /// volume and turnover (not in `KlineUpdate`).
    pub first_trade: Option<u64>,
    pub last_trade: Option<u64>,
    pub taker_buy_volume: u64,
    pub taker_buy_turnover: u128,
}

/// What the trades the bridge saw inside one bar add up to. Binance's kline fields that
/// `KlineUpdate` lacks (first and last trade id, taker-buy volume) come from here, and so
/// does the whole bar while its `KlineUpdate` has not come yet.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    open_ms: u64,
    first: Option<u64>,
    last: Option<u64>,
    open: i64,
    high: i64,
    low: i64,
    close: i64,
    volume: u64,
    turnover: u64,
    trades: u32,
    taker_buy_volume: u64,
    taker_buy_turnover: u128,
}

impl Tally {
    fn bar(&self) -> Bar {
        Bar {
            open_ms: self.open_ms,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
            turnover: self.turnover,
            trades: self.trades,
            closed: false,
            first_trade: self.first,
            last_trade: self.last,
            taker_buy_volume: self.taker_buy_volume,
            taker_buy_turnover: self.taker_buy_turnover,
        }
    }
}

#[derive(Debug, Default)]
struct Series {
    current: Option<Bar>,
    closed: VecDeque<Bar>,
    /// Trade tallies of the last few bars by open time (a bar's `KlineUpdate` can come
    /// after the next bar's first trades).
    tallies: VecDeque<Tally>,
}

#[derive(Debug, Clone, Copy)]
struct Agg {
    id: u64,
    price: i64,
    qty: u64,
    first: u64,
    last: u64,
    time_ms: u64,
    buyer_maker: bool,
    taker_order_id: u64,
}

/// 24-hour statistics, from the feed's `DailyStatistics` and `TickerUpdate`.
#[derive(Debug, Clone, Copy, Default)]
struct Day {
    open: i64,
    high: i64,
    low: i64,
    last: i64,
    last_qty: u64,
    change: i64,
    change_bp: i32,
    volume: u64,
    turnover: u64,
    count: u32,
    time_ms: u64,
    known: bool,
}

/// Everything the bridge keeps of one instrument.
#[derive(Debug, Default)]
pub struct Instrument {
    pub def: Option<Definition>,
    pub view: DepthView,
    /// The 1000 ms diff being gathered: `U`, and levels with their latest quantity.
    slow_first: Option<u64>,
    slow_bids: BTreeMap<i64, u64>,
    slow_asks: BTreeMap<i64, u64>,
    /// The view moved since the last partial-book event of each speed.
    partial_fast_dirty: bool,
    partial_slow_dirty: bool,
    pub trades: VecDeque<TradeRecord>,
    /// Completed aggregate trades, oldest first.
    pub agg_trades: VecDeque<AggTrade>,
    agg: Option<Agg>,
    next_agg_id: u64,
    series: BTreeMap<Interval, Series>,
    day: Day,
    day_dirty: bool,
    /// Best bid and ask (price, quantity) last sent on `@bookTicker`.
    last_top: (Option<Level>, Option<Level>),
    /// Header time of the last message that changed the book, ms.
    last_book_ms: u64,
}

/// The bridge's instruments, by feed `symbol_id`.
#[derive(Debug, Default)]
pub struct Market {
    pub instruments: BTreeMap<u32, Instrument>,
    /// Upper-case symbol → symbol id.
    pub by_symbol: HashMap<String, u32>,
    alphabet: SymbolAlphabet,
    /// Symbol ids whose definition was refused, with the symbol refused and why.
    refused: BTreeMap<u32, (String, Why)>,
    scratch: Vec<TopLevel>,
}

/// A definition the bridge does not serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub symbol_id: u32,
    pub symbol: String,
    pub why: Why,
    /// The first refusal of this symbol for this id and reason (definitions repeat every
    /// cycle).
    pub first: bool,
}

/// Why a definition is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The symbol is outside the served alphabet.
    Alphabet,
    /// A price or quantity exponent finer than Binance's 8 places: its values could not be
    /// written as Binance writes them without rounding.
    Precision {
        price_exponent: i8,
        quantity_exponent: i8,
    },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `{:?}` escapes quotes, backslashes and control characters for a log line.
        write!(
            f,
            "definition of symbol id {} refused: symbol {:?} ",
            self.symbol_id, self.symbol
        )?;
        match self.why {
            Why::Alphabet => write!(f, "is outside the symbol alphabet"),
            Why::Precision {
                price_exponent,
                quantity_exponent,
            } => write!(
                f,
                "has price exponent {price_exponent} and quantity exponent \
                 {quantity_exponent}: one is finer than the 8 decimal places Binance's API \
                 writes (the finest served is {}), and the bridge does not round",
                decimal::FINEST_EXPONENT
            ),
        }
    }
}

fn ms(ns: u64) -> u64 {
    ns / 1_000_000
}

impl Market {
    /// A market that serves the symbols of `alphabet`.
    pub fn new(alphabet: SymbolAlphabet) -> Market {
        Market {
            alphabet,
            ..Market::default()
        }
    }

    pub fn instrument(&self, symbol: &str) -> Option<&Instrument> {
        self.instruments.get(self.by_symbol.get(symbol)?)
    }

    /// Symbol ids whose definition is refused.
    pub fn refused(&self) -> usize {
        self.refused.len()
    }

    /// A definition arrived (first or update). One whose symbol is outside the alphabet, or
    /// whose prices or quantities need more than 8 places, is refused, and an instrument
    /// defined before stops being served.
    pub fn define(
        &mut self,
        d: &rltop::InstrumentDefinition,
        symbols: &mut Symbols,
    ) -> Result<(), Refused> {
        let symbol = d.symbol().to_string();
        if !self.alphabet.admits(&symbol) {
            return Err(self.refuse(d.symbol_id(), symbol, Why::Alphabet));
        }
        let (price_exponent, quantity_exponent) = (d.price_exponent(), d.quantity_exponent());
        if price_exponent.min(quantity_exponent) < decimal::FINEST_EXPONENT {
            let why = Why::Precision {
                price_exponent,
                quantity_exponent,
            };
            return Err(self.refuse(d.symbol_id(), symbol, why));
        }
        self.refused.remove(&d.symbol_id());
        let key = symbols.intern(&symbol.to_ascii_lowercase());
        let def = Definition {
            symbol_id: d.symbol_id(),
            key,
            symbol_json: Quoted::new(&symbol),
            symbol: symbol.clone(),
            base: d.base_asset().to_string(),
            quote: d.quote_asset().to_string(),
            status: status_name(d.trading_status()),
            price_exponent,
            quantity_exponent,
            tick_size: d.tick_size(),
            lot_size: d.lot_size(),
            min_quantity: d.min_quantity(),
            max_quantity: d.max_quantity(),
        };
        let inst = self.instruments.entry(d.symbol_id()).or_default();
        if let Some(old) = &inst.def {
            if old.symbol != symbol {
                self.by_symbol.remove(&old.symbol);
            }
        }
        self.by_symbol.insert(symbol, d.symbol_id());
        inst.def = Some(def);
        Ok(())
    }

    fn refuse(&mut self, symbol_id: u32, symbol: String, why: Why) -> Refused {
        if let Some(old) = self
            .instruments
            .get_mut(&symbol_id)
            .and_then(|i| i.def.take())
        {
            self.by_symbol.remove(&old.symbol);
        }
        let refusal = (symbol, why);
        let first = self.refused.get(&symbol_id) != Some(&refusal);
        self.refused.insert(symbol_id, refusal.clone());
        Refused {
            symbol_id,
            symbol: refusal.0,
            why,
            first,
        }
    }

    /// The book of `symbol_id` changed (at header time `ts_ns`).
    pub fn book_changed(&mut self, symbol_id: u32, ts_ns: u64) {
        self.instruments.entry(symbol_id).or_default().last_book_ms = ms(ts_ns);
    }

    /// A public trade: `@trade` now; `@aggTrade` when its aggregate is complete.
    pub fn trade(&mut self, t: &rltop::Trade, sink: &mut dyn Sink) {
        let Some(inst) = self.instruments.get_mut(&t.symbol_id()) else {
            return;
        };
        let time_ms = ms(t.header().timestamp());
        // The taker sold: the buyer was the maker.
        let buyer_maker = matches!(t.taker_side(), Ok(rltop::Side::Sell));
        let record = TradeRecord {
            id: t.trade_id(),
            price: t.price(),
            qty: t.quantity(),
            time_ms,
            buyer_maker,
        };
        if inst.trades.len() == TRADES_KEPT {
            inst.trades.pop_front();
        }
        inst.trades.push_back(record);
        for interval in Interval::ALL {
            let series = inst.series.entry(interval).or_default();
            let open_ms = time_ms - time_ms % interval.millis();
            if series.tallies.back().is_none_or(|t| t.open_ms != open_ms) {
                if series.tallies.len() == 3 {
                    series.tallies.pop_front();
                }
                series.tallies.push_back(Tally {
                    open_ms,
                    open: record.price,
                    high: record.price,
                    low: record.price,
                    ..Tally::default()
                });
            }
            let tally = series.tallies.back_mut().expect("just pushed");
            tally.first.get_or_insert(record.id);
            tally.last = Some(record.id);
            tally.high = tally.high.max(record.price);
            tally.low = tally.low.min(record.price);
            tally.close = record.price;
            let turnover = u128::from(record.price.unsigned_abs()) * u128::from(record.qty);
            tally.volume += record.qty;
            tally.turnover = tally.turnover.wrapping_add(turnover as u64);
            tally.trades += 1;
            if !buyer_maker {
                tally.taker_buy_volume += record.qty;
                tally.taker_buy_turnover += turnover;
            }
        }
        let Some(def) = &inst.def else { return };
        let topic = Topic::Symbol(def.key, Kind::Trade);
        if sink.wants(topic) {
            let mut s = String::with_capacity(160);
            let _ = write!(
                s,
                "{{\"e\":\"trade\",\"E\":{time_ms},\"s\":{},\"t\":{},\"p\":",
                def.symbol_json, record.id
            );
            def.price(&mut s, i128::from(record.price));
            s.push_str(",\"q\":");
            def.qty(&mut s, record.qty);
            let _ = write!(s, ",\"T\":{time_ms},\"m\":{buyer_maker},\"M\":true}}");
            sink.send(topic, s);
        }
        // Aggregate: fills of one taker order at one price, at one time.
        let taker = t.taker_order_id();
        match &mut inst.agg {
            Some(a)
                if a.taker_order_id == taker
                    && taker != 0
                    && a.price == record.price
                    && a.time_ms == time_ms
                    && a.buyer_maker == buyer_maker =>
            {
                a.qty += record.qty;
                a.last = record.id;
            }
            _ => {
                Self::flush_agg(inst, sink);
                inst.agg = Some(Agg {
                    id: inst.next_agg_id,
                    price: record.price,
                    qty: record.qty,
                    first: record.id,
                    last: record.id,
                    time_ms,
                    buyer_maker,
                    taker_order_id: taker,
                });
                inst.next_agg_id += 1;
            }
        }
    }

    fn flush_agg(inst: &mut Instrument, sink: &mut dyn Sink) {
        let Some(a) = inst.agg.take() else {
            return;
        };
        if inst.agg_trades.len() == AGG_TRADES_KEPT {
            inst.agg_trades.pop_front();
        }
        inst.agg_trades.push_back(AggTrade {
            id: a.id,
            price: a.price,
            qty: a.qty,
            first: a.first,
            last: a.last,
            time_ms: a.time_ms,
            buyer_maker: a.buyer_maker,
        });
        let Some(def) = &inst.def else {
            return;
        };
        let topic = Topic::Symbol(def.key, Kind::AggTrade);
        if !sink.wants(topic) {
            return;
        }
        let mut s = String::with_capacity(180);
        let _ = write!(
            s,
            "{{\"e\":\"aggTrade\",\"E\":{},\"s\":{},\"a\":{},\"p\":",
            a.time_ms, def.symbol_json, a.id
        );
        def.price(&mut s, i128::from(a.price));
        s.push_str(",\"q\":");
        def.qty(&mut s, a.qty);
        let _ = write!(
            s,
            ",\"f\":{},\"l\":{},\"T\":{},\"m\":{},\"M\":true}}",
            a.first, a.last, a.time_ms, a.buyer_maker
        );
        sink.send(topic, s);
    }

    /// Statistics, klines and the like.
    pub fn market_message(&mut self, m: &Message<'_>, sink: &mut dyn Sink) {
        match m {
            Message::DailyStatistics(d) => {
                let Some(inst) = self.instruments.get_mut(&d.symbol_id()) else {
                    return;
                };
                let day = &mut inst.day;
                day.open = d.open_price();
                day.high = d.high_price();
                day.low = d.low_price();
                day.last = d.last_price();
                day.change = d.price_change();
                day.change_bp = d.price_change_pct();
                day.volume = d.volume_24h();
                day.turnover = d.turnover_24h();
                day.count = d.trade_count();
                day.time_ms = ms(d.header().timestamp());
                day.known = true;
                inst.day_dirty = true;
            }
            Message::TickerUpdate(t) => {
                let Some(inst) = self.instruments.get_mut(&t.symbol_id()) else {
                    return;
                };
                let day = &mut inst.day;
                day.last = t.last_price();
                day.last_qty = t.last_qty();
                day.change = t.price_change_24h();
                day.change_bp = t.price_change_pct_24h();
                day.volume = t.volume_24h();
                day.turnover = t.turnover_24h();
                day.time_ms = ms(t.header().timestamp());
                if !day.known {
                    // Only the ticker so far: the open is what the change implies.
                    day.open = day.last - day.change;
                    day.high = day.last.max(day.open);
                    day.low = day.last.min(day.open);
                    day.known = true;
                }
                inst.day_dirty = true;
            }
            Message::KlineUpdate(k) => self.kline(k, sink),
            _ => {}
        }
    }

    fn kline(&mut self, k: &rltop::KlineUpdate, sink: &mut dyn Sink) {
        let Ok(wire_interval) = k.interval() else {
            return;
        };
        let interval = Interval::from_wire(wire_interval);
        let Some(inst) = self.instruments.get_mut(&k.symbol_id()) else {
            return;
        };
        let series = inst.series.entry(interval).or_default();
        let open_ms = ms(k.open_time());
        let tally = series
            .tallies
            .iter()
            .find(|t| t.open_ms == open_ms)
            .copied()
            .unwrap_or_default();
        let bar = Bar {
            open_ms,
            open: k.open_price(),
            high: k.high_price(),
            low: k.low_price(),
            close: k.close_price(),
            volume: k.volume(),
            turnover: k.turnover(),
            trades: k.trade_count(),
            closed: k.flags().contains(KlineFlags::CLOSED),
            first_trade: tally.first,
            last_trade: tally.last,
            taker_buy_volume: tally.taker_buy_volume,
            taker_buy_turnover: tally.taker_buy_turnover,
        };
        // A new bar while the previous one never came closed: keep the previous as it was.
        if let Some(prev) = series.current.take() {
            if prev.open_ms != bar.open_ms {
                push_bar(&mut series.closed, prev);
            }
        }
        if bar.closed {
            push_bar(&mut series.closed, bar);
        } else {
            series.current = Some(bar);
        }
        let Some(def) = &inst.def else { return };
        let topic = Topic::Symbol(def.key, Kind::Kline(interval));
        if sink.wants(topic) {
            let mut s = String::with_capacity(400);
            let _ = write!(
                s,
                "{{\"e\":\"kline\",\"E\":{},\"s\":{},\"k\":",
                ms(k.header().timestamp()),
                def.symbol_json
            );
            kline_object(&mut s, def, interval, &bar);
            s.push('}');
            sink.send(topic, s);
        }
    }

    /// After each batch of datagrams: aggregates completed, book tickers of books whose top
    /// changed.
    pub fn after_batch(&mut self, feed: &FeedHandler, sink: &mut dyn Sink) {
        for (&symbol_id, inst) in self.instruments.iter_mut() {
            Self::flush_agg(inst, sink);
            if !feed.is_live(symbol_id) {
                continue;
            }
            let (Some(book), Some(seq)) = (feed.book(symbol_id), feed.order_book_seq(symbol_id))
            else {
                continue;
            };
            let (bid, ask) = (book.best_bid(), book.best_ask());
            let top = (bid.map(|l| (l.price, l.qty)), ask.map(|l| (l.price, l.qty)));
            if top == inst.last_top {
                continue;
            }
            inst.last_top = top;
            let Some(def) = &inst.def else { continue };
            let topic = Topic::Symbol(def.key, Kind::BookTicker);
            if sink.wants(topic) {
                let mut s = String::with_capacity(160);
                let _ = write!(s, "{{\"u\":{seq},\"s\":{},\"b\":", def.symbol_json);
                def.price(&mut s, i128::from(top.0.map_or(0, |l| l.0)));
                s.push_str(",\"B\":");
                def.qty(&mut s, top.0.map_or(0, |l| l.1));
                s.push_str(",\"a\":");
                def.price(&mut s, i128::from(top.1.map_or(0, |l| l.0)));
                s.push_str(",\"A\":");
                def.qty(&mut s, top.1.map_or(0, |l| l.1));
                s.push('}');
                sink.send(topic, s);
            }
        }
    }

    /// A 100 ms boundary: diffs against the views, partial books; with `second`, also the
    /// 1000 ms diffs and partial books, tickers and the all-market arrays.
    pub fn boundary(&mut self, second: bool, feed: &FeedHandler, sink: &mut dyn Sink) {
        let mut tickers = Vec::new();
        let mut minis = Vec::new();
        let want_all = sink.wants(Topic::AllTickers);
        let want_all_mini = sink.wants(Topic::AllMiniTickers);
        for (&symbol_id, inst) in self.instruments.iter_mut() {
            if feed.is_live(symbol_id) {
                if let (Some(book), Some(seq)) =
                    (feed.book(symbol_id), feed.order_book_seq(symbol_id))
                {
                    if seq != inst.view.last_update_id {
                        Self::diff(inst, book, seq, &mut self.scratch, sink);
                    }
                }
            }
            let Some(def) = inst.def.clone() else {
                continue;
            };
            if inst.partial_fast_dirty {
                inst.partial_fast_dirty = false;
                Self::partials(inst, &def, true, sink);
            }
            if !second {
                continue;
            }
            if let Some(first) = inst.slow_first.take() {
                let topic = Topic::Symbol(def.key, Kind::Diff { fast: false });
                let bids: Vec<(i64, u64)> = std::mem::take(&mut inst.slow_bids)
                    .into_iter()
                    .rev()
                    .collect();
                let asks: Vec<(i64, u64)> =
                    std::mem::take(&mut inst.slow_asks).into_iter().collect();
                if sink.wants(topic) {
                    let s = diff_event(
                        &def,
                        inst.last_book_ms,
                        first,
                        inst.view.last_update_id,
                        &bids,
                        &asks,
                    );
                    sink.send(topic, s);
                }
            }
            if inst.partial_slow_dirty {
                inst.partial_slow_dirty = false;
                Self::partials(inst, &def, false, sink);
            }
            if inst.day_dirty && inst.day.known {
                inst.day_dirty = false;
                let ticker = Topic::Symbol(def.key, Kind::Ticker);
                if sink.wants(ticker) || want_all {
                    let s = ticker_event(inst, &def);
                    if want_all {
                        tickers.push(s.clone());
                    }
                    if sink.wants(ticker) {
                        sink.send(ticker, s);
                    }
                }
                let mini = Topic::Symbol(def.key, Kind::MiniTicker);
                if sink.wants(mini) || want_all_mini {
                    let s = mini_ticker_event(inst, &def);
                    if want_all_mini {
                        minis.push(s.clone());
                    }
                    if sink.wants(mini) {
                        sink.send(mini, s);
                    }
                }
            }
        }
        if !tickers.is_empty() {
            sink.send(Topic::AllTickers, format!("[{}]", tickers.join(",")));
        }
        if !minis.is_empty() {
            sink.send(Topic::AllMiniTickers, format!("[{}]", minis.join(",")));
        }
    }

    fn diff(
        inst: &mut Instrument,
        book: &Book,
        seq: u64,
        scratch: &mut Vec<TopLevel>,
        sink: &mut dyn Sink,
    ) {
        let first = inst.view.last_update_id + 1;
        let mut changes: [Vec<(i64, u64)>; 2] = [Vec::new(), Vec::new()];
        for (i, side) in [Side::Bid, Side::Ask].into_iter().enumerate() {
            scratch.clear();
            book.top_into(side, usize::MAX, scratch);
            let new: Vec<(i64, u64)> = scratch.iter().map(|l| (l.price, l.qty)).collect();
            let old = if side == Side::Bid {
                &inst.view.bids
            } else {
                &inst.view.asks
            };
            // Both best first: bids descending, asks ascending.
            let better = |a: i64, b: i64| if side == Side::Bid { a > b } else { a < b };
            let (mut o, mut n) = (0, 0);
            while o < old.len() || n < new.len() {
                match (old.get(o), new.get(n)) {
                    (Some(&(op, oq)), Some(&(np, nq))) if op == np => {
                        if oq != nq {
                            changes[i].push((np, nq));
                        }
                        o += 1;
                        n += 1;
                    }
                    (Some(&(op, _)), Some(&(np, _))) if better(op, np) => {
                        changes[i].push((op, 0));
                        o += 1;
                    }
                    (Some(&(op, _)), None) => {
                        changes[i].push((op, 0));
                        o += 1;
                    }
                    (_, Some(&(np, nq))) => {
                        changes[i].push((np, nq));
                        n += 1;
                    }
                    (None, None) => unreachable!(),
                }
            }
            if side == Side::Bid {
                inst.view.bids = new;
            } else {
                inst.view.asks = new;
            }
        }
        inst.view.last_update_id = seq;
        inst.partial_fast_dirty = true;
        inst.partial_slow_dirty = true;
        inst.slow_first.get_or_insert(first);
        for &(p, q) in &changes[0] {
            inst.slow_bids.insert(p, q);
        }
        for &(p, q) in &changes[1] {
            inst.slow_asks.insert(p, q);
        }
        let Some(def) = &inst.def else { return };
        let topic = Topic::Symbol(def.key, Kind::Diff { fast: true });
        if sink.wants(topic) {
            let s = diff_event(def, inst.last_book_ms, first, seq, &changes[0], &changes[1]);
            sink.send(topic, s);
        }
    }

    fn partials(inst: &Instrument, def: &Definition, fast: bool, sink: &mut dyn Sink) {
        for levels in [5u8, 10, 20] {
            let topic = Topic::Symbol(def.key, Kind::Depth { levels, fast });
            if sink.wants(topic) {
                sink.send(topic, depth_object(def, &inst.view, usize::from(levels)));
            }
        }
    }
}

fn push_bar(closed: &mut VecDeque<Bar>, mut bar: Bar) {
    bar.closed = true;
    if closed.back().is_some_and(|b| b.open_ms == bar.open_ms) {
        closed.pop_back();
    }
    if closed.len() == BARS_KEPT {
        closed.pop_front();
    }
    closed.push_back(bar);
}

fn levels_array(out: &mut String, def: &Definition, levels: &[(i64, u64)]) {
    out.push('[');
    for (i, &(p, q)) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        def.price(out, i128::from(p));
        out.push(',');
        def.qty(out, q);
        out.push(']');
    }
    out.push(']');
}

fn diff_event(
    def: &Definition,
    time_ms: u64,
    first: u64,
    last: u64,
    bids: &[(i64, u64)],
    asks: &[(i64, u64)],
) -> String {
    let mut s = String::with_capacity(96 + 40 * (bids.len() + asks.len()));
    let _ = write!(
        s,
        "{{\"e\":\"depthUpdate\",\"E\":{time_ms},\"s\":{},\"U\":{first},\"u\":{last},\"b\":",
        def.symbol_json
    );
    levels_array(&mut s, def, bids);
    s.push_str(",\"a\":");
    levels_array(&mut s, def, asks);
    s.push('}');
    s
}

/// `{"lastUpdateId","bids","asks"}`: a partial-book event and the `/api/v3/depth` body.
pub fn depth_object(def: &Definition, view: &DepthView, limit: usize) -> String {
    let bids = &view.bids[..view.bids.len().min(limit)];
    let asks = &view.asks[..view.asks.len().min(limit)];
    let mut s = String::with_capacity(64 + 40 * (bids.len() + asks.len()));
    let _ = write!(s, "{{\"lastUpdateId\":{},\"bids\":", view.last_update_id);
    levels_array(&mut s, def, bids);
    s.push_str(",\"asks\":");
    levels_array(&mut s, def, asks);
    s.push('}');
    s
}

/// The `k` object of a kline event.
fn kline_object(s: &mut String, def: &Definition, interval: Interval, bar: &Bar) {
    let close_ms = bar.open_ms + interval.millis() - 1;
    let id = |t: Option<u64>| t.map_or(-1, |t| t as i128);
    let _ = write!(
        s,
        "{{\"t\":{},\"T\":{close_ms},\"s\":{},\"i\":",
        bar.open_ms, def.symbol_json,
    );
    json::string(s, interval.name());
    let _ = write!(
        s,
        ",\"f\":{},\"L\":{},\"o\":",
        id(bar.first_trade),
        id(bar.last_trade)
    );
    def.price(s, i128::from(bar.open));
    s.push_str(",\"c\":");
    def.price(s, i128::from(bar.close));
    s.push_str(",\"h\":");
    def.price(s, i128::from(bar.high));
    s.push_str(",\"l\":");
    def.price(s, i128::from(bar.low));
    s.push_str(",\"v\":");
    def.qty(s, bar.volume);
    let _ = write!(s, ",\"n\":{},\"x\":{},\"q\":", bar.trades, bar.closed);
    def.turnover(s, u128::from(bar.turnover));
    s.push_str(",\"V\":");
    def.qty(s, bar.taker_buy_volume);
    s.push_str(",\"Q\":");
    def.turnover(s, bar.taker_buy_turnover);
    s.push_str(",\"B\":\"0\"}");
}

/// A bar as a `/api/v3/klines` row.
pub fn kline_row(s: &mut String, def: &Definition, interval: Interval, bar: &Bar) {
    let _ = write!(s, "[{},", bar.open_ms);
    def.price(s, i128::from(bar.open));
    s.push(',');
    def.price(s, i128::from(bar.high));
    s.push(',');
    def.price(s, i128::from(bar.low));
    s.push(',');
    def.price(s, i128::from(bar.close));
    s.push(',');
    def.qty(s, bar.volume);
    let _ = write!(s, ",{},", bar.open_ms + interval.millis() - 1);
    def.turnover(s, u128::from(bar.turnover));
    let _ = write!(s, ",{},", bar.trades);
    def.qty(s, bar.taker_buy_volume);
    s.push(',');
    def.turnover(s, bar.taker_buy_turnover);
    s.push_str(",\"0\"]");
}

impl Instrument {
    /// Bars of `interval`, oldest first: closed ones, then the forming one. A bar whose
    /// `KlineUpdate` has not come yet is made from the trades seen in it.
    pub fn bars(&self, interval: Interval) -> Vec<Bar> {
        let Some(series) = self.series.get(&interval) else {
            return Vec::new();
        };
        let mut bars: Vec<Bar> = series
            .closed
            .iter()
            .chain(series.current.iter())
            .copied()
            .collect();
        let newest = bars.last().map(|b| b.open_ms);
        for tally in &series.tallies {
            if newest.is_none_or(|n| tally.open_ms > n) {
                bars.push(tally.bar());
            }
        }
        bars
    }

    /// 24-hour figures, as `/api/v3/ticker/24hr` and `@ticker` give them.
    pub fn day_figures(&self) -> DayFigures {
        let from_trades;
        let d = if self.day.known {
            &self.day
        } else {
            from_trades = self.day_from_trades();
            &from_trades
        };
        let in_window = |t: &&TradeRecord| t.time_ms + DAY_MS > d.time_ms;
        let first_id = self
            .trades
            .iter()
            .find(in_window)
            .map_or(-1, |t| t.id as i128);
        let last_id = self.trades.back().map_or(-1, |t| t.id as i128);
        DayFigures {
            time_ms: d.time_ms,
            open: d.open,
            high: d.high,
            low: d.low,
            last: d.last,
            last_qty: d.last_qty,
            change: d.change,
            change_bp: d.change_bp,
            volume: d.volume,
            turnover: d.turnover,
            count: d.count,
            first_id,
            last_id,
            bid: self.view.bids.first().copied(),
            ask: self.view.asks.first().copied(),
        }
    }

    /// Before the feed's first statistics: the day so far as the trades the bridge holds
    /// tell it (all zero without trades).
    fn day_from_trades(&self) -> Day {
        let Some(last) = self.trades.back() else {
            return Day::default();
        };
        let window: Vec<&TradeRecord> = self
            .trades
            .iter()
            .filter(|t| t.time_ms + DAY_MS > last.time_ms)
            .collect();
        let open = window.first().map_or(last.price, |t| t.price);
        Day {
            open,
            high: window.iter().map(|t| t.price).max().unwrap_or(last.price),
            low: window.iter().map(|t| t.price).min().unwrap_or(last.price),
            last: last.price,
            last_qty: last.qty,
            change: last.price - open,
            change_bp: if open != 0 {
                ((last.price - open) as f64 / open as f64 * 10_000.0) as i32
            } else {
                0
            },
            volume: window.iter().map(|t| t.qty).sum(),
            turnover: window
                .iter()
                .map(|t| t.price.unsigned_abs().wrapping_mul(t.qty))
                .fold(0u64, u64::wrapping_add),
            count: window.len() as u32,
            time_ms: last.time_ms,
            known: true,
        }
    }
}

/// 24-hour figures of an instrument (scaled integers).
#[derive(Debug, Clone, Copy)]
pub struct DayFigures {
    pub time_ms: u64,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub last: i64,
    pub last_qty: u64,
    pub change: i64,
    pub change_bp: i32,
    pub volume: u64,
    /// Σ price × quantity; with `volume`, the weighted average price
    /// ([`Definition::average`]).
    pub turnover: u64,
    pub count: u32,
    pub first_id: i128,
    pub last_id: i128,
    pub bid: Option<(i64, u64)>,
    pub ask: Option<(i64, u64)>,
}

fn ticker_event(inst: &Instrument, def: &Definition) -> String {
    let f = inst.day_figures();
    let mut s = String::with_capacity(480);
    let _ = write!(
        s,
        "{{\"e\":\"24hrTicker\",\"E\":{},\"s\":{},\"p\":",
        f.time_ms, def.symbol_json
    );
    def.price(&mut s, i128::from(f.change));
    s.push_str(",\"P\":");
    percent(&mut s, f.change_bp);
    s.push_str(",\"w\":");
    def.average(&mut s, u128::from(f.turnover), f.volume);
    s.push_str(",\"x\":");
    def.price(&mut s, i128::from(f.open));
    s.push_str(",\"c\":");
    def.price(&mut s, i128::from(f.last));
    s.push_str(",\"Q\":");
    def.qty(&mut s, f.last_qty);
    s.push_str(",\"b\":");
    def.price(&mut s, i128::from(f.bid.map_or(0, |l| l.0)));
    s.push_str(",\"B\":");
    def.qty(&mut s, f.bid.map_or(0, |l| l.1));
    s.push_str(",\"a\":");
    def.price(&mut s, i128::from(f.ask.map_or(0, |l| l.0)));
    s.push_str(",\"A\":");
    def.qty(&mut s, f.ask.map_or(0, |l| l.1));
    s.push_str(",\"o\":");
    def.price(&mut s, i128::from(f.open));
    s.push_str(",\"h\":");
    def.price(&mut s, i128::from(f.high));
    s.push_str(",\"l\":");
    def.price(&mut s, i128::from(f.low));
    s.push_str(",\"v\":");
    def.qty(&mut s, f.volume);
    s.push_str(",\"q\":");
    def.turnover(&mut s, u128::from(f.turnover));
    let _ = write!(
        s,
        ",\"O\":{},\"C\":{},\"F\":{},\"L\":{},\"n\":{}}}",
        f.time_ms.saturating_sub(DAY_MS),
        f.time_ms,
        f.first_id,
        f.last_id,
        f.count
    );
    s
}

fn mini_ticker_event(inst: &Instrument, def: &Definition) -> String {
    let f = inst.day_figures();
    let mut s = String::with_capacity(240);
    let _ = write!(
        s,
        "{{\"e\":\"24hrMiniTicker\",\"E\":{},\"s\":{},\"c\":",
        f.time_ms, def.symbol_json
    );
    def.price(&mut s, i128::from(f.last));
    s.push_str(",\"o\":");
    def.price(&mut s, i128::from(f.open));
    s.push_str(",\"h\":");
    def.price(&mut s, i128::from(f.high));
    s.push_str(",\"l\":");
    def.price(&mut s, i128::from(f.low));
    s.push_str(",\"v\":");
    def.qty(&mut s, f.volume);
    s.push_str(",\"q\":");
    def.turnover(&mut s, u128::from(f.turnover));
    s.push('}');
    s
}
