//! `cargo xtask bench gateway [--seconds S] [--clients N]`: the TCP gateway (SPEC.md §11,
//! crate `rltop-gateway`) measured in one run, each figure beside the reference it is judged
//! by, taken in the same run on the same machine.
//!
//! Why these three, and why the references: the gateway exists to repair gaps by replay and
//! to serve sites without multicast.
//!
//! 1. Replay throughput over loopback TCP, one connection, against `iperf3` on the same
//!    loopback: what the kernel's TCP moves between two endpoints that do nothing else is
//!    the ceiling of any byte-stream server on this machine (a VM whose cores are shared and
//!    partly stolen: an absolute figure alone says little). iperf3 runs just before and
//!    just after the gateway's part and the mean is the reference, since the hypervisor's
//!    share of the cores moves from one minute to the next. Target: half of it.
//! 2. Live unicast fan-out to `--clients` (100) clients subscribed to every stream: messages
//!    delivered a second, summed over the clients, and every client checked to have every
//!    message, in order. Twice: the source held to the pace of the slowest client (the
//!    gateway's capacity), then at a fixed 70 % of that rate, not waiting for anyone (as a
//!    multicast feed does not), where a lagging client would be lost.
//! 3. Gap-to-repair latency under 20 % loss: the e2e tests' setup (two network
//!    namespaces, a veth pair, nftables dropping increments in the subscriber's namespace;
//!    [`crate::rltop_netlab::loss_run`], not a copy), `rltop listen` once alone (snapshot recovery
//!    only) and once with `--gateway` against an `rltop gateway` in the publisher's
//!    namespace, same seed: the stale p50/p99 of each summary. Needs root; without it this
//!    part is skipped, loudly.
//!
//! Parts 1 and 2 run in `gateway_load` (bench/src/bin/gateway_load.rs), built in release:
//! this harness is a debug build, and the gateway's code measured unoptimised would
//! measure that. Part 3 runs the release `rltop` (`cargo build --release -p rltop-cli`).
//! Every child is bounded in time and killed on drop; everything after the builds takes
//! under a minute with the defaults (within [`BUDGET`]). The report also goes to
//! `target/bench-gateway.md`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rltop_bench::report::machine;
use serde_json::Value;

use std::process::ExitCode;

use clap::Parser;
use rltop_devsupport::process::{cargo, run_bounded, Running};
use rltop_devsupport::{debian, is_root, probe, target_dir};
use rltop_netlab::{GatewaySetup, Loss, LossRun, GATEWAY_ADDR};

mod report;
use report::report;

/// Everything after the builds.
const BUDGET: Duration = Duration::from_secs(240);
/// Loss on the increment groups, and the seed (the e2e test `gateway::repairs_20_percent_loss` runs the same, seed 13).
const LOSS_PERCENT: u32 = 20;
const SEED: u64 = 13;

/// The TCP gateway: replay vs iperf3 on loopback, live fan-out to N clients, gap-to-repair
/// vs snapshot-only under loss (that part: root).
#[derive(clap::Parser)]
#[command(name = "bench-gateway", about)]
struct Options {
    /// Replay window, each fan-out window, and iperf3's -t, seconds (at least 1).
    #[arg(long, default_value_t = 5.0, value_parser = at_least_one)]
    seconds: f64,
    /// Live fan-out clients.
    #[arg(long, default_value_t = 100, value_parser = clients)]
    clients: usize,
}

fn clients(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("not a number ≥ 1".into()),
    }
}

fn at_least_one(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(n) if n >= 1.0 && n.is_finite() => Ok(n),
        _ => Err("not a number ≥ 1".into()),
    }
}

fn main() -> ExitCode {
    rltop_devsupport::exit(run(Options::parse()))
}

/// `cargo build --release` of one package (as the other harnesses build it, so that none
/// makes the others rebuild).
fn build(args: &[&str]) -> Result<(), String> {
    let all: Vec<&str> = ["build", "--release"].iter().chain(args).copied().collect();
    cargo(&all)
}

fn run(opts: Options) -> Result<(), String> {
    let root = is_root();
    let mut debian = vec![("iperf3", "iperf3")];
    if root {
        debian.extend([("ip", "iproute2"), ("nft", "nftables")]);
    }
    debian::ensure_debian(&debian)?;
    build(&["-p", "rltop-cli"])?;
    build(&["-p", "rltop-bench", "--bin", "gateway_load"])?;
    let release = target_dir().join("release");
    let dir = target_dir().join("bench-gateway");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let until = Instant::now() + BUDGET;

    // 1: the loopback's own figure, just before and just after the replay (this VM's share
    // of its cores varies from one minute to the next: the mean of the two brackets it).
    let before = iperf3(&opts, &dir, until);
    // 1 and 2: replay and fan-out, in the release-built measuring binary.
    let load = gateway_load(&release.join("gateway_load"), &opts, until);
    if let Err(e) = &load {
        eprintln!("bench gateway: replay and fan-out failed: {e}");
    }
    let after = iperf3(&opts, &dir, until);
    let iperf = Iperf::bracket(before, after);
    if let Err(e) = &iperf {
        eprintln!("bench gateway: iperf3 failed: {e}");
    }
    // 3: gap-to-repair in namespaces.
    let repair = if root {
        Some(repair(&release.join("rltop"), &dir))
    } else {
        eprintln!(
            "\n##########################################################################\n\
             # bench gateway: NOT ROOT: the gap-to-repair part (network namespaces,    #\n\
             # nftables loss) is SKIPPED. Run as root for the whole benchmark.         #\n\
             ##########################################################################\n"
        );
        None
    };
    if let Some(Err(e)) = &repair {
        eprintln!("bench gateway: gap-to-repair failed: {e}");
    }

    let report = report(&opts, &load, &iperf, &repair);
    print!("\n{report}");
    let md = target_dir().join("bench-gateway.md");
    std::fs::write(&md, &report).map_err(|e| format!("{}: {e}", md.display()))?;
    eprintln!("\nwritten: {}", md.display());
    let failed: Vec<&str> = [
        ("replay and fan-out", load.is_err()),
        ("iperf3", iperf.is_err()),
        ("gap-to-repair", matches!(repair, Some(Err(_)))),
    ]
    .iter()
    .filter(|(_, f)| *f)
    .map(|(what, _)| *what)
    .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("bench gateway: failed: {}", failed.join(", ")))
    }
}

