//! `bridge_load`: the load generator of `cargo xtask bench bridge`.
//!
//! The benchmark compares the RLTOP WebSocket bridge with a plain Node `ws` broadcast peer
//! (`bench/bridge-peer`) serving the same stream to the same clients. Both speak Binance's
//! combined streams (`/stream?streams=a/b`, frames `{"stream":…,"data":…}`), so one client
//! measures both. It is a minimal WebSocket client on tokio rather than a full library one:
//! to count frames and read one field it needs no message assembly and no JSON parse, and
//! at a million frames a second on two shared cores the client's cost is part of the
//! measurement, so it is kept small (one buffer and one task per connection, frames parsed
//! in place). It does not check `Sec-WebSocket-Accept`: both servers are ours.
//!
//! Three modes, each printing one JSON object on stdout:
//!
//! * `record`: one connection subscribed to every stream of the client mix ([`mix`]); each
//!   frame is written as a JSON line `{"t_ns":<receipt time>,"stream":…,"data":…}`, the
//!   input of the Node peer (so it replays the bridge's own stream at the bridge's pace).
//! * `idle`: opens `--count` connections that subscribe to nothing and reads the server's
//!   `VmRSS` before and after: user-space memory per idle connection (socket buffers are
//!   the kernel's and not in it).
//! * `load`: `--clients` connections, client *i* subscribed to [`mix`]`(i)`; once all are
//!   connected (and a second of settling), a window of `--seconds`: frames received (sum
//!   over clients), and the latency of every `@trade` frame, receipt time minus the
//!   event's `E` (epoch ms; see [`trade_time_ms`]). Also, over the same window, the
//!   server's CPU per thread name and its counters (`--stats`: the bridge's `/metrics`,
//!   the peer's `/healthz`), so a result says where the time went.
//!
//! ```text
//! bridge_load record --port P --seconds S --out FILE [--symbols K]
//! bridge_load idle   --port P --count M --path PATH [--server-pid PID]
//! bridge_load load   --port P --clients N --seconds S [--symbols K] [--server-pid PID] [--stats PATH]
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rltop_net::realtime_ns;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Handshakes in flight at once (the servers' listen backlogs are 511 to 1024).
const CONNECTING: usize = 256;
/// Longest time to get all clients connected; the run goes on with those that are.
const CONNECT_DEADLINE: Duration = Duration::from_secs(60);
/// Between the last connection and the window: the connection phase's backlog drains.
const SETTLE: Duration = Duration::from_secs(1);
/// Read buffer per connection; grown for a larger frame.
const READ_BUFFER: usize = 16 << 10;
/// Latency samples a connection collects before taking the histogram's lock.
const SAMPLES_PER_FLUSH: usize = 256;

/// The streams client `index` subscribes to: a trade stream, a book ticker of another
/// symbol, the 100 ms diff depth of its trade symbol; every fourth client also a 5-level
/// partial book at 100 ms, every fourth (shifted) the 24-hour ticker. `symbols` instruments
/// named as the simulator names them (`sim1usdt`…).
fn mix(index: usize, symbols: usize) -> Vec<String> {
    let symbol = |offset: usize| format!("sim{}usdt", 1 + (index + offset) % symbols);
    let mut streams = vec![
        format!("{}@trade", symbol(0)),
        format!("{}@bookTicker", symbol(3)),
        format!("{}@depth@100ms", symbol(0)),
    ];
    match index % 4 {
        0 => streams.push(format!("{}@depth5@100ms", symbol(5))),
        1 => streams.push(format!("{}@ticker", symbol(1))),
        _ => {}
    }
    streams
}

/// Every stream some client of the mix takes (the mix repeats every `4 × symbols` clients).
fn all_streams(symbols: usize) -> Vec<String> {
    let mut all: Vec<String> = (0..4 * symbols).flat_map(|i| mix(i, symbols)).collect();
    all.sort();
    all.dedup();
    all
}

// ---- arguments -------------------------------------------------------------------------------

/// The load generator of `cargo xtask bench bridge`: WebSocket clients of the bridge or the
/// Node peer, one JSON result on stdout.
#[derive(clap::Parser)]
#[command(name = "bridge_load")]
struct Cli {
    /// Runtime threads.
    #[arg(long, default_value_t = 2, global = true)]
    threads: usize,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(clap::Subcommand)]
enum Mode {
    /// Records every stream of the client mix on one connection, as JSON lines.
    Record {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        seconds: f64,
        #[arg(long)]
        out: String,
        #[arg(long, default_value_t = 8)]
        symbols: usize,
    },
    /// Opens idle connections and measures the server's memory per connection.
    Idle {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        count: usize,
        #[arg(long)]
        path: String,
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Clients on the client mix for a window: delivered rates and trade latency.
    Load {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        clients: usize,
        #[arg(long)]
        seconds: f64,
        #[arg(long, default_value_t = 8)]
        symbols: usize,
        #[arg(long)]
        server_pid: Option<u32>,
        /// The server's counters page (`/metrics`, `/healthz`).
        #[arg(long)]
        stats: Option<String>,
    },
}

// ---- the WebSocket client ------------------------------------------------------------------

/// Connects to `addr` and upgrades `path`; the socket and what followed the 101 response.
async fn handshake(addr: SocketAddr, path: &str) -> Result<(TcpStream, Vec<u8>), String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send upgrade: {e}"))?;
    let mut buf = vec![0u8; 4096];
    let mut filled = 0;
    loop {
        let n = stream
            .read(&mut buf[filled..])
            .await
            .map_err(|e| format!("read upgrade: {e}"))?;
        if n == 0 {
            return Err("closed during the upgrade".into());
        }
        filled += n;
        if let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]);
            if !head.starts_with("HTTP/1.1 101") {
                let status = head.lines().next().unwrap_or("").to_string();
                return Err(format!("upgrade refused: {status}"));
            }
            return Ok((stream, buf[end + 4..filled].to_vec()));
        }
        if filled == buf.len() {
            return Err("upgrade response too long".into());
        }
    }
}

