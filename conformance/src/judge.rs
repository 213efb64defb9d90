//! Judging an answer: the first place it differs from what the case expects, said so that
//! an implementer sees what went wrong. Decode errors match on kind, offset and (when the
//! vector names one) field; what an implementation adds in its own words is its own. An
//! encode difference is named by the field it falls in, from the vectors' `layout.json`.

use std::collections::HashMap;
use std::ops::Range;

use serde_json::{json, Value};

use crate::cases::{Case, Expect, Vectors};

/// The first place two JSON values differ, as `path: expected X, got Y`.
pub fn first_difference(path: &str, expected: &Value, actual: &Value) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = format!("{path}.{k}");
                match a.get(k) {
                    Some(av) => {
                        if let Some(d) = first_difference(&p, ev, av) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{p}: missing, expected {ev}")),
                }
            }
            a.keys()
                .find(|k| !e.contains_key(*k))
                .map(|k| format!("{path}.{k}: not expected, got {}", a[k]))
        }
        (Value::Array(e), Value::Array(a)) => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                if let Some(d) = first_difference(&format!("{path}[{i}]"), ev, av) {
                    return Some(d);
                }
            }
            (e.len() != a.len())
                .then(|| format!("{path}: expected {} entries, got {}", e.len(), a.len()))
        }
        _ if expected == actual => None,
        _ => Some(format!("{path}: expected {expected}, got {actual}")),
    }
}

/// An error matches on kind and offset, and on field when the vector names one; the other
/// details an implementation reports (found values, sizes) are its own business. A result's
/// `sequence` (a framing's sequence number) is kept beside it.
fn normalize_results(results: &[Value], expected: &[Value]) -> Vec<Value> {
    results
        .iter()
        .enumerate()
        .map(
            |(i, r)| match (r.get("error"), expected.get(i).and_then(|e| e.get("error"))) {
                (Some(err), Some(want)) => {
                    let mut e = json!({ "kind": err["kind"], "offset": err["offset"] });
                    if want.get("field").is_some() {
                        e["field"] = err.get("field").cloned().unwrap_or(Value::Null);
                    }
                    let mut out = json!({ "error": e });
                    if let Some(sequence) = r.get("sequence") {
                        out["sequence"] = sequence.clone();
                    }
                    out
                }
                _ => r.clone(),
            },
        )
        .collect()
}

/// Where each byte of a message lies (the vectors' `layout.json`): an encode difference is
/// reported at the field it falls in, and a checksum that differs over an equal body is told
/// apart from a body that differs (which always changes the checksum too).
pub struct FieldMap {
    type_code_at: usize,
    checksum: Range<usize>,
    /// Per type code: the message's name and its leaves.
    messages: HashMap<u64, (String, Vec<Leaf>)>,
}

/// A leaf's bytes in its message, and its path (`bids[3].price`).
type Leaf = (Range<usize>, String);

