//! `rltop listen`: joins every group of the channel plan (A and B lines), rebuilds the books
//! with the feed handler (SPEC.md §8, A/B arbitration), and shows them: a live top-of-book
//! table on a terminal, or `--json` lines of events. At exit, a summary (messages,
//! datagrams, gaps, recoveries, time stale, latency from the header timestamp to the
//! kernel's receive timestamp; as JSON too with `--json`, as the last line, or
//! `--summary-json FILE`; see [`summary`]) and, with
//! `--books-out`, the final books as JSON in the form `rltop sim --books` writes.
//!
//! Bad datagrams (garbage, truncated, corrupted) are counted, the first few reported with
//! their group and byte offset; they never stop the listener.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use rltop_book::Side;
use rltop_feed::decimal::decimal;
use rltop_feed::{Event, FeedHandler, StaleCause};
use rltop_net::mcast::{resolve_interface, Receiver};
use rltop_net::plan::{Line, Stream};

mod summary;
use summary::Summary;

use crate::util::{parse_duration, realtime_ns, stop_on_signals, stopped};

#[derive(Args)]
pub struct ListenArgs {
    /// Channel plan (default: the draft's; see `rltop plan`).
    #[arg(long)]
    plan: Option<PathBuf>,
    /// Interface to join on: a name (lo, eth0), one of its addresses, or `any` (by route).
    #[arg(long, default_value = "any")]
    iface: String,
    /// Stop after this long (e.g. 30s, 2m).
    #[arg(long = "for", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Stop once the publisher has ended the session (an end-of-session heartbeat on every
    /// statistics session), after a short grace for the other streams.
    #[arg(long)]
    until_end: bool,
    /// One JSON line per event instead of the table.
    #[arg(long)]
    json: bool,
    /// No table, only the summary.
    #[arg(long)]
    quiet: bool,
    /// At exit, write the summary as JSON (one object, the same as `--json`'s last line).
    #[arg(long)]
    summary_json: Option<PathBuf>,
    /// At exit, write the books (best 10 levels a side) as JSON.
    #[arg(long)]
    books_out: Option<PathBuf>,
    /// Record every datagram received to a pcap capture.
    #[arg(long)]
    pcap_out: Option<PathBuf>,
    /// Socket receive buffer, bytes.
    #[arg(long, default_value_t = 16 << 20)]
    rcvbuf: usize,
    /// A gateway (`rltop gateway`, HOST:PORT) to repair gaps from by replay, instead of
    /// waiting for the next snapshot.
    #[arg(long)]
    gateway: Option<String>,
    /// Take everything from the gateway over TCP: no multicast at all.
    #[arg(long, requires = "gateway")]
    unicast: bool,
    /// The gateway's token.
    #[arg(
        long,
        env = "RLTOP_GATEWAY_TOKEN",
        hide_env_values = true,
        default_value = ""
    )]
    token: String,
    /// Connections to the gateway (the pool: replays are spread over them, and one that
    /// fails is replaced while the others carry on).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pool: u64,
}

/// Header-to-receive latencies, ns: every message counted, to three significant digits, in
/// memory that does not grow with the run (an HDR histogram, about 700 KiB). A latency past
/// an hour (a clock stepped by hand) counts as an hour.
struct Latency(hdrhistogram::Histogram<u64>);

/// The longest latency told apart: an hour, in ns.
const LATENCY_MAX_NS: u64 = 3_600_000_000_000;

impl Latency {
    fn new() -> Latency {
        Latency(
            hdrhistogram::Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3)
                .expect("1 ns to an hour at 3 significant digits is a valid histogram"),
        )
    }

    fn add(&mut self, ns: u64) {
        self.0.saturating_record(ns);
    }

    /// p50, p99 and p99.9, or None before the first message.
    fn percentiles(&self) -> Option<[u64; 3]> {
        (!self.0.is_empty()).then(|| [0.5, 0.99, 0.999].map(|q| self.0.value_at_quantile(q)))
    }
}

/// What the table needs of an instrument's definition.
#[derive(Clone)]
struct Reference {
    name: String,
    price_exponent: i8,
    quantity_exponent: i8,
}

