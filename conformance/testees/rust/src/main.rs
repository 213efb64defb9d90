//! Conformance testee for the generated `rltop` crate.
//!
//! Reads one JSON request per line on stdin and writes one JSON response per line on stdout
//! (protocol: conformance/README.md). Decoding goes through the generated dispatch and
//! validators (`rltop::messages`); the canonical JSON is produced, and encoding done, by
//! walking the generated field tables (`rltop::MESSAGE_TYPES`), so no per-type code is here. Stream scenarios go through the
//! feed handler (`rltop-feed`).

use rltop_runtime::canonical;
mod stream;

use rltop_conformance::serve::{decode_error, serve};
use serde_json::{json, Value};

fn main() {
    serve(answer);
}

fn answer(request: &Value) -> Value {
    match request["op"].as_str() {
        Some("decode") => match request["hex"].as_str().map(canonical::from_hex) {
            Some(Ok(bytes)) => json!({ "results": decode(&bytes) }),
            Some(Err(e)) => json!({ "error": e }),
            None => json!({ "error": "decode request without \"hex\"" }),
        },
        Some("encode") => {
            match canonical::encode(&rltop::PROTOCOL, rltop::MESSAGE_TYPES, &request["message"]) {
                Ok(bytes) => json!({ "hex": canonical::to_hex(&bytes) }),
                Err(e) => json!({ "error": e }),
            }
        }
        Some("stream") => stream::run(request).unwrap_or_else(|e| json!({ "error": e })),
        other => json!({ "unsupported": format!("op {other:?}") }),
    }
}

fn decode(datagram: &[u8]) -> Vec<Value> {
    rltop::messages(datagram)
        .map(|item| match item {
            Ok(m) => json!({ "message": canonical::to_json(&rltop::PROTOCOL, m.message_type(), m.as_bytes()) }),
            Err(e) => json!({ "error": decode_error(e.name(), e.offset(), e.to_string(), e.field()) }),
        })
        .collect()
}
