//! Stream names, as Binance writes them, and the topics they mean.
//!
//! A client names streams (`btcusdt@depth20@100ms`, `!ticker@arr`); the hub and the engine
//! work with [`Topic`]s, small `Copy` keys. Symbols are interned to [`SymbolKey`]s on first
//! sight by name, so a stream of an instrument whose definition has not arrived yet is a
//! valid subscription that starts delivering when it does (as Binance accepts any
//! well-formed stream name).

use std::collections::HashMap;
use std::fmt;

/// A symbol's number in the bridge (interned lower-case name), not the feed's `symbol_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SymbolKey(pub u32);

/// Bar lengths the schema's `KlineUpdate` carries, with Binance's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interval {
    M1,
    M5,
    M15,
    H1,
    H4,
    D1,
}

impl Interval {
    pub const ALL: [Interval; 6] = [
        Interval::M1,
        Interval::M5,
        Interval::M15,
        Interval::H1,
        Interval::H4,
        Interval::D1,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Interval::M1 => "1m",
            Interval::M5 => "5m",
            Interval::M15 => "15m",
            Interval::H1 => "1h",
            Interval::H4 => "4h",
            Interval::D1 => "1d",
        }
    }

    pub fn parse(name: &str) -> Option<Interval> {
        Interval::ALL.into_iter().find(|i| i.name() == name)
    }

    pub fn millis(self) -> u64 {
        const MINUTE: u64 = 60_000;
        match self {
            Interval::M1 => MINUTE,
            Interval::M5 => 5 * MINUTE,
            Interval::M15 => 15 * MINUTE,
            Interval::H1 => 60 * MINUTE,
            Interval::H4 => 240 * MINUTE,
            Interval::D1 => 1440 * MINUTE,
        }
    }

    /// From the schema's enum.
    pub fn from_wire(i: rltop::KlineInterval) -> Interval {
        use rltop::KlineInterval as K;
        match i {
            K::OneMinute => Interval::M1,
            K::FiveMinutes => Interval::M5,
            K::FifteenMinutes => Interval::M15,
            K::OneHour => Interval::H1,
            K::FourHours => Interval::H4,
            K::OneDay => Interval::D1,
        }
    }
}

/// What a per-symbol stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Trade,
    AggTrade,
    BookTicker,
    /// Partial book: the best `levels` (5, 10 or 20) a side, every 1000 ms or 100 ms.
    Depth {
        levels: u8,
        fast: bool,
    },
    /// Diff depth: changed levels with `U`/`u`, every 1000 ms or 100 ms.
    Diff {
        fast: bool,
    },
    Ticker,
    MiniTicker,
    Kline(Interval),
}

/// What a subscription is to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    Symbol(SymbolKey, Kind),
    /// `!ticker@arr`: every symbol's 24-hour ticker, once a second.
    AllTickers,
    /// `!miniTicker@arr`.
    AllMiniTickers,
    /// `!bridgeStatus`: the bridge's source state (live, stale, ended); not Binance's.
    Status,
}

impl Topic {
    /// Latest-wins streams: a client that falls behind gets the newest value, not every one.
    /// Trades and diffs are a sequence whose every element matters; they never conflate.
    pub fn conflates(self) -> bool {
        match self {
            Topic::Symbol(_, kind) => {
                !matches!(kind, Kind::Trade | Kind::AggTrade | Kind::Diff { .. })
            }
            Topic::AllTickers | Topic::AllMiniTickers | Topic::Status => true,
        }
    }
}

/// Why a stream name is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadStream(pub String);

impl fmt::Display for BadStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid stream '{}'", self.0)
    }
}

/// Symbol names ↔ keys. Names are kept in Binance's stream form (lower case).
#[derive(Debug, Default)]
pub struct Symbols {
    keys: HashMap<String, SymbolKey>,
    names: Vec<String>,
}

impl Symbols {
    /// The key of a lower-case symbol name, interning it on first sight.
    pub fn intern(&mut self, lower: &str) -> SymbolKey {
        if let Some(&k) = self.keys.get(lower) {
            return k;
        }
        let k = SymbolKey(self.names.len() as u32);
        self.names.push(lower.to_string());
        self.keys.insert(lower.to_string(), k);
        k
    }