#[derive(Default)]
struct Counters {
    gaps: u64,
    recoveries: u64,
    rejected: u64,
    stale_since: BTreeMap<u32, u64>,
    stale_ns: u64,
    /// Each recovery's time stale (ns): from the gap (or refusal) to the live book again.
    repairs: Vec<u64>,
    trades: u64,
    /// Instrument definitions seen, by symbol id.
    reference: BTreeMap<u32, Reference>,
    /// Statistics sessions that have ended (SPEC.md §10, end of session).
    ended: HashSet<u64>,
    reported: usize,
    /// Writing the output (`--json`, `--pcap-out`) failed.
    io_error: Option<std::io::Error>,
}

/// What the loop does with each feed-handler event, whichever way its bytes came.
fn on_event(
    e: &Event<'_>,
    now: u64,
    origin: &dyn std::fmt::Display,
    c: &mut Counters,
    end_sessions: &HashSet<u64>,
    json: Option<&mut dyn Write>,
) {
    match e {
        Event::SessionGap { .. } => c.gaps += 1,
        Event::Recovered { symbol_id, .. } => {
            c.recoveries += 1;
            if let Some(since) = c.stale_since.remove(symbol_id) {
                c.stale_ns += now.saturating_sub(since);
                c.repairs.push(now.saturating_sub(since));
            }
        }
        Event::Stale { symbol_id, .. } => {
            c.stale_since.entry(*symbol_id).or_insert(now);
        }
        Event::Rejected { error } => {
            c.rejected += 1;
            if c.reported < 10 {
                c.reported += 1;
                eprintln!(
                    "rltop listen: {origin}: {} at byte {}: {error}",
                    error.name(),
                    error.offset()
                );
            }
        }
        Event::Trade(_) => c.trades += 1,
        Event::Instrument(d) => {
            c.reference.insert(
                d.symbol_id(),
                Reference {
                    name: d.symbol().to_string(),
                    price_exponent: d.price_exponent(),
                    quantity_exponent: d.quantity_exponent(),
                },
            );
        }
        // End of session (SPEC.md §10): a heartbeat with interval 0.
        Event::Heartbeat(h) if h.interval_ms() == 0 => {
            let session = h.header().session_id();
            if end_sessions.contains(&session) {
                c.ended.insert(session);
            }
        }
        _ => {}
    }
    if let Some(out) = json {
        if let Some(line) = json_line(e) {
            if let Err(err) = writeln!(out, "{line}") {
                c.io_error.get_or_insert(err);
            }
        }
    }
}

/// What the loop keeps from one datagram to the next.
struct State<'a> {
    args: &'a ListenArgs,
    endpoints: &'a [rltop_net::plan::Endpoint],
    /// The statistics sessions whose end of session ends `--until-end`.
    end_sessions: HashSet<u64>,
    feed: FeedHandler,
    latency: Latency,
    c: Counters,
    recovery: Option<rltop_gateway::Recovery>,
    pcap: Option<Pcap>,
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
}

impl State<'_> {
    /// One datagram off a multicast group: recorded, timed, then through the feed handler.
    fn datagram(&mut self, d: &rltop_net::mcast::Received<'_>) {
        let endpoint = &self.endpoints[d.group];
        let now = if d.rx_ns != 0 { d.rx_ns } else { realtime_ns() };
        if let Some(w) = self.pcap.as_mut() {
            let from = std::net::SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0);
            if let Err(e) = w.write(now, from, endpoint.addr, d.payload) {
                let e = std::io::Error::new(e.kind(), format!("pcap: {e}"));
                self.c.io_error.get_or_insert(e);
            }
        }
        if d.rx_ns != 0 {
            header_latencies(d.payload, d.rx_ns, &mut self.latency);
        }
        if d.truncated {
            self.c.rejected += 1;
            if self.c.reported < 10 {
                self.c.reported += 1;
                eprintln!(
                    "rltop listen: {}: a datagram larger than the receive buffer was cut",
                    endpoint.addr
                );
            }
        }
        let line = match endpoint.line {
            Line::A => rltop_feed::Line::A,
            Line::B => rltop_feed::Line::B,
        };
        let (group, json) = (endpoint.addr, self.args.json);
        let (c, out, end_sessions) = (&mut self.c, &mut self.out, &self.end_sessions);
        let recovery = &mut self.recovery;
        self.feed.on_datagram_from(line, d.payload, &mut |e| {
            if let Some(r) = recovery.as_mut() {
                r.on_event(&e);
            }
            let json: Option<&mut dyn Write> = if json { Some(&mut *out) } else { None };
            on_event(&e, now, &group, c, end_sessions, json);
        });
    }

    /// What the gateway sent (replays; with `--unicast`, everything), waiting up to `wait`.
    fn gateway_poll(&mut self, wait: Duration) {
        let Some(r) = self.recovery.as_mut() else {
            return;
        };
        let label = self.args.gateway.as_deref().unwrap_or_default();
        let (c, out, end_sessions, json) = (
            &mut self.c,
            &mut self.out,
            &self.end_sessions,
            self.args.json,
        );
        r.poll(&mut self.feed, wait, &mut |e| {
            let json: Option<&mut dyn Write> = if json { Some(&mut *out) } else { None };
            on_event(&e, realtime_ns(), &label, c, end_sessions, json);
        });
    }
}

