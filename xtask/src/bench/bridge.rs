//! `cargo xtask bench bridge [--clients N[,N…]] [--seconds S] [--rate R]`: the WebSocket
//! bridge against the idiomatic Node fan-out of the same stream, same run, same clients.
//!
//! Why a peer and not a number alone: "1 M messages/s" says little on a 2-core VM shared
//! with the load generator; the same clients against a plain Node `ws` broadcast server
//! (`bench/bridge-peer`, what a `ws` user writes) fed the bridge's own stream at its own
//! pace say what the bridge's design buys. The peer does only fan-out (its frames are
//! rendered before the replay); the bridge also runs the simulator, the feed handler and
//! the rendering, in the same process, during the measurement.
//!
//! The run, every process bounded in time and killed at the end (or on error):
//!
//! 1. Builds `rltop` (`cargo build --release -p rltop-cli`) and the load generator
//!    (`bench/src/bin/bridge_load.rs`) in release.
//! 2. `rltop bridge --source sim --instruments 8 --rate R` (header times are the wall
//!    clock). Idle phase: `--idle` connections on `/ws` with no stream, the bridge's
//!    `VmRSS` before and after. Then the recorder takes every stream of the client mix on
//!    one connection for `--record` seconds into `target/bench-bridge/events.jsonl`. Then,
//!    for each N of `--clients`, N clients each on `/stream?streams=<its mix>`, a window of
//!    `--seconds` once all are connected.
//! 3. The Node peer on the recording, at its pace, looping, each `E` stamped with its send
//!    time: the same idle phase (on a stream no event has: the peer upgrades nothing else),
//!    then each load on a fresh peer that starts its replay once its N clients are
//!    connected (`--wait-clients`: a `ws` server already broadcasting to thousands times
//!    new handshakes out, so its clients would never all be there).
//! 4. The table (also `target/bench-bridge.md`), the targets met or not, and the details
//!    that say where the time went over each window: CPU per thread of the server, the
//!    kernel's share, the load generator, other processes, the hypervisor's steal (this is
//!    a VM), the server's counters, what was delivered of each kind of stream.
//!
//! Everything after the builds runs within [`BUDGET`] (about two minutes with the defaults).
//!
//! RLIMIT_NOFILE: the soft limit is raised to the hard one here, before any child starts,
//! so the servers and the load generator inherit it.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::root;

/// The simulator's instruments (the client mix spreads over them).
const INSTRUMENTS: usize = 8;
/// The whole benchmark, builds excluded.
const BUDGET: Duration = Duration::from_secs(280);

/// The WebSocket bridge vs a Node ws peer, same stream, same clients.
#[derive(clap::Parser)]
struct Args {
    /// Client counts, one load run per server each.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000", value_parser = clap::value_parser!(u64).range(1..))]
    clients: Vec<u64>,
    /// Measurement window per load run, after all clients are connected, seconds.
    #[arg(long, default_value_t = 15.0, value_parser = positive)]
    seconds: f64,
    /// Simulator order-flow events a second.
    #[arg(long, default_value_t = 4000.0, value_parser = positive)]
    rate: f64,
    /// Seconds of the bridge's stream recorded for the Node peer.
    #[arg(long, default_value_t = 15.0, value_parser = positive)]
    record: f64,
    /// Idle connections for the memory figure (default: the largest client count).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    idle: Option<u64>,
}

/// The run's settings, resolved.
struct Options {
    clients: Vec<usize>,
    seconds: f64,
    rate: f64,
    record: f64,
    idle: usize,
}

impl Args {
    fn options(self) -> Options {
        let clients: Vec<usize> = self.clients.iter().map(|&n| n as usize).collect();
        let idle = self.idle.map_or_else(
            || clients.iter().copied().max().unwrap_or(1000),
            |n| n as usize,
        );
        Options {
            clients,
            seconds: self.seconds,
            rate: self.rate,
            record: self.record,
            idle,
        }
    }
}

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok(n),
        _ => Err("not a positive number".into()),
    }
}

