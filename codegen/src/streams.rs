//! Stream scenarios: hand-written sequences of datagrams, with the events and the final books
//! a subscriber following SPEC.md §8 must report (`conformance/scenarios/*.json` →
//! `conformance/vectors/streams.json`).
//!
//! The expectations are written by hand from the specification, never computed by a book or
//! feed implementation: the Rust feed handler and the Python book builder are both tested
//! against them. This module only encodes the messages (through [`crate::encode`]), checks
//! the sources' shape and writes the expectations in canonical form (64-bit integers as
//! decimal strings, as everywhere in the vectors).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::vectors::hex;
use crate::Model;

/// A scenario file, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    /// What the scenario shows, for the reader of a failure.
    about: String,
    /// How many levels per side the final books list.
    depth: usize,
    datagrams: Vec<DatagramSource>,
    events: Vec<EventSource>,
    books: Vec<BookSource>,
}

#[derive(Deserialize, Clone, Copy, Default, PartialEq, Eq)]
enum Line {
    #[default]
    A,
    B,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatagramSource {
    #[serde(default)]
    line: Line,
    /// Messages in canonical JSON; the header may be left out (see [`build`]), and
    /// `"corrupt": "checksum"` spoils the message's checksum after sealing.
    #[serde(default)]
    messages: Vec<Value>,
    /// Resend datagram number `copy` (0-based) byte for byte instead.
    copy: Option<usize>,
    note: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Cause {
    AwaitingSnapshot,
    Gap,
    Refused,
    BufferOverflow,
}

impl Cause {
    fn name(self) -> &'static str {
        match self {
            Cause::AwaitingSnapshot => "awaiting_snapshot",
            Cause::Gap => "gap",
            Cause::Refused => "refused",
            Cause::BufferOverflow => "buffer_overflow",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum EventSource {
    Book {
        symbol_id: u32,
        order_book_seq: u64,
    },
    Stale {
        symbol_id: u32,
        cause: Cause,
    },
    Recovered {
        symbol_id: u32,
        order_book_seq: u64,
        replayed: u64,
    },
    SessionGap {
        session_id: u64,
        expected: u64,
        received: u64,
    },
    Trade {
        symbol_id: u32,
        trade_id: u64,
    },
    Rejected {
        kind: String,
        offset: u64,
    },
    /// Any other message passed on to the consumer, by type name.
    Message(String),
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum BookState {
    Live,
    Stale,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BookSource {
    symbol_id: u32,
    state: BookState,
    order_book_seq: u64,
    /// `[price, quantity, order_count]`, best first.
    bids: Vec<(i64, u64, u32)>,
    asks: Vec<(i64, u64, u32)>,
}

/// Builds `streams.json` from `(file name, text)` sources; errors name the file and where.
pub fn build(model: &Model, sources: &[(String, String)]) -> Result<String, String> {
    let mut cases = Vec::new();
    for (file, text) in sources {
        let src: Source = serde_json::from_str(text)
            .map_err(|e| format!("{file}:{}:{}: {e}", e.line(), e.column()))?;
        let stem = file
            .rsplit('/')
            .next()
            .unwrap_or(file)
            .trim_end_matches(".json");
        cases.push(case(model, stem, &src).map_err(|e| format!("{file}: {e}"))?);
    }
    let mut s = serde_json::to_string_pretty(&json!({
        "about": "Stream scenarios (conformance/scenarios/*.json): datagrams in order, and the \
                  events and final books a subscriber following SPEC.md §8 reports. See \
                  conformance/README.md, \"Stream scenarios\".",
        "cases": cases,
    }))
    .expect("JSON values always serialize");
    s.push('\n');
    Ok(s)
}

fn case(model: &Model, name: &str, src: &Source) -> Result<Value, String> {
    let schema = &model.schema;
    // Next `seq_num` per session, for messages that leave it out.
    let mut next_seq: BTreeMap<u64, u64> = BTreeMap::new();
    let mut datagrams: Vec<Value> = Vec::new();
    let mut sent: Vec<Vec<u8>> = Vec::new();
    for (d, dg) in src.datagrams.iter().enumerate() {
        let line = if dg.line == Line::A { "A" } else { "B" };
        let bytes = match dg.copy {
            Some(k) if dg.messages.is_empty() => sent
                .get(k)
                .cloned()
                .ok_or_else(|| format!("datagram {d}: copy of {k}, which is not before it"))?,
            Some(_) => return Err(format!("datagram {d}: both \"copy\" and \"messages\"")),
            None => {
                let mut bytes = Vec::new();
                for (k, m) in dg.messages.iter().enumerate() {
                    let at = format!("datagram {d}, message {k}");
                    let mut m = m.clone();
                    let obj = m
                        .as_object_mut()
                        .ok_or_else(|| format!("{at}: not a JSON object"))?;
                    let corrupt = obj.remove("corrupt");
                    let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
                    let channel = schema
                        .messages
                        .iter()
                        .find(|r| r.name == ty)
                        .and_then(|r| r.message)
                        .and_then(|mi| mi.channel)
                        .map_or(0, |c| schema.channels[c].id);
                    let header = obj.entry("header").or_insert_with(|| json!({}));
                    let h = header
                        .as_object_mut()
                        .ok_or_else(|| format!("{at}: header is not an object"))?;
                    let session = match h.get("session_id") {
                        Some(v) => as_u64(v).ok_or_else(|| format!("{at}: bad session_id"))?,
                        None => u64::from(channel),
                    };
                    h.insert("session_id".into(), json!(session));
                    let seq = match h.get("seq_num") {
                        Some(v) => as_u64(v).ok_or_else(|| format!("{at}: bad seq_num"))?,
                        None => *next_seq.get(&session).unwrap_or(&1),
                    };
                    h.insert("seq_num".into(), json!(seq));
                    let next = next_seq.entry(session).or_insert(1);
                    *next = (*next).max(seq + 1);
                    h.entry("timestamp")
                        .or_insert_with(|| json!(1_767_225_600_000_000_000u64 + d as u64 * 1000));
                    let mut msg =
                        crate::encode::message(model, &m).map_err(|e| format!("{at}: {e}"))?;
                    match corrupt.as_ref().map(|c| c.as_str()) {
                        None => {}
                        Some(Some("checksum")) => {
                            let h = model.layout.header(&model.framed);
                            msg[h.at.checksum] ^= 0x01;
                        }
                        Some(_) => {
                            return Err(format!("{at}: \"corrupt\" can only be \"checksum\""))
                        }
                    }
                    bytes.extend(msg);
                }
                bytes
            }
        };
        let mut v = json!({ "line": line, "hex": hex(&bytes) });
        if let Some(n) = &dg.note {
            v["note"] = json!(n);
        }
        datagrams.push(v);
        sent.push(bytes);
    }
    let events: Vec<Value> = src.events.iter().map(event).collect();
    let mut books = Vec::new();
    let mut last = None;
    for b in &src.books {
        if last.is_some_and(|l| l >= b.symbol_id) {
            return Err("books must be listed by increasing symbol_id".into());
        }
        last = Some(b.symbol_id);
        books.push(book(b, src.depth)?);
    }
    Ok(json!({
        "name": format!("stream/{name}"),
        "about": src.about,
        "depth": src.depth,
        "datagrams": datagrams,
        "events": events,
        "books": books,
    }))
}

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

fn event(e: &EventSource) -> Value {
    match e {
        EventSource::Book {
            symbol_id,
            order_book_seq,
        } => {
            json!({ "book": { "symbol_id": symbol_id, "order_book_seq": order_book_seq.to_string() } })
        }
        EventSource::Stale { symbol_id, cause } => {
            json!({ "stale": { "symbol_id": symbol_id, "cause": cause.name() } })
        }
        EventSource::Recovered {
            symbol_id,
            order_book_seq,
            replayed,
        } => json!({ "recovered": {
            "symbol_id": symbol_id,
            "order_book_seq": order_book_seq.to_string(),
            "replayed": replayed,
        } }),
        EventSource::SessionGap {
            session_id,
            expected,
            received,
        } => json!({ "session_gap": {
            "session_id": session_id.to_string(),
            "expected": expected.to_string(),
            "received": received.to_string(),
        } }),
        EventSource::Trade {
            symbol_id,
            trade_id,
        } => json!({ "trade": { "symbol_id": symbol_id, "trade_id": trade_id.to_string() } }),
        EventSource::Rejected { kind, offset } => {
            json!({ "rejected": { "kind": kind, "offset": offset } })
        }
        EventSource::Message(name) => json!({ "message": name }),
    }
}

fn book(b: &BookSource, depth: usize) -> Result<Value, String> {
    let side = |levels: &[(i64, u64, u32)], name: &str, better: fn(i64, i64) -> bool| {
        if levels.len() > depth {
            return Err(format!(
                "book {}: {} {name} levels, depth is {depth}",
                b.symbol_id,
                levels.len()
            ));
        }
        if !levels.windows(2).all(|w| better(w[0].0, w[1].0)) {
            return Err(format!("book {}: {name} not best first", b.symbol_id));
        }
        if levels.iter().any(|l| l.1 == 0 || l.2 == 0) {
            return Err(format!("book {}: an empty {name} level", b.symbol_id));
        }
        Ok(levels
            .iter()
            .map(|&(price, qty, count)| {
                json!({ "price": price.to_string(), "quantity": qty.to_string(), "order_count": count })
            })
            .collect::<Vec<_>>())
    };
    let bids = side(&b.bids, "bid", |a, b| a > b)?;
    let asks = side(&b.asks, "ask", |a, b| a < b)?;
    if let (Some(bid), Some(ask)) = (b.bids.first(), b.asks.first()) {
        if bid.0 >= ask.0 {
            return Err(format!("book {}: crossed", b.symbol_id));
        }
    }
    Ok(json!({
        "symbol_id": b.symbol_id,
        "state": if b.state == BookState::Live { "live" } else { "stale" },
        "order_book_seq": b.order_book_seq.to_string(),
        "bids": bids,
        "asks": asks,
    }))
}