/// Latency of every message of `payload` whose frame is whole: header timestamp → `rx_ns`.
/// (Framing only; the feed handler verifies the messages.)
fn header_latencies(payload: &[u8], rx_ns: u64, latency: &mut Latency) {
    let header_size = std::mem::size_of::<rltop::MessageHeader>();
    let mut at = 0;
    while let Some(bytes) = payload.get(at..at + header_size) {
        let h: &rltop::MessageHeader = rltop_runtime::bytemuck::from_bytes(bytes);
        let len = usize::from(h.length());
        if len < header_size || at + len > payload.len() {
            break;
        }
        if rx_ns >= h.timestamp() {
            latency.add(rx_ns - h.timestamp());
        }
        at += len;
    }
}

fn gateway_recovery(args: &ListenArgs) -> Result<Option<rltop_gateway::Recovery>, String> {
    let Some(addr) = &args.gateway else {
        return Ok(None);
    };
    let pool = rltop_gateway::Pool::start(rltop_gateway::ClientConfig {
        addr: addr.clone(),
        token: args.token.clone(),
        name: "rltop listen".into(),
        connections: args.pool as usize,
        subscribe: args.unicast.then(rltop_gateway::Subscription::everything),
        ..rltop_gateway::ClientConfig::default()
    })?;
    Ok(Some(rltop_gateway::Recovery::new(pool)))
}

type Pcap = rltop_capture::PcapWriter<std::io::BufWriter<std::fs::File>>;

fn pcap_out(path: Option<&PathBuf>) -> Result<Option<Pcap>, String> {
    let Some(p) = path else { return Ok(None) };
    let file = std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?;
    rltop_capture::PcapWriter::new(std::io::BufWriter::new(file))
        .map(Some)
        .map_err(|e| format!("{}: {e}", p.display()))
}

pub fn run(args: ListenArgs) -> Result<(), String> {
    let plan = crate::load_plan(args.plan.as_ref())?;
    let iface = resolve_interface(&args.iface)?;
    let endpoints = plan.endpoints();
    let groups: Vec<_> = endpoints.iter().map(|e| e.addr).collect();
    let mut rx = if args.unicast {
        None
    } else {
        Some(Receiver::join(&groups, iface, args.rcvbuf)?)
    };
    let mut st = State {
        args: &args,
        endpoints: &endpoints,
        end_sessions: endpoints
            .iter()
            .filter(|e| e.stream == Stream::Statistics)
            .map(|e| e.session)
            .collect(),
        feed: FeedHandler::default(),
        latency: Latency::new(),
        c: Counters::default(),
        recovery: gateway_recovery(&args)?,
        pcap: pcap_out(args.pcap_out.as_ref())?,
        out: std::io::BufWriter::new(std::io::stdout().lock()),
    };
    stop_on_signals()?;
    let started = Instant::now();
    // A duration past what the clock can hold is no deadline at all.
    let deadline = args.duration.and_then(|d| started.checked_add(d));
    let table = !args.json && !args.quiet && is_terminal();
    let mut ended_at: Option<Instant> = None;
    let mut last_draw = Instant::now();
    let (mut datagrams, mut bytes) = (0u64, 0u64);
    loop {
        if stopped() || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if ended_at.is_some_and(|t| t.elapsed() >= Duration::from_millis(300)) {
            break;
        }
        if let Some(rx) = rx.as_mut() {
            // With a gateway, come back soon for what it sends.
            let wait = Duration::from_millis(if st.recovery.is_some() { 2 } else { 50 });
            rx.poll(wait, &mut |d| st.datagram(&d))
                .map_err(|e| format!("receive: {e}"))?;
            (datagrams, bytes) = (rx.stats.datagrams, rx.stats.bytes);
            st.gateway_poll(Duration::ZERO);
        } else {
            st.gateway_poll(Duration::from_millis(50));
            bytes = st.recovery.as_ref().map_or(0, |r| r.stats().bytes);
        }
        if let Some(e) = st.c.io_error.take() {
            // `rltop listen --json | head`: a closed pipe ends the listener quietly.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                break;
            }
            return Err(format!("writing the output: {e}"));
        }
        if args.until_end
            && ended_at.is_none()
            && !st.end_sessions.is_empty()
            && st.c.ended.len() == st.end_sessions.len()
        {
            ended_at = Some(Instant::now());
        }
        if table && last_draw.elapsed() >= Duration::from_millis(250) {
            draw(&mut st.out, &st.feed, &st.c, started).map_err(|e| e.to_string())?;
            last_draw = Instant::now();
        }
    }
    report(st, datagrams, bytes, table)
}

