//! Where a consumer's RLTOP datagrams come from — the bridge's and the gateway's alike: the
//! embedded simulator, a channel plan's multicast groups, a capture, or Redis pub/sub. Each
//! source runs on a thread of its own and hands [`Input`]s to its consumer over a bounded
//! channel: a source faster than its consumer waits (the simulator, a capture) or, on
//! sockets, lets the kernel drop what does not fit, which a feed handler then sees as a gap
//! and recovers from like any other loss.

mod redis_pubsub;

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rltop_net::plan::{Line, Plan, Stream};

/// What a source says.
#[derive(Debug)]
pub enum Input {
    /// One datagram of RLTOP messages, and the stream of the plan it came on (when known).
    Datagram {
        stream: Option<Stream>,
        line: Line,
        bytes: Bytes,
    },
    /// A Redis pub/sub message on a channel that does not carry datagrams.
    Redis { channel: String, payload: Bytes },
    /// The source's own state changed.
    State(SourceState),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceState {
    /// Connected (or reading) and delivering.
    Up,
    /// Connected again after the source was lost (Redis): delivering, and counted.
    Reconnected,
    /// Cannot deliver now (Redis down, reconnecting): the reason.
    Down(String),
    /// The source has nothing more (a capture's end, a finite simulation).
    Ended,
}

/// A source, as `--source` names it.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    /// The embedded simulator through the reference publisher, in real time.
    Sim(SimSpec),
    /// The channel plan's multicast groups, joined on `iface`.
    Multicast { plan: Plan, iface: String },
    /// A capture, replayed at its recorded pace × `speed` (0: as fast as possible).
    Pcap {
        path: PathBuf,
        plan: Plan,
        speed: f64,
    },
    /// Redis pub/sub.
    Redis(RedisSpec),
}

#[derive(Debug, Clone)]
pub struct SimSpec {
    pub plan: Plan,
    pub seed: u64,
    pub instruments: u32,
    /// Order-flow events a second.
    pub rate: f64,
    /// Stop after this many events (None: run until stopped).
    pub events: Option<u64>,
    /// Symbols of the first instruments ([`rltop_sim::Config::symbols`]).
    pub symbols: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RedisSpec {
    pub url: String,
    /// Channel patterns to listen to (PSUBSCRIBE).
    pub patterns: Vec<String>,
    /// Channels named `<prefix><stream key>` carry RLTOP datagrams of that stream of the
    /// plan (`rltop:incremental`, …); they feed the books. Every other channel is forwarded
    /// to `/redis` clients in the envelope `{channel, payload, timestamp}`.
    pub datagram_prefix: String,
}

impl SourceSpec {
    /// What `/healthz` and the status events call it.
    pub fn describe(&self) -> String {
        match self {
            SourceSpec::Sim(_) => "sim".into(),
            SourceSpec::Multicast { iface, .. } => format!("multicast ({iface})"),
            SourceSpec::Pcap { path, .. } => format!("pcap:{}", path.display()),
            SourceSpec::Redis(r) => r.url.clone(),
        }
    }