/// A complete frame at the start of `buf`: (opcode, payload start, frame end), or None if
/// more bytes are needed. Server frames are never masked (RFC 6455 §5.1).
fn frame(buf: &[u8]) -> Result<Option<(u8, usize, usize)>, String> {
    if buf.len() < 2 {
        return Ok(None);
    }
    if buf[1] & 0x80 != 0 {
        return Err("masked frame from the server".into());
    }
    let (len, header) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
        127 if buf.len() >= 10 => (
            u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes")),
            10,
        ),
        126 | 127 => return Ok(None),
        n => (u64::from(n), 2),
    };
    let end = header as u64 + len;
    if (buf.len() as u64) < end {
        return Ok(None);
    }
    Ok(Some((buf[0] & 0x0f, header, end as usize)))
}

/// A client frame (masked, as RFC 6455 requires; the zero key leaves the payload as is).
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.push(0x80 | opcode);
    out.push(0x80 | payload.len().min(125) as u8);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&payload[..payload.len().min(125)]);
    out
}

/// What the frames are, by the suffix of their stream name: counted separately, so a
/// result shows what a server delivered (the bridge conflates book tickers for a client
/// that falls behind; a replay that falls behind sends what is due first).
const KINDS: [&str; 6] = [
    "trade",
    "bookTicker",
    "depth@100ms",
    "depth5@100ms",
    "ticker",
    "other",
];

/// The index in [`KINDS`] of a combined-stream frame.
fn kind(payload: &[u8]) -> usize {
    let name = payload
        .strip_prefix(b"{\"stream\":\"")
        .and_then(|rest| rest.split(|&b| b == b'"').next())
        .unwrap_or(b"");
    let suffix = name
        .iter()
        .position(|&b| b == b'@')
        .map_or(&b""[..], |at| &name[at + 1..]);
    KINDS[..5]
        .iter()
        .position(|k| k.as_bytes() == suffix)
        .unwrap_or(5)
}

