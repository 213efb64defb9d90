//! The benchmark's report: the table (also `target/bench-bridge.md`), the targets met or
//! not, and where the time went in each window.

use std::process::Command;

use rltop_bench::report::rate;
use serde_json::Value;

use super::{Options, Results, INSTRUMENTS};

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

pub(super) fn report(
    opts: &Options,
    recording: &Value,
    bridge: &Results,
    node: &Results,
) -> String {
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