/// At exit: the summary (line and JSON), and the books with `--books-out`.
fn report(st: State<'_>, datagrams: u64, bytes: u64, table: bool) -> Result<(), String> {
    let State {
        args,
        feed,
        latency,
        mut c,
        recovery,
        pcap,
        mut out,
        ..
    } = st;
    let _ = out.flush();
    drop(out);
    let end = realtime_ns();
    for since in c.stale_since.values() {
        c.stale_ns += end.saturating_sub(*since);
    }
    if let Some(w) = pcap {
        w.into_inner().flush().map_err(|e| format!("pcap: {e}"))?;
    }
    let stats = feed.stats();
    let mut symbols: Vec<u32> = feed.symbols().collect();
    symbols.sort_unstable();
    let not_live: Vec<u32> = symbols
        .iter()
        .copied()
        .filter(|&s| !feed.is_live(s))
        .collect();
    let summary = Summary {
        messages: stats.messages,
        datagrams,
        bytes,
        rejected: c.rejected,
        duplicates: stats.duplicates,
        session_gaps: c.gaps,
        recoveries: c.recoveries,
        stale_s: c.stale_ns as f64 / 1e9,
        instruments: symbols.len(),
        live: symbols.len() - not_live.len(),
        trades: c.trades,
        latency_ns: latency
            .percentiles()
            .map(|[p50, p99, p999]| summary::Percentiles { p50, p99, p999 }),
        repairs: summary::Repairs::of(std::mem::take(&mut c.repairs)),
        gateway: recovery.as_ref().map(summary::Gateway::of),
        not_live,
    };
    if args.json || args.quiet || table {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }
    if args.json {
        let _ = writeln!(std::io::stdout(), "{}", summary.to_json());
    }
    if let Some(path) = &args.summary_json {
        std::fs::write(path, summary.to_json() + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if !summary.not_live.is_empty() {
        eprintln!(
            "rltop listen: instruments not live at exit: {:?}",
            summary.not_live
        );
    }
    if let Some(path) = &args.books_out {
        let level = |l: &rltop_book::TopLevel| (l.price, l.qty, l.count);
        let oracle = rltop_sim::Oracle {
            books: symbols
                .iter()
                .filter_map(|&s| {
                    let b = feed.book(s)?;
                    Some((
                        s,
                        b.top(Side::Bid, rltop_publish::SNAPSHOT_DEPTH)
                            .iter()
                            .map(level)
                            .collect(),
                        b.top(Side::Ask, rltop_publish::SNAPSHOT_DEPTH)
                            .iter()
                            .map(level)
                            .collect(),
                    ))
                })
                .collect(),
        };
        std::fs::write(path, oracle.to_json())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}

fn draw(
    out: &mut impl Write,
    feed: &FeedHandler,
    c: &Counters,
    started: Instant,
) -> std::io::Result<()> {
    let stats = feed.stats();
    let mut symbols: Vec<u32> = feed.symbols().collect();
    symbols.sort_unstable();
    // Home, clear: the table refreshes in place.
    write!(out, "\x1b[H\x1b[2J")?;
    writeln!(
        out,
        "rltop listen  {:>6.1} s  {} messages  {} gaps  {} recoveries  {} rejected",
        started.elapsed().as_secs_f64(),
        stats.messages,
        c.gaps,
        c.recoveries,
        c.rejected
    )?;
    writeln!(
        out,
        "{:>12} {:>6} {:>14} {:>12} {:>12} {:>14} {:>10}",
        "symbol", "state", "bid qty", "bid", "ask", "ask qty", "book seq"
    )?;
    for s in symbols.iter().take(40) {
        let Some(b) = feed.book(*s) else { continue };
        // Decimal prices and quantities once the definition is known; raw integers before.
        let r = c.reference.get(s);
        let (pe, qe) = r.map_or((0, 0), |r| (r.price_exponent, r.quantity_exponent));
        let level = |l: rltop_book::TopLevel| {
            (
                decimal(i128::from(l.price), pe),
                decimal(i128::from(l.qty), qe),
            )
        };
        let (bp, bq) = b.best_bid().map_or_else(Default::default, level);
        let (ap, aq) = b.best_ask().map_or_else(Default::default, level);
        let name = r.map_or_else(|| s.to_string(), |r| r.name.clone());
        writeln!(
            out,
            "{:>12} {:>6} {:>14} {:>12} {:>12} {:>14} {:>10}",
            name,
            if feed.is_live(*s) { "live" } else { "stale" },
            bq,
            bp,
            ap,
            aq,
            feed.order_book_seq(*s)
                .map_or(String::new(), |q| q.to_string())
        )?;
    }
    out.flush()
}

/// One event as a JSON line.
fn json_line(e: &Event<'_>) -> Option<String> {
    use serde_json::json;
    let best = |l: Option<rltop_book::TopLevel>| {
        l.map(|l| json!([l.price.to_string(), l.qty.to_string()]))
    };
    Some(
        match e {
            Event::Book {
                symbol_id,
                order_book_seq,
                book,
            } => json!({"book": {"symbol_id": symbol_id, "order_book_seq": order_book_seq.to_string(),
                "bid": best(book.best_bid()), "ask": best(book.best_ask())}}),
            Event::Trade(t) => json!({"trade": {"symbol_id": t.symbol_id(), "trade_id": t.trade_id().to_string(),
                "price": t.price().to_string(), "quantity": t.quantity().to_string()}}),
            Event::Stale { symbol_id, cause } => json!({"stale": {"symbol_id": symbol_id, "cause": match cause {
                StaleCause::AwaitingSnapshot => "awaiting snapshot".to_string(),
                StaleCause::Gap { expected, received } => format!("gap: expected {expected}, received {received}"),
                StaleCause::Refused(err) => format!("refused: {err}"),
                StaleCause::BufferOverflow => "buffer overflow".to_string(),
            }}}),
            Event::Recovered {
                symbol_id,
                order_book_seq,
                replayed,
            } => json!({"recovered": {"symbol_id": symbol_id, "order_book_seq": order_book_seq.to_string(), "replayed": replayed}}),
            Event::SessionGap {
                session_id,
                expected,
                received,
            } => json!({"gap": {"session_id": session_id.to_string(), "expected": expected.to_string(), "received": received.to_string()}}),
            Event::Rejected { error } => json!({"rejected": {"kind": error.name(), "offset": error.offset(), "detail": error.to_string()}}),
            _ => return None,
        }
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::Latency;

    #[test]
    fn latency_percentiles_are_within_a_thousandth_of_the_exact_ranks() {
        let mut latency = Latency::new();
        assert_eq!(latency.percentiles(), None);
        // 1 µs .. 100 ms, one each: p50 = 50 ms, p99 = 99 ms, p99.9 = 99.9 ms.
        for us in 1..=100_000u64 {
            latency.add(us * 1000);
        }
        // A stepped clock: counted, as an hour.
        latency.add(u64::MAX);
        let got = latency.percentiles().unwrap();
        for (got, exact) in got.into_iter().zip([50_000_000u64, 99_000_000, 99_900_000]) {
            let error = got.abs_diff(exact) as f64 / exact as f64;
            assert!(error < 1e-3, "{got} for {exact}");
        }
    }
}
