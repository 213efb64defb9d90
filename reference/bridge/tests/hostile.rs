//! Hostile text off the wire. Instruments whose symbols hold `"`, `\`, `<`, `/`, a field
//! injection and the longest symbol the definition carries go through every stream the
//! market renders, the combined envelope, every REST endpoint and its errors, and a live
//! bridge under both symbol alphabets. Every frame and body must parse as strict JSON (no
//! key twice) and name each symbol exactly as the wire had it; under Binance's alphabet the
//! hostile instruments are refused and nothing names them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rltop_bridge::http::rest;
use rltop_bridge::hub::combined_frame;
use rltop_bridge::market::Market;
use rltop_bridge::source::{SimSpec, SourceSpec};
use rltop_bridge::streams::{self, Interval, Kind, SymbolAlphabet, Symbols, Topic};
use serde_json::Value;

mod common;
use common::*;

/// The simulator's first three symbols; the fourth instrument is `SIM4USDT`.
const HOSTILE: [&str; 3] = [
    "EV\"L\\X",
    // Unescaped, a second `s`: the strict parser refuses a repeated key.
    "X\",\"s\":\"Y",
    // 16 characters: the field's whole width.
    "</script>\"\\/,:{}",
];
const PLAIN: &str = "SIM4USDT";

fn datagrams() -> Vec<rltop_sim::Datagram> {
    let cfg = rltop_sim::Config {
        seed: 3,
        instruments: 4,
        events: 20_000,
        quiet_tail_s: 2,
        symbols: HOSTILE.iter().map(|s| s.to_string()).collect(),
        ..rltop_sim::Config::default()
    };
    rltop_sim::Simulation::new(cfg).run().0
}

/// Feeds the session through a feed handler into a market of `alphabet`; every event
/// rendered, and the definitions refused.
fn render(alphabet: SymbolAlphabet) -> (Market, Symbols, Vec<(Topic, String)>, usize) {
    let mut market = Market::new(alphabet);
    let mut symbols = Symbols::default();
    let (events, refusals) = render_session(&datagrams(), &mut market, &mut symbols);
    (market, symbols, events, refusals)
}

/// Every kind of per-symbol stream the simulator's messages feed.
fn every_kind() -> Vec<Kind> {
    let mut kinds = vec![
        Kind::Trade,
        Kind::AggTrade,
        Kind::BookTicker,
        Kind::Ticker,
        Kind::MiniTicker,
        Kind::Kline(Interval::M1),
        Kind::Diff { fast: true },
        Kind::Diff { fast: false },
    ];
    for levels in [5, 10, 20] {
        for fast in [true, false] {
            kinds.push(Kind::Depth { levels, fast });
        }
    }
    kinds
}

/// The symbols an event names (`s`, and a kline's `k.s`).
fn named(event: &Value) -> Vec<String> {
    [&event["s"], &event["k"]["s"]]
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

#[test]
fn every_stream_and_the_combined_envelope_escape_wire_symbols() {
    let (market, symbols, events, refusals) = render(SymbolAlphabet::Printable);
    assert_eq!(refusals, 0);
    let symbol_of: BTreeMap<_, _> = market
        .instruments
        .values()
        .filter_map(|i| i.def.as_ref())
        .map(|d| (d.key, d.symbol.clone()))
        .collect();
    let wanted: BTreeSet<&str> = HOSTILE.into_iter().chain([PLAIN]).collect();
    assert_eq!(
        symbol_of
            .values()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        wanted
    );
    let mut kinds: BTreeMap<String, BTreeSet<Kind>> = BTreeMap::new();
    let mut in_arrays: BTreeSet<String> = BTreeSet::new();
    for (topic, text) in &events {
        let event = strict_json(text).unwrap();
        match *topic {
            Topic::Symbol(key, kind) => {
                let symbol = &symbol_of[&key];
                for s in named(&event) {
                    assert_eq!(&s, symbol, "{text}");
                }
                kinds.entry(symbol.clone()).or_default().insert(kind);
                let name = streams::name(*topic, &symbols);
                let combined = strict_json(&combined_frame(&name, text)).unwrap();
                assert_eq!(combined["stream"], name.as_str());
                assert_eq!(combined["data"], event);
            }
            Topic::AllTickers | Topic::AllMiniTickers => {
                for e in event.as_array().unwrap() {
                    in_arrays.extend(named(e));
                }
            }
            Topic::Status => {}
        }
    }
    for symbol in HOSTILE {
        let missing: Vec<_> = every_kind()
            .into_iter()
            .filter(|k| !kinds[symbol].contains(k))
            .collect();
        assert!(missing.is_empty(), "{symbol:?}: no {missing:?} event");
    }
    assert_eq!(
        in_arrays
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        wanted
    );
}

/// The REST requests a client can make of one symbol, its query decoded as the server
/// decodes it. The first three answer without naming the symbol (as Binance's do).
fn requests_of(symbol: &str) -> Vec<(&'static str, Vec<(String, String)>)> {
    let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let list = serde_json::to_string(&[symbol]).unwrap();
    vec![
        ("/api/v3/depth", q(&[("symbol", symbol), ("limit", "5")])),
        ("/api/v3/trades", q(&[("symbol", symbol), ("limit", "3")])),
        (
            "/api/v3/klines",
            q(&[("symbol", symbol), ("interval", "1m")]),
        ),
        ("/api/v3/ticker/24hr", q(&[("symbol", symbol)])),
        ("/api/v3/ticker/24hr", q(&[("symbols", &list)])),
        ("/api/v3/ticker/bookTicker", q(&[("symbol", symbol)])),
        ("/api/v3/ticker/bookTicker", q(&[("symbols", &list)])),
        ("/api/v3/exchangeInfo", q(&[("symbol", symbol)])),
        ("/api/v3/exchangeInfo", q(&[("symbols", &list)])),
        ("/api/v3/ticker/24hr", q(&[])),
        ("/api/v3/ticker/bookTicker", q(&[])),
        ("/api/v3/exchangeInfo", q(&[])),
    ]
}

/// Every `"symbol"` member anywhere in a body.
fn symbols_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "symbol" {
                    out.push(v.as_str().unwrap().to_string());
                }
                symbols_in(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| symbols_in(v, out)),
        _ => {}
    }
}

