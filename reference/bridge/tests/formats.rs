//! Binance's number format and the REST endpoints client libraries call (issue 25): every
//! price, quantity and quote volume the market renders, in streams and REST, has Binance
//! spot's 8 places; a removed level's quantity is `"0.00000000"` (python-binance deletes on
//! that string only); exchangeInfo says 8; an instrument finer than 8 places is refused, not
//! rounded; `/api/v3/aggTrades`, `/api/v3/avgPrice` and `/api/v3/ticker/price` answer with
//! Binance's shapes and errors. Driven by the simulator through the feed handler, no
//! network.

use rltop_bridge::http::{rest, weight};
use rltop_bridge::market::{Market, Why};
use rltop_bridge::streams::{Symbols, Topic};
use rltop_feed::decimal::parse_decimal;
use serde_json::Value;

mod common;
use common::{render_session, strict_json};

/// A simulated session rendered: the market at its end and every event.
fn render() -> (Market, Vec<(Topic, String)>) {
    let cfg = rltop_sim::Config {
        seed: 9,
        instruments: 2,
        events: 20_000,
        quiet_tail_s: 1,
        ..rltop_sim::Config::default()
    };
    let (datagrams, _) = rltop_sim::Simulation::new(cfg).run();
    let mut market = Market::default();
    let mut symbols = Symbols::default();
    let (events, refusals) = render_session(&datagrams, &mut market, &mut symbols);
    assert_eq!(refusals, 0, "every definition served");
    (market, events)
}

fn is_number_text(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    !whole.is_empty()
        && whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
}

/// Places after the point of every number written as a string, with the key it was under
/// (array elements under their array's key; a klines row's elements as `row[i]`).
fn numbers(v: &Value, key: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) if is_number_text(s) => out.push((key.to_string(), s.clone())),
        Value::Array(items) => {
            let row = items.len() == 12 && items[0].is_u64();
            for (i, item) in items.iter().enumerate() {
                let k = if row {
                    format!("row[{i}]")
                } else {
                    key.to_string()
                };
                numbers(item, &k, out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                // A kline event's fields by their path: its "B" is not a ticker's "B".
                let k = if key == "k" {
                    format!("k.{k}")
                } else {
                    k.clone()
                };
                numbers(item, &k, out);
            }
        }
        _ => {}
    }
}

/// Fails unless every number string in `text` has Binance's form: 8 places, except the
/// percentages (3 places) and the fields Binance always writes as "0".
fn assert_binance_numbers(text: &str, checked: &mut usize) {
    let v = strict_json(text).unwrap();
    let mut found = Vec::new();
    numbers(&v, "", &mut found);
    for (key, s) in found {
        let places = s.split_once('.').map_or(0, |(_, f)| f.len());
        let want = match key.as_str() {
            "P" | "priceChangePercent" => 3,
            // Kline "ignore" fields: "0" on Binance too.
            "k.B" | "row[11]" => 0,
            _ => 8,
        };
        assert_eq!(places, want, "{key}: {s:?} in {text}");
        *checked += 1;
    }
}

#[test]
fn every_stream_event_writes_8_places_and_removed_levels_as_binance_does() {
    let (_, events) = render();
    let mut checked = 0;
    let mut removed = 0;
    for (_, text) in &events {
        assert_binance_numbers(text, &mut checked);
        let v: Value = serde_json::from_str(text).unwrap();
        if v["e"] == "depthUpdate" {
            for side in ["b", "a"] {
                for level in v[side].as_array().unwrap() {
                    // The exact string python-binance's DepthCache deletes on.
                    removed += usize::from(level[1] == "0.00000000");
                }
            }
        }
    }
    assert!(checked > 10_000, "{checked} numbers");
    assert!(removed > 100, "{removed} removed levels");
}

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn get(market: &Market, path: &str, pairs: &[(&str, &str)]) -> Value {
    let body = rest(market, path, &q(pairs)).unwrap_or_else(|e| panic!("{path}: {}", e.body()));
    strict_json(&body).unwrap()
}

