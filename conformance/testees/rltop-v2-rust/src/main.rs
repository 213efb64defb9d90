//! Conformance testee for RLTOP version 2's generated crate (`rltop-v2`,
//! schema/examples/rltop-v2.rlt), as the version-1 testee is for `rltop`: decoding through
//! the crate's dispatch and validators, JSON and encoding through its field tables. It runs
//! version 2's own vectors and version 1's messages as version 2 must read them
//! (generated/rltop-v2/cross/v1-read-by-v2). Stream scenarios are version 1's alone.

use rltop_conformance::serve::{decode_error, serve};
use rltop_runtime::canonical;
use rltop_v2 as rltop;
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
        other => json!({ "unsupported": format!("op {other:?}") }),
    }
}

fn decode(datagram: &[u8]) -> Vec<Value> {
    rltop::messages(datagram)
        .map(|item| match item {
            Ok(m) => json!({
                "message": canonical::to_json(&rltop::PROTOCOL, m.message_type(), m.as_bytes())
            }),
            Err(e) => json!({
                "error": decode_error(e.name(), e.offset(), e.to_string(), e.field())
            }),
        })
        .collect()
}
