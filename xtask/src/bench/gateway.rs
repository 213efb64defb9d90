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
//! 3. Gap-to-repair latency under 20 % loss: `cargo xtask e2e`'s setup (two network
//!    namespaces, a veth pair, nftables dropping increments in the subscriber's namespace;
//!    [`crate::e2e::loss_run`], not a copy), `rltop listen` once alone (snapshot recovery
//!    only) and once with `--gateway` against an `rltop gateway` in the publisher's
//!    namespace, same seed: the stale p50/p99 of each summary. Needs root; without it this
//!    part is skipped, loudly.
//!
//! Parts 1 and 2 run in `gateway_load` (xtask/src/bin/gateway_load.rs), built in release:
//! `cargo xtask` itself is a debug build, and the gateway's code measured unoptimised would
//! measure that. Part 3 runs the release `rltop` (`cargo build --release -p rltop-cli`).
//! Every child is bounded in time and killed on drop; everything after the builds takes
//! under a minute with the defaults (within [`BUDGET`]). The report also goes to
//! `target/bench-gateway.md`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::bridge::{build, free_port, target_dir, Process};
use crate::e2e::{self, GatewaySetup, Loss, LossRun};
use crate::process::run_bounded;

/// Everything after the builds.
const BUDGET: Duration = Duration::from_secs(240);
/// Loss on the increment groups, and the seed (`cargo xtask e2e` runs the same, seed 13).
const LOSS_PERCENT: u32 = 20;
const SEED: u64 = 13;

/// The TCP gateway: replay vs iperf3 on loopback, live fan-out to N clients, gap-to-repair
/// vs snapshot-only under loss (that part: root).
#[derive(clap::Parser)]
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

pub fn run(args: &[String]) -> Result<(), String> {
    let Some(opts) = crate::parse_args::<Options>("bench gateway", args)? else {
        return Ok(());
    };
    let root = e2e::is_root();
    let mut debian = vec![("iperf3", "iperf3")];
    if root {
        debian.extend([("ip", "iproute2"), ("nft", "nftables")]);
    }
    crate::debian::ensure_debian(&debian)?;
    build(&["-p", "rltop-cli"])?;
    build(&["-p", "xtask", "--bin", "gateway_load"])?;
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

/// Whether something listens on TCP `port` (IPv4 or IPv6), from /proc/net.
fn listening(port: u16) -> bool {
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|path| {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                f.len() > 3
                    && f[3] == "0A"
                    && f[1]
                        .rsplit(':')
                        .next()
                        .and_then(|p| u16::from_str_radix(p, 16).ok())
                        == Some(port)
            })
    })
}

/// The machine's (busy, stolen, total) jiffies, all cores, from /proc/stat.
fn machine() -> (f64, f64, f64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<f64> = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 8 {
        return (0.0, 0.0, 1.0);
    }
    let total: f64 = v[..8].iter().sum();
    (total - v[3] - v[4] - v[7], v[7], total)
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
    let port = free_port()?.to_string();
    eprintln!(
        "\n$ iperf3 -s -1 -p {port} & iperf3 -c 127.0.0.1 -p {port} -t {} -J",
        opts.seconds.round()
    );
    let server = Process::start(
        Command::new("iperf3").args(["-s", "-1", "-p", &port]),
        dir.join("iperf3-server.log"),
    )?;
    let t = Instant::now();
    while !listening(port.parse().expect("a port")) {
        if t.elapsed() > Duration::from_secs(10) {
            return Err(format!(
                "iperf3 -s did not listen within 10 s:\n{}",
                server.tail()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
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
                format!("rltop listen --gateway {}", e2e::GATEWAY_ADDR)
            } else {
                "rltop listen alone (snapshot recovery)".into()
            }
        );
        let run = e2e::loss_run(rltop, loss, SEED, dir, gateway)?;
        eprintln!("{run}");
        runs.push(run);
    }
    let gateway = runs.pop().expect("two runs");
    let alone = runs.pop().expect("two runs");
    Ok((alone, gateway))
}

// ---- the report ------------------------------------------------------------------------------

fn number(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN)
}

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

