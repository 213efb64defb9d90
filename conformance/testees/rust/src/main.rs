//! Conformance testee for the generated `rltop` crate.
//!
//! Reads one JSON request per line on stdin and writes one JSON response per line on stdout
//! (protocol: conformance/README.md). Decoding and encoding go through the generated crate
//! ([`rltop_conformance_rust::codec`]), so no per-type code is here. Stream scenarios go
//! through the feed handler (`rltop-feed`).

mod stream;

use rltop_conformance::serve::serve;
use serde_json::{json, Value};

rltop_conformance_rust::codec!(rltop);

fn main() {
    serve(answer);
}

fn answer(request: &Value) -> Value {
    if let Some(answer) = codec(request) {
        return answer;
    }
    match request["op"].as_str() {
        Some("stream") => stream::run(request).unwrap_or_else(|e| json!({ "error": e })),
        other => json!({ "unsupported": format!("op {other:?}") }),
    }
}
