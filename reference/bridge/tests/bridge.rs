//! The bridge in process, on loopback, with real WebSocket and HTTP clients: the
//! subscription protocol and its errors, limits, auth, slow clients, conflation, pings,
//! shutdown, health, metrics, TLS, and the raw-datagram endpoint. Each test bounds its own
//! time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rltop_bridge::source::{SimSpec, SourceSpec};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::*;

fn sim(rate: f64) -> SourceSpec {
    SourceSpec::Sim(SimSpec {
        plan: rltop_net::Plan::default(),
        seed: 7,
        instruments: 3,
        rate,
        events: None,
        symbols: Vec::new(),
    })
}

/// Waits until the bridge has every instrument's definition and a live book.
async fn until_live(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = get(addr, "/healthz", &[]).await;
        let v: Value = serde_json::from_str(&body).unwrap();
        if status == 200 && v["status"] == "live" && v["liveInstruments"] == 3 {
            let (_, info) = get(addr, "/api/v3/exchangeInfo", &[]).await;
            let info: Value = serde_json::from_str(&info).unwrap();
            if info["symbols"].as_array().unwrap().len() == 3 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "bridge not live: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The next reply (a frame with an "id"), skipping stream events.
async fn reply(ws: &mut Ws) -> Value {
    loop {
        let v: Value = serde_json::from_str(&next_text(ws, 10).await).unwrap();
        if v.get("id").is_some() && v.get("stream").is_none() && v.get("e").is_none() {
            return v;
        }
    }
}

/// Reads until the server's close frame; its code and reason.
async fn close_of(ws: &mut Ws, secs: u64) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(Some(f)))) => return (u16::from(f.code), f.reason.to_string()),
            Some(Ok(Message::Close(None))) => return (1005, String::new()),
            Some(Ok(_)) => {}
            other => panic!("no close frame: {other:?}"),
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// Sends a request; its reply.
async fn ask(ws: &mut Ws, request: Value) -> Value {
    send(ws, request).await;
    reply(ws).await
}