#[test]
fn every_endpoint_and_its_errors_escape_wire_symbols() {
    let (market, _, _, _) = render(SymbolAlphabet::Printable);
    for symbol in HOSTILE {
        for (i, (path, query)) in requests_of(symbol).into_iter().enumerate() {
            let body = rest(&market, path, &query).unwrap_or_else(|e| panic!("{path}: {e:?}"));
            let v = strict_json(&body).unwrap();
            let mut named = Vec::new();
            symbols_in(&v, &mut named);
            let all = query.is_empty();
            assert!(
                all || named.iter().all(|s| s == symbol),
                "{path} {query:?}: {named:?}"
            );
            assert!(
                i < 3 || named.iter().any(|s| s == symbol),
                "{path} {query:?}: {body}"
            );
        }
    }
    // Errors that echo the request.
    for path in ["/api/v3/\"},{\"x", "/api/v3/<script>\\"] {
        let e = rest(&market, path, &[]).unwrap_err();
        let v = strict_json(&e.body()).unwrap();
        assert!(v["msg"].as_str().unwrap().contains(path), "{v}");
    }
    let unknown = [("symbol".to_string(), "\",\"code\":0,\"x\":\"".to_string())];
    let e = rest(&market, "/api/v3/depth", &unknown).unwrap_err();
    assert_eq!(strict_json(&e.body()).unwrap()["code"], -1121);
}

#[test]
fn binance_alphabet_refuses_the_hostile_definitions_and_names_them_nowhere() {
    let (market, _, events, refusals) = render(SymbolAlphabet::Binance);
    // Definitions repeat every cycle: at least one refusal of each.
    assert!(refusals >= HOSTILE.len(), "{refusals}");
    assert_eq!(market.refused(), HOSTILE.len());
    let served: Vec<_> = market
        .instruments
        .values()
        .filter_map(|i| i.def.as_ref().map(|d| d.symbol.as_str()))
        .collect();
    assert_eq!(served, [PLAIN]);
    assert!(!events.is_empty());
    for (_, text) in &events {
        let v = strict_json(text).unwrap();
        let mut names = named(&v);
        for e in v.as_array().into_iter().flatten() {
            names.extend(named(e));
        }
        assert!(names.iter().all(|s| s == PLAIN), "{text}");
    }
    let info = strict_json(&rest(&market, "/api/v3/exchangeInfo", &[]).unwrap()).unwrap();
    assert_eq!(info["symbols"].as_array().unwrap().len(), 1);
}

