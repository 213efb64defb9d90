//! What the RLTOP testees of every version share: decode and encode through a generated
//! RLTOP crate, whose dispatch and validators decode (`messages`) and whose field tables
//! give the canonical JSON and encode (`PROTOCOL`, `MESSAGE_TYPES`). The crates of two
//! versions are different crates with the same items, so this is a macro over the crate's
//! name: `codec!(rltop)` defines `fn codec(request) -> Option<Value>` in the caller.

/// Defines `fn codec(request: &Value) -> Option<Value>`: the answer to a decode or encode
/// request through the generated crate `$gen`, None for any other op.
#[macro_export]
macro_rules! codec {
    ($gen:ident) => {
        fn codec(request: &serde_json::Value) -> Option<serde_json::Value> {
            use rltop_conformance::serve::decode_error;
            use rltop_runtime::canonical;
            use serde_json::json;
            Some(match request["op"].as_str()? {
                "decode" => match request["hex"].as_str().map(canonical::from_hex) {
                    Some(Ok(bytes)) => {
                        let results: Vec<serde_json::Value> = $gen::messages(&bytes)
                            .map(|item| match item {
                                Ok(m) => json!({ "message": canonical::to_json(
                                    &$gen::PROTOCOL, m.message_type(), m.as_bytes()) }),
                                Err(e) => json!({ "error": decode_error(
                                    e.name(), e.offset(), e.to_string(), e.field()) }),
                            })
                            .collect();
                        json!({ "results": results })
                    }
                    Some(Err(e)) => json!({ "error": e }),
                    None => json!({ "error": "decode request without \"hex\"" }),
                },
                "encode" => match canonical::encode(
                    &$gen::PROTOCOL,
                    $gen::MESSAGE_TYPES,
                    &request["message"],
                ) {
                    Ok(bytes) => json!({ "hex": canonical::to_hex(&bytes) }),
                    Err(e) => json!({ "error": e }),
                },
                _ => return None,
            })
        }
    };
}