/// The headers of a WebSocket upgrade, for requests whose HTTP answer is the point.
const UPGRADE: [(&str, &str); 4] = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_subscription_protocol_and_its_errors() {
    let bridge = start(sim(2000.0), |_| {}).await;
    let addr = bridge.addr;
    until_live(addr).await;
    let mut ws = connect(addr, "/ws/sim1usdt@trade").await;
    // Raw payloads on /ws.
    let first: Value = serde_json::from_str(&next_text(&mut ws, 10).await).unwrap();
    assert_eq!(first["e"], "trade");
    assert_eq!(first["s"], "SIM1USDT");
    for key in ["E", "t", "p", "q", "T", "m", "M"] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    assert_eq!(
        ask(&mut ws, json!({"method": "SUBSCRIBE", "params": ["sim2usdt@bookTicker", "sim1usdt@depth5@100ms"], "id": 1})).await, json!({"result": null, "id": 1}));
    assert_eq!(
        ask(&mut ws, json!({"method": "LIST_SUBSCRIPTIONS", "id": 2})).await,
        json!({"result": ["sim1usdt@trade", "sim2usdt@bookTicker", "sim1usdt@depth5@100ms"], "id": 2})
    );
    assert_eq!(
        ask(
            &mut ws,
            json!({"method": "UNSUBSCRIBE", "params": ["sim1usdt@trade"], "id": "a1"})
        )
        .await,
        json!({"result": null, "id": "a1"})
    );
    assert_eq!(
        ask(
            &mut ws,
            json!({"method": "GET_PROPERTY", "params": ["combined"], "id": 3})
        )
        .await,
        json!({"result": false, "id": 3})
    );
    // The limit is 5 a second: wait out the window before the next requests.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        ask(
            &mut ws,
            json!({"method": "SET_PROPERTY", "params": ["combined", true], "id": 4})
        )
        .await,
        json!({"result": null, "id": 4})
    );
    // Combined payloads from now on.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v: Value = serde_json::from_str(&next_text(&mut ws, 10).await).unwrap();
        if let Some(stream) = v.get("stream") {
            assert!(
                stream == "sim2usdt@bookTicker" || stream == "sim1usdt@depth5@100ms",
                "{v}"
            );
            assert!(v["data"].is_object());
            break;
        }
        assert!(Instant::now() < deadline);
    }
    assert_eq!(
        ask(
            &mut ws,
            json!({"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 5})
        )
        .await,
        json!({"error": {"code": 1, "msg": "Invalid value type: expected Boolean"}, "id": 5})
    );
    assert_eq!(
        ask(
            &mut ws,
            json!({"method": "GET_PROPERTY", "params": ["colour"], "id": 6})
        )
        .await,
        json!({"error": {"code": 0, "msg": "Unknown property"}, "id": 6})
    );
    assert_eq!(
        ask(
            &mut ws,
            json!({"method": "SUBSCRIBE", "params": ["sim1usdt@nonsense"], "id": 7})
        )
        .await,
        json!({"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 7})
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let v = ask(&mut ws, json!({"method": "PUBLISH", "id": 8})).await;
    assert_eq!(v["error"]["code"], 2);
    assert!(v["error"]["msg"]
        .as_str()
        .unwrap()
        .contains("unknown variant `PUBLISH`"));
    assert_eq!(
        ask(&mut ws, json!({"params": [], "id": 9})).await,
        json!({"error": {"code": 2, "msg": "Invalid request: missing field `method`"}, "id": 9})
    );
    assert_eq!(
        ask(&mut ws, json!({"method": "LIST_SUBSCRIPTIONS", "id": 1.5})).await,
        json!({"error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}, "id": null})
    );
    ws.send(Message::Text("{\"method\":".into())).await.unwrap();
    let v = reply(&mut ws).await;
    assert_eq!(v["error"]["code"], 3);
    assert!(
        v["error"]["msg"]
            .as_str()
            .unwrap()
            .starts_with("Invalid JSON: "),
        "{v}"
    );
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_close_with_a_code_and_reason() {
    let bridge = start(sim(500.0), |c| {
        c.max_frame = 4096;
        c.max_connections = 3;
        c.max_streams = 4;
    })
    .await;
    let addr = bridge.addr;
    // More than 5 messages in a second: the replies so far, then 1008.
    let mut ws = connect(addr, "/ws").await;
    for id in 1..=6 {
        send(&mut ws, json!({"method": "LIST_SUBSCRIPTIONS", "id": id})).await;
    }
    for id in 1..=5 {
        assert_eq!(reply(&mut ws).await, json!({"result": [], "id": id}));
    }
    let (code, reason) = close_of(&mut ws, 10).await;
    assert_eq!(code, 1008);
    assert_eq!(reason, "too many messages: more than 5 a second");
    // An oversized frame: 1009.
    let mut ws = connect(addr, "/ws").await;
    ws.send(Message::Text("x".repeat(10_000).into()))
        .await
        .unwrap();
    let (code, reason) = close_of(&mut ws, 10).await;
    assert_eq!(code, 1009);
    assert!(reason.starts_with("message too big"), "{reason}");
    // Streams a connection may hold: at the URL (HTTP 400 before the upgrade) and live.
    let five = "/stream?streams=a@trade/b@trade/c@trade/d@trade/e@trade";
    let (status, body) = get(addr, five, &UPGRADE).await;
    assert_eq!(status, 400, "{body}");
    let mut ws = connect(addr, "/stream?streams=a@trade/b@trade/c@trade").await;
    let v = ask(
        &mut ws,
        json!({"method": "SUBSCRIBE", "params": ["d@trade", "e@trade"], "id": 1}),
    )
    .await;
    assert_eq!(
        v["error"]["msg"],
        "Invalid request: a connection takes at most 4 streams"
    );
    // A bad stream name in /stream?streams=: 400 before any WebSocket. (Under /ws any
    // path is a connection: any_path_under_ws_is_a_connection.)
    let (status, body) = get(addr, "/stream?streams=btcusdt@depth7", &UPGRADE).await;
    assert_eq!(status, 400);
    assert!(body.contains("invalid stream 'btcusdt@depth7'"), "{body}");
    // Connection limit: 3; one is open, two more pass, the fourth gets 503.
    let _a = connect(addr, "/ws").await;
    let _b = connect(addr, "/ws").await;
    let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
    let (_, metrics) = get(addr, "/metrics", &[]).await;
    assert!(
        metrics.contains("rltop_bridge_rate_limit_closes_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rltop_bridge_connections_refused_total 1\n"),
        "{metrics}"
    );
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_required_before_the_upgrade() {
    let bridge = start(sim(500.0), |c| c.token = Some("s3cret".into())).await;
    let addr = bridge.addr;
    match tokio_tungstenite::connect_async(format!("ws://{addr}/ws/sim1usdt@trade")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    match tokio_tungstenite::connect_async(format!("ws://{addr}/ws?token=wrong")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    let (status, body) = get(addr, "/api/v3/ping", &[]).await;
    assert_eq!((status, body.contains("-2015")), (401, true), "{body}");
    assert_eq!(
        get(addr, "/api/v3/ping?token=s3cret", &[]).await,
        (200, "{}".into())
    );
    assert_eq!(
        get(addr, "/api/v3/ping", &[("Authorization", "Bearer s3cret")]).await,
        (200, "{}".into())
    );
    let _ws = connect(addr, "/ws?token=s3cret").await;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{addr}/stream?streams=sim1usdt@trade")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Authorization", "Bearer s3cret".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("bearer upgrade");
    let v: Value = serde_json::from_str(&next_text(&mut ws, 20).await).unwrap();
    assert_eq!(v["stream"], "sim1usdt@trade");
    // Health and metrics stay open to probes.
    assert_ne!(get(addr, "/healthz", &[]).await.0, 401);
    assert_eq!(get(addr, "/metrics", &[]).await.0, 200);
    bridge.shutdown().await;
}

/// A WebSocket client that completes the handshake and then never reads.
async fn silent_client(addr: SocketAddr, path: &str) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    // A small receive window, so the server's writes back up soon.
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    let mut s = TcpStream::from_std(socket.into()).unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    // Read the 101 only.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_conflates_books_and_is_closed_behind_trades() {
    let bridge = start(sim(20_000.0), |c| c.queue_bytes = 64 << 10).await;
    let addr = bridge.addr;
    until_live(addr).await;
    // Book tickers only: latest wins, never closed.
    let _books = silent_client(
        addr,
        "/stream?streams=sim1usdt@bookTicker/sim2usdt@bookTicker/sim1usdt@depth20@100ms",
    )
    .await;
    // Trades: a sequence; behind past 64 KiB it is closed.
    let _trades = silent_client(
        addr,
        "/ws/sim1usdt@trade/sim2usdt@trade/sim3usdt@trade/sim1usdt@depth@100ms",
    )
    .await;
    // A client that reads all the while, on its own task, and is never closed.
    let mut reader = connect(addr, "/ws/sim1usdt@bookTicker").await;
    let reading = tokio::spawn(async move {
        let mut trades = 0u64;
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(5), reader.next()).await {
            match m {
                Ok(Message::Text(_)) => trades += 1,
                Ok(Message::Close(f)) => return Err(format!("the reader was closed: {f:?}")),
                Ok(_) => {}
                Err(e) => return Err(format!("the reader failed: {e}")),
            }
        }
        Ok(trades)
    });
    let deadline = Instant::now() + Duration::from_secs(40);
    let (mut conflated, mut slow, mut connections) = (0, 0, 0);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (_, m) = get(addr, "/metrics", &[]).await;
        conflated = metric(&m, "conflated_total");
        slow = metric(&m, "slow_closes_total");
        // The trade client's connection ends once its task winds down after the close.
        connections = metric(&m, "connections");
        if conflated > 20 && slow == 1 && connections == 2 {
            break;
        }
    }
    assert!(conflated > 20, "conflated {conflated}");
    assert_eq!(slow, 1, "one slow close: the trade client");
    assert_eq!(connections, 2, "the book client and the reader stay");
    // The reader got its trades throughout (it ends when the bridge closes it at shutdown).
    bridge.shutdown().await;
    let trades = reading.await.unwrap();
    assert!(
        matches!(trades, Err(ref e) if e.contains("Away")) || trades.as_ref().is_ok_and(|&n| n > 0),
        "{trades:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_pongs_is_closed_and_shutdown_says_1001() {
    let bridge = start(sim(500.0), |c| {
        // Long enough for a loaded machine to answer in time, short for the test.
        c.ping_interval = Duration::from_millis(300);
        c.pong_timeout = Duration::from_millis(2500);
    })
    .await;
    let addr = bridge.addr;
    let mut silent = silent_client(addr, "/ws").await;
    // A reading client answers pings (tungstenite pongs as it reads) and stays: it reads
    // on its own task until the server closes it.
    let mut live = connect(addr, "/ws/!bridgeStatus").await;
    let live = tokio::spawn(async move {
        let mut saw_notice = false;
        loop {
            match tokio::time::timeout(Duration::from_secs(30), live.next())
                .await
                .expect("in time")
            {
                Some(Ok(Message::Text(t))) if t.contains("serverShutdown") => saw_notice = true,
                Some(Ok(Message::Close(Some(f)))) => {
                    return (saw_notice, f.code, f.reason.to_string())
                }
                Some(Ok(_)) => {}
                other => panic!("{other:?}"),
            }
        }
    });
    // The silent one was pinged, then closed: read what it was sent.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => break,
        }
    }
    // Frames: 0x89 ping, then 0x88 close with 1008 and the reason.
    assert_eq!(got.first(), Some(&0x89), "{got:?}");
    let close_at = got.iter().position(|&b| b == 0x88).expect("a close frame");
    let len = usize::from(got[close_at + 1] & 0x7f);
    let payload = &got[close_at + 2..close_at + 2 + len];
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1008);
    assert!(String::from_utf8_lossy(&payload[2..]).starts_with("no pong for"));
    // Shutdown: serverShutdown, then 1001; the live client was never closed before.
    let shutdown = tokio::spawn(bridge.shutdown());
    let (saw_notice, code, reason) = live.await.unwrap();
    assert_eq!(code, CloseCode::Away);
    assert_eq!(reason, "server shutting down");
    assert!(saw_notice);
    shutdown.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_goes_away_is_stale_in_healthz_and_the_status_stream() {
    // Redis on a port nothing listens on: the source is down from the start.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let source = SourceSpec::Redis(rltop_bridge::source::RedisSpec {
        url: format!("redis://127.0.0.1:{port}"),
        patterns: vec!["*".into()],
        datagram_prefix: "rltop:".into(),
    });
    let bridge = start(source, |_| {}).await;
    let addr = bridge.addr;
    let mut ws = connect(addr, "/ws/!bridgeStatus").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v: Value = serde_json::from_str(&next_text(&mut ws, 10).await).unwrap();
        if v["state"] == "stale" {
            assert!(
                v["reason"].as_str().unwrap().contains(&port.to_string()),
                "{v}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{v}");
    }
    let (status, body) = get(addr, "/healthz", &[]).await;
    assert_eq!(status, 503);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "stale");
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_answers_and_errors_as_binance_does() {
    let bridge = start(sim(2000.0), |_| {}).await;
    let addr = bridge.addr;
    until_live(addr).await;
    let ok = |(s, b): (u16, String)| -> Value {
        assert_eq!(s, 200, "{b}");
        serde_json::from_str(&b).unwrap()
    };
    assert_eq!(ok(get(addr, "/api/v3/ping", &[]).await), json!({}));
    assert!(
        ok(get(addr, "/api/v3/time", &[]).await)["serverTime"]
            .as_u64()
            .unwrap()
            > 1_600_000_000_000
    );
    let info = ok(get(addr, "/api/v3/exchangeInfo?symbol=SIM2USDT", &[]).await);
    let s = &info["symbols"][0];
    assert_eq!(s["symbol"], "SIM2USDT");
    assert_eq!(s["baseAsset"], "SIM2");
    // Binance's 8 places (the simulator's exponents: price -2, quantity -3).
    assert_eq!(s["filters"][0]["tickSize"], "0.01000000");
    assert_eq!(s["filters"][1]["stepSize"], "0.00100000");
    assert_eq!(s["baseAssetPrecision"], 8);
    let depth = ok(get(addr, "/api/v3/depth?symbol=SIM1USDT&limit=5", &[]).await);
    assert_eq!(depth["bids"].as_array().unwrap().len(), 5);
    let best_bid: f64 = depth["bids"][0][0].as_str().unwrap().parse().unwrap();
    let best_ask: f64 = depth["asks"][0][0].as_str().unwrap().parse().unwrap();
    assert!(best_bid < best_ask);
    // Over 5000 is answered with at most 5000.
    ok(get(addr, "/api/v3/depth?symbol=SIM1USDT&limit=6000", &[]).await);
    let trades = ok(get(addr, "/api/v3/trades?symbol=SIM1USDT&limit=3", &[]).await);
    assert!(trades.as_array().unwrap().len() <= 3);
    let ticker = ok(get(addr, "/api/v3/ticker/24hr?symbol=SIM1USDT", &[]).await);
    assert_eq!(ticker["symbol"], "SIM1USDT");
    let aggs = ok(get(addr, "/api/v3/aggTrades?symbol=SIM1USDT&limit=3", &[]).await);
    assert!(aggs.as_array().unwrap().len() <= 3);
    let avg = ok(get(addr, "/api/v3/avgPrice?symbol=SIM1USDT", &[]).await);
    assert_eq!(avg["mins"], 5);
    let price = ok(get(addr, "/api/v3/ticker/price?symbol=SIM1USDT", &[]).await);
    assert_eq!(price["symbol"], "SIM1USDT");
    let all = ok(get(addr, "/api/v3/ticker/bookTicker", &[]).await);
    assert_eq!(all.as_array().unwrap().len(), 3);
    let some = ok(get(
        addr,
        "/api/v3/ticker/24hr?symbols=%5B%22SIM1USDT%22,%22SIM3USDT%22%5D",
        &[],
    )
    .await);
    assert_eq!(some.as_array().unwrap().len(), 2);
    let klines = ok(get(
        addr,
        "/api/v3/klines?symbol=SIM1USDT&interval=1m&limit=2",
        &[],
    )
    .await);
    for row in klines.as_array().unwrap() {
        assert_eq!(row.as_array().unwrap().len(), 12);
    }
    for (path, status, body) in [
        (
            "/api/v3/depth?symbol=NOPE",
            400,
            json!({"code": -1121, "msg": "Invalid symbol."}),
        ),
        (
            "/api/v3/depth",
            400,
            json!({"code": -1102, "msg": "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."}),
        ),
        (
            "/api/v3/klines?symbol=SIM1USDT&interval=7m",
            400,
            json!({"code": -1120, "msg": "Invalid interval."}),
        ),
        (
            "/api/v3/aggTrades?symbol=SIM1USDT&startTime=1&endTime=3600002",
            400,
            json!({"code": -1127, "msg": "More than 1 hours between startTime and endTime."}),
        ),
        (
            "/api/v3/avgPrice?symbol=NOPE",
            400,
            json!({"code": -1121, "msg": "Invalid symbol."}),
        ),
        (
            "/api/v3/trades?symbol=SIM1USDT&limit=abc",
            400,
            json!({"code": -1100, "msg": "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."}),
        ),
    ] {
        let (s, b) = get(addr, path, &[]).await;
        assert_eq!(s, status, "{path}: {b}");
        assert_eq!(serde_json::from_str::<Value>(&b).unwrap(), body, "{path}");
    }
    assert_eq!(get(addr, "/api/v3/order", &[]).await.0, 404);
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_answers_carry_the_used_weight_of_the_minute() {
    let bridge = start(sim(2000.0), |_| {}).await;
    let addr = bridge.addr;
    until_live(addr).await;
    let used = |headers: &[(String, String)]| -> (u64, u64) {
        let find = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
                .1
                .parse()
                .unwrap()
        };
        (find("x-mbx-used-weight"), find("x-mbx-used-weight-1m"))
    };
    // Binance's weights: depth at limit 5000 is 250, trades 25, an error costs its request.
    // A minute may turn between two requests: the count then starts again.
    for _ in 0..3 {
        let (_, h, _) =
            get_with_headers(addr, "/api/v3/depth?symbol=SIM1USDT&limit=5000", &[]).await;
        let (first, first_1m) = used(&h);
        assert_eq!(first, first_1m);
        let (_, h, _) = get_with_headers(addr, "/api/v3/trades?symbol=SIM1USDT", &[]).await;
        let (second, _) = used(&h);
        let (status, h, _) = get_with_headers(addr, "/api/v3/trades?symbol=NOPE", &[]).await;
        assert_eq!(status, 400);
        let (third, _) = used(&h);
        if first >= 250 && second == first + 25 && third == second + 25 {
            bridge.shutdown().await;
            return;
        }
        assert!(second < first || third < second, "{first} {second} {third}");
    }
    panic!("three minutes turned in three tries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_path_under_ws_is_a_connection() {
    let bridge = start(sim(2000.0), |_| {}).await;
    let addr = bridge.addr;
    until_live(addr).await;
    // ccxt opens /ws/<stream-group index>, then subscribes; a bad name subscribes nothing.
    for path in ["/ws/0", "/ws/1/", "/ws/btcusdt@depth7", "/ws/x/y/z"] {
        let mut ws = connect(addr, path).await;
        let v = ask(&mut ws, json!({"method": "LIST_SUBSCRIPTIONS", "id": 1})).await;
        assert_eq!(v, json!({"result": [], "id": 1}), "{path}");
        let v = ask(
            &mut ws,
            json!({"method": "SUBSCRIBE", "params": ["sim1usdt@trade"], "id": 2}),
        )
        .await;
        assert_eq!(v, json!({"result": null, "id": 2}), "{path}");
        let event: Value = loop {
            let v: Value = serde_json::from_str(&next_text(&mut ws, 10).await).unwrap();
            if v.get("e").is_some() {
                break v;
            }
        };
        assert_eq!(event["e"], "trade", "{path}");
    }
    // Stream names among other segments still subscribe.
    let mut ws = connect(addr, "/ws/0/sim2usdt@trade/nonsense").await;
    let v = ask(&mut ws, json!({"method": "LIST_SUBSCRIPTIONS", "id": 3})).await;
    assert_eq!(v, json!({"result": ["sim2usdt@trade"], "id": 3}));
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_datagrams_decode_with_the_generated_codec() {
    let bridge = start(sim(2000.0), |_| {}).await;
    let addr = bridge.addr;
    let mut ws = connect(addr, "/rltop?streams=incremental/trades").await;
    let (mut frames, mut messages) = (0, 0);
    while frames < 50 {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Binary(bytes) = m else { continue };
        frames += 1;
        for m in rltop::messages(&bytes) {
            let m = m.expect("every message verifies");
            assert!(
                matches!(
                    m,
                    rltop::Message::AddOrder(_)
                        | rltop::Message::ModifyOrder(_)
                        | rltop::Message::DeleteOrder(_)
                        | rltop::Message::ExecuteOrder(_)
                        | rltop::Message::Trade(_)
                        | rltop::Message::Heartbeat(_)
                ),
                "{m:?}"
            );
            messages += 1;
        }
    }
    assert!(messages >= frames);
    let (status, body) = get(addr, "/rltop?streams=books", &UPGRADE).await;
    assert_eq!(status, 400);
    assert!(body.contains("unknown RLTOP stream 'books'"), "{body}");
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_wss_and_https() {
    let dir = std::env::temp_dir().join(format!("rltop-bridge-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let bridge = start(sim(500.0), |c| {
        c.tls = Some((cert_path.clone(), key_path.clone()))
    })
    .await;
    let port = bridge.addr.port();
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let client = Arc::new(
        tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        format!("wss://localhost:{port}/ws/!bridgeStatus"),
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(client.clone())),
    )
    .await
    .expect("wss upgrade");
    let v: Value = serde_json::from_str(&next_text(&mut ws, 10).await).unwrap();
    assert_eq!(v["e"], "bridgeStatus");
    // https: a GET over the same port.
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(client)
        .connect(name, tcp)
        .await
        .unwrap();
    tls.write_all(b"GET /api/v3/ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut buf)).await;
    assert_eq!(parse_response(&buf), (200, "{}".to_string()));
    // Plain HTTP on a TLS port gets nothing served.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    plain
        .write_all(b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    bridge.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_openmetrics_text_with_one_family_a_name() {
    let bridge = start(sim(500.0), |_| {}).await;
    let (status, text) = get(bridge.addr, "/metrics", &[]).await;
    assert_eq!(status, 200);
    assert!(text.ends_with("# EOF\n"), "{text}");
    let mut families = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap();
            assert!(
                families.insert(name.to_string()),
                "family {name} twice:\n{text}"
            );
        }
    }
    assert!(families.len() >= 20, "{families:?}");
    // A counter's sample has the family's name and `_total`; a gauge's, the name alone.
    assert_eq!(metric(&text, "connections_accepted_total"), 0);
    assert_eq!(metric(&text, "connections"), 0);
    bridge.shutdown().await;
}
