//! The README's quick start for the TCP gateway, run as written on loopback: `rltop gateway
//! --source sim`, then `rltop listen --gateway ADDR --unicast --json` for 8 s. Nothing is
//! lost between them, so the stream the listener rebuilds its books from has no gap and no
//! duplicate, and a book recovers only once: from its first snapshot, the listener having
//! joined after the first increments.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A child process killed (and reaped) on drop, so a failing test leaves nothing running.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rltop() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rltop"))
}

/// A child's stream, line by line as it comes, read on a thread of its own (a full pipe
/// never stalls the child).
fn lines(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A counter of the gateway's `/metrics`, if it answers.
fn metric(metrics: &str, name: &str) -> Option<u64> {
    let mut s = std::net::TcpStream::connect(metrics).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// `rltop gateway --source sim` on free ports. Returns once its source has delivered
/// `messages` (read from `/metrics`): the gateway, its client address and its metrics
/// address.
fn gateway_serving(messages: u64) -> (Proc, String, String) {
    let mut child = rltop()
        .args(["gateway", "--source", "sim", "--listen", "127.0.0.1:0"])
        .args(["--metrics", "127.0.0.1:0", "--for", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("rltop gateway starts");
    let out = lines(child.stdout.take().unwrap());
    let gateway = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    let next_line = || {
        let left = deadline.saturating_duration_since(Instant::now());
        out.recv_timeout(left)
            .expect("rltop gateway says where it listens")
    };
    let first = next_line();
    let addr = first
        .strip_prefix("rltop gateway: listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("not the listening line: {first}"))
        .to_string();
    let second = next_line();
    let metrics = second
        .strip_prefix("rltop gateway: metrics at http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("not the metrics line: {second}"))
        .to_string();
    while metric(&metrics, "rltop_gateway_messages_in_total").is_none_or(|n| n < messages) {
        assert!(
            Instant::now() < deadline,
            "the gateway's source delivered fewer than {messages} messages in 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (gateway, addr, metrics)
}

/// Runs `rltop` with `args` to its end, within `limit`: its stdout lines and its stderr.
fn run_to_end(args: &[&str], limit: Duration) -> (Vec<String>, String) {
    let mut child = rltop()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rltop starts");
    let out = lines(child.stdout.take().unwrap());
    let err = lines(child.stderr.take().unwrap());
    let mut child = Proc(child);
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "rltop {args:?} ran past {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let err: Vec<String> = err.iter().collect();
    let err = err.join("\n");
    assert!(status.success(), "rltop {args:?}: {status}\n{err}");
    (out.iter().collect(), err)
}

/// What the listener's `--json` lines say, per instrument and in all.
#[derive(Default)]
struct Seen {
    gaps: Vec<String>,
    stale: BTreeMap<u64, Vec<String>>,
    /// The `order_book_seq` of each recovery.
    recovered: BTreeMap<u64, Vec<u64>>,
    /// The newest `order_book_seq` of each book.
    last: BTreeMap<u64, u64>,
    summary: Option<Value>,
}

fn read_events(lines: &[String]) -> Seen {
    let mut seen = Seen::default();
    let number = |v: &Value| match v {
        Value::String(s) => s.parse::<u64>().expect("a decimal number"),
        v => v.as_u64().expect("a number"),
    };
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let (kind, body) = v.as_object().unwrap().iter().next().unwrap();
        let symbol = || number(&body["symbol_id"]);
        match kind.as_str() {
            "gap" => seen.gaps.push(line.clone()),
            "stale" => seen
                .stale
                .entry(symbol())
                .or_default()
                .push(body["cause"].as_str().unwrap().to_string()),
            "recovered" => seen
                .recovered
                .entry(symbol())
                .or_default()
                .push(number(&body["order_book_seq"])),
            "book" => {
                seen.last.insert(symbol(), number(&body["order_book_seq"]));
            }
            "summary" => seen.summary = Some(body.clone()),
            _ => {}
        }
    }
    seen
}

#[test]
fn the_readme_gateway_quick_start_is_a_lossless_stream() {
    // The listener comes once the simulator is publishing, as the README's second command
    // does: it joins late, so each book starts from a snapshot.
    let (_gateway, addr, metrics) = gateway_serving(500);
    let args = [
        "listen",
        "--gateway",
        &addr,
        "--unicast",
        "--json",
        "--for",
        "8s",
    ];
    let (out, err) = run_to_end(&args, Duration::from_secs(40));
    let seen = read_events(&out);
    let notable: Vec<&String> = out
        .iter()
        .filter(|l| !l.starts_with("{\"book\"") && !l.starts_with("{\"trade\""))
        .take(40)
        .collect();
    let context = format!("{notable:#?}\n{err}");
    let summary = seen.summary.as_ref().expect("the last line is the summary");
    let count = |k: &str| summary[k].as_u64().unwrap_or_else(|| panic!("summary.{k}"));

    assert!(seen.gaps.is_empty(), "session gaps: {context}");
    assert_eq!(count("session_gaps"), 0, "{context}");
    assert_eq!(count("duplicates"), 0, "{context}");
    assert_eq!(count("rejected"), 0, "{context}");
    assert_eq!((count("instruments"), count("live")), (4, 4), "{context}");
    assert!(
        !seen.stale.is_empty(),
        "the listener did not join late: {context}"
    );
    for (symbol, causes) in &seen.stale {
        assert_eq!(
            causes,
            &["awaiting snapshot"],
            "instrument {symbol}: {context}"
        );
    }
    let once: Vec<u64> = seen.stale.keys().copied().collect();
    let recovered: Vec<u64> = seen.recovered.keys().copied().collect();
    assert_eq!(recovered, once, "recovered instruments: {context}");
    assert!(seen.recovered.values().all(|r| r.len() == 1), "{context}");
    assert_eq!(count("recoveries"), once.len() as u64, "{context}");
    // The books went on live past several snapshots (one every 100 increments).
    for (symbol, r) in &seen.recovered {
        let last = seen.last[symbol];
        assert!(
            last >= r[0] + 300,
            "instrument {symbol}: from {} to {last} only: {context}",
            r[0]
        );
    }
    assert_eq!(
        metric(&metrics, "rltop_gateway_messages_duplicate_total"),
        Some(0),
        "the simulator published a message twice"
    );
}
