//! The `stream` request: datagrams through `rltop_feed::FeedHandler`, events and final books
//! in the conformance form (conformance/README.md, "Stream scenarios").

use rltop_book::{Side, TopLevel};
use rltop_feed::{Config, Event, FeedHandler, Line, StaleCause};
use serde_json::{json, Value};

use rltop_runtime::canonical::from_hex;

pub fn run(request: &Value) -> Result<Value, String> {
    let depth = request["depth"]
        .as_u64()
        .ok_or("stream request without \"depth\"")? as usize;
    let datagrams = request["datagrams"]
        .as_array()
        .ok_or("stream request without \"datagrams\"")?;
    let mut feed = FeedHandler::new(Config::default());
    let mut events = Vec::new();
    for d in datagrams {
        let line = match d["line"].as_str() {
            Some("B") => Line::B,
            _ => Line::A,
        };
        let bytes = from_hex(d["hex"].as_str().ok_or("datagram without \"hex\"")?)?;
        feed.on_datagram_from(line, &bytes, &mut |e| {
            if let Some(v) = event(&e) {
                events.push(v);
            }
        });
    }
    let mut symbols: Vec<u32> = feed.symbols().collect();
    symbols.sort_unstable();
    let books: Vec<Value> = symbols
        .into_iter()
        .filter_map(|s| {
            let book = feed.book(s)?;
            let levels = |side| -> Vec<Value> { book.top(side, depth).iter().map(level).collect() };
            Some(json!({
                "symbol_id": s,
                "state": if feed.is_live(s) { "live" } else { "stale" },
                "order_book_seq": feed.order_book_seq(s).unwrap_or(0).to_string(),
                "bids": levels(Side::Bid),
                "asks": levels(Side::Ask),
            }))
        })
        .collect();
    Ok(json!({ "events": events, "books": books }))
}

fn level(l: &TopLevel) -> Value {
    json!({ "price": l.price.to_string(), "quantity": l.qty.to_string(), "order_count": l.count })
}

fn event(e: &Event<'_>) -> Option<Value> {
    Some(match e {
        Event::Book {
            symbol_id,
            order_book_seq,
            ..
        } => {
            json!({ "book": { "symbol_id": symbol_id, "order_book_seq": order_book_seq.to_string() } })
        }
        Event::Trade(t) => json!({ "trade": {
            "symbol_id": t.symbol_id(),
            "trade_id": t.trade_id().to_string(),
        } }),
        Event::Market(m) => json!({ "message": m.message_type().name }),
        Event::Instrument(_) => json!({ "message": "InstrumentDefinition" }),
        Event::Heartbeat(_) => json!({ "message": "Heartbeat" }),
        Event::Stale { symbol_id, cause } => json!({ "stale": {
            "symbol_id": symbol_id,
            "cause": match cause {
                StaleCause::AwaitingSnapshot => "awaiting_snapshot",
                StaleCause::Gap { .. } => "gap",
                StaleCause::Refused(_) => "refused",
                StaleCause::BufferOverflow => "buffer_overflow",
            },
        } }),
        Event::Recovered {
            symbol_id,
            order_book_seq,
            replayed,
        } => json!({ "recovered": {
            "symbol_id": symbol_id,
            "order_book_seq": order_book_seq.to_string(),
            "replayed": replayed,
        } }),
        Event::SessionGap {
            session_id,
            expected,
            received,
        } => json!({ "session_gap": {
            "session_id": session_id.to_string(),
            "expected": expected.to_string(),
            "received": received.to_string(),
        } }),
        Event::Rejected { error } => json!({ "rejected": {
            "kind": error.name(),
            "offset": error.offset(),
            "detail": error.to_string(),
        } }),
    })
}