/// The `E` (event time, epoch ms) of a combined-stream `@trade` frame; None for any other.
/// Trades are the events whose `E` is their time at the source and that go out at once:
/// a diff's or partial book's `E` is its last book change before a 100 ms boundary, a
/// ticker's the last statistics, so their age includes the boundary wait, not delivery.
/// (The Node peer stamps every `E` with its send time; trades are the common ground.)
fn trade_time_ms(payload: &[u8]) -> Option<u64> {
    const HEAD: &[u8] = b"{\"stream\":\"";
    let rest = payload.strip_prefix(HEAD)?;
    let quote = rest.iter().position(|&b| b == b'"')?;
    if !rest[..quote].ends_with(b"@trade") {
        return None;
    }
    let data = &rest[quote..];
    let at = data.windows(4).position(|w| w == b"\"E\":")? + 4;
    let digits = data[at..].iter().take_while(|b| b.is_ascii_digit());
    let mut value = 0u64;
    let mut any = false;
    for &d in digits {
        value = value * 10 + u64::from(d - b'0');
        any = true;
    }
    any.then_some(value)
}

// ---- measurement -----------------------------------------------------------------------------

/// Latencies in 10 µs buckets up to 60 s (the `E` it is taken from is in ms, so finer
/// buckets would only spread the rounding; an overloaded server's backlog can be seconds
/// old). The buckets are zeroed pages until touched.
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max_us: u64,
    /// Receipt before the stamped ms (the stamp's clock ran ahead by < 1 ms): counted as 0.
    early: u64,
}

const BUCKET_US: u64 = 10;
const BUCKETS: usize = 6_000_000;

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            buckets: vec![0; BUCKETS + 1],
            count: 0,
            max_us: 0,
            early: 0,
        }
    }

    fn record(&mut self, latency_ns: i64) {
        if latency_ns < 0 {
            self.early += 1;
        }
        let us = latency_ns.max(0) as u64 / 1000;
        self.buckets[((us / BUCKET_US) as usize).min(BUCKETS)] += 1;
        self.count += 1;
        self.max_us = self.max_us.max(us);
    }

    /// The `q` quantile, ms (the upper edge of its bucket).
    fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(((i as u64 + 1) * BUCKET_US) as f64 / 1000.0);
            }
        }
        Some(self.max_us as f64 / 1000.0)
    }
}

/// What every connection task adds to.
struct Shared {
    /// The window, realtime ns; 0 until it is set.
    window_start: AtomicU64,
    window_end: AtomicU64,
    frames: AtomicU64,
    /// Frames by [`KINDS`].
    kinds: [AtomicU64; 6],
    bytes: AtomicU64,
    /// Connections the server closed (or lost) during the window, and the close codes.
    closed: AtomicU64,
    close_codes: Mutex<BTreeMap<u16, u64>>,
    latency: Mutex<Histogram>,
}

impl Shared {
    fn in_window(&self, now_ns: u64) -> bool {
        let start = self.window_start.load(Relaxed);
        start != 0 && now_ns >= start && now_ns < self.window_end.load(Relaxed)
    }

    fn flush(&self, samples: &mut Vec<i64>) {
        if samples.is_empty() {
            return;
        }
        let mut histogram = self.latency.lock().expect("histogram lock");
        for &s in samples.iter() {
            histogram.record(s);
        }
        drop(histogram);
        samples.clear();
    }
}