/// Bytes a second as `1.23 GB/s (9.8 Gbit/s)`.
fn bytes_rate(value: f64) -> String {
    format!("{:.2} GB/s ({:.1} Gbit/s)", value / 1e9, value * 8.0 / 1e9)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

/// CPU per thread name over a window (largest first), and the machine's busy and stolen
/// shares.
fn cost(run: &Value) -> String {
    let c = &run["cost"];
    let mut threads: Vec<(String, f64)> = c["cpu_percent"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.as_str() != "total")
                .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                .filter(|(_, v)| *v >= 0.5)
                .collect()
        })
        .unwrap_or_default();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    let list: Vec<String> = threads.iter().map(|(k, v)| format!("{k} {v:.0}")).collect();
    format!(
        "CPU {:.0} % of one core ({}), machine {:.0} % busy and {:.0} % stolen by the hypervisor (of both cores)",
        number(c, "/cpu_percent/total"),
        list.join(", "),
        number(c, "/machine_busy_percent"),
        number(c, "/machine_steal_percent"),
    )
}

/// Whether every client got every message, in order; if not, what was lost.
fn completeness(run: &Value) -> (bool, String) {
    let clients = number(run, "/clients") as u64;
    let complete = number(run, "/clients_complete") as u64;
    let missing = number(run, "/missing_messages") as u64;
    let gaps = number(run, "/gap_messages") as u64;
    let disorder = number(run, "/out_of_order_messages") as u64;
    let ended = run["ended"].as_object().map_or(0, |m| m.len());
    let ok = complete == clients && missing == 0 && gaps == 0 && disorder == 0 && ended == 0;
    let text = if ok {
        format!("yes: {complete} of {clients} clients, each every message in order")
    } else {
        format!(
            "**NO**: {complete} of {clients} clients complete, {missing} messages missing, {gaps} lost in gaps, {disorder} out of order; connections ended: {}",
            run["ended"]
        )
    };
    (ok, text)
}