#[test]
fn every_rest_body_writes_8_places_and_exchange_info_says_so() {
    let (market, _) = render();
    let mut checked = 0;
    let one = [("symbol", "SIM1USDT")];
    for (path, query) in [
        ("/api/v3/depth", &one[..]),
        ("/api/v3/trades", &one),
        ("/api/v3/aggTrades", &one),
        ("/api/v3/avgPrice", &one),
        ("/api/v3/ticker/24hr", &one),
        ("/api/v3/ticker/24hr", &[]),
        ("/api/v3/ticker/price", &one),
        ("/api/v3/ticker/price", &[]),
        ("/api/v3/ticker/bookTicker", &one),
        ("/api/v3/exchangeInfo", &[]),
        (
            "/api/v3/klines",
            &[("symbol", "SIM1USDT"), ("interval", "1m")],
        ),
    ] {
        let body = rest(&market, path, &q(query)).unwrap();
        assert_binance_numbers(&body, &mut checked);
    }
    assert!(checked > 1000, "{checked}");
    let info = get(&market, "/api/v3/exchangeInfo", &[("symbol", "SIM1USDT")]);
    let s = &info["symbols"][0];
    for field in [
        "baseAssetPrecision",
        "quotePrecision",
        "quoteAssetPrecision",
        "baseCommissionPrecision",
        "quoteCommissionPrecision",
    ] {
        assert_eq!(s[field], 8, "{field}");
    }
    // The simulator's exponents: price -2, quantity -3.
    assert_eq!(s["filters"][0]["tickSize"], "0.01000000");
    assert_eq!(s["filters"][1]["stepSize"], "0.00100000");
    assert_eq!(s["filters"][1]["maxQty"], "1000.00000000");
}

#[test]
fn agg_trades_add_up_the_trades_and_page_as_binance_does() {
    let (market, _) = render();
    let aggs = get(
        &market,
        "/api/v3/aggTrades",
        &[("symbol", "SIM1USDT"), ("limit", "1000")],
    );
    let aggs = aggs.as_array().unwrap();
    assert!(aggs.len() > 100, "{}", aggs.len());
    let trades = get(
        &market,
        "/api/v3/trades",
        &[("symbol", "SIM1USDT"), ("limit", "1000")],
    );
    let trades: Vec<&Value> = trades.as_array().unwrap().iter().collect();
    let first_trade = trades[0]["id"].as_u64().unwrap();
    let mut compared = 0;
    for pair in aggs.windows(2) {
        assert_eq!(pair[1]["a"].as_u64(), pair[0]["a"].as_u64().map(|a| a + 1));
        // Trade ids are the venue's, across instruments: ascending, not contiguous.
        assert!(pair[1]["f"].as_u64() > pair[0]["l"].as_u64());
    }
    for a in aggs {
        let keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["a", "p", "q", "f", "l", "T", "m", "M"]);
        let (f, l) = (a["f"].as_u64().unwrap(), a["l"].as_u64().unwrap());
        if f < first_trade {
            continue;
        }
        // The fills it aggregates: one price, one time, one side, quantities summed.
        let fills: Vec<&&Value> = trades
            .iter()
            .filter(|t| (f..=l).contains(&t["id"].as_u64().unwrap()))
            .collect();
        assert_eq!(fills.len() as u64, l - f + 1);
        let sum: i128 = fills
            .iter()
            .map(|t| parse_decimal(t["qty"].as_str().unwrap(), -3).unwrap())
            .sum();
        assert_eq!(parse_decimal(a["q"].as_str().unwrap(), -3), Some(sum));
        for t in fills {
            assert_eq!(t["price"], a["p"]);
            assert_eq!(t["time"], a["T"]);
            assert_eq!(t["isBuyerMaker"], a["m"]);
        }
        compared += 1;
    }
    assert!(compared > 50, "{compared}");
    // Paging: fromId, a time window, the latest by default.
    let mid = &aggs[aggs.len() / 2];
    let from = mid["a"].to_string();
    let page = get(
        &market,
        "/api/v3/aggTrades",
        &[("symbol", "SIM1USDT"), ("fromId", &from), ("limit", "3")],
    );
    assert_eq!(page.as_array().unwrap().len(), 3);
    assert_eq!(page[0]["a"], mid["a"]);
    let t = mid["T"].to_string();
    let window = get(
        &market,
        "/api/v3/aggTrades",
        &[("symbol", "SIM1USDT"), ("startTime", &t), ("endTime", &t)],
    );
    let window = window.as_array().unwrap();
    assert!(!window.is_empty());
    assert!(window.iter().all(|a| a["T"] == mid["T"]));
    let latest = get(
        &market,
        "/api/v3/aggTrades",
        &[("symbol", "SIM1USDT"), ("limit", "2")],
    );
    assert_eq!(latest.as_array().unwrap()[1], *aggs.last().unwrap());
    // Binance's errors.
    let err = |pairs: &[(&str, &str)]| {
        let e = rest(&market, "/api/v3/aggTrades", &q(pairs)).unwrap_err();
        (e.status.as_u16(), strict_json(&e.body()).unwrap())
    };
    let (status, body) = err(&[
        ("symbol", "SIM1USDT"),
        ("startTime", "0"),
        ("endTime", "3600001"),
    ]);
    assert_eq!(status, 400);
    assert_eq!(body["code"], -1127);
    assert_eq!(
        body["msg"],
        "More than 1 hours between startTime and endTime."
    );
    assert_eq!(err(&[("symbol", "NOPE")]).1["code"], -1121);
    assert_eq!(err(&[]).1["code"], -1102);
    assert_eq!(
        err(&[("symbol", "SIM1USDT"), ("limit", "1001")]).1["code"],
        -1100
    );
    // Exactly an hour, as ccxt asks for it (since, since + 3 600 000), is allowed.
    get(
        &market,
        "/api/v3/aggTrades",
        &[
            ("symbol", "SIM1USDT"),
            ("startTime", "0"),
            ("endTime", "3600000"),
        ],
    );
}

