//! `gateway_load`: the measuring side of `cargo xtask bench gateway` (the `bench-gateway`
//! harness, bench/src/bin/bench-gateway).
//!
//! Why a binary of its own, built in release: the harness is a debug build, and a gateway
//! or a client measured unoptimised measures the missing optimiser. So the parts of the
//! benchmark that run the gateway's code run here, built with `cargo build --release -p
//! rltop-bench --bin gateway_load`, and the harness reads what this prints.
//!
//! The gateway runs in this process (`rltop_gateway::start`), fed through
//! `Gateway::ingest` with datagrams the simulator made through the publisher before any
//! measurement starts (`rltop_sim::Simulation`, in memory): the source costs nothing but
//! the `ingest` calls during a window. The clients are `rltop_gateway::client::Connection`s
//! on a runtime of their own. Gateway, clients and source share the machine's cores; CPU per
//! thread name, and the machine's busy and stolen time, say who used them.
//!
//! One run, one JSON object on stdout (progress on stderr):
//!
//! * `replay`: the gateway retains `--retention` messages a channel; one connection asks
//!   for the incremental channel's whole retained window, `max_replay_count` messages a
//!   request, [`DEPTH`] requests outstanding at once, round and round the window for
//!   `--seconds`; every message is counted by walking the headers and its `seq_num`
//!   checked against the request it answers. The per-connection replay rate limit is
//!   raised out of the way (the default, 2 M messages a second, would be the result).
//! * `fanout_paced`: `--clients` connections, each subscribed to everything
//!   (`Subscription::everything()`); once all are subscribed the source ingests as fast as
//!   the slowest client keeps up (never more than [`LAG_BYTES`] ahead of it, well under the
//!   gateway's slow-consumer bound): the gateway's fan-out capacity.
//! * `fanout_fixed`: the same at a fixed rate (`--fixed-fraction` of the paced run's
//!   ingest rate), the source not waiting for anyone, as a multicast feed does not.
//!
//! In both fan-out runs every client checks every message: per session, `seq_num` must be
//! the previous one plus one, and at the end each client must hold every message ingested.
//!
//! ```text
//! gateway_load [--seconds S] [--clients N] [--events E] [--retention M] [--fixed-fraction F]
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rltop::Message;
use rltop_bench::report::machine;
use rltop_gateway::client::{Connection, Incoming};
use rltop_gateway::{ClientConfig, Config, Gateway, Subscription};
use rltop_net::plan::{Plan, Stream};
use serde_json::{json, Value};

/// Replay requests outstanding at once on the replay connection.
const DEPTH: usize = 4;
/// How far the paced source may run ahead of the slowest client (the gateway closes a
/// connection with 8 MiB queued, by default).
const LAG_BYTES: u64 = 2 << 20;
/// Longest wait for the clients to connect and subscribe, and for them to drain at the end.
const WAIT: Duration = Duration::from_secs(20);
/// The header's size: a message shorter than this cannot be walked.
const HEADER: usize = std::mem::size_of::<rltop::MessageHeader>();

/// The gateway's measuring side (`cargo xtask bench gateway` runs it): replay on one
/// connection, then live fan-out to N clients, the gateway in-process.
#[derive(clap::Parser)]
#[command(name = "gateway_load")]
struct Options {
    /// Replay window and each fan-out window, seconds.
    #[arg(long, default_value_t = 5.0, value_parser = positive)]
    seconds: f64,
    /// Live fan-out clients.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    clients: u64,
    /// Simulator order-flow events the feed is made of.
    #[arg(long, default_value_t = 2_200_000, value_parser = clap::value_parser!(u64).range(1..))]
    events: u64,
    /// Messages the gateway retains.
    #[arg(long, default_value_t = 2_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    retention: u64,
    /// The fixed-rate fan-out's rate, as a fraction of the paced one.
    #[arg(long, default_value_t = 0.7, value_parser = positive)]
    fixed_fraction: f64,
}

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok(n),
        _ => Err("not a positive number".into()),
    }
}

