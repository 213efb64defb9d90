//! WebSocket connections: the upgrade, Binance's live-subscription protocol, its limits
//! (incoming messages a second, streams a connection), ping/pong, and the writer that
//! drains a client's outbox.
//!
//! A connection is two tasks: the reader (requests, pongs, closes) and the writer (the
//! outbox, pings, the close). They share the [`Client`]; the reader never writes to the
//! socket itself, it queues replies in the outbox, so replies and events keep one order.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rltop_serve::lock::Unpoisoned;
use serde_json::Value;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{handshake::derive_accept_key, Message};
use tokio_tungstenite::WebSocketStream;

use crate::hub::{Client, Close, Frame, Key};
use crate::reply::{json, query, ApiError, Body};
use crate::request::{Refusal, Request as Asked};
use crate::streams::{self, Topic};
use crate::Server;

/// What a path serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// `/ws[/a/b]`: raw payloads (until `SET_PROPERTY combined`).
    Raw,
    /// `/stream?streams=a/b`: `{"stream","data"}`.
    Combined,
    /// `/rltop?streams=`: binary datagrams.
    Rltop,
    /// `/redis?channels=`: seed 002's envelopes.
    Redis,
}

fn bad_request(msg: String) -> Response<Body> {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        code: -1100,
        msg,
    }
    .response()
}

/// Answers an upgrade request: 101 and a connection task, or an HTTP error before any
/// WebSocket exists (bad stream names, the connection limit, not an upgrade).
pub fn upgrade(server: Arc<Server>, mut req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let q = query(&req);
    let endpoint = match path.as_str() {
        "/stream" => Endpoint::Combined,
        "/rltop" => Endpoint::Rltop,
        "/redis" => Endpoint::Redis,
        _ => Endpoint::Raw,
    };
    let keys = match initial_keys(&server, endpoint, &path, &q) {
        Ok(keys) => keys,
        Err(msg) => return bad_request(msg),
    };
    let headers = req.headers();
    let is_upgrade = headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = headers.get(SEC_WEBSOCKET_KEY).filter(|_| is_upgrade) else {
        return bad_request(
            "expected a WebSocket upgrade (Upgrade: websocket, Sec-WebSocket-Key)".into(),
        );
    };
    if headers
        .get("sec-websocket-version")
        .and_then(|v| v.to_str().ok())
        != Some("13")
    {
        return bad_request("unsupported Sec-WebSocket-Version: expected 13".into());
    }
    let metrics = &server.shared.hub.metrics;
    // Count the connection now, so concurrent upgrades cannot pass the limit together.
    if metrics.connections.fetch_add(1, Relaxed) >= server.config.max_connections as u64 {
        metrics.connections.fetch_sub(1, Relaxed);
        metrics.refused_connections.fetch_add(1, Relaxed);
        return ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: -1003,
            msg: format!(
                "Too many connections: this bridge takes {}.",
                server.config.max_connections
            ),
        }
        .response();
    }
    metrics.connections_total.fetch_add(1, Relaxed);
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        // A client that goes away mid-upgrade has nothing to serve.
        if let Ok(upgraded) = on_upgrade.await {
            connection(server.clone(), TokioIo::new(upgraded), endpoint, keys).await;
        }
        server.shared.hub.metrics.connections.fetch_sub(1, Relaxed);
    });
    let mut r = json(StatusCode::SWITCHING_PROTOCOLS, String::new());
    let h = r.headers_mut();
    h.remove(hyper::header::CONTENT_TYPE);
    h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a header value"),
    );
    r
}