    /// Starts the source's thread.
    pub fn start(
        self,
        tx: SyncSender<Input>,
        stop: Arc<AtomicBool>,
    ) -> Result<std::thread::JoinHandle<()>, String> {
        let name = format!("source {}", self.describe());
        let run: Box<dyn FnOnce() + Send> = match self {
            SourceSpec::Sim(spec) => {
                rltop_sim::Config {
                    symbols: spec.symbols.clone(),
                    ..rltop_sim::Config::default()
                }
                .check()?;
                Box::new(move || sim(spec, &tx, &stop))
            }
            SourceSpec::Pcap { path, plan, speed } => {
                // Read (and check) up front: a bad file is an error of the command.
                let packets = read_capture(&path)?;
                Box::new(move || pcap(packets, &plan, speed, &tx, &stop))
            }
            SourceSpec::Multicast { plan, iface } => {
                let addr = rltop_net::mcast::resolve_interface(&iface)?;
                let endpoints = plan.endpoints();
                let groups: Vec<_> = endpoints.iter().map(|e| e.addr).collect();
                let rx = rltop_net::mcast::Receiver::join(&groups, addr, 16 << 20)?;
                Box::new(move || multicast(rx, endpoints, &tx, &stop))
            }
            SourceSpec::Redis(spec) => Box::new(move || crate::redis_pubsub::run(spec, &tx, &stop)),
        };
        std::thread::Builder::new()
            .name(name)
            .spawn(run)
            .map_err(|e| format!("cannot start the source thread: {e}"))
    }
}

/// Destination address → (stream, line) of the plan.
fn routes(plan: &Plan) -> HashMap<SocketAddrV4, (Stream, Line)> {
    plan.endpoints()
        .into_iter()
        .map(|e| (e.addr, (e.stream, e.line)))
        .collect()
}

fn send(tx: &SyncSender<Input>, input: Input) -> bool {
    tx.send(input).is_ok()
}

pub use rltop_net::realtime_ns;

fn sim(spec: SimSpec, tx: &SyncSender<Input>, stop: &AtomicBool) {
    use rltop_publish::transport::Memory;
    use rltop_publish::Publisher;
    let routes = routes(&spec.plan);
    let cfg = rltop_sim::Config {
        seed: spec.seed,
        instruments: spec.instruments,
        events: spec.events.unwrap_or(u64::MAX),
        // The simulator's clock runs at the wall clock's pace: its statistics, klines and
        // snapshot cycles come when a viewer expects them.
        mean_gap_ns: 1e9 / spec.rate,
        start_ns: realtime_ns(),
        symbols: spec.symbols,
        ..rltop_sim::Config::default()
    };
    let mut market = rltop_sim::Market::new(cfg);
    let mut publisher = Publisher::new(spec.plan.clone(), Memory::default());
    let drain = |publisher: &mut Publisher<Memory>| -> bool {
        for sent in publisher.transport_mut().sent.drain(..) {
            let (stream, line) = routes
                .get(&sent.dst)
                .map_or((None, Line::A), |&(s, l)| (Some(s), l));
            if !send(
                tx,
                Input::Datagram {
                    stream,
                    line,
                    bytes: sent.bytes.into(),
                },
            ) {
                return false;
            }
        }
        true
    };
    let mut events = Vec::new();
    market.definitions(&mut events);
    // The simulator's books cannot refuse its own order flow; a refusal would be a bug the
    // feed handler reports as a stale book, so it is not repeated here.
    let _ = publisher.publish_all(&events, market.now());
    events.clear();
    send(tx, Input::State(SourceState::Up));
    let started = Instant::now();
    let t0 = market.now();
    let mut last_poll = Instant::now();
    while !stop.load(Relaxed) {
        if !market.step(&mut events) {
            break;
        }
        let due = Duration::from_nanos(market.now().saturating_sub(t0));
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            if wait > Duration::from_millis(1) {
                let now = market.now().saturating_sub(wait.as_nanos() as u64);
                let _ = publisher.poll(now);
                let _ = publisher.flush(now);
                if !drain(&mut publisher) {
                    return;
                }
                std::thread::sleep(wait);
            }
        }
        let now = market.now();
        for e in events.drain(..) {
            let _ = publisher.publish(&e, now);
        }
        if last_poll.elapsed() >= Duration::from_millis(1) {
            let _ = publisher.poll(now);
            last_poll = Instant::now();
        }
        if !drain(&mut publisher) {
            return;
        }
    }
    let now = market.now();
    let _ = publisher.end_session(now);
    drain(&mut publisher);
    send(tx, Input::State(SourceState::Ended));
}

fn read_capture(path: &PathBuf) -> Result<Vec<rltop_capture::Packet>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = rltop_capture::PcapReader::new(std::io::BufReader::new(file))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut packets = Vec::new();
    for p in reader.by_ref() {
        packets.push(p.map_err(|e| format!("{}: {e}", path.display()))?);
    }
    if reader.fragments_skipped() > 0 {
        tracing::warn!(
            "{}: {} IPv4 fragment(s) passed over (fragmented datagrams are not reassembled)",
            path.display(),
            reader.fragments_skipped()
        );
    }
    Ok(packets)
}

fn pcap(
    packets: Vec<rltop_capture::Packet>,
    plan: &Plan,
    speed: f64,
    tx: &SyncSender<Input>,
    stop: &AtomicBool,
) {
    let routes = routes(plan);
    let pace = if speed > 0.0 {
        rltop_capture::Pace::Scaled(speed)
    } else {
        rltop_capture::Pace::AsFastAsPossible
    };
    send(tx, Input::State(SourceState::Up));
    let result = rltop_capture::replay(packets.into_iter().map(Ok), pace, |p| {
        if stop.load(Relaxed) {
            return Err(std::io::Error::other("stopped"));
        }
        let (stream, line) = routes
            .get(&p.dst)
            .map_or((None, Line::A), |&(s, l)| (Some(s), l));
        let input = Input::Datagram {
            stream,
            line,
            bytes: Bytes::copy_from_slice(&p.payload),
        };
        if send(tx, input) {
            Ok(())
        } else {
            Err(std::io::Error::other("engine gone"))
        }
    });
    if result.is_ok() {
        send(tx, Input::State(SourceState::Ended));
    }
}

fn multicast(
    mut rx: rltop_net::mcast::Receiver,
    endpoints: Vec<rltop_net::plan::Endpoint>,
    tx: &SyncSender<Input>,
    stop: &AtomicBool,
) {
    send(tx, Input::State(SourceState::Up));
    let mut alive = true;
    while alive && !stop.load(Relaxed) {
        let polled = rx.poll(Duration::from_millis(50), &mut |d| {
            let e = &endpoints[d.group];
            alive &= send(
                tx,
                Input::Datagram {
                    stream: Some(e.stream),
                    line: e.line,
                    bytes: Bytes::copy_from_slice(d.payload),
                },
            );
        });
        if let Err(e) = polled {
            send(tx, Input::State(SourceState::Down(format!("receive: {e}"))));
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

// The README's example is compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