/// A child killed (and reaped) on drop, whatever ends the run; its output goes to a log.
/// (`bench gateway` uses it too.)
pub(super) struct Process {
    child: Child,
    log: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    pub(super) fn start(command: &mut Command, log: PathBuf) -> Result<Process, String> {
        let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let child = command
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {command:?}: {e}"))?;
        Ok(Process { child, log })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(super) fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Waits until `GET path` answers (any status) and the process is alive.
    fn wait_for(&mut self, port: u16, path: &str, want_ok: bool) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "exited ({status}) before answering:\n{}",
                    self.tail()
                ));
            }
            if let Some(code) = http_status(port, path) {
                if !want_ok || code == 200 {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no answer on {port}{path} within 30 s:\n{}",
                    self.tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub(super) fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The status of `GET path` on loopback, or None if nothing answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::Write;
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Sets this process's soft RLIMIT_NOFILE to the hard limit (children inherit it).
fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
        limit.rlim_cur
    }
}

pub(super) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Runs the load generator to completion within `limit` (and the run's budget): its JSON.
fn load_generator(
    binary: &Path,
    args: &[String],
    limit: Duration,
    until: Instant,
) -> Result<Value, String> {
    let limit = limit.min(until.saturating_duration_since(Instant::now()));
    eprintln!("$ bridge_load {}", args.join(" "));
    let what = format!(
        "bridge_load {} (the benchmark's budget is {BUDGET:?})",
        args.first().map_or("", String::as_str)
    );
    let (status, text, errors) =
        crate::process::run_bounded(Command::new(binary).args(args), &what, limit)?;
    if !status.success() {
        return Err(format!("bridge_load failed ({status}):\n{errors}{text}"));
    }
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line)
        .map_err(|e| format!("bridge_load printed no result ({e}):\n{text}{errors}"))
}

/// One server's results: the idle phase and one load run per client count.
struct Results {
    name: &'static str,
    idle: Value,
    loads: Vec<Value>,
}

/// A server under test, as the load generator reaches it.
struct Server<'a> {
    name: &'a str,
    process: &'a Process,
    port: u16,
    /// Its counters page: the bridge's `/metrics`, the peer's `/healthz`.
    stats: &'a str,
}

impl Server<'_> {
    /// Runs the load generator with `args` (and the server's port and pid) within `limit`.
    fn drive(
        &self,
        load: &Path,
        what: &str,
        mut args: Vec<String>,
        limit: Duration,
        until: Instant,
    ) -> Result<Value, String> {
        args.extend([
            "--port".into(),
            self.port.to_string(),
            "--server-pid".into(),
            self.process.pid().to_string(),
        ]);
        let name = self.name;
        let result = load_generator(load, &args, limit, until)
            .map_err(|e| format!("{name}, {what}: {e}\n{name} log:\n{}", self.process.tail()))?;
        eprintln!("{name}, {what}: {result}");
        Ok(result)
    }

    /// Idle connections on `path` (no stream for the bridge; one no event has for the
    /// peer): the server's RSS before and after.
    fn idle(
        &self,
        load: &Path,
        path: &str,
        opts: &Options,
        until: Instant,
    ) -> Result<Value, String> {
        let args = vec![
            "idle".to_string(),
            "--count".into(),
            opts.idle.to_string(),
            "--path".into(),
            path.into(),
        ];
        self.drive(
            load,
            "idle connections",
            args,
            Duration::from_secs(90),
            until,
        )
    }

    /// One load run of `clients` clients.
    fn load(
        &self,
        load: &Path,
        clients: usize,
        opts: &Options,
        until: Instant,
    ) -> Result<Value, String> {
        let args = vec![
            "load".to_string(),
            "--clients".into(),
            clients.to_string(),
            "--seconds".into(),
            opts.seconds.to_string(),
            "--symbols".into(),
            INSTRUMENTS.to_string(),
            "--stats".into(),
            self.stats.into(),
        ];
        let limit = Duration::from_secs_f64(90.0 + opts.seconds);
        self.drive(load, &format!("{clients} clients"), args, limit, until)
    }
}

/// `cargo build --release` of `args`: one package at a time, as `cargo build --release -p
/// rltop-cli` is run elsewhere, so both resolve the same features and neither makes the
/// other rebuild.
pub(super) fn build(args: &[&str]) -> Result<(), String> {
    let all: Vec<&str> = ["build", "--release"].iter().chain(args).copied().collect();
    crate::process::cargo(&all)
}

