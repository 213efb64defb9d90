//! One request of Binance's live-subscription protocol (`{"method", "params", "id"}`),
//! parsed by serde into [`Request`], and the refusals Binance answers with: code 3 for text
//! that is not JSON, code 2 for a request that is not one (serde's own words: `unknown
//! variant`, `unknown field`, `missing field`), and the request's id echoed whenever it is
//! usable.

use serde::Deserialize;
use serde_json::Value;

/// What a client asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Subscribe(Vec<String>),
    Unsubscribe(Vec<String>),
    ListSubscriptions,
    SetProperty(String, Value),
    GetProperty(String),
}

/// Why a request is refused: Binance's error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: i32,
    pub msg: String,
}

impl Refusal {
    fn invalid(why: impl std::fmt::Display) -> Refusal {
        Refusal {
            code: 2,
            msg: format!("Invalid request: {why}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    method: Method,
    #[serde(default)]
    params: Value,
    /// Checked before the rest ([`usable_id`]), so that every reply can carry it.
    #[serde(default, rename = "id")]
    _id: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Method {
    Subscribe,
    Unsubscribe,
    ListSubscriptions,
    SetProperty,
    GetProperty,
}

/// Binance takes an unsigned integer, a short string of letters, digits and `-`, or none.
fn usable_id(id: &Value) -> bool {
    match id {
        Value::Null => true,
        Value::Number(n) => n.is_u64() || n.is_i64(),
        Value::String(s) => {
            s.len() <= 36 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        }
        _ => false,
    }
}

/// `text` as a request: its id (null when absent or unusable) and the request, or why not.
pub fn parse(text: &str) -> (Value, Result<Request, Refusal>) {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let refusal = Refusal {
                code: 3,
                msg: format!("Invalid JSON: {e}"),
            };
            return (Value::Null, Err(refusal));
        }
    };
    if !v.is_object() {
        return (Value::Null, Err(Refusal::invalid("expected an object")));
    }
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    if !usable_id(&id) {
        let refusal = Refusal::invalid("request ID must be an unsigned integer");
        return (Value::Null, Err(refusal));
    }
    let request = Envelope::deserialize(&v)
        .map_err(Refusal::invalid)
        .and_then(typed);
    (id, request)
}

/// The params each method takes.
fn typed(e: Envelope) -> Result<Request, Refusal> {
    let names = |p: Value| {
        Vec::<String>::deserialize(p)
            .map_err(|_| Refusal::invalid("params must be an array of stream names"))
    };
    let list = |p: &Value| p.as_array().cloned().unwrap_or_default();
    Ok(match e.method {
        Method::Subscribe => Request::Subscribe(names(e.params)?),
        Method::Unsubscribe => Request::Unsubscribe(names(e.params)?),
        Method::ListSubscriptions => Request::ListSubscriptions,
        Method::SetProperty => match list(&e.params).as_slice() {
            [Value::String(name), value] => Request::SetProperty(name.clone(), value.clone()),
            [_, _] => return Err(Refusal::invalid("property name must be a string")),
            _ => return Err(Refusal::invalid("SET_PROPERTY takes [name, value]")),
        },
        Method::GetProperty => match list(&e.params).as_slice() {
            [Value::String(name)] => Request::GetProperty(name.clone()),
            [_] => return Err(Refusal::invalid("property name must be a string")),
            _ => return Err(Refusal::invalid("GET_PROPERTY takes [name]")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(text: &str) -> (Value, i32, String) {
        let (id, r) = parse(text);
        let r = r.unwrap_err();
        (id, r.code, r.msg)
    }

    #[test]
    fn requests_parse_to_their_variant() {
        let (id, r) = parse(r#"{"method":"SUBSCRIBE","params":["a@trade","b@ticker"],"id":1}"#);
        assert_eq!(id, json!(1));
        assert_eq!(
            r.unwrap(),
            Request::Subscribe(vec!["a@trade".into(), "b@ticker".into()])
        );
        let (id, r) = parse(r#"{"method":"LIST_SUBSCRIPTIONS","id":"ab-1"}"#);
        assert_eq!(
            (id, r.unwrap()),
            (json!("ab-1"), Request::ListSubscriptions)
        );
        let (_, r) = parse(r#"{"method":"SET_PROPERTY","params":["combined",true],"id":2}"#);
        assert_eq!(
            r.unwrap(),
            Request::SetProperty("combined".into(), json!(true))
        );
        let (_, r) = parse(r#"{"method":"GET_PROPERTY","params":["combined"]}"#);
        assert_eq!(r.unwrap(), Request::GetProperty("combined".into()));
    }

    #[test]
    fn refusals_say_why_and_keep_a_usable_id() {
        let (id, code, msg) = refusal("{not json");
        assert_eq!((id, code), (Value::Null, 3));
        assert!(msg.starts_with("Invalid JSON: "), "{msg}");
        assert_eq!(refusal("[1]").2, "Invalid request: expected an object");
        let (id, _, msg) = refusal(r#"{"method":"PUBLISH","id":8}"#);
        assert_eq!(id, json!(8));
        assert!(
            msg.starts_with(
                "Invalid request: unknown variant `PUBLISH`, expected one of `SUBSCRIBE`"
            ),
            "{msg}"
        );
        assert_eq!(
            refusal(r#"{"id":9}"#).2,
            "Invalid request: missing field `method`"
        );
        let (_, _, msg) = refusal(r#"{"method":"SUBSCRIBE","params":[],"x":1,"id":1}"#);
        assert!(
            msg.starts_with("Invalid request: unknown field `x`"),
            "{msg}"
        );
        let (id, _, msg) = refusal(r#"{"method":"SUBSCRIBE","id":{"a":1}}"#);
        assert_eq!(
            (id, msg.as_str()),
            (
                Value::Null,
                "Invalid request: request ID must be an unsigned integer"
            )
        );
        let (_, _, msg) = refusal(r#"{"method":"SUBSCRIBE","params":[1],"id":1}"#);
        assert_eq!(
            msg,
            "Invalid request: params must be an array of stream names"
        );
        let (_, _, msg) = refusal(r#"{"method":"SET_PROPERTY","params":[1,true],"id":1}"#);
        assert_eq!(msg, "Invalid request: property name must be a string");
        let (_, _, msg) = refusal(r#"{"method":"GET_PROPERTY","params":[],"id":1}"#);
        assert_eq!(msg, "Invalid request: GET_PROPERTY takes [name]");
    }
}