/// Runs the measuring binary to completion within the budget: its JSON.
fn gateway_load(binary: &Path, opts: &Options, until: Instant) -> Result<Value, String> {
    let args = [
        "--seconds".to_string(),
        opts.seconds.to_string(),
        "--clients".into(),
        opts.clients.to_string(),
    ];
    eprintln!("\n$ gateway_load {}", args.join(" "));
    // Simulation and ingest (a few seconds), three windows, connections and drains.
    let limit = Duration::from_secs_f64(60.0 + 4.0 * opts.seconds)
        .min(until.saturating_duration_since(Instant::now()));
    let (status, out, err) = run_bounded(
        Command::new(binary).args(&args),
        &format!("gateway_load (the benchmark's budget is {BUDGET:?})"),
        limit,
    )?;
    eprint!("{err}");
    if !status.success() {
        return Err(format!("gateway_load failed ({status})"));
    }
    serde_json::from_str(out.lines().last().unwrap_or(""))
        .map_err(|e| format!("gateway_load printed no result ({e}):\n{out}"))
}

/// What `iperf3` measured: the mean of its runs, and each run's bytes a second with the
/// machine's busy and stolen shares meanwhile (the hypervisor's steal varies, and the
/// gateway's windows show theirs, so both are shown).
struct Iperf {
    bytes_per_s: f64,
    runs: Vec<(f64, f64, f64)>,
}

impl Iperf {
    /// The runs before and after the gateway's, together (either alone if the other failed).
    fn bracket(a: Result<Iperf, String>, b: Result<Iperf, String>) -> Result<Iperf, String> {
        let runs: Vec<(f64, f64, f64)> = [&a, &b]
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .flat_map(|i| i.runs.iter().copied())
            .collect();
        if runs.is_empty() {
            return a.and(b);
        }
        Ok(Iperf {
            bytes_per_s: runs.iter().map(|r| r.0).sum::<f64>() / runs.len() as f64,
            runs,
        })
    }
}

/// `iperf3` over loopback, one stream, `--seconds`: the receiver's bytes a second. (The
/// server is `-1`, one test; its port is watched in /proc rather than probed, which would
/// be its one client.)
fn iperf3(opts: &Options, dir: &Path, until: Instant) -> Result<Iperf, String> {
    let port = probe::free_port()?;
    eprintln!(
        "\n$ iperf3 -s -1 -p {port} & iperf3 -c 127.0.0.1 -p {port} -t {} -J",
        opts.seconds.round()
    );
    let mut server = Running::logged(
        Command::new("iperf3").args(["-s", "-1", "-p", &port.to_string()]),
        "iperf3 -s",
        &dir.join("iperf3-server.log"),
    )?;
    probe::until("listening", Duration::from_secs(10), || {
        server.alive()?;
        Ok(probe::listening(port))
    })
    .map_err(|e| format!("iperf3 -s: {e}:\n{}", server.log_tail()))?;
    let port = port.to_string();
    let secs = opts.seconds.round().max(1.0);
    let limit =
        Duration::from_secs_f64(secs + 20.0).min(until.saturating_duration_since(Instant::now()));
    let before = machine();
    let (status, out, err) = run_bounded(
        Command::new("iperf3").args([
            "-c",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            &format!("{secs}"),
            "-J",
        ]),
        "iperf3 -c",
        limit,
    )?;
    let after = machine();
    drop(server);
    let dt = (after.2 - before.2).max(1.0);
    let v: Value = serde_json::from_str(&out)
        .map_err(|e| format!("iperf3 -J printed no JSON ({e}, {status}):\n{out}{err}"))?;
    v.pointer("/end/sum_received/bits_per_second")
        .and_then(Value::as_f64)
        .map(|bits| Iperf {
            bytes_per_s: bits / 8.0,
            runs: vec![(
                bits / 8.0,
                100.0 * (after.0 - before.0) / dt,
                100.0 * (after.1 - before.1) / dt,
            )],
        })
        .ok_or_else(|| {
            format!("iperf3: no end.sum_received.bits_per_second ({status}):\n{out}{err}")
        })
}

/// Snapshot-only, then with a gateway: the two `rltop listen` runs under 20 % loss.
fn repair(rltop: &Path, dir: &Path) -> Result<(LossRun, LossRun), String> {
    let loss = Loss::Percent(LOSS_PERCENT);
    let mut runs = Vec::new();
    for gateway in [
        None,
        Some(GatewaySetup {
            retention_messages: 1 << 20,
        }),
    ] {
        eprintln!(
            "\n# gap-to-repair: {}, {}",
            loss.name(),
            if gateway.is_some() {
                format!("rltop listen --gateway {}", GATEWAY_ADDR)
            } else {
                "rltop listen alone (snapshot recovery)".into()
            }
        );
        let run = rltop_netlab::loss_run(rltop, loss, SEED, dir, gateway)?;
        eprintln!("{run}");
        runs.push(run);
    }
    let gateway = runs.pop().expect("two runs");
    let alone = runs.pop().expect("two runs");
    Ok((alone, gateway))
}