/// A fresh Node peer replaying `events` (looping, `E` stamped at send) once `wait_clients`
/// clients are connected: the connection phase is not slowed by a replay already running
/// (a `ws` server busy broadcasting times handshakes out), and every run starts alike.
fn start_node(
    peer_dir: &Path,
    events: &Path,
    wait_clients: usize,
    log: PathBuf,
) -> Result<(Process, u16), String> {
    let port = free_port()?;
    let args = [
        peer_dir.join("server.js").to_string_lossy().into_owned(),
        "--port".into(),
        port.to_string(),
        "--events".into(),
        events.to_string_lossy().into_owned(),
        "--loop".into(),
        "--stamp".into(),
        "--wait-clients".into(),
        wait_clients.to_string(),
    ];
    eprintln!("$ node {}", args.join(" "));
    let mut node = Process::start(Command::new("node").args(&args), log)?;
    node.wait_for(port, "/healthz", false)
        .map_err(|e| format!("node peer: {e}"))?;
    Ok((node, port))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let Some(opts) = crate::parse_args::<Args>("bench bridge", args)? else {
        return Ok(());
    };
    let opts = opts.options();
    let nofile = raise_nofile();
    let largest = opts
        .clients
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(opts.idle);
    if nofile < largest as u64 + 256 {
        return Err(format!(
            "RLIMIT_NOFILE is {nofile}: {largest} connections need more descriptors (raise the hard limit)"
        ));
    }
    build(&["-p", "rltop-cli"])?;
    build(&["-p", "rltop-bench", "--bin", "bridge_load"])?;
    let release = target_dir().join("release");
    let (rltop, load) = (release.join("rltop"), release.join("bridge_load"));
    let peer_dir = root().join("bench/bridge-peer");
    if !peer_dir.join("node_modules/ws").exists() {
        eprintln!("$ npm ci (bench/bridge-peer)");
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&peer_dir)
            .status()
            .map_err(|e| format!("cannot run npm ci: {e}"))?;
        if !status.success() {
            return Err("npm ci failed in bench/bridge-peer".into());
        }
    }
    let dir = target_dir().join("bench-bridge");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let events = dir.join("events.jsonl");
    let until = Instant::now() + BUDGET;

    // The bridge: idle connections on a fresh process, the recording, the loads.
    let port = free_port()?;
    let bridge_args = [
        "bridge".to_string(),
        "--port".into(),
        port.to_string(),
        "--source".into(),
        "sim".into(),
        "--instruments".into(),
        INSTRUMENTS.to_string(),
        "--rate".into(),
        opts.rate.to_string(),
        "--max-connections".into(),
        (largest + 100).to_string(),
    ];
    eprintln!("$ rltop {}", bridge_args.join(" "));
    let mut bridge = Process::start(
        Command::new(&rltop).args(&bridge_args),
        dir.join("bridge.log"),
    )?;
    bridge
        .wait_for(port, "/healthz", true)
        .map_err(|e| format!("rltop bridge: {e}"))?;
    let server = Server {
        name: "bridge",
        process: &bridge,
        port,
        stats: "/metrics",
    };
    let bridge_idle = server.idle(&load, "/ws", &opts, until)?;
    let record_args = [
        "record".to_string(),
        "--port".into(),
        port.to_string(),
        "--seconds".into(),
        opts.record.to_string(),
        "--symbols".into(),
        INSTRUMENTS.to_string(),
        "--out".into(),
        events.to_string_lossy().into_owned(),
    ];
    let recording = load_generator(
        &load,
        &record_args,
        Duration::from_secs_f64(opts.record + 30.0),
        until,
    )
    .map_err(|e| format!("recording: {e}\nbridge log:\n{}", bridge.tail()))?;
    eprintln!("recorded: {recording}");
    let mut bridge_loads = Vec::new();
    for &clients in &opts.clients {
        bridge_loads.push(server.load(&load, clients, &opts, until)?);
    }
    drop(bridge);
    let bridge = Results {
        name: "bridge",
        idle: bridge_idle,
        loads: bridge_loads,
    };

    // The Node peer: the idle phase on a peer that never starts its replay, then each load
    // on a fresh peer that starts when its clients are all connected.
    let (node, port) = start_node(&peer_dir, &events, opts.idle + 1, dir.join("node-idle.log"))?;
    let server = Server {
        name: "node ws",
        process: &node,
        port,
        stats: "/healthz",
    };
    let node_idle = server.idle(&load, "/stream?streams=idle@trade", &opts, until)?;
    drop(node);
    let mut node_loads = Vec::new();
    for &clients in &opts.clients {
        let log = dir.join(format!("node-{clients}.log"));
        let (node, port) = start_node(&peer_dir, &events, clients, log)?;
        let server = Server {
            name: "node ws",
            process: &node,
            port,
            stats: "/healthz",
        };
        node_loads.push(server.load(&load, clients, &opts, until)?);
    }
    let node = Results {
        name: "node ws",
        idle: node_idle,
        loads: node_loads,
    };

    let report = report(&opts, &recording, &bridge, &node);
    print!("\n{report}");
    let md = target_dir().join("bench-bridge.md");
    std::fs::write(&md, &report).map_err(|e| format!("{}: {e}", md.display()))?;
    eprintln!("\nwritten: {}", md.display());
    Ok(())
}