#[test]
fn the_strict_parser_refuses_what_serde_json_takes() {
    assert!(serde_json::from_str::<Value>(r#"{"s":"X","s":"Y"}"#).is_ok());
    assert!(strict_json(r#"{"s":"X","s":"Y"}"#).is_err());
    assert!(strict_json(r#"[{"a":{"b":1,"b":1}}]"#).is_err());
    assert!(strict_json(r#"{"a":{"b":1},"b":{"a":1}}"#).is_ok());
    assert!(strict_json("{\"s\":\"\u{1}\"}").is_err());
}

#[test]
fn a_renamed_instrument_outside_the_alphabet_stops_being_served() {
    let mut market = Market::default();
    let mut symbols = Symbols::default();
    let mut d = rltop::InstrumentDefinition::new();
    d.set_symbol_id(9);
    d.set_symbol("GOODUSDT").unwrap();
    assert!(market.define(&d, &mut symbols).is_ok());
    assert!(market.instrument("GOODUSDT").is_some());
    d.set_symbol("BAD\"USDT").unwrap();
    let refused = market.define(&d, &mut symbols).unwrap_err();
    assert!(refused.first);
    // The log line escapes the symbol.
    assert!(refused.to_string().contains(r#""BAD\"USDT""#), "{refused}");
    assert!(!market.define(&d, &mut symbols).unwrap_err().first);
    assert!(market.instrument("GOODUSDT").is_none());
    assert!(market.instruments[&9].def.is_none());
    d.set_symbol("GOODUSDT").unwrap();
    assert!(market.define(&d, &mut symbols).is_ok());
    assert_eq!(market.refused(), 0);
}

fn hostile_sim() -> SourceSpec {
    SourceSpec::Sim(SimSpec {
        plan: rltop_net::Plan::default(),
        seed: 11,
        instruments: 4,
        rate: 3000.0,
        events: None,
        symbols: HOSTILE.iter().map(|s| s.to_string()).collect(),
    })
}

/// `text` with every byte outside `[A-Za-z0-9]` percent-encoded, as a client's URL holds it.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Waits until exchangeInfo lists `n` symbols; their names.
async fn until_listed(addr: std::net::SocketAddr, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, body) = get(addr, "/api/v3/exchangeInfo", &[]).await;
        let v = strict_json(&body).unwrap();
        let names: Vec<String> = v["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["symbol"].as_str().unwrap().to_string())
            .collect();
        if names.len() == n {
            return names;
        }
        assert!(
            Instant::now() < deadline,
            "{n} symbols never listed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The all-market arrays' frames for about two seconds (at least two of each): every one
/// strict; the symbols they name.
async fn array_symbols(addr: std::net::SocketAddr) -> BTreeSet<String> {
    let mut ws = connect(addr, "/stream?streams=!miniTicker@arr/!ticker@arr").await;
    let mut seen = BTreeSet::new();
    let mut frames = BTreeMap::<String, usize>::new();
    while frames.len() < 2 || frames.values().any(|&n| n < 2) {
        let v = strict_json(&next_text(&mut ws, 10).await).unwrap();
        *frames
            .entry(v["stream"].as_str().unwrap().to_string())
            .or_default() += 1;
        for e in v["data"].as_array().unwrap() {
            seen.extend(named(e));
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_bridge_refuses_hostile_symbols_by_default() {
    let bridge = start(hostile_sim(), |_| {}).await;
    let addr = bridge.addr;
    assert_eq!(until_listed(addr, 1).await, [PLAIN]);
    assert_eq!(
        array_symbols(addr).await,
        BTreeSet::from([PLAIN.to_string()])
    );
    let (_, text) = get(addr, "/metrics", &[]).await;
    assert_eq!(metric(&text, "instruments_refused"), 3);
    assert!(metric(&text, "definitions_refused_total") >= 3);
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_bridge_serves_printable_symbols_escaped() {
    let bridge = start(hostile_sim(), |c| {
        c.symbol_alphabet = SymbolAlphabet::Printable
    })
    .await;
    let addr = bridge.addr;
    let listed: BTreeSet<String> = until_listed(addr, 4).await.into_iter().collect();
    let all: BTreeSet<String> = HOSTILE
        .iter()
        .chain(&[PLAIN])
        .map(|s| s.to_string())
        .collect();
    assert_eq!(listed, all);
    assert_eq!(array_symbols(addr).await, all);
    for symbol in HOSTILE {
        for (i, (path, query)) in requests_of(symbol).into_iter().enumerate() {
            let query: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{k}={}", percent_encode(v)))
                .collect();
            let url = format!("{path}?{}", query.join("&"));
            let (status, body) = get(addr, &url, &[]).await;
            assert_eq!(status, 200, "{url}: {body}");
            let mut named = Vec::new();
            symbols_in(&strict_json(&body).unwrap(), &mut named);
            assert!(i < 3 || named.iter().any(|s| s == symbol), "{url}: {body}");
        }
    }
    bridge.shutdown().await;
}
