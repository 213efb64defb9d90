//! What HTTP and the WebSocket upgrade share: the response body type, Binance's error body
//! and statuses, JSON responses, and query strings (form-urlencoded, as browsers and
//! Binance's clients write them).

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};

pub type Body = Full<Bytes>;

/// A Binance error: HTTP status, code, message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i32,
    pub msg: String,
}

impl ApiError {
    pub fn bad(code: i32, msg: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            msg: msg.into(),
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: -2015,
            msg: "Invalid token: send ?token= or Authorization: Bearer.".into(),
        }
    }

    /// `{"code":…,"msg":…}`.
    pub fn body(&self) -> String {
        serde_json::json!({"code": self.code, "msg": self.msg}).to_string()
    }

    pub fn response(&self) -> Response<Body> {
        json(self.status, self.body())
    }
}

pub fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    // Browser apps on other origins read market data (it is public once past the token).
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    r
}

/// Query parameters, decoded (`+` is a space, `%XX` a byte, bad UTF-8 replaced), in order.
pub fn query(req: &Request<Incoming>) -> Vec<(String, String)> {
    query_of(req.uri().query().unwrap_or(""))
}

fn query_of(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_as_forms_do() {
        let q = query_of("symbols=%5B%22A%22%5D&a=b+c&pct=100%25&bad=%zz&n=%4&&empty=");
        let want = [
            ("symbols", "[\"A\"]"),
            ("a", "b c"),
            ("pct", "100%"),
            ("bad", "%zz"),
            ("n", "%4"),
            ("empty", ""),
        ];
        let got: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
    }
}