/// The subscriptions a connection starts with, from its URL. Under `/ws` a path segment
/// that is no stream name is passed over; elsewhere a bad name, and anywhere too many, is
/// refused (the message of an HTTP 400 before any WebSocket exists).
fn initial_keys(
    server: &Server,
    endpoint: Endpoint,
    path: &str,
    q: &[(String, String)],
) -> Result<Vec<(String, Key)>, String> {
    let names: Vec<String> = match endpoint {
        Endpoint::Raw => path
            .strip_prefix("/ws")
            .unwrap_or("")
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Endpoint::Combined | Endpoint::Rltop => q
            .iter()
            .find(|(k, _)| k == "streams")
            .map(|(_, v)| {
                v.split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        Endpoint::Redis => q
            .iter()
            .find(|(k, _)| k == "channels")
            .map(|(_, v)| {
                v.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    };
    if names.len() > server.config.max_streams {
        return Err(format!(
            "{} streams: a connection takes at most {}",
            names.len(),
            server.config.max_streams
        ));
    }
    let mut keys = Vec::new();
    for name in &names {
        let key = match endpoint {
            Endpoint::Raw | Endpoint::Combined => {
                let parsed = streams::parse(name, &mut server.shared.hub.symbols.locked());
                match parsed {
                    Ok(topic) => Key::Market(topic),
                    // As Binance: any path under /ws opens a connection; a segment that is
                    // not a stream name subscribes nothing (ccxt opens /ws/<n>, n a
                    // stream-group index, then sends SUBSCRIBE).
                    Err(_) if endpoint == Endpoint::Raw => continue,
                    Err(e) => return Err(format!("{e}")),
                }
            }
            Endpoint::Rltop => match name.as_str() {
                "all" => {
                    keys.extend(
                        rltop_net::Stream::ALL.map(|s| (s.key().to_string(), Key::Rltop(s))),
                    );
                    continue;
                }
                _ => match rltop_net::Stream::ALL.into_iter().find(|s| s.key() == name) {
                    Some(s) => Key::Rltop(s),
                    None => {
                        return Err(format!(
                            "unknown RLTOP stream '{name}': expected all, {}",
                            rltop_net::Stream::ALL.map(|s| s.key()).join(", ")
                        ))
                    }
                },
            },
            Endpoint::Redis => Key::Redis(name.as_str().into()),
        };
        keys.push((name.clone(), key));
    }
    match endpoint {
        Endpoint::Rltop if keys.is_empty() => {
            keys.extend(rltop_net::Stream::ALL.map(|s| (s.key().to_string(), Key::Rltop(s))))
        }
        Endpoint::Redis if keys.is_empty() => keys.push(("*".into(), Key::RedisAll)),
        _ => {}
    }
    Ok(keys)
}

/// A connection's subscriptions, by name as the client wrote it.
struct Subscriptions {
    list: Vec<(String, Key)>,
}

async fn connection(
    server: Arc<Server>,
    io: TokioIo<hyper::upgrade::Upgraded>,
    endpoint: Endpoint,
    initial: Vec<(String, Key)>,
) {
    // A 4 KiB read buffer: requests are small, and tungstenite's default (128 KiB, zeroed
    // on first read) would make every idle connection cost ~145 KiB.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(Some(server.config.max_frame))
        .max_frame_size(Some(server.config.max_frame));
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let (sink, mut stream) = ws.split();
    let hub = &server.shared.hub;
    let client = hub.client(endpoint == Endpoint::Combined);
    let mut subs = Subscriptions { list: Vec::new() };
    for (name, key) in initial {
        subscribe(&server, &client, &mut subs, name, key);
    }
    let last_pong = Arc::new(AtomicU64::new(now_ms()));
    let mut writer = tokio::spawn(writer(
        server.clone(),
        client.clone(),
        sink,
        last_pong.clone(),
    ));
    let mut window_start = Instant::now();
    let mut in_window = 0u32;
    // Replies already queued go out before the close.
    let close_with = |code: u16, reason: String| client.close_after(Close { code, reason });
    loop {
        let msg = tokio::select! {
            m = stream.next() => m,
            // The writer has closed the connection (or lost it): nothing more to read for.
            _ = &mut writer => return end(&server, &client, &subs),
            _ = server.shutdown.notified() => {
                close_with(1001, "server shutting down".into());
                break;
            }
        };
        let msg = match msg {
            None => break,
            Some(Err(e)) => {
                use tokio_tungstenite::tungstenite::Error as E;
                match e {
                    E::Capacity(c) => close_with(1009, format!("message too big: {c}")),
                    E::Protocol(p) => close_with(1002, format!("protocol error: {p}")),
                    E::Utf8(_) => close_with(1007, "text frame is not UTF-8".into()),
                    _ => {}
                }
                break;
            }
            Some(Ok(m)) => m,
        };
        // Binance: at most 5 incoming messages a second (pings and pongs included).
        if !matches!(msg, Message::Close(_) | Message::Frame(_)) {
            if window_start.elapsed() >= Duration::from_secs(1) {
                window_start = Instant::now();
                in_window = 0;
            }
            in_window += 1;
            if in_window > server.config.incoming_per_second {
                hub.metrics.rate_limit_closes.fetch_add(1, Relaxed);
                close_with(
                    1008,
                    format!(
                        "too many messages: more than {} a second",
                        server.config.incoming_per_second
                    ),
                );
                break;
            }
        }
        match msg {
            Message::Text(text) => {
                if matches!(endpoint, Endpoint::Raw | Endpoint::Combined) {
                    let reply = request(&server, &client, &mut subs, text.as_str());
                    client.reply(reply);
                } else {
                    client.reply(
                        serde_json::json!({"error": {"code": 2, "msg": "Invalid request: this endpoint takes no requests"}, "id": null})
                            .to_string(),
                    );
                }
            }
            Message::Binary(_) => client.reply(
                serde_json::json!({"error": {"code": 3, "msg": "Invalid JSON: binary frames are not requests"}, "id": null})
                    .to_string(),
            ),
            // tungstenite queues the pong; wake the writer to flush it.
            Message::Ping(_) => client.wake.notify_one(),
            Message::Pong(_) => last_pong.store(now_ms(), Relaxed),
            Message::Close(_) => {
                // tungstenite queued the reply; the writer flushes it and ends.
                close_with(1000, String::new());
                break;
            }
            Message::Frame(_) => {}
        }
    }
    // The writer ends once it has sent the close (or the peer is gone).
    client.close_after(Close {
        code: 1000,
        reason: String::new(),
    });
    if tokio::time::timeout(Duration::from_secs(5), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    end(&server, &client, &subs);
}

fn end(server: &Server, client: &Client, subs: &Subscriptions) {
    for (_, key) in &subs.list {
        server.shared.hub.unsubscribe(key, client.id);
    }
}

fn now_ms() -> u64 {
    crate::source::realtime_ns() / 1_000_000
}

type Sink =
    futures_util::stream::SplitSink<WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>, Message>;

/// Writes until the close; returns early when the client is aborted (a slow consumer whose
/// socket is full: no close frame could get through it) or the peer is gone.
async fn writer(server: Arc<Server>, client: Arc<Client>, sink: Sink, last_pong: Arc<AtomicU64>) {
    tokio::select! {
        _ = write(&server, &client, sink, last_pong) => {}
        _ = client.abort.notified() => {}
    }
}

async fn write(server: &Server, client: &Client, mut sink: Sink, last_pong: Arc<AtomicU64>) {
    let metrics = &server.shared.hub.metrics;
    let mut ping = tokio::time::interval(server.config.ping_interval);
    ping.tick().await;
    let mut frames = Vec::new();
    loop {
        tokio::select! {
            _ = client.wake.notified() => {}
            _ = ping.tick() => {
                let silent = now_ms().saturating_sub(last_pong.load(Relaxed));
                if silent > server.config.pong_timeout.as_millis() as u64 {
                    client.close(Close { code: 1008, reason: format!("no pong for {} s", silent / 1000) }, metrics);
                } else if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
        frames.clear();
        let close = client.take(&mut frames);
        let mut bytes = 0;
        let n = frames.len();
        for f in frames.drain(..) {
            bytes += f.len();
            let m = match f {
                Frame::Text(t) => Message::Text(t),
                Frame::Binary(b) => Message::Binary(b),
            };
            if sink.feed(m).await.is_err() {
                // The peer closed: flushing still sends tungstenite's queued close reply.
                let _ = sink.flush().await;
                return;
            }
        }
        if let Some(close) = close {
            let frame = (close.code != 1000 || !close.reason.is_empty()).then(|| CloseFrame {
                code: CloseCode::from(close.code),
                reason: close.reason.into(),
            });
            if close.code == 1001 {
                // Binance's notice before a shutdown.
                let _ = sink
                    .feed(Message::Text(
                        format!("{{\"e\":\"serverShutdown\",\"E\":{}}}", now_ms()).into(),
                    ))
                    .await;
            }
            let _ = sink.send(Message::Close(frame)).await;
            let _ = sink.flush().await;
            let _ = sink.close().await;
            metrics.messages_out.fetch_add(n as u64, Relaxed);
            metrics.bytes_out.fetch_add(bytes as u64, Relaxed);
            return;
        }
        if sink.flush().await.is_err() {
            return;
        }
        metrics.messages_out.fetch_add(n as u64, Relaxed);
        metrics.bytes_out.fetch_add(bytes as u64, Relaxed);
    }
}

fn subscribe(
    server: &Server,
    client: &Arc<Client>,
    subs: &mut Subscriptions,
    name: String,
    key: Key,
) {
    if server.shared.hub.subscribe(key.clone(), client) {
        if key == Key::Market(Topic::Status) {
            // The current state at once, then changes.
            let event = server.shared.status.locked().event();
            let text = if client.combined.load(Relaxed) {
                crate::hub::combined_frame("!bridgeStatus", &event)
            } else {
                event
            };
            client.reply(text);
        }
        subs.list.push((name, key));
    }
}

/// One request of Binance's live-subscription protocol; the reply text.
fn request(server: &Server, client: &Arc<Client>, subs: &mut Subscriptions, text: &str) -> String {
    let (id, parsed) = crate::request::parse(text);
    let error = |code: i32, msg: String| {
        serde_json::json!({"error": {"code": code, "msg": msg}, "id": id}).to_string()
    };
    let ok = |result: Value| serde_json::json!({"result": result, "id": id}).to_string();
    match parsed {
        Err(Refusal { code, msg }) => error(code, msg),
        Ok(Asked::Subscribe(names)) => match topics(server, &names) {
            None => error(2, "Invalid request: invalid stream".into()),
            Some(topics) => {
                let new = topics
                    .iter()
                    .filter(|t| !subs.list.iter().any(|(_, k)| *k == Key::Market(**t)))
                    .count();
                if subs.list.len() + new > server.config.max_streams {
                    let max = server.config.max_streams;
                    return error(
                        2,
                        format!("Invalid request: a connection takes at most {max} streams"),
                    );
                }
                for (name, topic) in names.into_iter().zip(topics) {
                    subscribe(server, client, subs, name, Key::Market(topic));
                }
                ok(Value::Null)
            }
        },
        Ok(Asked::Unsubscribe(names)) => match topics(server, &names) {
            None => error(2, "Invalid request: invalid stream".into()),
            Some(topics) => {
                for topic in topics {
                    let key = Key::Market(topic);
                    server.shared.hub.unsubscribe(&key, client.id);
                    subs.list.retain(|(_, k)| *k != key);
                }
                ok(Value::Null)
            }
        },
        Ok(Asked::ListSubscriptions) => {
            let symbols = server.shared.hub.symbols.locked();
            let names: Vec<Value> = subs
                .list
                .iter()
                .filter_map(|(_, k)| match k {
                    Key::Market(t) => Some(Value::String(streams::name(*t, &symbols))),
                    _ => None,
                })
                .collect();
            ok(Value::Array(names))
        }
        Ok(Asked::SetProperty(name, value)) if name == "combined" => match value.as_bool() {
            Some(b) => {
                client.combined.store(b, Relaxed);
                ok(Value::Null)
            }
            None => error(1, "Invalid value type: expected Boolean".into()),
        },
        Ok(Asked::GetProperty(name)) if name == "combined" => {
            ok(Value::Bool(client.combined.load(Relaxed)))
        }
        Ok(Asked::SetProperty(..) | Asked::GetProperty(_)) => error(0, "Unknown property".into()),
    }
}

/// The topics of stream names, or None if one is not a stream.
fn topics(server: &Server, names: &[String]) -> Option<Vec<Topic>> {
    let mut symbols = server.shared.hub.symbols.locked();
    names
        .iter()
        .map(|name| streams::parse(name, &mut symbols).ok())
        .collect()
}
