//! `rltop publish`: the reference publisher on the channel plan's multicast groups.
//!
//! Sources of order-level events: the embedded simulator (`--source sim`, the default: its
//! matching engines are the exchange) or a capture (`--source pcap:FILE`: the capture's
//! increments, trades, statistics and definitions turned back into events and published
//! anew, with this publisher's numbering and cycles). Pace: the source's own clock
//! (default), `--rate N` events a second, or `--flat`. Clock in the headers: the wall clock,
//! or `--clock fixed`: the source's time, so that every backend sends the same bytes for the
//! same seed. Backends: `kernel` (default) and `dpdk` (built with the `dpdk` feature).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use rltop_net::mcast::{check_route, resolve_interface, SendMode};
use rltop_publish::transport::Kernel;
use rltop_publish::{Event, PublishError, Publisher, Transport};

use crate::util::{parse_duration, realtime_ns, stop_on_signals, stopped};
use crate::MarketArgs;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Kernel UDP sockets.
    Kernel,
    /// DPDK (needs a build with `--features dpdk` and `--eal`).
    Dpdk,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Clock {
    /// Header timestamps from the wall clock.
    System,
    /// Header timestamps from the source (simulator or capture): reproducible bytes.
    Fixed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Send {
    /// `sendmmsg`: many datagrams a system call.
    Sendmmsg,
    /// One `sendto` a datagram.
    Sendto,
    /// `sendmmsg` with UDP GSO: runs of equal-size datagrams to a group as one buffer.
    Gso,
}

#[derive(Args)]
pub struct PublishArgs {
    /// Where events come from: `sim` (the embedded simulator) or `pcap:FILE`.
    #[arg(long, default_value = "sim", value_parser = crate::source_arg::publish)]
    source: crate::source_arg::SourceArg,
    /// Channel plan (default: the draft's; see `rltop plan`).
    #[arg(long)]
    plan: Option<PathBuf>,
    /// Interface to send on: a name (lo, eth0), one of its addresses, or `any` (by route).
    #[arg(long, default_value = "any")]
    iface: String,
    /// Stop after this long (e.g. 30s, 2m); the simulator then runs until stopped.
    #[arg(long = "for", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Events a second (default: the source's own pace).
    #[arg(long, conflicts_with = "flat")]
    rate: Option<f64>,
    /// As fast as possible.
    #[arg(long)]
    flat: bool,
    /// Header timestamps.
    #[arg(long, value_enum, default_value_t = Clock::System)]
    clock: Clock,
    #[arg(long, value_enum, default_value_t = Backend::Kernel)]
    backend: Backend,
    /// DPDK EAL arguments, e.g. "--no-huge -m 256 --no-pci --vdev net_null0".
    #[arg(long, allow_hyphen_values = true)]
    eal: Option<String>,
    /// DPDK backend: IPv4 source address and UDP port of the frames (an address on the
    /// port's network that is not the receivers' own).
    #[arg(long, default_value = "198.18.0.1:40000")]
    src: std::net::SocketAddrV4,
    /// Kernel backend: how datagrams are handed to the kernel.
    #[arg(long, value_enum, default_value_t = Send::Sendmmsg)]
    send: Send,
    /// Seconds to keep the cycles going after the source ends, before the end of session.
    #[arg(long, default_value_t = 2.0)]
    tail: f64,
    /// Write the source's final books (simulator: the engines') as JSON.
    #[arg(long)]
    books: Option<PathBuf>,
    #[command(flatten)]
    market: MarketArgs,
}

/// Where the events come from.
enum Source {
    Sim(rltop_sim::Market),
    Capture {
        events: std::vec::IntoIter<(u64, Event)>,
        refusals_expected: bool,
    },
}

impl Source {
    /// The next batch of events with the source's time; None at the end.
    fn next(&mut self, out: &mut Vec<Event>) -> Option<u64> {
        match self {
            Source::Sim(market) => market.step(out).then(|| market.now()),
            Source::Capture { events, .. } => {
                let (t, e) = events.next()?;
                out.push(e);
                Some(t)
            }
        }
    }
}

pub fn run(args: PublishArgs) -> Result<(), String> {
    let plan = crate::load_plan(args.plan.as_ref())?;
    if let Some(r) = args.rate {
        if !(1e-3..=1e10).contains(&r) {
            return Err(format!(
                "--rate {r:e}: must be 0.001 to 1e10 events a second"
            ));
        }
    }
    if !(0.0..=3600.0).contains(&args.tail) {
        return Err(format!("--tail {}: must be 0 to 3600 seconds", args.tail));
    }
    let source = open_source(&args)?;
    match args.backend {
        Backend::Kernel => {
            let iface = resolve_interface(&args.iface)?;
            for e in plan.endpoints() {
                check_route(e.addr, iface)?;
            }
            let mode = match args.send {
                Send::Sendmmsg => SendMode::SendMmsg,
                Send::Sendto => SendMode::SendTo,
                Send::Gso => SendMode::Gso,
            };
            let transport = Kernel::new(iface, plan.ttl, plan.loopback, mode)
                .map_err(|e| format!("cannot open a socket: {e}"))?;
            drive(&mut Publisher::new(plan, transport), source, &args)
        }
        Backend::Dpdk => dpdk(plan, source, &args),
    }
}

#[cfg(not(feature = "dpdk"))]
fn dpdk(_: rltop_net::Plan, _: Source, _: &PublishArgs) -> Result<(), String> {
    Err("this rltop was built without DPDK: build it with `cargo build --release -p rltop-cli --features dpdk` (needs Debian's libdpdk-dev)".into())
}

#[cfg(feature = "dpdk")]
fn dpdk(plan: rltop_net::Plan, source: Source, args: &PublishArgs) -> Result<(), String> {
    let eal = args.eal.as_deref().ok_or(
        "--backend dpdk needs --eal \"<EAL arguments>\", e.g. --eal \"--no-huge -m 256 --no-pci --vdev net_null0\"",
    )?;
    let transport = rltop_publish::transport::Dpdk::open(eal, args.src, &plan)?;
    let mut publisher = Publisher::new(plan, transport);
    let result = drive(&mut publisher, source, args);
    let stats = publisher.transport_mut().close()?;
    eprintln!(
        "rltop publish: DPDK: {} frames ({} bytes) in {} bursts, {} tx retries",
        stats.frames, stats.bytes, stats.bursts, stats.tx_retries
    );
    result
}

fn open_source(args: &PublishArgs) -> Result<Source, String> {
    use crate::source_arg::SourceArg;
    match &args.source {
        SourceArg::Sim => {
            let mut cfg = args.market.config()?;
            if args.duration.is_some() && !user_gave_events() {
                // With --for the simulator runs until the time is up.
                cfg.events = u64::MAX;
            }
            Ok(Source::Sim(rltop_sim::Market::new(cfg)))
        }
        SourceArg::Pcap(path) => capture_events(&path.to_string_lossy()),
        other => Err(format!(
            "--source {other:?}: the publisher takes sim or pcap:FILE"
        )),
    }
}

fn user_gave_events() -> bool {
    std::env::args().any(|a| a == "--events" || a.starts_with("--events="))
}

/// A capture's order-level events, in capture order, with their header timestamps: the
/// increments (an execution's taker from its `Trade`), the trades no execution accounts
/// for, definitions and statistics. Snapshots and heartbeats are the publisher's own.
fn capture_events(path: &str) -> Result<Source, String> {
    use rltop::Message as M;
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut reader =
        rltop_capture::PcapReader::new(BufReader::new(file)).map_err(|e| format!("{path}: {e}"))?;
    let mut datagrams = Vec::new();
    for p in reader.by_ref() {
        datagrams.push(p.map_err(|e| format!("{path}: {e}"))?.payload);
    }
    crate::util::warn_fragments("publish", path, reader.fragments_skipped());
    // Takers by trade id, and which trades an execution accounts for.
    let mut takers = HashMap::new();
    let mut executed = std::collections::HashSet::new();
    let mut bad = 0u64;
    for d in &datagrams {
        for m in rltop::messages(d) {
            match m {
                Ok(M::Trade(t)) => {
                    takers.insert(t.trade_id(), t.taker_order_id());
                }
                Ok(M::ExecuteOrder(e)) => {
                    executed.insert(e.trade_id());
                }
                Ok(_) => {}
                Err(_) => bad += 1,
            }
        }
    }
    if bad > 0 {
        return Err(format!(
            "{path}: {bad} message(s) fail to decode (see `rltop dump {path}`)"
        ));
    }
    let mut events = Vec::new();
    let mut first_book_seq: HashMap<u32, u64> = HashMap::new();
    // A capture of A and B lines holds every message twice: the first copy counts.
    let mut seen = std::collections::HashSet::new();
    for d in &datagrams {
        for m in rltop::messages(d).flatten() {
            let h = m.header();
            if !seen.insert((h.session_id(), h.seq_num())) {
                continue;
            }
            let t = h.timestamp();
            let enum_err = |e: rltop_runtime::InvalidEnum| format!("{path}: {e}");
            if let Some((symbol_id, seq)) = book_seq(&m) {
                first_book_seq.entry(symbol_id).or_insert(seq);
            }
            let event = match m {
                M::AddOrder(a) => Event::Add {
                    symbol_id: a.symbol_id(),
                    order_id: a.order_id(),
                    side: a.side().map_err(enum_err)?,
                    price: a.price(),
                    quantity: a.quantity(),
                    flags: a.flags(),
                },
                M::ModifyOrder(m) => Event::Modify {
                    symbol_id: m.symbol_id(),
                    order_id: m.order_id(),
                    price: m.new_price(),
                    quantity: m.new_quantity(),
                },
                M::DeleteOrder(x) => Event::Cancel {
                    symbol_id: x.symbol_id(),
                    order_id: x.order_id(),
                    reason: x.delete_reason().map_err(enum_err)?,
                },
                M::ExecuteOrder(x) => Event::Execute {
                    symbol_id: x.symbol_id(),
                    order_id: x.order_id(),
                    quantity: x.executed_quantity(),
                    trade_id: x.trade_id(),
                    taker_order_id: takers.get(&x.trade_id()).copied().unwrap_or(0),
                },
                M::Trade(x) if !executed.contains(&x.trade_id()) => Event::Trade {
                    symbol_id: x.symbol_id(),
                    trade_id: x.trade_id(),
                    price: x.price(),
                    quantity: x.quantity(),
                    taker_side: x.taker_side().map_err(enum_err)?,
                    maker_order_id: x.maker_order_id(),
                    taker_order_id: x.taker_order_id(),
                },
                M::InstrumentDefinition(x) => Event::Instrument(Box::new(*x)),
                M::DailyStatistics(x) => Event::Daily(Box::new(*x)),
                M::TickerUpdate(x) => Event::Ticker(Box::new(*x)),
                M::KlineUpdate(x) => Event::Kline(Box::new(*x)),
                M::LiquidationEvent(x) => Event::Liquidation(Box::new(*x)),
                _ => continue,
            };
            events.push((t, event));
        }
    }
    if events.is_empty() {
        return Err(format!("{path}: no order-level events in the capture"));
    }
    // Streams' datagrams interleave in a capture as they were sent, not as their messages
    // were made: in time order again (stable: one time keeps its capture order).
    events.sort_by_key(|(t, _)| *t);
    // A capture that joined a session late cannot be re-published order by order.
    let refusals_expected = first_book_seq.values().any(|&s| s != 1);
    if refusals_expected {
        eprintln!(
            "rltop publish: warning: {path} does not start at the beginning of every instrument's book; increments on orders it never saw will be refused"
        );
    }
    Ok(Source::Capture {
        events: events.into_iter(),
        refusals_expected,
    })
}

/// An increment's (symbol id, order_book_seq).
fn book_seq(m: &rltop::Message<'_>) -> Option<(u32, u64)> {
    use rltop::Message as M;
    Some(match m {
        M::AddOrder(x) => (x.symbol_id(), x.order_book_seq()),
        M::ModifyOrder(x) => (x.symbol_id(), x.order_book_seq()),
        M::DeleteOrder(x) => (x.symbol_id(), x.order_book_seq()),
        M::ExecuteOrder(x) => (x.symbol_id(), x.order_book_seq()),
        _ => return None,
    })
}

/// Runs the source through the publisher until it ends, `--for` expires or a signal comes;
/// then the tail and the end of session.
fn drive<T: Transport>(
    publisher: &mut Publisher<T>,
    mut source: Source,
    args: &PublishArgs,
) -> Result<(), String> {
    stop_on_signals()?;
    let started = Instant::now();
    let mut run = Run {
        publisher,
        args,
        events: Vec::new(),
        refused: 0,
        first_refusal: None,
        now_ns: 0,
    };
    let last_source_ns = run.live(&mut source, started)?;
    run.tail(&mut source, last_source_ns)?;
    run.publisher
        .end_session(run.now_ns)
        .map_err(|e| e.to_string())?;
    run.report(&source, started)
}

/// A run of the publisher, between its phases: live, the tail, the report.
struct Run<'a, T: Transport> {
    publisher: &'a mut Publisher<T>,
    args: &'a PublishArgs,
    events: Vec<Event>,
    /// Events the publisher's book refused, and the first one's description.
    refused: u64,
    first_refusal: Option<String>,
    /// The clock of the last datagrams, ns.
    now_ns: u64,
}

