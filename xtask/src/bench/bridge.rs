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
//! 1. Builds `rltop` and the load generator (`bench/src/bin/bridge_load.rs`) in release.
//! 2. `rltop bridge --source sim --instruments 8 --rate R` (header times are the wall
//!    clock). Idle phase: `--idle` connections on `/ws` with no stream, the bridge's
//!    `VmRSS` before and after. Then the recorder takes every stream of the client mix on
//!    one connection for `--record` seconds into `target/bench-bridge/events.jsonl`. Then,
//!    for each N of `--clients`, N clients each on `/stream?streams=<its mix>`, a window of
//!    `--seconds` once all are connected.
//! 3. `node server.js --events events.jsonl --loop --stamp` (the recorded pace, `E` = send
//!    time): the same idle phase (on a stream no event has: the peer upgrades nothing
//!    else), the same loads.
//! 4. The table (also `target/bench-bridge.md`), the targets met or not, and the details
//!    that say where the time went (CPU per thread over the window, server counters).
//!
//! RLIMIT_NOFILE: the soft limit is raised to the hard one here, before any child starts,
//! so the servers and the load generator inherit it.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::root;

const USAGE: &str = "\
usage: cargo xtask bench bridge [--clients N[,N...]] [--seconds S] [--rate R] [--record S] [--idle M]

  --clients   client counts, one load run per server each (default 1000,10000)
  --seconds   measurement window per load run, after all clients are connected (default 15)
  --rate      simulator order-flow events a second (default 4000)
  --record    seconds of the bridge's stream recorded for the Node peer (default 15)
  --idle      idle connections for the memory figure (default: the largest client count)";

/// The simulator's instruments (the client mix spreads over them).
const INSTRUMENTS: usize = 8;
/// The whole benchmark, builds excluded.
const BUDGET: Duration = Duration::from_secs(280);

struct Options {
    clients: Vec<usize>,
    seconds: f64,
    rate: f64,
    record: f64,
    idle: usize,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut opts = Options {
            clients: vec![1000, 10_000],
            seconds: 15.0,
            rate: 4000.0,
            record: 15.0,
            idle: 0,
        };
        let mut rest = args.iter();
        while let Some(flag) = rest.next() {
            let mut value = || {
                rest.next()
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
            };
            let bad = |v: &str| format!("{flag} {v}: not a positive number\n{USAGE}");
            match flag.as_str() {
                "--clients" => {
                    let v = value()?;
                    opts.clients = v
                        .split(',')
                        .map(|n| n.trim().parse().ok().filter(|&n: &usize| n > 0))
                        .collect::<Option<_>>()
                        .ok_or_else(|| bad(v))?;
                }
                "--seconds" | "--rate" | "--record" => {
                    let v = value()?;
                    let n: f64 = v.parse().ok().filter(|&n: &f64| n > 0.0).ok_or_else(|| bad(v))?;
                    match flag.as_str() {
                        "--seconds" => opts.seconds = n,
                        "--rate" => opts.rate = n,
                        _ => opts.record = n,
                    }
                }
                "--idle" => {
                    let v = value()?;
                    opts.idle = v.parse().ok().filter(|&n: &usize| n > 0).ok_or_else(|| bad(v))?;
                }
                _ => return Err(USAGE.into()),
            }
        }
        if opts.idle == 0 {
            opts.idle = opts.clients.iter().copied().max().unwrap_or(1000);
        }
        Ok(opts)
    }
}

