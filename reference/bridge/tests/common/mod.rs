//! What the bridge's integration tests share: a bridge started in process, and plain
//! HTTP and WebSocket clients with bounded waits.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use rltop_bridge::source::SourceSpec;
use rltop_bridge::{Config, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

pub async fn start(source: SourceSpec, tune: impl FnOnce(&mut Config)) -> Running {
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), source);
    tune(&mut config);
    rltop_bridge::start(config).await.expect("bridge starts")
}

/// A plain HTTP/1.1 GET: (status, body).
pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    req += "\r\n";
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .expect("response in time")
        .unwrap();
    parse_response(&buf)
}

/// [`get`] with the response's headers (names lower-cased): (status, headers, body).
pub async fn get_with_headers(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    req += "\r\n";
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .expect("response in time")
        .unwrap();
    let text = String::from_utf8_lossy(&buf);
    let head = text.split_once("\r\n\r\n").unwrap().0;
    let fields = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let (status, body) = parse_response(&buf);
    (status, fields, body)
}

pub fn parse_response(buf: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(buf);
    let status = text[9..12].parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // Chunks: size line, data, CRLF.
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out += &after[..n];
            rest = &after[n + 2..];
        }
        out
    } else {
        body.to_string()
    };
    (status, body)
}

pub async fn connect(addr: SocketAddr, path: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}{path}"))
        .await
        .expect("upgrade");
    ws
}

/// The next text frame, within `secs`.
pub async fn next_text(ws: &mut Ws, secs: u64) -> String {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(secs), ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("no error");
        if let Message::Text(t) = m {
            return t.to_string();
        }
    }
}

pub fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("rltop_bridge_{name} ")))
        .unwrap_or_else(|| panic!("{name} in {text}"))
        .parse()
        .unwrap()
}

/// Parses `text` strictly: RFC 8259 as serde_json reads it, and no key twice in one object
/// (text that broke out of its string shows as a repeated key, which serde_json's `Value`
/// would silently take the last of).
pub fn strict_json(text: &str) -> Result<serde_json::Value, String> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_str(text);
    NoRepeatedKeys::deserialize(&mut de)
        .and_then(|_| de.end())
        .map_err(|e| format!("{e}: {text}"))?;
    serde_json::from_str(text).map_err(|e| format!("{e}: {text}"))
}

struct NoRepeatedKeys;

impl<'de> serde::Deserialize<'de> for NoRepeatedKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoRepeatedKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for NoRepeatedKeys {
    type Value = NoRepeatedKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NoRepeatedKeys>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("key {key:?} twice")));
            }
            map.next_value::<NoRepeatedKeys>()?;
        }
        Ok(self)
    }
}

/// A sink that keeps every rendered event, wanted or not.
#[derive(Default)]
pub struct Collect(pub Vec<(rltop_bridge::streams::Topic, String)>);

impl rltop_bridge::market::Sink for Collect {
    fn wants(&self, _: rltop_bridge::streams::Topic) -> bool {
        true
    }

    fn send(&mut self, topic: rltop_bridge::streams::Topic, json: String) {
        self.0.push((topic, json));
    }
}

/// A simulated session through a feed handler into `market`, as the engine drives it (a
/// 100 ms boundary every 5 datagrams, a second every 50): every event rendered, and how
/// many definitions the market refused.
pub fn render_session(
    datagrams: &[rltop_sim::Datagram],
    market: &mut rltop_bridge::market::Market,
    symbols: &mut rltop_bridge::streams::Symbols,
) -> (Vec<(rltop_bridge::streams::Topic, String)>, usize) {
    use rltop_feed::{Event, FeedHandler};
    let mut feed = FeedHandler::default();
    let mut sink = Collect::default();
    let mut refusals = 0;
    for (i, d) in datagrams.iter().enumerate() {
        feed.on_datagram(&d.bytes, &mut |e| match e {
            Event::Instrument(def) => {
                refusals += usize::from(market.define(def, symbols).is_err());
            }
            Event::Trade(t) => market.trade(t, &mut sink),
            Event::Market(m) => market.market_message(&m, &mut sink),
            Event::Book { symbol_id, .. } => market.book_changed(symbol_id, d.time_ns),
            _ => {}
        });
        market.after_batch(&feed, &mut sink);
        if i % 5 == 0 {
            market.boundary(i % 50 == 0, &feed, &mut sink);
        }
    }
    market.boundary(true, &feed, &mut sink);
    (sink.0, refusals)
}
