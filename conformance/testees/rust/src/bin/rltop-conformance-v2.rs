//! Conformance testee for RLTOP version 2's generated crate (`rltop-v2`,
//! schema/examples/rltop-v2.rlt), as `rltop-conformance-rust` is for version 1's: it runs
//! version 2's own vectors and version 1's messages as version 2 must read them
//! (generated/rltop-v2/cross/v1-read-by-v2). Stream scenarios are version 1's alone.

use rltop_conformance::serve::serve;
use rltop_v2 as rltop;
use serde_json::{json, Value};

rltop_conformance_rust::codec!(rltop);

fn main() {
    serve(|request: &Value| {
        codec(request)
            .unwrap_or_else(|| json!({ "unsupported": format!("op {:?}", request["op"]) }))
    });
}