#[test]
fn avg_price_and_ticker_price() {
    let (market, _) = render();
    let avg = get(&market, "/api/v3/avgPrice", &[("symbol", "SIM1USDT")]);
    let keys: Vec<&str> = avg
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["mins", "price", "closeTime"]);
    assert_eq!(avg["mins"], 5);
    let trades = get(
        &market,
        "/api/v3/trades",
        &[("symbol", "SIM1USDT"), ("limit", "1")],
    );
    assert_eq!(avg["closeTime"], trades[0]["time"]);
    // The volume-weighted price of the 1m bars open in the last 5 minutes, from klines.
    let close = avg["closeTime"].as_u64().unwrap();
    let bars = get(
        &market,
        "/api/v3/klines",
        &[("symbol", "SIM1USDT"), ("interval", "1m")],
    );
    let (mut turnover, mut volume) = (0i128, 0i128);
    for b in bars.as_array().unwrap() {
        if b[0].as_u64().unwrap() + 300_000 > close {
            turnover += parse_decimal(b[7].as_str().unwrap(), -8).unwrap();
            volume += parse_decimal(b[5].as_str().unwrap(), -8).unwrap();
        }
    }
    assert!(volume > 0);
    // turnover / volume in units of 1e-8, truncated.
    let want = turnover * 100_000_000 / volume;
    assert_eq!(
        parse_decimal(avg["price"].as_str().unwrap(), -8),
        Some(want)
    );

    let price = get(&market, "/api/v3/ticker/price", &[("symbol", "SIM1USDT")]);
    let ticker = get(&market, "/api/v3/ticker/24hr", &[("symbol", "SIM1USDT")]);
    assert_eq!(
        price,
        serde_json::json!({"symbol": "SIM1USDT", "price": ticker["lastPrice"]})
    );
    let all = get(&market, "/api/v3/ticker/price", &[]);
    assert_eq!(all.as_array().unwrap().len(), 2);
    let some = get(
        &market,
        "/api/v3/ticker/price",
        &[("symbols", "[\"SIM2USDT\"]")],
    );
    assert_eq!(some[0]["symbol"], "SIM2USDT");
    let e = rest(&market, "/api/v3/avgPrice", &q(&[("symbol", "NOPE")])).unwrap_err();
    assert_eq!((e.status.as_u16(), e.code), (400, -1121));
    let e = rest(&market, "/api/v3/ticker/price", &q(&[("symbol", "NOPE")])).unwrap_err();
    assert_eq!((e.status.as_u16(), e.code), (400, -1121));
}