/// Reads one connection until it closes: frames counted and trade latencies sampled
/// while the window is open; pings answered.
async fn consume(stream: TcpStream, leftover: Vec<u8>, shared: Arc<Shared>) {
    let (mut reader, mut writer) = stream.into_split();
    let mut buf = vec![0u8; READ_BUFFER.max(leftover.len() * 2)];
    buf[..leftover.len()].copy_from_slice(&leftover);
    let mut filled = leftover.len();
    let mut samples: Vec<i64> = Vec::new();
    let mut pongs: Vec<Vec<u8>> = Vec::new();
    let mut close_code = None;
    // Frames that came with the 101 response are parsed before the first read.
    let mut unparsed = filled > 0;
    'reading: loop {
        let n = if std::mem::take(&mut unparsed) {
            0
        } else {
            match reader.read(&mut buf[filled..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            }
        };
        filled += n;
        let now = realtime_ns();
        let counting = shared.in_window(now);
        let mut start = 0;
        let mut frames = 0u64;
        let mut kinds = [0u64; 6];
        loop {
            let (opcode, payload_at, end) = match frame(&buf[start..filled]) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(_) => break 'reading,
            };
            let payload = &buf[start + payload_at..start + end];
            match opcode {
                0..=2 => {
                    frames += 1;
                    if counting {
                        kinds[kind(payload)] += 1;
                        if let Some(sent_ms) = trade_time_ms(payload) {
                            samples.push(now as i64 - (sent_ms * 1_000_000) as i64);
                        }
                    }
                }
                8 => {
                    close_code = Some(if payload.len() >= 2 {
                        u16::from_be_bytes([payload[0], payload[1]])
                    } else {
                        1005
                    });
                    break 'reading;
                }
                9 => pongs.push(client_frame(10, payload)),
                _ => {}
            }
            start += end;
        }
        if counting {
            shared.frames.fetch_add(frames, Relaxed);
            for (total, n) in shared.kinds.iter().zip(kinds) {
                if n > 0 {
                    total.fetch_add(n, Relaxed);
                }
            }
            shared.bytes.fetch_add(n as u64, Relaxed);
        }
        // Keep the partial frame; grow for one larger than the buffer.
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        for pong in pongs.drain(..) {
            if writer.write_all(&pong).await.is_err() {
                break 'reading;
            }
        }
        // Samples are only taken in the window: some held outside it means it has ended.
        if samples.len() >= SAMPLES_PER_FLUSH || !counting && !samples.is_empty() {
            shared.flush(&mut samples);
        }
    }
    shared.flush(&mut samples);
    if shared.in_window(realtime_ns()) {
        shared.closed.fetch_add(1, Relaxed);
        *shared
            .close_codes
            .lock()
            .expect("close codes lock")
            .entry(close_code.unwrap_or(1006))
            .or_default() += 1;
    }
}

/// Opens one connection per path, `CONNECTING` at a time: the connected sockets (with
/// their leftovers) handed to `each`, the errors counted (and the first one kept).
async fn connect_all<F>(addr: SocketAddr, paths: Vec<String>, mut each: F) -> (usize, usize, String)
where
    F: FnMut(TcpStream, Vec<u8>),
{
    let gate = Arc::new(Semaphore::new(CONNECTING));
    let mut pending = tokio::task::JoinSet::new();
    let mut tally = Tally::default();
    for path in paths {
        let permit = gate.clone().acquire_owned().await.expect("semaphore open");
        pending.spawn(async move {
            let result =
                tokio::time::timeout(Duration::from_secs(15), handshake(addr, &path)).await;
            drop(permit);
            result.unwrap_or_else(|_| Err("upgrade timed out".into()))
        });
        // Hand over finished ones as we go (keeps the set small).
        while let Some(done) = pending.try_join_next() {
            collect(done, &mut each, &mut tally);
        }
    }
    let deadline = tokio::time::Instant::now() + CONNECT_DEADLINE;
    loop {
        match tokio::time::timeout_at(deadline, pending.join_next()).await {
            Ok(Some(done)) => collect(done, &mut each, &mut tally),
            Ok(None) => break,
            Err(_) => {
                tally.errors += pending.len();
                tally
                    .first_error
                    .get_or_insert("connect deadline passed".into());
                pending.abort_all();
                break;
            }
        }
    }
    (
        tally.connected,
        tally.errors,
        tally.first_error.unwrap_or_default(),
    )
}

#[derive(Default)]
struct Tally {
    connected: usize,
    errors: usize,
    first_error: Option<String>,
}

fn collect<F>(
    done: Result<Result<(TcpStream, Vec<u8>), String>, tokio::task::JoinError>,
    each: &mut F,
    tally: &mut Tally,
) where
    F: FnMut(TcpStream, Vec<u8>),
{
    match done {
        Ok(Ok((stream, leftover))) => {
            tally.connected += 1;
            each(stream, leftover);
        }
        Ok(Err(e)) => {
            tally.errors += 1;
            tally.first_error.get_or_insert(e);
        }
        Err(e) => {
            tally.errors += 1;
            tally.first_error.get_or_insert(e.to_string());
        }
    }
}