fn report(
    opts: &Options,
    load: &Result<Value, String>,
    iperf: &Result<Iperf, String>,
    repair: &Option<Result<(LossRun, LossRun), String>>,
) -> String {
    let mut out = String::from("## TCP gateway (`cargo xtask bench gateway`)\n\n");
    let threads = load
        .as_ref()
        .map_or(f64::NAN, |v| number(v, "/gateway_threads"));
    if let Ok(v) = load {
        let f = &v["feed"];
        out.push_str(&format!(
            "Replay and fan-out: the gateway in-process (`rltop_gateway::start`, {threads} worker \
             threads) in `gateway_load` (release), fed by `Gateway::ingest` with the simulator's \
             datagrams made before any window ({} messages in {} datagrams, {:.0} bytes a message \
             on average; 4 instruments, one instrument group, 5 channels), clients \
             `rltop_gateway::client::Connection` on 2 threads of their own. Gateway, clients and \
             source share the machine's 2 cores (a VM). iperf3: one stream over 127.0.0.1, \
             {} s, just before and just after. Gap-to-repair: `cargo xtask e2e`'s namespaces, {LOSS_PERCENT} % \
             nftables loss on the increment groups, seed {SEED}, release `rltop`.\n\n",
            rate(number(f, "/messages")),
            rate(number(f, "/datagrams")),
            number(f, "/bytes") / number(f, "/messages"),
            opts.seconds.round(),
        ));
    }
    out.push_str(
        "| measurement | result | reference, same run | ratio | target |\n|---|---:|---:|---:|---|\n",
    );
    let mut notes = Vec::new();
    match (load, iperf) {
        (Ok(v), iperf) => {
            let r = &v["replay"];
            let bytes = number(r, "/bytes_per_s");
            let mut iperf_note = String::new();
            let (reference, ratio, target) = match iperf {
                Ok(i) => {
                    let fraction = bytes / i.bytes_per_s;
                    let runs: Vec<String> = i
                        .runs
                        .iter()
                        .map(|(b, busy, steal)| {
                            format!(
                                "{}, machine {busy:.0} % busy and {steal:.0} % stolen",
                                bytes_rate(*b)
                            )
                        })
                        .collect();
                    iperf_note = format!(
                        "* iperf3 (one stream, 127.0.0.1), before and after the replay and fan-out: {}; the reference is their mean.\n",
                        runs.join("; ")
                    );
                    let each: Vec<String> =
                        i.runs.iter().map(|r| format!("{:.2}", r.0 / 1e9)).collect();
                    (
                        format!(
                            "iperf3 loopback {} (mean of {} GB/s)",
                            bytes_rate(i.bytes_per_s),
                            each.join(" and ")
                        ),
                        format!("{fraction:.2} of iperf3"),
                        format!("≥ 0.50 of iperf3: {}", met(fraction >= 0.5)),
                    )
                }
                Err(e) => (format!("iperf3 failed: {e}"), "–".into(), "–".into()),
            };
            let clean = number(r, "/out_of_order_messages") == 0.0
                && number(r, "/incomplete_requests") == 0.0
                && number(r, "/walk_errors") == 0.0
                && r["rejected"].as_array().is_some_and(Vec::is_empty);
            out.push_str(&format!(
                "| replay, 1 connection, loopback TCP | {} msg/s, {} | {reference} | {ratio} | {target} |\n",
                rate(number(r, "/messages_per_s")),
                bytes_rate(bytes),
            ));
            notes.push(format!(
                "* Replay: window {} messages of the incremental channel (retention {}), {} \
                 messages a request, {} outstanding, {} requests in {:.2} s, {} messages ({:.0} MB); \
                 first bytes after {:.1} ms; {}; {}. Replay rate limit raised to 2 G/s for \
                 this (the default, 2 M messages a second a connection, would be the result). \
                 Ingest with no subscriber: {} msg/s.\n",
                rate(number(r, "/window_messages")),
                rate(number(r, "/window_messages")),
                rate(number(r, "/max_replay_count")),
                number(r, "/depth"),
                number(r, "/requests"),
                number(r, "/seconds"),
                rate(number(r, "/messages")),
                number(r, "/bytes") / 1e6,
                number(r, "/first_byte_ms"),
                if clean {
                    "every request complete, every message in sequence".to_string()
                } else {
                    format!(
                        "**errors**: {} rejected ({}), {} incomplete, {} out of sequence, {} unwalkable runs",
                        r["rejected"].as_array().map_or(0, Vec::len),
                        r["rejected"],
                        number(r, "/incomplete_requests"),
                        number(r, "/out_of_order_messages"),
                        number(r, "/walk_errors"),
                    )
                },
                cost(r),
                rate(number(r, "/ingest_messages_per_s")),
            ));
            notes.push(iperf_note);
            for (key, label) in [
                ("fanout_paced", "source paced by the slowest client"),
                ("fanout_fixed", "source at a fixed rate, not waiting"),
            ] {
                let f = &v[key];
                let (ok, complete) = completeness(f);
                let ingest = number(f, "/ingest_messages_per_s");
                let offered = ingest * number(f, "/clients");
                let delivered = number(f, "/delivered_messages_per_s");
                let pace = if key == "fanout_fixed" {
                    format!(
                        " (target {} msg/s ingested, 70 % of the paced run's)",
                        rate(number(f, "/pace"))
                    )
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "| live fan-out, {} clients, {label}{pace} | {} msg/s delivered ({}) | offered {} msg/s ({} ingested × {} clients) | {:.2} of offered | no loss: {} |\n",
                    number(f, "/clients"),
                    rate(delivered),
                    bytes_rate(number(f, "/delivered_bytes_per_s")),
                    rate(offered),
                    rate(ingest),
                    number(f, "/clients"),
                    delivered / offered,
                    met(ok),
                ));
                notes.push(format!(
                    "* Fan-out, {label}: {} messages ingested in {:.2} s{}{}, clients drained {:.2} s after the start; \
                     delivered {} messages in all; every client has every message: {complete}; \
                     gateway: {} forwarded, {} slow-consumer closes, {} bytes dropped; {}.\n",
                    rate(number(f, "/ingested_messages")),
                    number(f, "/source_seconds"),
                    match f["pace"].as_f64() {
                        Some(target) if ingest < 0.95 * target => format!(
                            " (**{:.0} % of the target rate**: the source itself was short of CPU)",
                            100.0 * ingest / target
                        ),
                        Some(_) => " (the target rate)".to_string(),
                        None => String::new(),
                    },
                    if f["feed_ran_out"].as_bool() == Some(true) {
                        " (**the feed ran out before the window ended**)"
                    } else {
                        ""
                    },
                    number(f, "/seconds"),
                    rate(number(f, "/delivered_messages")),
                    rate(number(f, "/gateway_forwarded_messages")),
                    number(f, "/gateway_slow_consumer_closes"),
                    number(f, "/gateway_dropped_bytes"),
                    cost(f),
                ));
            }
        }
        (Err(e), iperf) => {
            out.push_str(&format!(
                "| replay and fan-out | **failed**: {} | {} | – | – |\n",
                e.lines().next().unwrap_or(""),
                iperf.as_ref().map_or_else(
                    |e| format!("iperf3 failed: {e}"),
                    |i| format!("iperf3 loopback {}", bytes_rate(i.bytes_per_s))
                ),
            ));
        }
    }
    match repair {
        Some(Ok((alone, gateway))) => {
            let (a, g) = (&alone.listen.repairs, &gateway.listen.repairs);
            for (q, a_ms, g_ms) in [
                ("p50", a.stale_p50_ms, g.stale_p50_ms),
                ("p99", a.stale_p99_ms, g.stale_p99_ms),
            ] {
                let ms = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.3} ms"));
                let ratio = match (a_ms, g_ms) {
                    (Some(a), Some(g)) if g > 0.0 => format!("{:.1}× shorter", a / g),
                    _ => "–".into(),
                };
                out.push_str(&format!(
                    "| gap-to-repair, time stale {q}, {LOSS_PERCENT} % loss | {} with a gateway ({} repairs) | {} snapshot-only ({} recoveries) | {ratio} | – |\n",
                    ms(g_ms),
                    g.count,
                    ms(a_ms),
                    a.count,
                ));
            }
            notes.push(format!(
                "* Gap-to-repair, snapshot-only: {}, {} datagrams dropped; books equal the oracle's. `{}`\n",
                alone.setup,
                alone.dropped,
                alone.line.trim()
            ));
            notes.push(format!(
                "* Gap-to-repair, with `rltop gateway --source multicast` in the publisher's namespace: {}, {} datagrams dropped; books equal the oracle's. `{}`\n",
                gateway.setup,
                gateway.dropped,
                gateway.line.trim()
            ));
        }
        Some(Err(e)) => out.push_str(&format!(
            "| gap-to-repair, {LOSS_PERCENT} % loss | **failed**: {} | – | – | – |\n",
            e.lines().next().unwrap_or("")
        )),
        None => out.push_str(
            "| gap-to-repair | **SKIPPED: not root** (namespaces, nftables) | – | – | – |\n",
        ),
    }
    out.push_str(
        "\nStale: from a gap (or a refused replay) to the instrument's book live again, per \
         recovery, as `rltop listen` measures it. Fan-out: delivered is summed over the \
         clients, from the first message ingested until every client had every message; \
         offered is what the source ingested a second times the clients; every client checks \
         each channel's `seq_num` runs on by one and counts what it got. CPU: % of one core \
         over the window, user and kernel, by thread name (`rltop-gateway`: the gateway's \
         runtime; `client`: the clients; `source`: the ingest thread; `gateway_load`: the \
         replay client's).\n\nDetails:\n\n",
    );
    for n in notes {
        out.push_str(&n);
    }
    out
}