impl FieldMap {
    /// The vectors' `layout.json`, or None when they have none (an encode difference is
    /// then reported by byte offset only).
    pub fn load_if_any(vectors: &Vectors) -> Result<Option<FieldMap>, String> {
        if vectors.has("layout.json") {
            Self::load(vectors).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn load(vectors: &Vectors) -> Result<FieldMap, String> {
        let v = vectors.json("layout.json")?;
        let bad = |what: &str| format!("layout.json: {what}");
        let num = |v: &Value, what: &str| {
            v.as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| bad(&format!("{what} is not a number")))
        };
        // A protocol without a checksum has `"checksum": null`.
        let (at, size) = if v["checksum"].is_null() {
            (0, 0)
        } else {
            (
                num(&v["checksum"]["offset"], "checksum.offset")?,
                num(&v["checksum"]["size"], "checksum.size")?,
            )
        };
        let mut messages = HashMap::new();
        for m in v["messages"].as_array().ok_or_else(|| bad("no messages"))? {
            let mut leaves = Vec::new();
            for f in m["fields"]
                .as_array()
                .ok_or_else(|| bad("a message without fields"))?
            {
                let offset = num(&f["offset"], "a field's offset")?;
                let path = f["path"]
                    .as_str()
                    .ok_or_else(|| bad("a field without a path"))?;
                leaves.push((
                    offset..offset + num(&f["size"], "a field's size")?,
                    path.to_string(),
                ));
            }
            let name = m["name"]
                .as_str()
                .ok_or_else(|| bad("a message without a name"))?;
            let code = m["type_code"]
                .as_u64()
                .ok_or_else(|| bad("a message without a type code"))?;
            messages.insert(code, (name.to_string(), leaves));
        }
        Ok(FieldMap {
            type_code_at: num(&v["type_code_offset"], "type_code_offset")?,
            checksum: at..at + size,
            messages,
        })
    }

    /// `AddOrder.price, bytes 56..64` for byte `at` of a message of type `code`, if known.
    fn field_at(&self, code: u64, at: usize) -> Option<(String, Range<usize>)> {
        let (name, leaves) = self.messages.get(&code)?;
        let (range, path) = leaves.iter().find(|(r, _)| r.contains(&at))?;
        Some((format!("{name}.{path}"), range.clone()))
    }
}

/// Checks one response; `Err` says what is wrong.
pub fn judge(case: &Case, response: &Value, fields: Option<&FieldMap>) -> Result<(), String> {
    if let Some(reason) = response.get("unsupported") {
        return Err(format!("testee does not support this request: {reason}"));
    }
    match &case.expect {
        Expect::Results(want) => {
            let Some(got) = response.get("results").and_then(Value::as_array) else {
                return Err(format!("response has no \"results\" array: {response}"));
            };
            let normalized = Value::Array(normalize_results(got, want));
            match first_difference("results", &Value::Array(want.clone()), &normalized) {
                None => Ok(()),
                Some(d) => Err(format!(
                    "{d}; the testee returned {}",
                    shorten(&Value::Array(got.clone()).to_string())
                )),
            }
        }
        Expect::Hex(want) => match response.get("hex").and_then(Value::as_str) {
            Some(h) if h.eq_ignore_ascii_case(want) => Ok(()),
            Some(h) => Err(hex_difference(want, h, fields)),
            None => Err(format!("expected bytes, got {response}")),
        },
        Expect::EncodeError => match response.get("error") {
            Some(_) => Ok(()),
            None => Err(format!("expected an encode error, got {response}")),
        },
        Expect::Stream { events, books } => {
            let got = |k: &str| {
                response
                    .get(k)
                    .filter(|v| v.is_array())
                    .ok_or_else(|| format!("response has no \"{k}\" array: {response}"))
            };
            let got_events = Value::Array(
                got("events")?
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(normalize_event)
                    .collect(),
            );
            // Events first: where a run goes wrong shows there before the books.
            if let Some(d) = first_difference("events", events, &got_events) {
                return Err(format!("{d}{}", event_sides(events, &got_events)));
            }
            match first_difference("books", books, got("books")?) {
                None => Ok(()),
                Some(d) => Err(d),
            }
        }
    }
}

/// The first event that differs, whole, on both sides (or the first missing or extra one):
/// a field path alone rarely says what the testee did instead.
fn event_sides(want: &Value, got: &Value) -> String {
    let (Some(want), Some(got)) = (want.as_array(), got.as_array()) else {
        return String::new();
    };
    let at = want
        .iter()
        .zip(got)
        .position(|(w, g)| w != g)
        .unwrap_or(want.len().min(got.len()));
    let side = |events: &[Value]| {
        events
            .get(at)
            .map_or("(none: the events end here)".to_string(), |e| {
                shorten(&e.to_string())
            })
    };
    format!(
        "\n    expected events[{at}]: {}\n    testee's events[{at}]: {}",
        side(want),
        side(got)
    )
}

/// At most 400 characters of `text`.
pub fn shorten(text: &str) -> String {
    const MAX: usize = 400;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}… ({} characters)", &text[..cut], text.chars().count()),
        None => text.to_string(),
    }
}

/// A rejected message is judged, like a decode error, on its kind and offset; any detail an
/// implementation adds is its own.
fn normalize_event(e: &Value) -> Value {
    match e.get("rejected") {
        Some(r) => json!({ "rejected": { "kind": r["kind"], "offset": r["offset"] } }),
        None => e.clone(),
    }
}

/// Where two encodings first differ, named by field when the schema knows the message. The
/// checksum covers the body, so a body difference is reported at the body's first differing
/// byte, not at the checksum; a checksum that differs over an equal body is said to be that.
fn hex_difference(want: &str, got: &str, fields: Option<&FieldMap>) -> String {
    let (Some(want_bytes), Some(got_bytes)) = (unhex(want), unhex(got)) else {
        return format!("the testee's bytes are not hex: {}", shorten(got));
    };
    let sizes = format!("{} vs {} bytes", want_bytes.len(), got_bytes.len());
    let checksum = fields.map_or(0..0, |f| f.checksum.clone());
    let differs = |at: &usize| want_bytes.get(*at) != got_bytes.get(*at);
    let longest = want_bytes.len().max(got_bytes.len());
    let body = (0..longest)
        .filter(|at| !checksum.contains(at))
        .find(differs);
    let show = |bytes: &[u8], range: Range<usize>| {
        let end = range.end.min(bytes.len());
        match bytes.get(range.start..end) {
            Some(b) if !b.is_empty() => b.iter().map(|x| format!("{x:02x}")).collect(),
            _ => "(nothing)".to_string(),
        }
    };
    // With no field map the checksum range is empty and every difference is a body one.
    let Some(at) = body else {
        return format!(
            "only the checksum differs (bytes {}..{}, the rest is equal; {sizes}): expected {}, got {}",
            checksum.start,
            checksum.end,
            show(&want_bytes, checksum.clone()),
            show(&got_bytes, checksum.clone())
        );
    };
    let named = fields.and_then(|f| {
        let code = *want_bytes.get(f.type_code_at)?;
        f.field_at(u64::from(code), at)
    });
    match named {
        Some((field, range)) => format!(
            "bytes differ from byte {at}, in {field} (bytes {}..{}; {sizes}): expected {}, got {}",
            range.start,
            range.end,
            show(&want_bytes, range.clone()),
            show(&got_bytes, range.clone())
        ),
        None => format!(
            "bytes differ from byte {at} ({sizes}): expected {}…, got {}…",
            show(&want_bytes, at..at + 8),
            show(&got_bytes, at..at + 8)
        ),
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|k| u8::from_str_radix(text.get(k..k + 2)?, 16).ok())
        .collect()
}
