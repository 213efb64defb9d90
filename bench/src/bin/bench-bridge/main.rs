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

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use clap::Parser;
use rltop_devsupport::process::{self, Running};
use rltop_devsupport::{probe, root, target_dir};
use serde_json::Value;

mod report;
use report::report;

/// The simulator's instruments (the client mix spreads over them).
const INSTRUMENTS: usize = 8;
/// The whole benchmark, builds excluded.
const BUDGET: Duration = Duration::from_secs(280);

/// The WebSocket bridge vs a Node ws peer, same stream, same clients.
#[derive(clap::Parser)]
#[command(name = "bench-bridge", about)]
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
        process::run_bounded(Command::new(binary).args(args), &what, limit)?;
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
    process: &'a Running,
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
        let result = load_generator(load, &args, limit, until).map_err(|e| {
            format!(
                "{name}, {what}: {e}\n{name} log:\n{}",
                self.process.log_tail()
            )
        })?;
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
fn build(args: &[&str]) -> Result<(), String> {
    let all: Vec<&str> = ["build", "--release"].iter().chain(args).copied().collect();
    process::cargo(&all)
}

/// Waits until `GET path` on `port` answers (200 if `want_ok`, else any status) while the
/// server stays alive.
fn until_answering(
    server: &mut Running,
    port: u16,
    path: &str,
    want_ok: bool,
) -> Result<(), String> {
    probe::until(
        &format!("answering {path} on {port}"),
        Duration::from_secs(30),
        || {
            server.alive()?;
            Ok(probe::http_status(port, path).is_some_and(|code| !want_ok || code == 200))
        },
    )
    .map_err(|e| format!("{e}:\n{}", server.log_tail()))
}

/// A fresh Node peer replaying `events` (looping, `E` stamped at send) once `wait_clients`
/// clients are connected: the connection phase is not slowed by a replay already running
/// (a `ws` server busy broadcasting times handshakes out), and every run starts alike.
fn start_node(
    peer_dir: &Path,
    events: &Path,
    wait_clients: usize,
    log: PathBuf,
) -> Result<(Running, u16), String> {
    let port = probe::free_port()?;
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
    let mut node = Running::logged(Command::new("node").args(&args), "node peer", &log)?;
    until_answering(&mut node, port, "/healthz", false).map_err(|e| format!("node peer: {e}"))?;
    Ok((node, port))
}

fn main() -> ExitCode {
    rltop_devsupport::exit(run(Args::parse().options()))
}

fn run(opts: Options) -> Result<(), String> {
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
    let port = probe::free_port()?;
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
    let mut bridge = Running::logged(
        Command::new(&rltop).args(&bridge_args),
        "rltop bridge",
        &dir.join("bridge.log"),
    )?;
    until_answering(&mut bridge, port, "/healthz", true)
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
    .map_err(|e| format!("recording: {e}\nbridge log:\n{}", bridge.log_tail()))?;
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