// ---- the report ------------------------------------------------------------------------------

/// A rate as the tables write it: `1.23 M`, `412 k`, `950`.
fn rate(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2} M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.0} k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// `10000` → `10 000`.
fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(d);
    }
    out
}

fn number(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

fn millis(v: &Value, key: &str) -> String {
    v[key].as_f64().map_or("–".into(), |ms| format!("{ms:.1}"))
}

/// Messages a second the clients would get if every event reached every subscriber: the
/// recording's rate of each stream times its subscribers in the run.
fn offered(recording: &Value, run: &Value) -> f64 {
    let Some(subscribers) = run["per_stream_subscribers"].as_object() else {
        return f64::NAN;
    };
    subscribers
        .iter()
        .map(|(stream, n)| {
            recording["per_stream_per_s"][stream]
                .as_f64()
                .unwrap_or(0.0)
                * n.as_f64().unwrap_or(0.0)
        })
        .sum()
}

/// `N` connected, and what closed during the window.
fn connections(run: &Value) -> String {
    let clients = number(run, "clients") as u64;
    let connected = number(run, "connected") as u64;
    let closed = number(run, "closed_in_window") as u64;
    let mut text = if connected == clients {
        count(connected)
    } else {
        format!("{} of {}", count(connected), count(clients))
    };
    if closed > 0 {
        let codes: Vec<String> = run["close_codes"]
            .as_object()
            .map(|m| m.iter().map(|(code, n)| format!("{n}× {code}")).collect())
            .unwrap_or_default();
        text.push_str(&format!(
            ", {} closed ({})",
            count(closed),
            codes.join(", ")
        ));
    }
    text
}

fn idle_kib(results: &Results) -> String {
    results.idle["bytes_per_connection"]
        .as_f64()
        .map_or("–".into(), |b| format!("{:.1} KiB", b / 1024.0))
}

/// CPU per thread name (largest first), the load generator's, the machine's, and the
/// server's counters that moved, for one run.
fn details(name: &str, recording: &Value, run: &Value) -> String {
    let cpu = |key: &str| -> String {
        let Some(map) = run[key].as_object() else {
            return "?".into();
        };
        let mut threads: Vec<(&String, f64)> = map
            .iter()
            .filter(|(k, _)| k.as_str() != "total")
            .filter_map(|(k, v)| Some((k, v.as_f64()?)))
            .filter(|(_, v)| *v >= 0.5)
            .collect();
        threads.sort_by(|a, b| b.1.total_cmp(&a.1));
        let list: Vec<String> = threads
            .iter()
            .take(5)
            .map(|(k, v)| format!("{k} {v:.0}"))
            .collect();
        format!("{:.0} % ({})", number(&run[key], "total"), list.join(", "))
    };
    let counters: Vec<String> = run["server_counters_per_s"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.as_f64().is_some_and(|v| v.abs() >= 1.0))
                .map(|(k, v)| {
                    let k = k
                        .trim_start_matches("rltop_bridge_")
                        .trim_end_matches("_total");
                    format!("{k} {}", rate(v.as_f64().unwrap_or(0.0)))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut counters = if counters.is_empty() {
        "none (its stats page did not answer within 5 s)".to_string()
    } else {
        counters.join(", ")
    };
    // The peer's own pace: a replay that falls behind its schedule sends fewer events a
    // second than were recorded (and its send-time `E` hides how late they are).
    if let Some(events) = run["server_counters_per_s"]["events"].as_f64() {
        counters.push_str(&format!(
            " (replayed {:.0} % of the recording's events a second)",
            100.0 * events / number(recording, "events_per_s")
        ));
    }
    let kinds: Vec<String> = run["frames_per_s_by_kind"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.as_f64().is_some_and(|v| v > 0.0))
                .map(|(k, v)| format!("{k} {}", rate(v.as_f64().unwrap_or(0.0))))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "* {name}, {} clients: connected in {:.1} s; offered {} msg/s, delivered {} ({}); \
         {} trade latency samples; server CPU {}, of it in the kernel {:.0} %; load generator \
         CPU {}, in the kernel {:.0} %; other processes {}; machine {:.0} % busy and {:.0} % \
         stolen by the hypervisor (of both cores); server counters /s: {}\n",
        count(number(run, "clients") as u64),
        number(run, "connect_seconds"),
        rate(offered(recording, run)),
        rate(number(run, "frames_per_s")),
        kinds.join(", "),
        count(number(run, "latency_samples") as u64),
        cpu("server_cpu_percent"),
        number(run, "server_system_percent"),
        cpu("load_generator_cpu_percent"),
        number(run, "load_generator_system_percent"),
        cpu("other_processes_cpu_percent"),
        number(run, "machine_busy_percent"),
        number(run, "machine_steal_percent"),
        counters,
    )
}

/// Issue 25's targets: at 1 000 clients every offered message delivered with p99 < 3 ms; at
/// 10 000, ≥ 2 M messages/s with p99 < 25 ms; ≤ 8 KiB per idle connection; the delivered
/// rate against Node's at each size. A size not run is said so.
fn targets(recording: &Value, bridge: &Results, node: &Results) -> String {
    let met = |ok: bool| if ok { "met" } else { "**not met**" };
    let at = |n: f64| {
        bridge
            .loads
            .iter()
            .zip(&node.loads)
            .find(|(b, _)| number(b, "clients") == n)
    };
    let mut rows = Vec::new();
    match at(1000.0) {
        Some((b, n)) => {
            let (offered, delivered) = (offered(recording, b), number(b, "frames_per_s"));
            let p99 = number(b, "p99_ms");
            let all = delivered >= 0.995 * offered && number(b, "closed_in_window") == 0.0;
            rows.push((
                "1 000 clients: every offered message delivered, p99 < 3 ms".to_string(),
                format!(
                    "{} of {} msg/s, p99 {p99:.1} ms",
                    rate(delivered),
                    rate(offered)
                ),
                met(all && p99 < 3.0).to_string(),
            ));
            let ratio = delivered / number(n, "frames_per_s");
            rows.push((
                "1 000 clients: delivered rate / Node's".into(),
                format!("{ratio:.2}×"),
                String::new(),
            ));
        }
        None => rows.push(("1 000 clients".into(), "not run".into(), String::new())),
    }
    match at(10_000.0) {
        Some((b, n)) => {
            let delivered = number(b, "frames_per_s");
            let p99 = number(b, "p99_ms");
            rows.push((
                "10 000 clients: ≥ 2 M messages/s delivered, p99 < 25 ms".to_string(),
                format!("{} msg/s, p99 {p99:.1} ms", rate(delivered)),
                met(delivered >= 2e6 && p99 < 25.0).to_string(),
            ));
            let ratio = delivered / number(n, "frames_per_s");
            rows.push((
                "10 000 clients: delivered rate / Node's".into(),
                format!("{ratio:.2}×"),
                String::new(),
            ));
        }
        None => rows.push(("10 000 clients".into(), "not run".into(), String::new())),
    }
    let idle = number(&bridge.idle, "bytes_per_connection") / 1024.0;
    rows.push((
        "≤ 8 KiB per idle connection".into(),
        format!("{idle:.1} KiB"),
        met(idle <= 8.0).into(),
    ));
    let mut out = String::from("\nTargets (issue 25):\n\n| target | result | |\n|---|---|---|\n");
    for (target, result, verdict) in rows {
        out.push_str(&format!("| {target} | {result} | {verdict} |\n"));
    }
    out
}

fn report(opts: &Options, recording: &Value, bridge: &Results, node: &Results) -> String {
    let mut out = String::from("## WebSocket bridge vs Node `ws` (`cargo xtask bench bridge`)\n\n");
    let node_version = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    out.push_str(&format!(
        "Source: `rltop bridge --source sim --instruments {INSTRUMENTS} --rate {}` (the simulator \
         runs in the bridge's process, header times are the wall clock). The Node peer \
         (`bench/bridge-peer`, `ws` 8, node {node_version}) replays {:.1} s of the bridge's own \
         stream, recorded on one connection ({} events/s on {} streams), at its pace, looping, \
         each `E` stamped at send. Client *i* holds one `/stream?streams=` connection: \
         `sim{{1+i%8}}usdt@trade`, `sim{{1+(i+3)%8}}usdt@bookTicker`, `sim{{1+i%8}}usdt@depth@100ms`, \
         and for one client in four `sim{{1+(i+5)%8}}usdt@depth5@100ms`, for another one in four \
         `sim{{1+(i+1)%8}}usdt@ticker`. Window: {} s, starting 1 s after the last client connected. \
         **Both servers (one at a time) and the load generator (2 threads) share the same 2 cores.**\n\n",
        opts.rate,
        number(recording, "seconds"),
        rate(number(recording, "events_per_s")),
        number(recording, "streams"),
        opts.seconds,
    ));
    out.push_str(
        "| server | connections | offered msg/s | delivered msg/s | p50 ms | p99 ms | p99.9 ms | RSS / idle connection | bridge / node, msg/s | CPU busy / stolen |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (b, n) in bridge.loads.iter().zip(&node.loads) {
        let ratio = number(b, "frames_per_s") / number(n, "frames_per_s");
        for (results, run, ratio) in [
            (bridge, b, format!("{ratio:.2}×")),
            (node, n, String::new()),
        ] {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {ratio} | {:.0} % / {:.0} % |\n",
                results.name,
                connections(run),
                rate(offered(recording, run)),
                rate(number(run, "frames_per_s")),
                millis(run, "p50_ms"),
                millis(run, "p99_ms"),
                millis(run, "p999_ms"),
                idle_kib(results),
                number(run, "machine_busy_percent"),
                number(run, "machine_steal_percent"),
            ));
        }
    }
    out.push_str(&format!(
        "\nLatency: `@trade` frames only, receipt time minus the event's `E`. `E` is in whole \
         milliseconds, so the figures have 1 ms resolution. Bridge: `E` is the trade's time at \
         the simulator, so the figure includes the source, the feed handler and the engine; \
         node: `E` is its send time, so a replay behind its schedule does not show how late it \
         is (its replay rate is in the details below). (A diff's or partial book's `E` is its \
         last book change before the 100 ms boundary, not its send time: not a delivery \
         latency.) Offered: the \
         recording's rate of each stream × its subscribers (what a client that never falls \
         behind gets; the bridge conflates book tickers and partial books for one that does). \
         RSS per idle connection: the server's VmRSS growth over {} connections that \
         subscribe to nothing (the bridge's `/ws`; the peer upgrades only `/stream`, so one \
         stream that no event has), user space only. CPU busy / stolen: the machine's two \
         cores over the window, busy, and stolen by the hypervisor (this is a VM: stolen time \
         is time no process here ran; a run with much of it measured a smaller machine). \
         Node's latency is blank when it delivered no trade in the window: a replay that falls \
         behind sends the due events in file order, one burst after another.\n",
        count(opts.idle as u64)
    ));
    out.push_str(&targets(recording, bridge, node));
    out.push_str("\nPer run (CPU in % of one core over the window, by thread name):\n\n");
    for (b, n) in bridge.loads.iter().zip(&node.loads) {
        out.push_str(&details(bridge.name, recording, b));
        out.push_str(&details(node.name, recording, n));
    }
    out
}