#[test]
fn weights_are_binances() {
    let w = |path: &str, pairs: &[(&str, &str)]| weight(path, &q(pairs));
    assert_eq!(w("/api/v3/ping", &[]), 1);
    assert_eq!(w("/api/v3/exchangeInfo", &[]), 20);
    assert_eq!(w("/api/v3/depth", &[("symbol", "X")]), 5);
    assert_eq!(w("/api/v3/depth", &[("limit", "500")]), 25);
    assert_eq!(w("/api/v3/depth", &[("limit", "1000")]), 50);
    assert_eq!(w("/api/v3/depth", &[("limit", "5000")]), 250);
    assert_eq!(w("/api/v3/trades", &[]), 25);
    assert_eq!(w("/api/v3/aggTrades", &[]), 4);
    assert_eq!(w("/api/v3/klines", &[]), 2);
    assert_eq!(w("/api/v3/avgPrice", &[]), 2);
    assert_eq!(w("/api/v3/ticker/24hr", &[("symbol", "X")]), 2);
    assert_eq!(w("/api/v3/ticker/24hr", &[]), 80);
    assert_eq!(w("/api/v3/ticker/price", &[("symbol", "X")]), 2);
    assert_eq!(w("/api/v3/ticker/price", &[]), 4);
    assert_eq!(w("/api/v3/ticker/bookTicker", &[]), 4);
}

fn definition(
    symbol_id: u32,
    symbol: &str,
    price_exponent: i8,
    quantity_exponent: i8,
) -> rltop::InstrumentDefinition {
    let mut d = rltop::InstrumentDefinition::new();
    d.set_symbol_id(symbol_id);
    d.set_symbol(symbol).unwrap();
    d.set_price_exponent(price_exponent);
    d.set_quantity_exponent(quantity_exponent);
    d.set_tick_size(1);
    d.set_lot_size(1);
    d
}

#[test]
fn an_instrument_finer_than_8_places_is_refused_not_rounded() {
    let mut market = Market::default();
    let mut symbols = Symbols::default();
    // 8 places: served, and a tick writes exactly.
    market
        .define(&definition(1, "FINEUSDT", -8, -8), &mut symbols)
        .unwrap();
    let info = get(&market, "/api/v3/exchangeInfo", &[("symbol", "FINEUSDT")]);
    assert_eq!(info["symbols"][0]["filters"][0]["tickSize"], "0.00000001");
    assert_eq!(info["symbols"][0]["filters"][1]["stepSize"], "0.00000001");
    // 9 places of price, or of quantity: refused, said once, and not served.
    for (id, pe, qe) in [(2, -9, -2), (3, -2, -10)] {
        let d = definition(id, "TINYUSDT", pe, qe);
        let refused = market.define(&d, &mut symbols).unwrap_err();
        assert!(refused.first);
        assert_eq!(
            refused.why,
            Why::Precision {
                price_exponent: pe,
                quantity_exponent: qe
            }
        );
        let text = refused.to_string();
        assert!(text.contains("finer than the 8 decimal places"), "{text}");
        assert!(!market.define(&d, &mut symbols).unwrap_err().first);
    }
    assert_eq!(market.refused(), 2);
    assert!(market.instrument("TINYUSDT").is_none());
    let e = rest(&market, "/api/v3/depth", &q(&[("symbol", "TINYUSDT")])).unwrap_err();
    assert_eq!(e.code, -1121);
    // A served instrument redefined finer stops being served; back at 8, served again.
    market
        .define(&definition(1, "FINEUSDT", -9, -8), &mut symbols)
        .unwrap_err();
    assert!(market.instrument("FINEUSDT").is_none());
    market
        .define(&definition(1, "FINEUSDT", -8, -8), &mut symbols)
        .unwrap();
    assert!(market.instrument("FINEUSDT").is_some());
    assert_eq!(market.refused(), 2);
}
