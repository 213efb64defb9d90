//! The bridge with real servers from Debian: a `redis-server` it listens to (seed 002),
//! and nginx in front of two bridges on one multicast feed (bridges are stateless). Each
//! test starts and stops its server itself, on loopback, and bounds its time.
//!
//! They need the Debian packages `redis-server` and `nginx`: `cargo xtask test` installs
//! them and runs these tests (`--run-ignored only`); plain `cargo test` lists them as
//! ignored, it does not pass them.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rltop_bridge::source::{RedisSpec, SourceSpec};
use rltop_bridge::{Config, Running};
use rltop_feed::decimal::parse_decimal;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A server process, stopped on drop: SIGTERM (nginx's master then stops its workers),
/// SIGKILL if it lingers.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rltop-bridge-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .expect("response in time")
        .unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

async fn health(addr: SocketAddr) -> Value {
    serde_json::from_str(&get(addr, "/healthz").await.1).unwrap()
}

async fn until_health(addr: SocketAddr, state: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let h = health(addr).await;
        if h["status"] == state {
            return h;
        }
        assert!(Instant::now() < deadline, "never {state}: {h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn next_text(ws: &mut Ws, secs: u64) -> String {
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

/// A short simulated session: its datagrams and the engines' final books.
fn session(seed: u64, plan: rltop_net::Plan) -> (Vec<rltop_sim::Datagram>, rltop_sim::Oracle) {
    let cfg = rltop_sim::Config {
        seed,
        instruments: 3,
        events: 6000,
        quiet_tail_s: 1,
        ..rltop_sim::Config::default()
    };
    rltop_sim::Simulation::with_plan(cfg, plan).run()
}

/// Every instrument's REST depth equals the oracle's top levels (scaled back to integers
/// with the sim's exponents: price −2, quantity −3).
async fn books_equal_oracle(addr: SocketAddr, oracle: &rltop_sim::Oracle) {
    for (symbol_id, bids, asks) in &oracle.books {
        let path = format!(
            "/api/v3/depth?symbol=SIM{symbol_id}USDT&limit={}",
            bids.len().max(asks.len())
        );
        let (status, body) = get(addr, &path).await;
        assert_eq!(status, 200, "{body}");
        let depth: Value = serde_json::from_str(&body).unwrap();
        let levels = |side: &Value| -> Vec<(i64, u64)> {
            side.as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        parse_decimal(l[0].as_str().unwrap(), -2).unwrap() as i64,
                        parse_decimal(l[1].as_str().unwrap(), -3).unwrap() as u64,
                    )
                })
                .collect()
        };
        let want = |side: &Vec<(i64, u64, u32)>| -> Vec<(i64, u64)> {
            side.iter().map(|&(p, q, _)| (p, q)).collect()
        };
        assert_eq!(
            levels(&depth["bids"]),
            want(bids),
            "SIM{symbol_id}USDT bids"
        );
        assert_eq!(
            levels(&depth["asks"]),
            want(asks),
            "SIM{symbol_id}USDT asks"
        );
    }
}

fn start_redis(port: u16, dir: &Path) -> Server {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (Debian package redis-server) must be installed");
    Server(child)
}