    pub fn get(&self, lower: &str) -> Option<SymbolKey> {
        self.keys.get(lower).copied()
    }

    pub fn name(&self, key: SymbolKey) -> &str {
        &self.names[key.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Which instrument symbols the bridge serves: where the line is drawn for text off the
/// wire. Either way every symbol is written through [`crate::json`], so no symbol can break
/// a frame; the alphabet decides which instruments clients see at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SymbolAlphabet {
    /// Binance's symbol alphabet, `^[A-Z0-9._-]{1,20}$` (what its REST validation quotes):
    /// every symbol served can be named in a stream (lower-cased) and in a URL without
    /// escaping, as Binance's clients build them. Definitions with other symbols are
    /// refused: not served, counted and logged.
    #[default]
    Binance,
    /// Any symbol the decoder accepts (printable ASCII, so `"`, `\`, `/`, `<`, `@` and
    /// spaces too). One outside Binance's alphabet is served in `exchangeInfo`, the REST
    /// endpoints (`symbol=` percent-encoded) and the all-market arrays, but has no
    /// per-symbol stream: a stream name cannot carry it.
    Printable,
}

impl SymbolAlphabet {
    pub fn admits(self, symbol: &str) -> bool {
        match self {
            SymbolAlphabet::Binance => {
                (1..=20).contains(&symbol.len())
                    && symbol.bytes().all(|b| {
                        b.is_ascii_uppercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            }
            SymbolAlphabet::Printable => {
                !symbol.is_empty() && symbol.bytes().all(|b| (b' '..=b'~').contains(&b))
            }
        }
    }
}

/// Most symbols a bridge interns from client stream names: a bound on what clients can make
/// it remember (names of instruments that never come).
pub const MAX_SYMBOLS: usize = 100_000;

/// Parses a stream name, interning its symbol.
pub fn parse(name: &str, symbols: &mut Symbols) -> Result<Topic, BadStream> {
    let bad = || BadStream(name.to_string());
    match name {
        "!ticker@arr" => return Ok(Topic::AllTickers),
        "!miniTicker@arr" => return Ok(Topic::AllMiniTickers),
        "!bridgeStatus" => return Ok(Topic::Status),
        _ => {}
    }
    let (symbol, rest) = name.split_once('@').ok_or_else(bad)?;
    // Binance's alphabet, lower-cased.
    let symbol_ok = (1..=20).contains(&symbol.len())
        && symbol
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !symbol_ok {
        return Err(bad());
    }
    let speed = |rest: &str| -> Option<(String, bool)> {
        match rest.split_once('@') {
            None => Some((rest.to_string(), false)),
            Some((base, "100ms")) => Some((base.to_string(), true)),
            Some((base, "1000ms")) => Some((base.to_string(), false)),
            Some(_) => None,
        }
    };
    let kind = match rest {
        "trade" => Kind::Trade,
        "aggTrade" => Kind::AggTrade,
        "bookTicker" => Kind::BookTicker,
        "ticker" => Kind::Ticker,
        "miniTicker" => Kind::MiniTicker,
        _ if rest.starts_with("kline_") => {
            Kind::Kline(Interval::parse(&rest["kline_".len()..]).ok_or_else(bad)?)
        }
        _ if rest.starts_with("depth") => {
            let (base, fast) = speed(rest).ok_or_else(bad)?;
            match base.as_str() {
                "depth" => Kind::Diff { fast },
                "depth5" => Kind::Depth { levels: 5, fast },
                "depth10" => Kind::Depth { levels: 10, fast },
                "depth20" => Kind::Depth { levels: 20, fast },
                _ => return Err(bad()),
            }
        }
        _ => return Err(bad()),
    };
    if symbols.get(symbol).is_none() && symbols.len() >= MAX_SYMBOLS {
        return Err(bad());
    }
    Ok(Topic::Symbol(symbols.intern(symbol), kind))
}

/// A topic's stream name (the inverse of [`parse`], in Binance's canonical spelling).
pub fn name(topic: Topic, symbols: &Symbols) -> String {
    let kind = match topic {
        Topic::AllTickers => return "!ticker@arr".into(),
        Topic::AllMiniTickers => return "!miniTicker@arr".into(),
        Topic::Status => return "!bridgeStatus".into(),
        Topic::Symbol(_, kind) => kind,
    };
    let Topic::Symbol(key, _) = topic else {
        unreachable!()
    };
    let symbol = symbols.name(key);
    let fast = |f: bool| if f { "@100ms" } else { "" };
    match kind {
        Kind::Trade => format!("{symbol}@trade"),
        Kind::AggTrade => format!("{symbol}@aggTrade"),
        Kind::BookTicker => format!("{symbol}@bookTicker"),
        Kind::Ticker => format!("{symbol}@ticker"),
        Kind::MiniTicker => format!("{symbol}@miniTicker"),
        Kind::Kline(i) => format!("{symbol}@kline_{}", i.name()),
        Kind::Depth { levels, fast: f } => format!("{symbol}@depth{levels}{}", fast(f)),
        Kind::Diff { fast: f } => format!("{symbol}@depth{}", fast(f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let mut s = Symbols::default();
        for n in [
            "btcusdt@trade",
            "btcusdt@aggTrade",
            "btcusdt@bookTicker",
            "btcusdt@depth5",
            "btcusdt@depth10@100ms",
            "btcusdt@depth20",
            "btcusdt@depth",
            "btcusdt@depth@100ms",
            "btcusdt@ticker",
            "btcusdt@miniTicker",
            "btcusdt@kline_1m",
            "btcusdt@kline_1d",
            "!ticker@arr",
            "!miniTicker@arr",
            "!bridgeStatus",
        ] {
            let t = parse(n, &mut s).unwrap();
            assert_eq!(name(t, &s), n);
        }
        // Binance's symbol alphabet, lower-cased.
        for n in ["btc-usdt@trade", "brk.b@ticker", "a_b@depth5"] {
            let t = parse(n, &mut s).unwrap();
            assert_eq!(name(t, &s), n);
        }
        // The explicit default speed is the same stream.
        assert_eq!(
            parse("btcusdt@depth@1000ms", &mut s),
            parse("btcusdt@depth", &mut s)
        );
    }

    #[test]
    fn bad_names() {
        let mut s = Symbols::default();
        for n in [
            "",
            "btcusdt",
            "BTCUSDT@trade",
            "btcusdt@trades",
            "btcusdt@depth7",
            "btcusdt@depth@10ms",
            "btcusdt@kline_2m",
            "btc/usdt@trade",
            "btc\"@trade",
            "btc\\@trade",
            "btc<b>@trade",
            "abcdefghijklmnopqrstu@trade",
            "@trade",
            "!ticker",
        ] {
            assert_eq!(parse(n, &mut s), Err(BadStream(n.to_string())), "{n}");
        }
    }

    #[test]
    fn symbol_alphabets() {
        use SymbolAlphabet::*;
        for ok in ["BTCUSDT", "BRK.B", "A-B_C", "X", "ABCDEFGHIJKLMNOPQRST"] {
            assert!(Binance.admits(ok), "{ok}");
            assert!(Printable.admits(ok), "{ok}");
        }
        for (text, printable) in [
            ("EV\"L\\X", true),
            ("btcusdt", true),
            ("A/B", true),
            ("A<B", true),
            ("A@B", true),
            ("A B", true),
            ("ABCDEFGHIJKLMNOPQRSTU", true),
            ("", false),
            ("A\u{7f}", false),
            ("A\tB", false),
            ("É", false),
        ] {
            assert!(!Binance.admits(text), "{text:?}");
            assert_eq!(Printable.admits(text), printable, "{text:?}");
        }
    }

    #[test]
    fn what_conflates() {
        let mut s = Symbols::default();
        let c = |n: &str, s: &mut Symbols| parse(n, s).unwrap().conflates();
        assert!(!c("x@trade", &mut s));
        assert!(!c("x@aggTrade", &mut s));
        assert!(!c("x@depth@100ms", &mut s));
        assert!(c("x@depth5", &mut s));
        assert!(c("x@bookTicker", &mut s));
        assert!(c("x@ticker", &mut s));
        assert!(c("!ticker@arr", &mut s));
    }
}