impl<T: Transport> Run<'_, T> {
    /// The time the datagrams of an event at `source_ns` carry.
    fn clock(&self, source_ns: u64) -> u64 {
        match self.args.clock {
            Clock::Fixed => source_ns,
            Clock::System => realtime_ns(),
        }
    }

    /// Publishes the waiting events at `now_ns`.
    fn publish(&mut self, now_ns: u64) -> Result<(), String> {
        self.now_ns = now_ns;
        publish(
            self.publisher,
            &mut self.events,
            now_ns,
            &mut self.refused,
            &mut self.first_refusal,
        )
    }

    /// The source at its pace (or `--rate`, or flat out) until it ends, `--for` expires or
    /// a signal comes. Returns the last event's source time.
    fn live(&mut self, source: &mut Source, started: Instant) -> Result<u64, String> {
        let args = self.args;
        // A duration past what the clock can hold is no deadline at all.
        let deadline = args.duration.and_then(|d| started.checked_add(d));
        let mut first_source_ns = None;
        let mut last_source_ns = 0;
        let mut n_events = 0u64;
        if let Source::Sim(market) = &source {
            market.definitions(&mut self.events);
            self.publish(self.clock(market.now()))?;
        }
        let mut poll_at = Instant::now();
        loop {
            if stopped() || deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let Some(source_ns) = source.next(&mut self.events) else {
                break;
            };
            n_events += self.events.len() as u64;
            last_source_ns = source_ns;
            let t0 = *first_source_ns.get_or_insert(source_ns);
            if args.clock == Clock::Fixed {
                // On the source's clock every step is a moment the cycles may fall due and
                // held datagrams leave, before the step's events and before any wait: the
                // bytes are a function of the source alone, and nothing is held through a
                // pause.
                self.publisher.poll(source_ns).map_err(|e| e.to_string())?;
            }
            // Pace.
            let due = if args.flat {
                None
            } else if let Some(rate) = args.rate {
                Duration::try_from_secs_f64(n_events as f64 / rate).ok()
            } else {
                Some(Duration::from_nanos(source_ns.saturating_sub(t0)))
            };
            if let Some(wait) = due.and_then(|due| due.checked_sub(started.elapsed())) {
                self.wait(wait)?;
            }
            self.publish(self.clock(source_ns))?;
            if args.clock == Clock::System && poll_at.elapsed() >= Duration::from_millis(1) {
                self.publisher
                    .poll(self.now_ns)
                    .map_err(|e| e.to_string())?;
                poll_at = Instant::now();
            }
        }
        Ok(last_source_ns)
    }

    /// Waits of a millisecond or less are not slept (a sleep is ~50 µs late, and the next
    /// events catch up); longer ones sleep.
    fn wait(&mut self, wait: Duration) -> Result<(), String> {
        if wait > Duration::from_millis(1) {
            if self.args.clock == Clock::System {
                // Going idle: nothing more to pack, so nothing waits out the hold.
                let now = realtime_ns();
                self.publisher.poll(now).map_err(|e| e.to_string())?;
                self.publisher.flush(now).map_err(|e| e.to_string())?;
            }
            std::thread::sleep(wait);
        }
        Ok(())
    }

    /// The tail: cycles go on, so subscribers that lost the end recover. A fixed number of
    /// 50 ms steps, so a fixed clock gives the same bytes however the process is scheduled.
    fn tail(&mut self, source: &mut Source, last_source_ns: u64) -> Result<(), String> {
        let steps = (self.args.tail.max(0.0) * 20.0).ceil() as u64;
        let mut tail_source_ns = last_source_ns.max(self.now_ns);
        for _ in 0..steps {
            if stopped() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            tail_source_ns += 50_000_000;
            if let Source::Sim(market) = source {
                market.idle(50_000_000, &mut self.events);
                tail_source_ns = market.now();
                self.publish(self.clock(tail_source_ns))?;
            }
            self.now_ns = self.clock(tail_source_ns);
            self.publisher
                .poll(self.now_ns)
                .map_err(|e| e.to_string())?;
            if self.args.clock == Clock::System {
                self.publisher
                    .flush(self.now_ns)
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    /// The summary line, the oracle's books with `--books`, and the refusals: an error
    /// unless the capture was known to start mid-book.
    fn report(self, source: &Source, started: Instant) -> Result<(), String> {
        let stats = self.publisher.stats();
        eprintln!(
            "rltop publish: {} events, {} messages in {} datagrams ({} bytes, {} sends), {} snapshots, {} heartbeats, {:.1} s",
            stats.events,
            stats.messages,
            stats.datagrams,
            stats.bytes,
            stats.batches,
            stats.snapshots,
            stats.heartbeats,
            started.elapsed().as_secs_f64()
        );
        if let Some(path) = &self.args.books {
            let oracle = match source {
                Source::Sim(market) => market.oracle(),
                Source::Capture { .. } => publisher_books(self.publisher),
            };
            std::fs::write(path, oracle.to_json())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        if self.refused > 0 {
            let expected = matches!(
                source,
                Source::Capture {
                    refusals_expected: true,
                    ..
                }
            );
            let msg = format!(
                "{} event(s) refused by the publisher's book, the first: {}",
                self.refused,
                self.first_refusal.unwrap_or_default()
            );
            if !expected {
                return Err(msg);
            }
            eprintln!("rltop publish: {msg}");
        }
        Ok(())
    }
}

fn publish<T: Transport>(
    publisher: &mut Publisher<T>,
    events: &mut Vec<Event>,
    now_ns: u64,
    refused: &mut u64,
    first_refusal: &mut Option<String>,
) -> Result<(), String> {
    for e in events.drain(..) {
        match publisher.publish(&e, now_ns) {
            Ok(()) => {}
            Err(PublishError::Send(e)) => return Err(format!("send failed: {e}")),
            Err(e) => {
                *refused += 1;
                first_refusal.get_or_insert_with(|| e.to_string());
            }
        }
    }
    Ok(())
}

/// The publisher's books in the oracle's form.
fn publisher_books<T: Transport>(publisher: &Publisher<T>) -> rltop_sim::Oracle {
    let mut symbols: Vec<u32> = publisher.symbols().collect();
    symbols.sort_unstable();
    let levels = |book: &rltop_book::Book, side| {
        book.top(side, rltop_publish::SNAPSHOT_DEPTH)
            .into_iter()
            .map(|l| (l.price, l.qty, l.count))
            .collect()
    };
    rltop_sim::Oracle {
        books: symbols
            .into_iter()
            .filter_map(|s| {
                let b = publisher.book(s)?;
                Some((
                    s,
                    levels(b, rltop_book::Side::Bid),
                    levels(b, rltop_book::Side::Ask),
                ))
            })
            .collect(),
    }
}
