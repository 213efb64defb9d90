//! Conformance testee for the generated ITCH 5.0 crate (`generated/itch50/rust`).
//!
//! One JSON request per line on stdin, one JSON response per line on stdout (protocol:
//! conformance/README.md). A decode request's bytes are one MoldUDP64 packet, walked with the
//! crate's `packet()`: each block's result carries its sequence number, and a framing fault is
//! `BadFrame` at its byte. Encoding goes through the crate's `encode_json` (`from_json` and
//! the typed setters).

use rltop_conformance::serve::{decode_error, serve};
use rltop_itch50 as itch;
use rltop_runtime::canonical::{from_hex, to_hex};
use rltop_runtime::moldudp64::BlockError;
use rltop_runtime::DecodeError;
use serde_json::{json, Value};

fn frame_error(offset: usize, detail: String) -> Value {
    json!({ "error": { "kind": "BadFrame", "offset": offset, "detail": detail } })
}

fn error_of(e: &DecodeError) -> Value {
    decode_error(e.name(), e.offset(), e.to_string(), e.field())
}

fn decode(bytes: &[u8]) -> Value {
    let (_, blocks) = match itch::packet(bytes) {
        Ok(p) => p,
        Err(e) => return json!({ "results": [frame_error(e.offset(), e.to_string())] }),
    };
    let mut results = Vec::new();
    for block in blocks {
        match block {
            Ok((sequence, m)) => {
                let message: Value = serde_json::from_str(&m.to_json())
                    .unwrap_or_else(|e| json!({ "unparsable_json": e.to_string() }));
                results.push(json!({ "sequence": sequence.to_string(), "message": message }));
            }
            Err(BlockError::Decode { sequence, error }) => {
                results
                    .push(json!({ "sequence": sequence.to_string(), "error": error_of(&error) }));
            }
            Err(BlockError::Frame(e)) => {
                results.push(frame_error(e.offset(), e.to_string()));
                break;
            }
        }
    }
    json!({ "results": results })
}

fn answer(request: &Value) -> Value {
    match request["op"].as_str() {
        Some("decode") => match request["hex"].as_str().map(from_hex) {
            Some(Ok(bytes)) => decode(&bytes),
            Some(Err(e)) => json!({ "error": format!("bad request: {e}") }),
            None => json!({ "error": "bad request: no \"hex\"" }),
        },
        Some("encode") => match itch::encode_json(&request["message"]) {
            Ok(bytes) => json!({ "hex": to_hex(&bytes) }),
            Err(e) => json!({ "error": e.to_string() }),
        },
        other => json!({ "unsupported": format!("op {other:?}") }),
    }
}

fn main() {
    serve(answer);
}