/// Calls `f(session, seq, len)` for each message of a run of whole messages; Err if the
/// run does not walk (a length that does not fit).
fn walk(run: &[u8], mut f: impl FnMut(u64, u64, usize)) -> Result<(), String> {
    let mut at = 0;
    while at < run.len() {
        let rest = &run[at..];
        if rest.len() < HEADER {
            return Err(format!("{} stray bytes after the last message", rest.len()));
        }
        let len = usize::from(u16::from_le_bytes([rest[4], rest[5]]));
        if len < HEADER || len > rest.len() {
            return Err(format!("a message of length {len} in {} bytes", rest.len()));
        }
        let session = u64::from_le_bytes(rest[8..16].try_into().expect("8 bytes"));
        let seq = u64::from_le_bytes(rest[16..24].try_into().expect("8 bytes"));
        f(session, seq, len);
        at += len;
    }
    Ok(())
}

/// The simulator's datagrams, ready to ingest.
struct Feed {
    datagrams: Vec<Bytes>,
    /// Messages of each datagram.
    messages: Vec<u64>,
    total_messages: u64,
    total_bytes: u64,
    /// Messages per stream key.
    per_stream: BTreeMap<&'static str, u64>,
    seconds: f64,
}

fn feed(events: u64) -> Result<Feed, String> {
    let t = Instant::now();
    let (ds, _oracle) = rltop_sim::Simulation::new(rltop_sim::Config {
        seed: 7,
        instruments: 4,
        events,
        quiet_tail_s: 1,
        ..rltop_sim::Config::default()
    })
    .run();
    let mut f = Feed {
        datagrams: Vec::with_capacity(ds.len()),
        messages: Vec::with_capacity(ds.len()),
        total_messages: 0,
        total_bytes: 0,
        per_stream: BTreeMap::new(),
        seconds: 0.0,
    };
    for d in ds {
        let mut n = 0;
        walk(&d.bytes, |_, _, _| n += 1).map_err(|e| format!("the simulator's datagram: {e}"))?;
        f.total_messages += n;
        f.total_bytes += d.bytes.len() as u64;
        *f.per_stream.entry(d.stream.key()).or_default() += n;
        f.messages.push(n);
        f.datagrams.push(Bytes::from(d.bytes));
    }
    f.seconds = t.elapsed().as_secs_f64();
    Ok(f)
}

// ---- CPU accounting --------------------------------------------------------------------------

/// CPU seconds of this process's threads, by thread name.
fn threads_cpu() -> BTreeMap<String, f64> {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for entry in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name.
        let ticks: f64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|x| x.parse::<f64>().ok()).sum())
            .unwrap_or(0.0);
        *out.entry(name).or_insert(0.0) += ticks / hz;
    }
    out
}

/// What a window cost: CPU per thread name in % of one core, the machine's busy and stolen
/// share of all its cores.
struct Meter {
    at: Instant,
    threads: BTreeMap<String, f64>,
    machine: (f64, f64, f64),
}

impl Meter {
    fn start() -> Meter {
        Meter {
            at: Instant::now(),
            threads: threads_cpu(),
            machine: machine(),
        }
    }

    fn stop(&self) -> Value {
        let secs = self.at.elapsed().as_secs_f64().max(1e-9);
        let now = threads_cpu();
        let mut cpu = serde_json::Map::new();
        let mut total = 0.0;
        for (name, s) in &now {
            let used = s - self.threads.get(name).copied().unwrap_or(0.0);
            total += used;
            if used > 0.0 {
                cpu.insert(name.clone(), json!(100.0 * used / secs));
            }
        }
        cpu.insert("total".into(), json!(100.0 * total / secs));
        let (b1, s1, t1) = machine();
        let (b0, s0, t0) = self.machine;
        let dt = (t1 - t0).max(1.0);
        json!({
            "cpu_percent": cpu,
            "machine_busy_percent": 100.0 * (b1 - b0) / dt,
            "machine_steal_percent": 100.0 * (s1 - s0) / dt,
        })
    }
}

