//! The testee's side of the protocol, for testees written in Rust: the loop that reads one
//! request per line and writes one answer per line (each with the request's `id`), and the
//! JSON of a decode error. A testee supplies only how it answers a request.

use std::io::{BufRead, Write};

use serde_json::{json, Value};

/// Answers every request on stdin until it closes (or stdout does). A line that is not JSON
/// gets an `error` answer; so does an answer that is not an object.
pub fn serve(mut answer: impl FnMut(&Value) -> Value) {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let mut response = match serde_json::from_str::<Value>(&line) {
            Ok(request) => {
                let mut r = answer(&request);
                if r.is_object() {
                    r["id"] = request["id"].clone();
                } else {
                    r = json!({ "error": "internal: the answer is not an object", "id": request["id"] });
                }
                r
            }
            Err(e) => json!({ "error": format!("request is not JSON: {e}") }),
        };
        if !response.is_object() {
            response = json!({ "error": "internal: not an object" });
        }
        if writeln!(out, "{response}")
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
}

/// A decode error as a result's `error`: its kind, byte offset, detail, and the field where
/// the error concerns one.
pub fn decode_error(kind: &str, offset: usize, detail: String, field: Option<&str>) -> Value {
    let mut err = json!({ "kind": kind, "offset": offset, "detail": detail });
    if let Some(field) = field {
        err["field"] = json!(field);
    }
    err
}