// ---- the server, seen from /proc and its own counters ----------------------------------------

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU ticks (user + system) of each thread of `pid`, summed by thread name.
fn thread_ticks(pid: u32) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        if let Some((name, ticks)) = parse_stat(&stat) {
            *out.entry(name).or_default() += ticks;
        }
    }
    out
}

/// (comm, utime + stime) of a `/proc/…/stat` line.
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat[open + 1..close].to_string();
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    // Fields 14 and 15 of proc(5), counted from the state (field 3) here.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((name, user + system))
}

/// System-time ticks of the whole process `pid` (field 15 of proc(5)).
fn system_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let close = stat.rfind(')')?;
            stat[close + 2..].split_whitespace().nth(12)?.parse().ok()
        })
        .unwrap_or(0)
}

/// CPU ticks of every other process (user + system, and of its reaped children, so a
/// compiler run under cargo shows as cargo), summed by name: who else used the cores.
fn other_processes(skip: &[u32]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if skip.contains(&pid) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let fields: Vec<u64> = stat[close + 2..]
            .split_whitespace()
            .skip(11)
            .take(4)
            .filter_map(|v| v.parse().ok())
            .collect();
        *out.entry(stat[open + 1..close].to_string()).or_default() += fields.iter().sum::<u64>();
    }
    out
}

/// Softirq ticks of the whole machine (network receive processing on loopback lands here
/// when it is not charged to a process).
fn softirq_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    stat.lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(7)?.parse().ok())
        .unwrap_or(0)
}

/// The whole machine's jiffies (`/proc/stat`'s first line): busy, stolen by the
/// hypervisor (a VM's vCPU that was runnable but not run), and all. Busy excludes steal.
fn machine_ticks() -> (u64, u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let values: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is
    // already in user.
    let field = |i: usize| values.get(i).copied().unwrap_or(0);
    let total: u64 = (0..8).map(field).sum();
    let steal = field(7);
    (total - field(3) - field(4) - steal, steal, total)
}

/// `GET path` on the server: the body, or empty.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    let fetch = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(request.as_bytes()).await.ok()?;
        let mut text = Vec::new();
        s.read_to_end(&mut text).await.ok()?;
        let text = String::from_utf8_lossy(&text).into_owned();
        Some(text.split_once("\r\n\r\n")?.1.to_string())
    };
    tokio::time::timeout(Duration::from_secs(5), fetch)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Every number a server reports: Prometheus lines (`name value`) and the top-level
/// members of a JSON object (the peer's body comes chunked: the object is taken from its
/// first `{` to its last `}`).
fn counters(text: &str) -> BTreeMap<String, f64> {
    let object = match (text.find('{'), text.rfind('}')) {
        (Some(open), Some(close)) if open < close => &text[open..=close],
        _ => "",
    };
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(object) {
        return map
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_f64()?)))
            .collect();
    }
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, value) = l.split_once(' ')?;
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// What is sampled at both ends of the window.
struct Snapshot {
    at: Instant,
    threads: BTreeMap<String, u64>,
    /// System time of the server and of this process, ticks.
    server_system: u64,
    own_system: u64,
    own: BTreeMap<String, u64>,
    machine: (u64, u64, u64),
    softirq: u64,
    others: BTreeMap<String, u64>,
    counters: BTreeMap<String, f64>,
}

async fn snapshot(addr: SocketAddr, pid: Option<u32>, stats: Option<&str>) -> Snapshot {
    let counters = match stats {
        Some(path) => counters(&http_get(addr, path).await),
        None => BTreeMap::new(),
    };
    Snapshot {
        at: Instant::now(),
        threads: pid.map(thread_ticks).unwrap_or_default(),
        server_system: pid.map_or(0, system_ticks),
        own_system: system_ticks(std::process::id()),
        own: thread_ticks(std::process::id()),
        machine: machine_ticks(),
        softirq: softirq_ticks(),
        others: other_processes(&[pid.unwrap_or(0), std::process::id()]),
        counters,
    }
}