// ---- the gateway -----------------------------------------------------------------------------

fn gateway(retention: usize) -> Result<rltop_gateway::Running, String> {
    rltop_gateway::start(
        Config {
            listen: "127.0.0.1:0".parse().expect("an address"),
            retention_messages: retention,
            retention_bytes: 4 << 30,
            max_replay_count: 100_000,
            // Out of the way: the measurement is of the replay path, not of its limit.
            replay_rate: 2_000_000_000,
            ..Config::default()
        },
        &Plan::default(),
    )
}

fn client_config(addr: SocketAddr) -> ClientConfig {
    ClientConfig {
        addr: addr.to_string(),
        name: "gateway_load".into(),
        // The clients send nothing while they read; a long heartbeat keeps the gateway's
        // idle timeout (three of them) beyond any window.
        heartbeat: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    }
}

fn rate(n: f64, secs: f64) -> f64 {
    n / secs.max(1e-9)
}

// ---- replay ----------------------------------------------------------------------------------

struct Request {
    first: u64,
    count: u64,
    got: u64,
}

async fn replay_client(
    addr: SocketAddr,
    session: u64,
    (lo, hi): (u64, u64),
    seconds: f64,
) -> Result<Value, String> {
    let mut conn = Connection::connect(&client_config(addr))
        .await
        .map_err(|e| format!("replay client: {e}"))?;
    let part = u64::from(conn.accepted.max_replay_count);
    let mut pending: VecDeque<Request> = VecDeque::new();
    let mut next_first = lo;
    let mut id = 0u32;
    let (mut messages, mut bytes, mut completed) = (0u64, 0u64, 0u64);
    let (mut out_of_order, mut short, mut walk_errors) = (0u64, 0u64, 0u64);
    let mut rejected: Vec<String> = Vec::new();
    let meter = Meter::start();
    let started = Instant::now();
    let mut first_byte: Option<f64> = None;
    loop {
        while pending.len() < DEPTH && started.elapsed().as_secs_f64() < seconds {
            let count = (hi + 1 - next_first).min(part);
            id += 1;
            conn.replay(id, session, next_first, count as u32)
                .await
                .map_err(|e| format!("replay client: {e}"))?;
            pending.push_back(Request {
                first: next_first,
                count,
                got: 0,
            });
            next_first += count;
            if next_first > hi {
                next_first = lo;
            }
        }
        if pending.is_empty() {
            break;
        }
        match conn
            .next()
            .await
            .map_err(|e| format!("replay client: {e}"))?
        {
            Incoming::Data(run) => {
                first_byte.get_or_insert_with(|| started.elapsed().as_secs_f64());
                let mut front = pending.front_mut();
                let walked = walk(&run, |s, seq, len| {
                    messages += 1;
                    bytes += len as u64;
                    match front.as_deref_mut() {
                        Some(r) if s == session && r.got < r.count && seq == r.first + r.got => {
                            r.got += 1
                        }
                        _ => out_of_order += 1,
                    }
                });
                if walked.is_err() {
                    walk_errors += 1;
                }
            }
            Incoming::Control(c) => match Message::decode(&c) {
                Ok(Message::ReplayComplete(_)) => {
                    if let Some(r) = pending.pop_front() {
                        completed += 1;
                        short += u64::from(r.got != r.count);
                    }
                }
                Ok(Message::ReplayRejected(r)) => {
                    pending.pop_front();
                    if rejected.len() < 5 {
                        rejected.push(format!("{:?}: {}", r.reason(), r.detail()));
                    }
                }
                _ => {}
            },
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cost = meter.stop();
    let _ = conn.logout().await;
    Ok(json!({
        "window": [lo, hi],
        "window_messages": hi - lo + 1,
        "max_replay_count": part,
        "depth": DEPTH,
        "requests": id,
        "completed": completed,
        "rejected": rejected,
        "incomplete_requests": short,
        "out_of_order_messages": out_of_order,
        "walk_errors": walk_errors,
        "messages": messages,
        "bytes": bytes,
        "seconds": secs,
        "first_byte_ms": first_byte.map(|s| s * 1e3),
        "messages_per_s": rate(messages as f64, secs),
        "bytes_per_s": rate(bytes as f64, secs),
        "cost": cost,
    }))
}

fn replay(feed: &Feed, opts: &Options) -> Result<Value, String> {
    let running = gateway(opts.retention as usize)?;
    let gw = running.gateway().clone();
    let t = Instant::now();
    for d in &feed.datagrams {
        gw.ingest(d);
    }
    let ingest_secs = t.elapsed().as_secs_f64();
    let session = Plan::default().session(Stream::Incremental, 0);
    let window = gw
        .window(session)
        .ok_or("the gateway holds nothing of the incremental channel")?;
    eprintln!(
        "gateway_load: replay: {} messages ingested in {ingest_secs:.2} s; incremental window {}..={} ({} messages)",
        feed.total_messages,
        window.0,
        window.1,
        window.1 - window.0 + 1
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut result =
        runtime.block_on(replay_client(running.addr, session, window, opts.seconds))?;
    let m = gw.metrics();
    result["ingest_seconds"] = json!(ingest_secs);
    result["ingest_messages_per_s"] = json!(rate(feed.total_messages as f64, ingest_secs));
    result["gateway_replayed_messages"] = json!(m.replayed_messages.load(Relaxed));
    result["gateway_replay_rejected"] = json!(m.replay_rejected.load(Relaxed));
    result["gateway_bytes_out"] = json!(m.bytes_out.load(Relaxed));
    drop(runtime);
    running.shutdown();
    Ok(result)
}

// ---- fan-out ---------------------------------------------------------------------------------

/// What one subscriber saw, shared with the source (which paces on `bytes`).
#[derive(Default)]
struct Seen {
    ready: AtomicBool,
    messages: AtomicU64,
    bytes: AtomicU64,
    /// Messages missing between two received (per session, `seq_num` jumps).
    gap_messages: AtomicU64,
    /// Messages at or below the last `seq_num` of their session.
    out_of_order: AtomicU64,
    /// Why the connection ended, if it did.
    ended: Mutex<Option<String>>,
}

impl Seen {
    fn is_ended(&self) -> bool {
        self.ended.lock().map(|e| e.is_some()).unwrap_or(true)
    }
}

async fn subscriber(addr: SocketAddr, seen: Arc<Seen>, channels: usize) {
    let result: Result<(), String> = async {
        let mut conn = Connection::connect(&client_config(addr))
            .await
            .map_err(|e| e.to_string())?;
        conn.subscribe(&Subscription::everything(), true)
            .await
            .map_err(|e| e.to_string())?;
        let mut subscribed = 0;
        // Next `seq_num` expected, by session id (the default plan's are 1 to 5).
        let mut next: Vec<u64> = vec![0; 64];
        let (mut messages, mut bytes, mut gap, mut old) = (0u64, 0u64, 0u64, 0u64);
        loop {
            match conn.next().await.map_err(|e| e.to_string())? {
                Incoming::Control(c) => {
                    if let Ok(Message::ChannelStatus(s)) = Message::decode(&c) {
                        if s.state() == Ok(rltop::ChannelState::Subscribed) {
                            subscribed += 1;
                            if subscribed == channels {
                                seen.ready.store(true, Relaxed);
                            }
                        }
                    }
                }
                Incoming::Data(run) => {
                    walk(&run, |session, seq, len| {
                        messages += 1;
                        bytes += len as u64;
                        let k = session as usize;
                        if k >= next.len() {
                            next.resize(k + 1, 0);
                        }
                        let want = next[k];
                        if want != 0 && seq != want {
                            if seq > want {
                                gap += seq - want;
                            } else {
                                old += 1;
                            }
                        }
                        next[k] = seq + 1;
                    })?;
                    seen.messages.store(messages, Relaxed);
                    seen.bytes.store(bytes, Relaxed);
                    seen.gap_messages.store(gap, Relaxed);
                    seen.out_of_order.store(old, Relaxed);
                }
            }
        }
    }
    .await;
    if let (Err(e), Ok(mut ended)) = (result, seen.ended.lock()) {
        *ended = Some(e);
    }
}

#[derive(Clone, Copy)]
enum Pace {
    /// Never more than [`LAG_BYTES`] ahead of the slowest client.
    Slowest,
    /// This many messages a second, whoever keeps up.
    Fixed(f64),
}

/// Ingests the feed for `seconds` (or until it runs out) at `pace`: (messages, bytes,
/// seconds, whether the feed ran out).
fn source(
    gw: &Gateway,
    feed: &Feed,
    seen: &[Arc<Seen>],
    pace: Pace,
    seconds: f64,
) -> (u64, u64, f64, bool) {
    let started = Instant::now();
    let (mut messages, mut bytes) = (0u64, 0u64);
    let mut ran_out = true;
    for (k, d) in feed.datagrams.iter().enumerate() {
        if k % 16 == 0 {
            let elapsed = started.elapsed().as_secs_f64();
            if elapsed >= seconds {
                ran_out = false;
                break;
            }
            loop {
                let wait = match pace {
                    Pace::Slowest => {
                        let slowest = seen
                            .iter()
                            .filter(|s| !s.is_ended())
                            .map(|s| s.bytes.load(Relaxed))
                            .min()
                            .unwrap_or(bytes);
                        bytes.saturating_sub(slowest) > LAG_BYTES
                    }
                    Pace::Fixed(r) => messages as f64 > r * started.elapsed().as_secs_f64(),
                };
                if !wait || started.elapsed().as_secs_f64() >= seconds {
                    break;
                }
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        gw.ingest(d);
        messages += feed.messages[k];
        bytes += d.len() as u64;
    }
    (messages, bytes, started.elapsed().as_secs_f64(), ran_out)
}

fn fanout(feed: &Feed, opts: &Options, pace: Pace) -> Result<Value, String> {
    let running = gateway(1 << 20)?;
    let gw = running.gateway().clone();
    let channels = gw.channels().len();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("client")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let seen: Vec<Arc<Seen>> = (0..opts.clients).map(|_| Arc::default()).collect();
    for s in &seen {
        runtime.spawn(subscriber(running.addr, s.clone(), channels));
    }
    let t = Instant::now();
    while seen.iter().any(|s| !s.ready.load(Relaxed) && !s.is_ended()) {
        if t.elapsed() > WAIT {
            return Err(format!(
                "fan-out: {} of {} clients subscribed within {WAIT:?}",
                seen.iter().filter(|s| s.ready.load(Relaxed)).count(),
                opts.clients
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let connect_secs = t.elapsed().as_secs_f64();
    let failed: Vec<String> = seen
        .iter()
        .filter_map(|s| s.ended.lock().ok().and_then(|e| e.clone()))
        .collect();
    if !failed.is_empty() {
        return Err(format!(
            "fan-out: {} clients failed to subscribe: {}",
            failed.len(),
            failed[0]
        ));
    }
    let meter = Meter::start();
    let started = Instant::now();
    let (ingested, ingested_bytes, source_secs, ran_out) = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("source".into())
            .spawn_scoped(scope, || source(&gw, feed, &seen, pace, opts.seconds))
            .expect("a thread")
            .join()
            .expect("the source thread")
    });
    // The clients catch up with what was ingested (or give up).
    let t = Instant::now();
    while seen
        .iter()
        .any(|s| !s.is_ended() && s.messages.load(Relaxed) < ingested)
        && t.elapsed() < WAIT
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    let secs = started.elapsed().as_secs_f64();
    let cost = meter.stop();
    let delivered: u64 = seen.iter().map(|s| s.messages.load(Relaxed)).sum();
    let delivered_bytes: u64 = seen.iter().map(|s| s.bytes.load(Relaxed)).sum();
    let complete = seen
        .iter()
        .filter(|s| s.messages.load(Relaxed) == ingested)
        .count();
    let missing: u64 = seen
        .iter()
        .map(|s| ingested.saturating_sub(s.messages.load(Relaxed)))
        .sum();
    let gaps: u64 = seen.iter().map(|s| s.gap_messages.load(Relaxed)).sum();
    let out_of_order: u64 = seen.iter().map(|s| s.out_of_order.load(Relaxed)).sum();
    let mut ended: BTreeMap<String, u64> = BTreeMap::new();
    for s in &seen {
        if let Some(e) = s.ended.lock().ok().and_then(|e| e.clone()) {
            *ended.entry(e).or_default() += 1;
        }
    }
    let m = gw.metrics();
    let result = json!({
        "pace": match pace {
            Pace::Slowest => json!("slowest"),
            Pace::Fixed(r) => json!(r),
        },
        "clients": opts.clients,
        "channels": channels,
        "connect_seconds": connect_secs,
        "source_seconds": source_secs,
        "feed_ran_out": ran_out,
        "seconds": secs,
        "ingested_messages": ingested,
        "ingested_bytes": ingested_bytes,
        "ingest_messages_per_s": rate(ingested as f64, source_secs),
        "delivered_messages": delivered,
        "delivered_bytes": delivered_bytes,
        "delivered_messages_per_s": rate(delivered as f64, secs),
        "delivered_bytes_per_s": rate(delivered_bytes as f64, secs),
        "clients_complete": complete,
        "missing_messages": missing,
        "gap_messages": gaps,
        "out_of_order_messages": out_of_order,
        "ended": ended,
        "gateway_forwarded_messages": m.forwarded_messages.load(Relaxed),
        "gateway_slow_consumer_closes": m.slow_closes.load(Relaxed),
        "gateway_dropped_bytes": m.dropped_bytes.load(Relaxed),
        "gateway_bytes_out": m.bytes_out.load(Relaxed),
        "cost": cost,
    });
    runtime.shutdown_background();
    running.shutdown();
    Ok(result)
}

fn run(opts: &Options) -> Result<Value, String> {
    eprintln!(
        "gateway_load: simulating {} events (in memory, before any measurement)",
        opts.events
    );
    let feed = feed(opts.events)?;
    eprintln!(
        "gateway_load: {} datagrams, {} messages, {} bytes in {:.1} s ({:?})",
        feed.datagrams.len(),
        feed.total_messages,
        feed.total_bytes,
        feed.seconds,
        feed.per_stream
    );
    let replay = replay(&feed, opts)?;
    eprintln!("gateway_load: replay: {replay}");
    let paced = fanout(&feed, opts, Pace::Slowest)?;
    eprintln!("gateway_load: fan-out, paced by the slowest client: {paced}");
    let fixed_rate = opts.fixed_fraction * paced["ingest_messages_per_s"].as_f64().unwrap_or(0.0);
    let fixed = fanout(&feed, opts, Pace::Fixed(fixed_rate.max(1.0)))?;
    eprintln!("gateway_load: fan-out at a fixed rate: {fixed}");
    Ok(json!({
        "feed": {
            "datagrams": feed.datagrams.len(),
            "messages": feed.total_messages,
            "bytes": feed.total_bytes,
            "per_stream": feed.per_stream,
            "simulation_seconds": feed.seconds,
        },
        "gateway_threads": Config::default().threads,
        "replay": replay,
        "fanout_paced": paced,
        "fanout_fixed": fixed,
    }))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = <Options as clap::Parser>::parse_from(
        std::iter::once("gateway_load".to_string()).chain(args),
    );
    match run(&opts) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gateway_load: {e}");
            ExitCode::FAILURE
        }
    }
}
