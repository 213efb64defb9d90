//! The benchmark's report: each figure beside its reference, the targets met or not, and
//! where the time went.

use rltop_bench::report::rate;
use serde_json::Value;

use super::{Iperf, Options, LOSS_PERCENT, SEED};
use rltop_netlab::LossRun;

fn number(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN)
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

pub(super) fn report(
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
             {} s, just before and just after. Gap-to-repair: the e2e tests' namespaces, {LOSS_PERCENT} % \
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