async fn publish(conn: &mut redis::aio::MultiplexedConnection, channel: &str, payload: &[u8]) {
    let _: i64 = redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async(conn)
        .await
        .expect("PUBLISH");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (Debian); cargo xtask test installs it and runs this"]
async fn redis_channels_feed_the_books_and_reach_clients_in_envelopes_across_a_restart() {
    let dir = scratch("redis");
    let port = free_port();
    let mut redis_server = start_redis(port, &dir);
    wait_for_port(port, "redis-server").await;
    let url = format!("redis://127.0.0.1:{port}");
    let mut config = Config::new(
        "127.0.0.1:0".parse().unwrap(),
        SourceSpec::Redis(RedisSpec {
            url: url.clone(),
            patterns: vec!["*".into()],
            datagram_prefix: "rltop:".into(),
        }),
    );
    config.stale_after = Duration::from_secs(2);
    let bridge: Running = rltop_bridge::start(config).await.unwrap();
    let addr = bridge.addr;
    // Clients: seed 002's envelope on one channel; Binance trades from the datagrams.
    let (mut envelopes, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/redis?channels=mempool:tx_analysis"))
            .await
            .unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    // The bridge subscribes once its source is up: wait for it to hear a message.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let patterns: i64 = redis::cmd("PUBSUB")
            .arg("NUMPAT")
            .query_async(&mut conn)
            .await
            .unwrap();
        if patterns > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the bridge never subscribed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let note = r#"{"tx_hash":"0x123","analysis":{"fee":7}}"#;
    publish(&mut conn, "mempool:tx_analysis", note.as_bytes()).await;
    publish(&mut conn, "mempool:other", b"not for this client").await;
    let v: Value = serde_json::from_str(&next_text(&mut envelopes, 10).await).unwrap();
    assert_eq!(v["channel"], "mempool:tx_analysis");
    assert_eq!(v["payload"], note);
    let ts = v["timestamp"].as_str().unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "{ts}"
    );

    // RLTOP datagrams on rltop:<stream>, as the simulator made them.
    let (mut trades, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/sim1usdt@trade"))
            .await
            .unwrap();
    let (datagrams, oracle) = session(21, rltop_net::Plan::default());
    for d in &datagrams {
        publish(&mut conn, &format!("rltop:{}", d.stream.key()), &d.bytes).await;
    }
    let v: Value = serde_json::from_str(&next_text(&mut trades, 10).await).unwrap();
    assert_eq!(v["e"], "trade");
    assert_eq!(v["s"], "SIM1USDT");
    // Books equal the engines' once the last datagrams are in (and a boundary has passed).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let h = health(addr).await;
        if h["datagrams"].as_u64().unwrap() >= datagrams.len() as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "{h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    books_equal_oracle(addr, &oracle).await;

    // Redis goes away: the bridge says stale; it comes back: the bridge reconnects.
    drop(redis_server);
    let h = until_health(addr, "stale", 10).await;
    assert!(h["reason"].as_str().unwrap().contains(&url), "{h}");
    redis_server = start_redis(port, &dir);
    wait_for_port(port, "redis-server (restarted)").await;
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // Heartbeats again (old datagrams: duplicates to the books, but input all the same).
        for d in datagrams.iter().rev().take(5) {
            publish(&mut conn, &format!("rltop:{}", d.stream.key()), &d.bytes).await;
        }
        publish(&mut conn, "mempool:tx_analysis", b"after the restart").await;
        if health(addr).await["status"] == "live" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never live again: {}",
            health(addr).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The envelope client, connected all along, hears the channel again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v: Value = serde_json::from_str(&next_text(&mut envelopes, 10).await).unwrap();
        if v["payload"] == "after the restart" {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    let (_, metrics) = get(addr, "/metrics").await;
    assert!(
        !metrics.contains("rltop_bridge_redis_messages_total 0\n"),
        "{metrics}"
    );
    // One loss, one reconnection (the failed attempts in between are not reconnections).
    assert!(
        metrics.contains("rltop_bridge_redis_reconnects_total 1\n"),
        "{metrics}"
    );
    bridge.shutdown().await;
    drop(redis_server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A client's trades for a few seconds, by (stream, trade id): the frame's text.
async fn collect_trades(ws: &mut Ws) -> std::collections::BTreeMap<(String, u64), String> {
    let mut seen = std::collections::BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_millis(500), ws.next()).await
        else {
            continue;
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        seen.insert(
            (
                v["stream"].as_str().unwrap().to_string(),
                v["data"]["t"].as_u64().unwrap(),
            ),
            t.to_string(),
        );
    }
    seen
}

/// A channel plan on loopback groups no other test uses.
fn loopback_plan() -> rltop_net::Plan {
    let mut text = String::from("hold_us = 50\n");
    for (k, (name, port)) in [
        ("full_book", 19101),
        ("top_of_book", 19101),
        ("incremental", 19102),
        ("trades", 19103),
        ("statistics", 19104),
    ]
    .into_iter()
    .enumerate()
    {
        text += &format!(
            "[streams.{name}]\naddr = \"239.254.{}.44\"\nport = {port}\n",
            30 + k
        );
    }
    rltop_net::Plan::from_toml(&text, "loopback plan").unwrap()
}

/// Sends a session's datagrams to their groups on loopback at their recorded pace.
fn multicast_replay(datagrams: Vec<rltop_sim::Datagram>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
        socket
            .set_multicast_if_v4(&"127.0.0.1".parse().unwrap())
            .unwrap();
        socket.set_multicast_loop_v4(true).unwrap();
        socket.set_send_buffer_size(8 << 20).unwrap();
        let socket: UdpSocket = socket.into();
        let start = Instant::now();
        let t0 = datagrams.first().map_or(0, |d| d.time_ns);
        for d in &datagrams {
            if let Some(wait) = Duration::from_nanos(d.time_ns - t0).checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            let _ = socket.send_to(&d.bytes, d.dst);
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nginx (Debian); cargo xtask test installs it and runs this"]
async fn two_bridges_behind_nginx_serve_the_same_streams() {
    let plan = loopback_plan();
    let multicast = || SourceSpec::Multicast {
        plan: plan.clone(),
        iface: "lo".into(),
    };
    let a = rltop_bridge::start(Config::new("127.0.0.1:0".parse().unwrap(), multicast()))
        .await
        .unwrap();
    let b = rltop_bridge::start(Config::new("127.0.0.1:0".parse().unwrap(), multicast()))
        .await
        .unwrap();
    let dir = scratch("nginx");
    let port = free_port();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
events {{ worker_connections 256; }}\n\
http {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n\
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}\n\
  upstream bridges {{ server 127.0.0.1:{}; server 127.0.0.1:{}; }}\n\
  server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://bridges;\n      proxy_http_version 1.1;\n      proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection $connection_upgrade;\n      proxy_read_timeout 1h;\n    }}\n  }}\n}}\n",
        a.addr.port(),
        b.addr.port(),
        dir = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let nginx = Server(
        Command::new("nginx")
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-p")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (Debian package nginx) must be installed"),
    );
    wait_for_port(port, "nginx").await;
    let front: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // Two clients through nginx: round robin puts one on each bridge.
    let streams = "/stream?streams=sim1usdt@trade/sim2usdt@trade";
    let (mut first, _) = tokio_tungstenite::connect_async(format!("ws://{front}{streams}"))
        .await
        .unwrap();
    let (mut second, _) = tokio_tungstenite::connect_async(format!("ws://{front}{streams}"))
        .await
        .unwrap();
    let connections = |r: &Running| {
        r.server
            .shared
            .hub
            .metrics
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    assert_eq!(
        (connections(&a), connections(&b)),
        (1, 1),
        "one client on each bridge"
    );
    let (datagrams, oracle) = session(33, plan.clone());
    let sender = multicast_replay(datagrams);
    // Each client's trades, by stream and trade id: the same events, byte for byte.
    let (one, two) = tokio::join!(collect_trades(&mut first), collect_trades(&mut second));
    sender.join().unwrap();
    assert!(one.len() > 50, "{} trades", one.len());
    let common: Vec<_> = one.keys().filter(|k| two.contains_key(*k)).collect();
    assert!(
        common.len() * 10 >= one.len() * 9,
        "{} of {} trades in common",
        common.len(),
        one.len()
    );
    for k in common {
        assert_eq!(one[k], two[k], "{k:?}");
    }
    // The books: each bridge's equal the engines', and through nginx the same either way.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    books_equal_oracle(a.addr, &oracle).await;
    books_equal_oracle(b.addr, &oracle).await;
    let (_, x) = get(front, "/api/v3/depth?symbol=SIM1USDT&limit=20").await;
    let (_, y) = get(front, "/api/v3/depth?symbol=SIM1USDT&limit=20").await;
    assert_eq!(x, y);
    first.send(Message::Close(None)).await.unwrap();
    second.send(Message::Close(None)).await.unwrap();
    drop(nginx);
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