/// A child killed (and reaped) on drop, whatever ends the run; its output goes to a log.
struct Process {
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
    fn start(command: &mut Command, log: PathBuf) -> Result<Process, String> {
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

    fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Waits until `GET path` answers (any status) and the process is alive.
    fn wait_for(&mut self, port: u16, path: &str, want_ok: bool) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited ({status}) before answering:\n{}", self.tail()));
            }
            if let Some(code) = http_status(port, path) {
                if !want_ok || code == 200 {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("no answer on {port}{path} within 30 s:\n{}", self.tail()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn free_port() -> Result<u16, String> {
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
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
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

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Runs the load generator to completion within `limit` (and the run's budget): its JSON.
fn load_generator(binary: &Path, args: &[String], limit: Duration, until: Instant) -> Result<Value, String> {
    let limit = limit.min(until.saturating_duration_since(Instant::now()));
    eprintln!("$ bridge_load {}", args.join(" "));
    let mut child = Command::new(binary)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "bridge_load {} did not finish within {limit:?} (the benchmark's budget is {BUDGET:?}); killed",
                args.first().map_or("", String::as_str)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = out_reader.join().unwrap_or_default();
    let errors = err_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("bridge_load failed ({status}):\n{errors}{text}"));
    }
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).map_err(|e| format!("bridge_load printed no result ({e}):\n{text}{errors}"))
}

/// One server's results: the idle phase and one load run per client count.
struct Results {
    name: &'static str,
    idle: Value,
    loads: Vec<Value>,
}

/// The idle phase, then a load run per client count, against a server on `port`.
fn measure(
    name: &'static str,
    load: &Path,
    server: &Process,
    port: u16,
    idle_path: &str,
    stats: &str,
    opts: &Options,
    until: Instant,
) -> Result<Results, String> {
    let port_s = port.to_string();
    let pid = server.pid().to_string();
    let idle = load_generator(
        load,
        &[
            "idle", "--port", &port_s, "--count", &opts.idle.to_string(), "--path", idle_path,
            "--server-pid", &pid,
        ]
        .map(String::from),
        Duration::from_secs(90),
        until,
    )
    .map_err(|e| format!("{name}, idle connections: {e}\n{name} log:\n{}", server.tail()))?;
    let mut loads = Vec::new();
    for &clients in &opts.clients {
        let result = load_generator(
            load,
            &[
                "load", "--port", &port_s, "--clients", &clients.to_string(), "--seconds",
                &opts.seconds.to_string(), "--symbols", &INSTRUMENTS.to_string(), "--server-pid",
                &pid, "--stats", stats,
            ]
            .map(String::from),
            Duration::from_secs_f64(90.0 + opts.seconds),
            until,
        )
        .map_err(|e| format!("{name}, {clients} clients: {e}\n{name} log:\n{}", server.tail()))?;
        eprintln!("{name}, {clients} clients: {result}");
        loads.push(result);
    }
    Ok(Results { name, idle, loads })
}

pub fn run(args: &[String]) -> Result<(), String> {
    let opts = Options::parse(args)?;
    let nofile = raise_nofile();
    let largest = opts.clients.iter().copied().max().unwrap_or(0).max(opts.idle);
    if nofile < largest as u64 + 256 {
        return Err(format!(
            "RLIMIT_NOFILE is {nofile}: {largest} connections need more descriptors (raise the hard limit)"
        ));
    }
    eprintln!("$ cargo build --release -p rltop-cli -p rltop-bench --bin rltop --bin bridge_load");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "rltop-cli", "-p", "rltop-bench"])
        .args(["--bin", "rltop", "--bin", "bridge_load"])
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build --release failed".into());
    }
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

    // The bridge: idle connections, the recording, the loads.
    let port = free_port()?;
    let mut bridge = Process::start(
        Command::new(&rltop).args([
            "bridge", "--port", &port.to_string(), "--source", "sim", "--instruments",
            &INSTRUMENTS.to_string(), "--rate", &opts.rate.to_string(), "--max-connections",
            &(largest + 100).to_string(),
        ]),
        dir.join("bridge.log"),
    )?;
    eprintln!("$ rltop bridge --port {port} --source sim --instruments {INSTRUMENTS} --rate {}", opts.rate);
    bridge
        .wait_for(port, "/healthz", true)
        .map_err(|e| format!("rltop bridge: {e}"))?;
    // The definitions come first; give the books a moment to fill before the recording.
    std::thread::sleep(Duration::from_secs(1));
    let bridge_idle = measure_idle_first(&load, &bridge, port, &opts, until)?;
    let recording = load_generator(
        &load,
        &[
            "record", "--port", &port.to_string(), "--seconds", &opts.record.to_string(),
            "--symbols", &INSTRUMENTS.to_string(), "--out", &events.to_string_lossy(),
        ]
        .map(String::from),
        Duration::from_secs_f64(opts.record + 30.0),
        until,
    )
    .map_err(|e| format!("recording: {e}\nbridge log:\n{}", bridge.tail()))?;
    eprintln!("recorded: {recording}");
    let mut bridge_results = measure("bridge", &load, &bridge, port, "", "/metrics", &Options {
        idle: 0,
        ..opts.clone_loads()
    }, until)
    .or_else(|e| Err(e))?;
    bridge_results.idle = bridge_idle;
    drop(bridge);

    // The Node peer, on the recording, at its pace, `E` stamped at send.
    let port = free_port()?;
    let mut node = Process::start(
        Command::new("node")
            .arg(peer_dir.join("server.js"))
            .args(["--port", &port.to_string(), "--events"])
            .arg(&events)
            .args(["--loop", "--stamp"]),
        dir.join("node.log"),
    )?;
    eprintln!("$ node bench/bridge-peer/server.js --port {port} --events {} --loop --stamp", events.display());
    node.wait_for(port, "/healthz", false)
        .map_err(|e| format!("node peer: {e}"))?;
    let node_results = measure(
        "node ws", &load, &node, port, "/stream?streams=idle@trade", "/healthz", &opts, until,
    )?;
    drop(node);

    let report = report(&opts, &recording, &bridge_results, &node_results);
    print!("\n{report}");
    let md = target_dir().join("bench-bridge.md");
    std::fs::write(&md, &report).map_err(|e| format!("{}: {e}", md.display()))?;
    eprintln!("\nwritten: {}", md.display());
    Ok(())
}