/// Per cent of one core per thread name, and the counters' rates, between two snapshots.
fn usage(before: &Snapshot, after: &Snapshot) -> Value {
    let hz = clock_ticks_per_second();
    let seconds = after.at.duration_since(before.at).as_secs_f64();
    let percent = |a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>| -> Value {
        let mut out = serde_json::Map::new();
        let mut total = 0.0;
        for (name, &ticks) in b {
            let used = ticks.saturating_sub(a.get(name).copied().unwrap_or(0)) as f64;
            let p = 100.0 * used / hz / seconds;
            total += p;
            if p >= 0.1 {
                out.insert(name.clone(), json!((p * 10.0).round() / 10.0));
            }
        }
        out.insert("total".into(), json!((total * 10.0).round() / 10.0));
        Value::Object(out)
    };
    let (busy0, steal0, all0) = before.machine;
    let (busy1, steal1, all1) = after.machine;
    let all = (all1 - all0).max(1) as f64;
    let machine = 100.0 * (busy1 - busy0) as f64 / all;
    let steal = 100.0 * (steal1 - steal0) as f64 / all;
    let rates: serde_json::Map<String, Value> = after
        .counters
        .iter()
        .filter_map(|(k, &v)| {
            let delta = v - before.counters.get(k)?;
            Some((k.clone(), json!((delta / seconds).round())))
        })
        .collect();
    let system =
        |a: u64, b: u64| (1000.0 * b.saturating_sub(a) as f64 / hz / seconds).round() / 10.0;
    json!({
        "server_cpu_percent": percent(&before.threads, &after.threads),
        "server_system_percent": system(before.server_system, after.server_system),
        "load_generator_system_percent": system(before.own_system, after.own_system),
        "load_generator_cpu_percent": percent(&before.own, &after.own),
        "machine_busy_percent": (machine * 10.0).round() / 10.0,
        "machine_steal_percent": (steal * 10.0).round() / 10.0,
        "softirq_percent": system(before.softirq, after.softirq),
        "other_processes_cpu_percent": percent(&before.others, &after.others),
        "server_counters_per_s": rates,
        "server_counters_at_end": after.counters,
    })
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// Sets the soft limit of open files to the hard limit (10 000 clients are 10 000
/// descriptors here and as many in the server).
fn raise_nofile() {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

// ---- the modes -------------------------------------------------------------------------------

async fn record(
    port: u16,
    seconds: f64,
    symbols: usize,
    out_path: String,
) -> Result<Value, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let streams = all_streams(symbols);
    let path = format!("/stream?streams={}", streams.join("/"));
    let (stream, leftover) = handshake(addr, &path).await?;
    let (mut reader, mut writer) = stream.into_split();
    let file = std::fs::File::create(&out_path).map_err(|e| format!("{out_path}: {e}"))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut per_stream: BTreeMap<String, u64> = BTreeMap::new();
    let mut buf = vec![0u8; 1 << 20];
    buf[..leftover.len()].copy_from_slice(&leftover);
    let mut filled = leftover.len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(seconds);
    let mut events = 0u64;
    let started = realtime_ns();
    loop {
        let n = match tokio::time::timeout_at(deadline, reader.read(&mut buf[filled..])).await {
            Err(_) => break,
            Ok(Ok(0)) | Ok(Err(_)) => return Err("the server closed the recording".into()),
            Ok(Ok(n)) => n,
        };
        filled += n;
        let now = realtime_ns();
        let mut start = 0;
        while let Some((opcode, payload_at, end)) = frame(&buf[start..filled])? {
            let payload = &buf[start + payload_at..start + end];
            match opcode {
                1 => {
                    // {"stream":"X","data":…} → {"t_ns":N,"stream":"X","data":…}
                    let rest = payload
                        .strip_prefix(b"{")
                        .ok_or("a frame that is not a JSON object")?;
                    let name = rest
                        .strip_prefix(b"\"stream\":\"")
                        .and_then(|r| r.split(|&b| b == b'"').next())
                        .ok_or("a frame without a leading \"stream\"")?;
                    *per_stream
                        .entry(String::from_utf8_lossy(name).into_owned())
                        .or_default() += 1;
                    write!(out, "{{\"t_ns\":{now},").map_err(|e| e.to_string())?;
                    out.write_all(rest).map_err(|e| e.to_string())?;
                    out.write_all(b"\n").map_err(|e| e.to_string())?;
                    events += 1;
                }
                8 => return Err("the server closed the recording".into()),
                9 => writer
                    .write_all(&client_frame(10, payload))
                    .await
                    .map_err(|e| e.to_string())?,
                _ => {}
            }
            start += end;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
    }
    out.flush().map_err(|e| format!("{out_path}: {e}"))?;
    let span = (realtime_ns() - started) as f64 / 1e9;
    Ok(json!({
        "events": events,
        "seconds": span,
        "events_per_s": (events as f64 / span).round(),
        "streams": streams.len(),
        "per_stream_per_s": per_stream
            .into_iter()
            .map(|(k, v)| (k, json!((v as f64 / span * 10.0).round() / 10.0)))
            .collect::<serde_json::Map<_, _>>(),
    }))
}

async fn idle(port: u16, count: usize, path: String, pid: Option<u32>) -> Result<Value, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // Let the server settle (a fresh process is still faulting in its first pages).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = pid.and_then(rss_kib);
    let mut held = Vec::with_capacity(count);
    let (connected, errors, first_error) =
        connect_all(addr, vec![path; count], |stream, _| held.push(stream)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = pid.and_then(rss_kib);
    let per_connection = match (before, after) {
        (Some(b), Some(a)) if connected > 0 => {
            Some(a.saturating_sub(b) as f64 * 1024.0 / connected as f64)
        }
        _ => None,
    };
    drop(held);
    Ok(json!({
        "count": count,
        "connected": connected,
        "errors": errors,
        "first_error": first_error,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "bytes_per_connection": per_connection.map(f64::round),
    }))
}

async fn load(
    port: u16,
    clients: usize,
    seconds: f64,
    symbols: usize,
    pid: Option<u32>,
    stats: Option<String>,
) -> Result<Value, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let shared = Arc::new(Shared {
        window_start: AtomicU64::new(0),
        window_end: AtomicU64::new(0),
        frames: AtomicU64::new(0),
        kinds: Default::default(),
        bytes: AtomicU64::new(0),
        closed: AtomicU64::new(0),
        close_codes: Mutex::new(BTreeMap::new()),
        latency: Mutex::new(Histogram::new()),
    });
    let paths: Vec<String> = (0..clients)
        .map(|i| format!("/stream?streams={}", mix(i, symbols).join("/")))
        .collect();
    let mut per_stream: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..clients {
        for stream in mix(i, symbols) {
            *per_stream.entry(stream).or_default() += 1;
        }
    }
    let subscriptions: u64 = per_stream.values().sum();
    let began = Instant::now();
    let (connected, errors, first_error) = connect_all(addr, paths, |stream, leftover| {
        tokio::spawn(consume(stream, leftover, shared.clone()));
    })
    .await;
    let connect_seconds = began.elapsed().as_secs_f64();
    tokio::time::sleep(SETTLE).await;
    let before = snapshot(addr, pid, stats.as_deref()).await;
    let start = realtime_ns();
    let end = start + (seconds * 1e9) as u64;
    shared.window_end.store(end, Relaxed);
    shared.window_start.store(start, Relaxed);
    tokio::time::sleep(Duration::from_nanos(end - start)).await;
    let after = snapshot(addr, pid, stats.as_deref()).await;
    // Frames read just before the end are added as their read completes; latency samples
    // at each connection's first read after it (every client has a 100 ms stream).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let frames = shared.frames.load(Relaxed);
    let histogram = shared.latency.lock().expect("histogram lock");
    let mut result = json!({
        "clients": clients,
        "subscriptions": subscriptions,
        "per_stream_subscribers": per_stream,
        "connected": connected,
        "connect_errors": errors,
        "first_error": first_error,
        "connect_seconds": (connect_seconds * 10.0).round() / 10.0,
        "window_seconds": seconds,
        "frames": frames,
        "frames_per_s": (frames as f64 / seconds).round(),
        "frames_per_s_by_kind": KINDS
            .iter()
            .zip(&shared.kinds)
            .map(|(k, n)| (k.to_string(), json!((n.load(Relaxed) as f64 / seconds).round())))
            .collect::<serde_json::Map<_, _>>(),
        "bytes_per_s": (shared.bytes.load(Relaxed) as f64 / seconds).round(),
        "latency_samples": histogram.count,
        "latency_early": histogram.early,
        "p50_ms": histogram.quantile_ms(0.5),
        "p99_ms": histogram.quantile_ms(0.99),
        "p999_ms": histogram.quantile_ms(0.999),
        "max_ms": histogram.max_us as f64 / 1000.0,
        "closed_in_window": shared.closed.load(Relaxed),
        "close_codes": shared.close_codes.lock().expect("close codes lock")
            .iter().map(|(code, n)| (code.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "server_rss_kib": pid.and_then(rss_kib),
    });
    if let (Value::Object(r), Value::Object(u)) = (&mut result, usage(&before, &after)) {
        r.extend(u);
    }
    Ok(result)
}

fn main() -> ExitCode {
    let cli = <Cli as clap::Parser>::parse();
    raise_nofile();
    let threads = cli.threads;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("load")
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.mode {
            Mode::Record {
                port,
                seconds,
                out,
                symbols,
            } => record(port, seconds, symbols, out).await,
            Mode::Idle {
                port,
                count,
                path,
                server_pid,
            } => idle(port, count, path, server_pid).await,
            Mode::Load {
                port,
                clients,
                seconds,
                symbols,
                server_pid,
                stats,
            } => load(port, clients, seconds, symbols, server_pid, stats).await,
        }
    });
    match result {
        Ok(v) => {
            println!("{v}");
            // The connections' tasks are not joined: the process ends with them.
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("bridge_load: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_in_place() {
        assert_eq!(frame(b"\x81").unwrap(), None);
        assert_eq!(frame(b"\x81\x03ab").unwrap(), None);
        assert_eq!(frame(b"\x81\x03abc").unwrap(), Some((1, 2, 5)));
        let mut long = vec![0x81, 126, 0x01, 0x00];
        long.extend(std::iter::repeat_n(b'x', 256));
        assert_eq!(frame(&long).unwrap(), Some((1, 4, 260)));
        assert!(frame(b"\x81\x83").is_err());
    }

    #[test]
    fn trade_times() {
        let trade =
            br#"{"stream":"sim1usdt@trade","data":{"e":"trade","E":1700000000123,"s":"SIM1USDT"}}"#;
        assert_eq!(trade_time_ms(trade), Some(1_700_000_000_123));
        let diff = br#"{"stream":"sim1usdt@depth@100ms","data":{"e":"depthUpdate","E":1}}"#;
        assert_eq!(trade_time_ms(diff), None);
        assert_eq!(KINDS[kind(trade)], "trade");
        assert_eq!(KINDS[kind(diff)], "depth@100ms");
        assert_eq!(KINDS[kind(b"{}")], "other");
    }

    #[test]
    fn the_mix_covers_every_symbol() {
        let all = all_streams(8);
        for s in 1..=8 {
            assert!(all.contains(&format!("sim{s}usdt@trade")));
            assert!(all.contains(&format!("sim{s}usdt@bookTicker")));
        }
        assert_eq!(mix(0, 8).len(), 4);
        assert_eq!(mix(2, 8).len(), 3);
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::new();
        for ms in 1..=100 {
            h.record(ms * 1_000_000);
        }
        assert_eq!(h.quantile_ms(0.5), Some(50.01));
        assert_eq!(h.quantile_ms(0.99), Some(99.01));
    }

    #[test]
    fn counters_from_both_servers() {
        let prometheus = "# HELP x y\n# TYPE x counter\nrltop_bridge_messages_out_total 42\n";
        assert_eq!(
            counters(prometheus)["rltop_bridge_messages_out_total"],
            42.0
        );
        let json = r#"{"status":"live","messages":7}"#;
        assert_eq!(counters(json)["messages"], 7.0);
        let chunked = "2c\r\n{\"status\":\"live\",\"messages\":7}\r\n0\r\n\r\n";
        assert_eq!(counters(chunked)["messages"], 7.0);
    }
}
