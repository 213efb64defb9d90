//! The gateway server (SPEC.md §11): retention per channel, TCP sessions, live fan-out and
//! replay.
//!
//! Threads and locks. Datagrams come in through [`Gateway::ingest`] on the source's thread.
//! Each channel has one lock over its retention and its subscriber list; each connection
//! has an [`Outbox`] (a lock over its queues, and a `Notify` for its writer task). The
//! order is always channel, then outbox: ingest appends to every subscriber's outbox under
//! the channel lock, and a `Subscribe` registers under the same lock and queues its
//! `ChannelStatus` there, so nothing a subscriber is told it subscribed to can be missed or
//! come before the status.
//!
//! Per connection, a reader (the connection's task) decodes the client's control messages
//! and answers them, and a writer task sends: first what is queued live (market data and
//! control answers), then, while the socket takes more, replayed messages, in chunks, so a
//! long replay never holds live data back. Replays are answered in request order.
//!
//! Bounds. A connection's live queue is bounded in bytes; the push that would pass the bound
//! empties the queue and queues `EndOfSession` (`SlowConsumer`) instead, and the writer
//! closes after it (or after a second without progress). A replay request holds the
//! messages it asked for (reference counts, not copies), within `max_replay_count`, and a
//! connection's replays are limited to `replay_rate` messages a second.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use rltop::Message;
use rltop_net::plan::{Plan, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::retention::{Insert, Missing, Piece, Retention};
use crate::wire::{fit_text, Framer, Outgoing, MAX_CLIENT_MESSAGE};

/// Gateway settings (`rltop gateway --help` documents each).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen for clients.
    pub listen: SocketAddr,
    /// Where to serve `/metrics` (Prometheus text), if anywhere.
    pub metrics: Option<SocketAddr>,
    /// The shared secret a `Login` must carry; `None` accepts any.
    pub token: Option<String>,
    /// Messages retained per channel.
    pub retention_messages: usize,
    /// Bytes retained per channel.
    pub retention_bytes: usize,
    /// Default heartbeat interval (a client may ask for another in `Login`).
    pub heartbeat: Duration,
    /// Time a connection has to log in.
    pub login_timeout: Duration,
    /// Connections served at once; a `Login` past it gets `ServerFull`.
    pub max_connections: usize,
    /// Bytes queued for a connection before it is closed as a slow consumer.
    pub queue_bytes: usize,
    /// Most messages one `ReplayRequest` may ask for.
    pub max_replay_count: u32,
    /// Replayed messages a second per connection.
    pub replay_rate: u32,
    /// Worker threads of the gateway's runtime.
    pub threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9400".parse().expect("a valid address"),
            metrics: None,
            token: None,
            retention_messages: 1 << 20,
            retention_bytes: 256 << 20,
            heartbeat: Duration::from_secs(1),
            login_timeout: Duration::from_secs(5),
            max_connections: 4096,
            queue_bytes: 8 << 20,
            max_replay_count: 100_000,
            replay_rate: 2_000_000,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

impl Config {
    fn check(&self) -> Result<(), String> {
        if self.max_replay_count == 0 || self.max_replay_count > self.replay_rate {
            return Err(format!(
                "max replay count {} must be between 1 and the replay rate {}",
                self.max_replay_count, self.replay_rate
            ));
        }
        if self.heartbeat < Duration::from_millis(10) {
            return Err("the heartbeat interval must be at least 10 ms".into());
        }
        Ok(())
    }
}

/// A channel the gateway serves: one session of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelInfo {
    pub session: u64,
    pub stream: Stream,
    pub group: u32,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub connections: AtomicU64,
    pub connections_total: AtomicU64,
    pub logins: AtomicU64,
    pub logins_bad_token: AtomicU64,
    pub logins_server_full: AtomicU64,
    pub datagrams_in: AtomicU64,
    pub messages_in: AtomicU64,
    pub messages_rejected: AtomicU64,
    pub messages_unknown_channel: AtomicU64,
    pub messages_duplicate: AtomicU64,
    pub messages_too_old: AtomicU64,
    pub forwarded_messages: AtomicU64,
    pub bytes_out: AtomicU64,
    pub replay_requests: AtomicU64,
    pub replay_rejected: AtomicU64,
    pub replayed_messages: AtomicU64,
    pub rejects: AtomicU64,
    pub slow_closes: AtomicU64,
    pub idle_closes: AtomicU64,
    pub protocol_error_closes: AtomicU64,
    pub dropped_bytes: AtomicU64,
}

struct ChannelData {
    retention: Retention,
    subscribers: Vec<Arc<Outbox>>,
}

struct Channel {
    info: ChannelInfo,
    data: Mutex<ChannelData>,
}

struct Inner {
    config: Config,
    plan: Plan,
    channels: Vec<Channel>,
    by_session: HashMap<u64, usize>,
    metrics: Metrics,
    /// Every open connection, for shutdown.
    conns: Mutex<HashMap<u64, Arc<Outbox>>>,
    next_conn: AtomicU64,
    active: AtomicUsize,
    stopping: AtomicBool,
}

/// The gateway: cheap to clone, shared by the source thread and the server.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind (queues, counters);
    // carrying on with it beats taking every connection down.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A control message the gateway sends, sealed (numbered) when it is written.
#[derive(Debug, Clone, Copy)]
enum Control {
    Accepted(rltop::LoginAccepted),
    LoginRejected(rltop::LoginRejected),
    Status(rltop::ChannelStatus),
    Complete(rltop::ReplayComplete),
    ReplayRejected(rltop::ReplayRejected),
    Reject(rltop::Reject),
    Heartbeat,
    End(rltop::EndOfSession),
}

impl Control {
    fn seal(self, out: &mut Outgoing) -> Bytes {
        match self {
            Control::Accepted(m) => out.seal(m),
            Control::LoginRejected(m) => out.seal(m),
            Control::Status(m) => out.seal(m),
            Control::Complete(m) => out.seal(m),
            Control::ReplayRejected(m) => out.seal(m),
            Control::Reject(m) => out.seal(m),
            Control::Heartbeat => out.seal(rltop::SessionHeartbeat::new()),
            Control::End(m) => out.seal(m),
        }
    }
}

enum Item {
    Data(Bytes),
    Control(Control),
}

/// An answered replay request, waiting for the writer.
enum ReplayJob {
    Send(ReplaySend),
    Rejected(rltop::ReplayRejected),
}

/// The messages of an accepted replay, as runs of their datagrams, and how far the writer
/// has sent them. Its `ReplayComplete` is sealed (numbered) when the writer reaches it and
/// goes out as the last run, in the same write as the last messages when they fit.
struct ReplaySend {
    runs: Vec<Piece>,
    /// The run being sent, and bytes of it already sent.
    next: usize,
    sent: usize,
    done: rltop::ReplayComplete,
    sealed: bool,
}

impl ReplaySend {
    fn new(runs: Vec<Piece>, done: rltop::ReplayComplete) -> Self {
        Self {
            runs,
            next: 0,
            sent: 0,
            done,
            sealed: false,
        }
    }

    fn is_done(&self) -> bool {
        self.sealed && self.next == self.runs.len()
    }

    /// Whether the next write must continue this replay: it stopped inside a run (and so
    /// perhaps inside a message), or its completion is numbered already and anything sealed
    /// before it went out would carry a later number ahead of it.
    fn must_continue(&self) -> bool {
        self.sent > 0 || (self.sealed && !self.is_done())
    }

    /// What is left to send, at most `max_slices` slices and about `max_bytes` bytes; the
    /// completion is sealed with `out` and included once everything else fits.
    fn slices(
        &mut self,
        max_slices: usize,
        max_bytes: usize,
        out: &mut Outgoing,
    ) -> Vec<std::io::IoSlice<'_>> {
        let rest = &self.runs[self.next..];
        let fits = rest.len() < max_slices
            && rest.iter().map(Piece::len).sum::<usize>() - self.sent <= max_bytes;
        if fits && !self.sealed {
            let complete = Control::Complete(self.done).seal(out);
            let len = complete.len();
            self.runs.push(Piece::new(complete, 0..len));
            self.sealed = true;
        }
        let mut slices = Vec::with_capacity(max_slices.min(self.runs.len() - self.next));
        let mut bytes = 0;
        for (k, run) in self.runs[self.next..].iter().enumerate() {
            if slices.len() == max_slices || bytes >= max_bytes {
                break;
            }
            let skip = if k == 0 { self.sent } else { 0 };
            let rest = &run.as_slice()[skip..];
            bytes += rest.len();
            slices.push(std::io::IoSlice::new(rest));
        }
        slices
    }

    /// Records that the socket took `n` more bytes.
    fn advance(&mut self, mut n: usize) {
        while n > 0 && self.next < self.runs.len() {
            let rest = self.runs[self.next].len() - self.sent;
            if n < rest {
                self.sent += n;
                return;
            }
            n -= rest;
            self.next += 1;
            self.sent = 0;
        }
    }
}

struct Queues {
    live: VecDeque<Item>,
    live_bytes: usize,
    replays: VecDeque<ReplayJob>,
    /// The last message (EndOfSession or LoginRejected): the writer sends it after what is
    /// queued live, then closes.
    last: Option<Control>,
    /// No more pushes: the connection is ending.
    ending: bool,
    /// The writer is done (or the socket failed): nothing will be sent.
    closed: bool,
}

/// One connection's outgoing side.
struct Outbox {
    id: u64,
    bound: usize,
    queues: Mutex<Queues>,
    /// Wakes the writer: something was queued, or the connection is ending.
    wake: Notify,
    /// Wakes the reader when the connection is ending.
    ended: Notify,
}

impl Outbox {
    fn new(id: u64, bound: usize) -> Self {
        Self {
            id,
            bound,
            queues: Mutex::new(Queues {
                live: VecDeque::new(),
                live_bytes: 0,
                replays: VecDeque::new(),
                last: None,
                ending: false,
                closed: false,
            }),
            wake: Notify::new(),
            ended: Notify::new(),
        }
    }

    /// Queues market data; returns whether the connection is a slow consumer now.
    fn push_data(&self, bytes: Bytes, metrics: &Metrics) -> bool {
        let mut q = lock(&self.queues);
        if q.ending || q.closed {
            return false;
        }
        if q.live_bytes + bytes.len() > self.bound {
            let waiting = q.live_bytes;
            metrics
                .dropped_bytes
                .fetch_add((waiting + bytes.len()) as u64, Relaxed);
            q.live.clear();
            q.live_bytes = 0;
            q.ending = true;
            q.last = Some(end_of_session(
                rltop::EndReason::SlowConsumer,
                &format!(
                    "slow consumer: {} bytes waiting, bound {}",
                    waiting + bytes.len(),
                    self.bound
                ),
            ));
            drop(q);
            self.wake.notify_one();
            self.ended.notify_waiters();
            return true;
        }
        q.live_bytes += bytes.len();
        q.live.push_back(Item::Data(bytes));
        drop(q);
        self.wake.notify_one();
        false
    }

    fn push_control(&self, c: Control) {
        let mut q = lock(&self.queues);
        if q.ending || q.closed {
            return;
        }
        q.live.push_back(Item::Control(c));
        drop(q);
        self.wake.notify_one();
    }

    fn push_replay(&self, job: ReplayJob) {
        let mut q = lock(&self.queues);
        if q.ending || q.closed {
            return;
        }
        q.replays.push_back(job);
        drop(q);
        self.wake.notify_one();
    }

    /// Ends the connection with `last` after what is queued live. Returns false if it was
    /// ending already (the first reason stands).
    fn finish(&self, last: Control) -> bool {
        let mut q = lock(&self.queues);
        if q.ending || q.closed {
            return false;
        }
        q.ending = true;
        q.last = Some(last);
        q.replays.clear();
        drop(q);
        self.wake.notify_one();
        self.ended.notify_waiters();
        true
    }

    fn close(&self) {
        let mut q = lock(&self.queues);
        q.closed = true;
        q.ending = true;
        q.live.clear();
        q.replays.clear();
        drop(q);
        self.wake.notify_one();
        self.ended.notify_waiters();
    }

    fn is_ending(&self) -> bool {
        let q = lock(&self.queues);
        q.ending || q.closed
    }
}

fn end_of_session(reason: rltop::EndReason, detail: &str) -> Control {
    let mut m = rltop::EndOfSession::new();
    m.set_reason(reason);
    let _ = m.set_detail(&fit_text(detail, 80));
    Control::End(m)
}

impl Gateway {
    /// A gateway for the channels of `plan` (its A-line sessions: the B line carries the
    /// same sessions).
    pub fn new(config: Config, plan: &Plan) -> Result<Gateway, String> {
        config.check()?;
        let mut channels = Vec::new();
        for group in 0..plan.groups() {
            for stream in Stream::ALL {
                let session = plan.session(stream, group);
                channels.push(Channel {
                    info: ChannelInfo {
                        session,
                        stream,
                        group,
                    },
                    data: Mutex::new(ChannelData {
                        retention: Retention::new(
                            config.retention_messages,
                            config.retention_bytes,
                        ),
                        subscribers: Vec::new(),
                    }),
                });
            }
        }
        let by_session = channels
            .iter()
            .enumerate()
            .map(|(k, c)| (c.info.session, k))
            .collect();
        Ok(Gateway {
            inner: Arc::new(Inner {
                config,
                plan: plan.clone(),
                channels,
                by_session,
                metrics: Metrics::default(),
                conns: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
                active: AtomicUsize::new(0),
                stopping: AtomicBool::new(false),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The channels served, in the order `LoginAccepted`'s statuses list them.
    pub fn channels(&self) -> Vec<ChannelInfo> {
        self.inner.channels.iter().map(|c| c.info).collect()
    }

    /// `(first, last)` `seq_num` retained of a channel.
    pub fn window(&self, session: u64) -> Option<(u64, u64)> {
        let k = *self.inner.by_session.get(&session)?;
        lock(&self.inner.channels[k].data).retention.window()
    }

    /// One datagram as received from the plan (or the publisher in-process): every valid
    /// message is retained and forwarded to the channel's subscribers; invalid ones, and
    /// those of sessions outside the plan, are counted and dropped.
    pub fn ingest(&self, datagram: &Bytes) {
        let m = &self.inner.metrics;
        m.datagrams_in.fetch_add(1, Relaxed);
        // Runs of stored messages of one channel, forwarded as one slice each.
        let mut run: Option<(usize, usize, usize, u64)> = None; // (channel, start, end, count)
        let mut it = rltop::messages(datagram);
        loop {
            let start = it.position();
            let Some(item) = it.next() else { break };
            let end = it.position();
            m.messages_in.fetch_add(1, Relaxed);
            let message = match item {
                Ok(msg) => msg,
                Err(_) => {
                    m.messages_rejected.fetch_add(1, Relaxed);
                    continue;
                }
            };
            let h = message.header();
            let Some(&k) = self.inner.by_session.get(&h.session_id()) else {
                m.messages_unknown_channel.fetch_add(1, Relaxed);
                continue;
            };
            let inserted = lock(&self.inner.channels[k].data)
                .retention
                .insert(h.seq_num(), Piece::new(datagram.clone(), start..end));
            match inserted {
                Insert::Stored => {}
                Insert::Duplicate => {
                    m.messages_duplicate.fetch_add(1, Relaxed);
                    continue;
                }
                Insert::TooOld => {
                    m.messages_too_old.fetch_add(1, Relaxed);
                    continue;
                }
            }
            run = match run {
                Some((ch, s, e, n)) if ch == k && e == start => Some((ch, s, end, n + 1)),
                Some(done) => {
                    self.forward(datagram, done);
                    Some((k, start, end, 1))
                }
                None => Some((k, start, end, 1)),
            };
        }
        if let Some(done) = run {
            self.forward(datagram, done);
        }
    }

    fn forward(&self, datagram: &Bytes, (k, start, end, count): (usize, usize, usize, u64)) {
        let slice = datagram.slice(start..end);
        let m = &self.inner.metrics;
        let data = lock(&self.inner.channels[k].data);
        for sub in &data.subscribers {
            if sub.push_data(slice.clone(), m) {
                m.slow_closes.fetch_add(1, Relaxed);
            }
        }
        m.forwarded_messages
            .fetch_add(count * data.subscribers.len() as u64, Relaxed);
    }

    /// The counters as Prometheus text.
    /// `/metrics`: the counters and gauges as OpenMetrics text (prometheus-client's encoder;
    /// counters get their `_total`), and the messages retained per channel.
    pub fn metrics_text(&self) -> String {
        use prometheus_client::metrics::counter::ConstCounter;
        use prometheus_client::metrics::family::Family;
        use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
        enum Kind {
            Counter,
            Gauge,
        }
        let m = &self.inner.metrics;
        let c = |a: &AtomicU64| a.load(Relaxed);
        let rows = [
            (
                "connections",
                Kind::Gauge,
                "Open client connections",
                c(&m.connections),
            ),
            (
                "connections_accepted",
                Kind::Counter,
                "Client connections accepted",
                c(&m.connections_total),
            ),
            ("logins", Kind::Counter, "Logins accepted", c(&m.logins)),
            (
                "logins_bad_token",
                Kind::Counter,
                "Logins refused for a wrong token",
                c(&m.logins_bad_token),
            ),
            (
                "logins_server_full",
                Kind::Counter,
                "Logins refused at the connection limit",
                c(&m.logins_server_full),
            ),
            (
                "datagrams_in",
                Kind::Counter,
                "Datagrams ingested",
                c(&m.datagrams_in),
            ),
            (
                "messages_in",
                Kind::Counter,
                "Messages ingested",
                c(&m.messages_in),
            ),
            (
                "messages_rejected",
                Kind::Counter,
                "Ingested messages failing verification",
                c(&m.messages_rejected),
            ),
            (
                "messages_unknown_channel",
                Kind::Counter,
                "Ingested messages of a session outside the plan",
                c(&m.messages_unknown_channel),
            ),
            (
                "messages_duplicate",
                Kind::Counter,
                "Ingested messages already retained (B line, retransmissions)",
                c(&m.messages_duplicate),
            ),
            (
                "messages_too_old",
                Kind::Counter,
                "Ingested messages older than the retention",
                c(&m.messages_too_old),
            ),
            (
                "forwarded_messages",
                Kind::Counter,
                "Live messages queued to subscribers",
                c(&m.forwarded_messages),
            ),
            (
                "bytes_out",
                Kind::Counter,
                "Bytes written to clients",
                c(&m.bytes_out),
            ),
            (
                "replay_requests",
                Kind::Counter,
                "Replay requests received",
                c(&m.replay_requests),
            ),
            (
                "replay_rejected",
                Kind::Counter,
                "Replay requests refused",
                c(&m.replay_rejected),
            ),
            (
                "replayed_messages",
                Kind::Counter,
                "Messages sent by replay",
                c(&m.replayed_messages),
            ),
            (
                "rejects",
                Kind::Counter,
                "Control messages refused with Reject",
                c(&m.rejects),
            ),
            (
                "slow_consumer_closes",
                Kind::Counter,
                "Connections closed as slow consumers",
                c(&m.slow_closes),
            ),
            (
                "idle_closes",
                Kind::Counter,
                "Connections closed after the idle timeout",
                c(&m.idle_closes),
            ),
            (
                "protocol_error_closes",
                Kind::Counter,
                "Connections closed for framing errors",
                c(&m.protocol_error_closes),
            ),
            (
                "dropped_bytes",
                Kind::Counter,
                "Bytes discarded from slow consumers' queues",
                c(&m.dropped_bytes),
            ),
        ];
        let mut registry = prometheus_client::registry::Registry::with_prefix("rltop_gateway");
        for (name, kind, help, value) in rows {
            match kind {
                Kind::Counter => registry.register(name, help, ConstCounter::new(value)),
                Kind::Gauge => registry.register(name, help, ConstGauge::new(value as i64)),
            }
        }
        let retained = Family::<Vec<(String, String)>, Gauge>::default();
        for ch in &self.inner.channels {
            let labels = vec![
                ("session".to_string(), ch.info.session.to_string()),
                ("stream".to_string(), ch.info.stream.key().to_string()),
                ("group".to_string(), ch.info.group.to_string()),
            ];
            let n = lock(&ch.data).retention.len();
            retained.get_or_create(&labels).set(n as i64);
        }
        registry.register(
            "retained_messages",
            "Messages retained, per channel",
            retained,
        );
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry)
            .expect("encoding into a String cannot fail");
        text
    }

    /// Serves clients on `listener` until `stop` resolves; then ends every connection with
    /// `EndOfSession` (`Shutdown`) and waits (a second at most) for them to go.
    pub async fn serve(self, listener: TcpListener, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => {
                    let (stream, _peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(e) => {
                            // Out of descriptors and the like: say so, try again shortly.
                            tracing::warn!("accept: {e}");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let gw = self.clone();
                    tokio::spawn(async move { gw.connection(stream).await });
                }
            }
        }
        self.inner.stopping.store(true, Relaxed);
        drop(listener);
        let conns: Vec<Arc<Outbox>> = lock(&self.inner.conns).values().cloned().collect();
        for c in conns {
            c.finish(end_of_session(
                rltop::EndReason::Shutdown,
                "the gateway is shutting down",
            ));
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.inner.active.load(Relaxed) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn connection(self, stream: TcpStream) {
        let inner = &self.inner;
        let _ = stream.set_nodelay(true);
        let over_limit = inner.active.fetch_add(1, Relaxed) >= inner.config.max_connections;
        inner.metrics.connections.fetch_add(1, Relaxed);
        inner.metrics.connections_total.fetch_add(1, Relaxed);
        let id = inner.next_conn.fetch_add(1, Relaxed);
        let outbox = Arc::new(Outbox::new(id, inner.config.queue_bytes));
        lock(&inner.conns).insert(id, outbox.clone());
        let (rd, wr) = stream.into_split();
        let heartbeat = Arc::new(AtomicU64::new(inner.config.heartbeat.as_millis() as u64));
        let writer = tokio::spawn(write_loop(
            wr,
            outbox.clone(),
            heartbeat.clone(),
            self.clone(),
        ));
        let mut session = Session {
            gw: &self,
            outbox: &outbox,
            over_limit,
            logged_in: false,
            subscribed: HashSet::new(),
            heartbeat: &heartbeat,
            bucket: Bucket::new(inner.config.replay_rate),
        };
        if inner.stopping.load(Relaxed) {
            outbox.finish(end_of_session(
                rltop::EndReason::Shutdown,
                "the gateway is shutting down",
            ));
        } else {
            session.read_loop(rd).await;
        }
        // Teardown: no more live data, then let the writer finish what it was told to send.
        for &k in &session.subscribed {
            lock(&inner.channels[k].data)
                .subscribers
                .retain(|s| s.id != id);
        }
        if tokio::time::timeout(Duration::from_secs(2), writer)
            .await
            .is_err()
        {
            outbox.close();
        }
        lock(&inner.conns).remove(&id);
        inner.active.fetch_sub(1, Relaxed);
        inner.metrics.connections.fetch_sub(1, Relaxed);
    }
}

/// Replay budget: a token bucket of `rate` messages a second, holding one second's worth.
struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            at: Instant::now(),
        }
    }

    fn take(&mut self, n: u32) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.rate);
        self.at = now;
        if self.tokens >= f64::from(n) {
            self.tokens -= f64::from(n);
            true
        } else {
            false
        }
    }

    fn refund(&mut self, n: u32) {
        self.tokens = (self.tokens + f64::from(n)).min(self.rate);
    }
}

/// The reader side of one connection: the state machine of SPEC.md §11.
struct Session<'a> {
    gw: &'a Gateway,
    outbox: &'a Arc<Outbox>,
    over_limit: bool,
    logged_in: bool,
    subscribed: HashSet<usize>,
    heartbeat: &'a AtomicU64,
    bucket: Bucket,
}

impl Session<'_> {
    fn metrics(&self) -> &Metrics {
        &self.gw.inner.metrics
    }

    async fn read_loop(&mut self, mut rd: tokio::net::tcp::OwnedReadHalf) {
        let config = &self.gw.inner.config;
        let mut framer = Framer::new(MAX_CLIENT_MESSAGE);
        let login_deadline = Instant::now() + config.login_timeout;
        let mut last_rx = Instant::now();
        loop {
            if self.outbox.is_ending() {
                return;
            }
            let idle = Duration::from_millis(3 * self.heartbeat.load(Relaxed));
            let deadline = if self.logged_in {
                last_rx + idle
            } else {
                login_deadline
            };
            let buf = framer.buffer();
            buf.reserve(4096);
            let read = tokio::select! {
                r = rd.read_buf(buf) => r,
                _ = tokio::time::sleep_until(deadline) => {
                    if self.logged_in {
                        self.metrics().idle_closes.fetch_add(1, Relaxed);
                        self.outbox.finish(end_of_session(
                            rltop::EndReason::IdleTimeout,
                            &format!("nothing received for {} ms", idle.as_millis()),
                        ));
                    } else {
                        self.outbox.finish(end_of_session(
                            rltop::EndReason::LoginTimeout,
                            &format!("no Login within {} ms", config.login_timeout.as_millis()),
                        ));
                    }
                    return;
                }
                // The writer is ending the connection (slow consumer, shutdown).
                _ = self.outbox_ending() => return,
            };
            match read {
                Ok(0) | Err(_) => {
                    // The client went away: nothing more will be read or sent.
                    self.outbox.close();
                    return;
                }
                Ok(_) => last_rx = Instant::now(),
            }
            loop {
                let at = framer.position();
                match framer.next_message() {
                    Ok(Some(m)) => {
                        if !self.on_message(&m, at) {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.metrics().protocol_error_closes.fetch_add(1, Relaxed);
                        self.outbox.finish(end_of_session(
                            rltop::EndReason::ProtocolError,
                            &e.to_string(),
                        ));
                        return;
                    }
                }
            }
        }
    }

    async fn outbox_ending(&self) {
        let ended = self.outbox.ended.notified();
        tokio::pin!(ended);
        // Registered before the check: an ending between the two still wakes it.
        ended.as_mut().enable();
        if self.outbox.is_ending() {
            return;
        }
        ended.await;
    }

    fn reject(&self, bytes: &[u8], reason: rltop::RejectCode, offset: usize, detail: &str) {
        self.metrics().rejects.fetch_add(1, Relaxed);
        let mut r = rltop::Reject::new();
        let p = &rltop::PROTOCOL;
        r.set_rejected_type(bytes[p.type_offset]);
        r.set_reason(reason);
        r.set_error_offset(offset as u32);
        r.set_rejected_seq(u64::from_le_bytes(
            bytes[p.sequence_offset..p.sequence_offset + 8]
                .try_into()
                .expect("a whole header"),
        ));
        let _ = r.set_detail(&fit_text(detail, 72));
        self.outbox.push_control(Control::Reject(r));
    }

    /// Handles one whole message; false ends the connection.
    fn on_message(&mut self, bytes: &[u8], stream_at: u64) -> bool {
        let message = match Message::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.reject(
                    bytes,
                    rltop::RejectCode::Malformed,
                    e.offset(),
                    &format!("{} at stream byte {}: {e}", e.name(), stream_at),
                );
                return self.logged_in || self.not_logged_in();
            }
        };
        match (self.logged_in, message) {
            (false, Message::Login(l)) => self.login(l),
            (false, _)
                if crate::wire::is_control(bytes[TYPE_AT]) && !is_from_gateway(bytes[TYPE_AT]) =>
            {
                self.reject(
                    bytes,
                    rltop::RejectCode::NotLoggedIn,
                    TYPE_AT,
                    "log in first: Login is the only message accepted before the login",
                );
                self.not_logged_in()
            }
            (true, Message::Login(_)) => {
                self.reject(
                    bytes,
                    rltop::RejectCode::AlreadyLoggedIn,
                    TYPE_AT,
                    "this connection is logged in already",
                );
                true
            }
            (true, Message::Subscribe(s)) => {
                self.subscription(
                    bytes,
                    s.streams(),
                    &s.instruments()[..usize::from(s.num_instruments())],
                    true,
                );
                true
            }
            (true, Message::Unsubscribe(s)) => {
                self.subscription(
                    bytes,
                    s.streams(),
                    &s.instruments()[..usize::from(s.num_instruments())],
                    false,
                );
                true
            }
            (true, Message::ReplayRequest(r)) => {
                self.replay(r);
                true
            }
            (true, Message::SessionHeartbeat(_)) => true,
            (true, Message::Logout(_)) => {
                self.outbox
                    .finish(end_of_session(rltop::EndReason::Logout, "logged out"));
                false
            }
            (logged_in, _) => {
                self.reject(
                    bytes,
                    rltop::RejectCode::UnexpectedType,
                    TYPE_AT,
                    &format!(
                        "type 0x{:02X} is not a message a client sends to a gateway",
                        bytes[TYPE_AT]
                    ),
                );
                logged_in || self.not_logged_in()
            }
        }
    }

    fn not_logged_in(&self) -> bool {
        self.metrics().protocol_error_closes.fetch_add(1, Relaxed);
        self.outbox.finish(end_of_session(
            rltop::EndReason::ProtocolError,
            "a message other than Login before the login",
        ));
        false
    }

    fn login(&mut self, l: &rltop::Login) -> bool {
        let inner = &self.gw.inner;
        let refuse = |reason, detail: &str| {
            let mut m = rltop::LoginRejected::new();
            m.set_reason(reason);
            let _ = m.set_detail(&fit_text(detail, 80));
            Control::LoginRejected(m)
        };
        if let Some(token) = &inner.config.token {
            if l.token() != token {
                self.metrics().logins_bad_token.fetch_add(1, Relaxed);
                self.outbox.finish(refuse(
                    rltop::LoginRejectReason::BadToken,
                    "the token is not this gateway's",
                ));
                return false;
            }
        }
        if self.over_limit {
            self.metrics().logins_server_full.fetch_add(1, Relaxed);
            self.outbox.finish(refuse(
                rltop::LoginRejectReason::ServerFull,
                &format!(
                    "the gateway serves {} connections at most",
                    inner.config.max_connections
                ),
            ));
            return false;
        }
        self.logged_in = true;
        self.metrics().logins.fetch_add(1, Relaxed);
        let hb = match l.heartbeat_ms() {
            0 => inner.config.heartbeat.as_millis() as u32,
            ms => ms.clamp(10, 60_000),
        };
        self.heartbeat.store(u64::from(hb), Relaxed);
        let mut a = rltop::LoginAccepted::new();
        a.set_heartbeat_ms(hb);
        a.set_idle_timeout_ms(3 * hb);
        a.set_num_channels(inner.channels.len() as u16);
        a.set_max_replay_count(inner.config.max_replay_count);
        a.set_replay_rate(inner.config.replay_rate);
        self.outbox.push_control(Control::Accepted(a));
        for ch in &inner.channels {
            let d = lock(&ch.data);
            self.outbox.push_control(Control::Status(status(
                ch,
                &d,
                rltop::ChannelState::Unsubscribed,
            )));
        }
        true
    }

    fn subscription(
        &mut self,
        bytes: &[u8],
        streams: rltop::StreamSet,
        instruments: &[u32],
        on: bool,
    ) {
        let inner = &self.gw.inner;
        let named = Stream::ALL.iter().fold(0u8, |b, s| b | s.bit().bits());
        if streams.bits() == 0 {
            return self.reject(
                bytes,
                rltop::RejectCode::BadSubscription,
                STREAMS_AT,
                "no stream named",
            );
        }
        if streams.bits() & !named != 0 {
            return self.reject(
                bytes,
                rltop::RejectCode::BadSubscription,
                STREAMS_AT,
                &format!(
                    "stream bits 0x{:02X} name no stream",
                    streams.bits() & !named
                ),
            );
        }
        if let Some(k) = instruments.iter().position(|&s| s == 0) {
            return self.reject(
                bytes,
                rltop::RejectCode::BadSubscription,
                INSTRUMENTS_AT + k * std::mem::size_of::<u32>(),
                "instrument id 0 names no instrument",
            );
        }
        let groups: Option<HashSet<u32>> = (!instruments.is_empty()).then(|| {
            instruments
                .iter()
                .map(|&s| inner.plan.group_of(s))
                .collect()
        });
        for (k, ch) in inner.channels.iter().enumerate() {
            if !streams.contains(ch.info.stream.bit())
                || groups.as_ref().is_some_and(|g| !g.contains(&ch.info.group))
            {
                continue;
            }
            if on == self.subscribed.contains(&k) {
                continue;
            }
            let mut d = lock(&ch.data);
            let state = if on {
                d.subscribers.push(self.outbox.clone());
                self.subscribed.insert(k);
                rltop::ChannelState::Subscribed
            } else {
                d.subscribers.retain(|s| s.id != self.outbox.id);
                self.subscribed.remove(&k);
                rltop::ChannelState::Unsubscribed
            };
            self.outbox
                .push_control(Control::Status(status(ch, &d, state)));
        }
    }

    fn replay(&mut self, r: &rltop::ReplayRequest) {
        let inner = &self.gw.inner;
        self.metrics().replay_requests.fetch_add(1, Relaxed);
        let mut rejected = rltop::ReplayRejected::new();
        rejected.set_request_id(r.request_id());
        rejected.set_count(r.count());
        rejected.set_channel_session(r.channel_session());
        rejected.set_first_seq(r.first_seq());
        let (metrics, outbox) = (&self.gw.inner.metrics, self.outbox);
        let mut refuse = |reason, window: Option<(u64, u64)>, detail: &str| {
            metrics.replay_rejected.fetch_add(1, Relaxed);
            rejected.set_reason(reason);
            let (lo, hi) = window.unwrap_or((0, 0));
            rejected.set_window_first(lo);
            rejected.set_window_last(hi);
            let _ = rejected.set_detail(&fit_text(detail, 40));
            outbox.push_replay(ReplayJob::Rejected(rejected));
        };
        let Some(&k) = inner.by_session.get(&r.channel_session()) else {
            return refuse(
                rltop::ReplayRejectReason::UnknownChannel,
                None,
                "no such channel",
            );
        };
        let count = r.count();
        if count == 0 || count > inner.config.max_replay_count {
            return refuse(
                rltop::ReplayRejectReason::BadCount,
                None,
                &format!("count must be 1..={}", inner.config.max_replay_count),
            );
        }
        if !self.bucket.take(count) {
            return refuse(
                rltop::ReplayRejectReason::RateLimited,
                None,
                &format!("over {} messages a second", inner.config.replay_rate),
            );
        }
        let (found, window) = {
            let d = lock(&inner.channels[k].data);
            (
                d.retention.range(r.first_seq(), count),
                d.retention.window(),
            )
        };
        match found {
            Ok(runs) => {
                metrics
                    .replayed_messages
                    .fetch_add(u64::from(count), Relaxed);
                let mut done = rltop::ReplayComplete::new();
                done.set_request_id(r.request_id());
                done.set_count(count);
                done.set_channel_session(r.channel_session());
                done.set_first_seq(r.first_seq());
                outbox.push_replay(ReplayJob::Send(ReplaySend::new(runs, done)));
            }
            Err(missing) => {
                self.bucket.refund(count);
                let detail = match missing {
                    Missing::OutOfWindow => "outside the retained window".to_string(),
                    Missing::Hole(s) => format!("the gateway lost {s}"),
                };
                refuse(rltop::ReplayRejectReason::OutOfWindow, window, &detail)
            }
        }
    }
}

/// Where a message's type code sits.
const TYPE_AT: usize = rltop::PROTOCOL.type_offset;
/// Where Subscribe and Unsubscribe hold their stream set and instrument ids (one layout).
const STREAMS_AT: usize = std::mem::offset_of!(rltop::Subscribe, streams);
const INSTRUMENTS_AT: usize = std::mem::offset_of!(rltop::Subscribe, instruments);
const _: () = assert!(
    STREAMS_AT == std::mem::offset_of!(rltop::Unsubscribe, streams)
        && INSTRUMENTS_AT == std::mem::offset_of!(rltop::Unsubscribe, instruments)
);

/// The session messages only a gateway sends.
fn is_from_gateway(msg_type: u8) -> bool {
    [
        rltop::LoginAccepted::TYPE_CODE,
        rltop::LoginRejected::TYPE_CODE,
        rltop::ChannelStatus::TYPE_CODE,
        rltop::ReplayComplete::TYPE_CODE,
        rltop::ReplayRejected::TYPE_CODE,
        rltop::EndOfSession::TYPE_CODE,
        rltop::Reject::TYPE_CODE,
    ]
    .contains(&msg_type)
}

fn status(ch: &Channel, d: &ChannelData, state: rltop::ChannelState) -> rltop::ChannelStatus {
    let mut s = rltop::ChannelStatus::new();
    s.set_channel_session(ch.info.session);
    s.set_stream(ch.info.stream.wire());
    s.set_state(state);
    s.set_instrument_group(ch.info.group as u16);
    s.set_retained_messages(d.retention.len() as u32);
    let (lo, hi) = d.retention.window().unwrap_or((0, 0));
    s.set_first_seq(lo);
    s.set_last_seq(hi);
    s.set_retained_bytes(d.retention.bytes() as u64);
    s
}

/// How much the writer gathers before a write.
const CHUNK: usize = 256 << 10;
/// Most slices in one vectored write of a replay (Linux's `IOV_MAX` is 1024), and about
/// the most bytes: enough that a replay costs a system call per megabyte, not per message.
const REPLAY_SLICES: usize = 1024;
const REPLAY_BYTES: usize = 1 << 20;

/// The writer of one connection: live queue first, then replay, heartbeats when idle, and
/// the last message before closing.
///
/// Live data and control answers are small and many: they are copied into one buffer and
/// written together. A replay's messages are written from the retained datagrams with
/// vectored writes, outside the outbox's lock, one slice per run of neighbouring
/// messages; between two such writes the live queue goes first, so a long replay never
/// holds live data back.
async fn write_loop(
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    outbox: Arc<Outbox>,
    heartbeat_ms: Arc<AtomicU64>,
    gw: Gateway,
) {
    let metrics = &gw.inner.metrics;
    let mut out = Outgoing::default();
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 4096);
    let mut last_write = Instant::now();
    // The replay being sent, taken off the queue so its writes need no lock.
    let mut replay: Option<ReplaySend> = None;
    loop {
        buf.clear();
        let mut closing = false;
        {
            let mut q = lock(&outbox.queues);
            if q.closed {
                return;
            }
            if q.ending {
                // `finish` dropped the queued replays; the one under way goes with them.
                replay = None;
            }
            let live_may_go = !replay.as_ref().is_some_and(ReplaySend::must_continue);
            while live_may_go && buf.len() < CHUNK {
                let Some(item) = q.live.pop_front() else {
                    break;
                };
                match item {
                    Item::Data(b) => {
                        q.live_bytes -= b.len();
                        buf.extend_from_slice(&b);
                    }
                    Item::Control(c) => {
                        if let Control::Accepted(_) = c {
                            // Every later message carries the session the login gave.
                            out.session = outbox.id;
                        }
                        buf.extend_from_slice(&c.seal(&mut out));
                    }
                }
            }
            if live_may_go && q.live.is_empty() {
                if let Some(last) = q.last.take() {
                    buf.extend_from_slice(&last.seal(&mut out));
                    closing = true;
                }
            }
            // Refusals are answered in request order with the replays before them.
            while !closing && replay.is_none() && buf.len() < CHUNK {
                match q.replays.pop_front() {
                    Some(ReplayJob::Rejected(r)) => {
                        buf.extend_from_slice(&Control::ReplayRejected(r).seal(&mut out))
                    }
                    Some(ReplayJob::Send(job)) => replay = Some(job),
                    None => break,
                }
            }
        }
        if buf.is_empty() && replay.is_none() {
            let hb = Duration::from_millis(heartbeat_ms.load(Relaxed));
            tokio::select! {
                _ = outbox.wake.notified() => continue,
                _ = tokio::time::sleep_until(last_write + hb) => {
                    buf.extend_from_slice(&Control::Heartbeat.seal(&mut out));
                }
            }
        }
        // A socket that takes nothing for this long belongs to a client that stopped
        // reading; the queue bound will close it, and a last message gets a second.
        let patience = if closing {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(3600)
        };
        let written = if !buf.is_empty() {
            tokio::time::timeout(patience, wr.write_all(&buf))
                .await
                .map(|r| r.map(|()| buf.len()))
        } else if let Some(job) = replay.as_mut() {
            let slices = job.slices(REPLAY_SLICES, REPLAY_BYTES, &mut out);
            let written = tokio::time::timeout(patience, wr.write_vectored(&slices)).await;
            drop(slices);
            match written {
                Ok(Ok(0)) => Ok(Err(std::io::ErrorKind::WriteZero.into())),
                Ok(Ok(n)) => {
                    job.advance(n);
                    if job.is_done() {
                        replay = None;
                    }
                    Ok(Ok(n))
                }
                other => other,
            }
        } else {
            Ok(Ok(0))
        };
        match written {
            Ok(Ok(n)) => {
                metrics.bytes_out.fetch_add(n as u64, Relaxed);
                last_write = Instant::now();
            }
            _ => {
                outbox.close();
                return;
            }
        }
        if closing {
            let _ = wr.shutdown().await;
            outbox.close();
            return;
        }
    }
}

/// A gateway serving on its own threads.
pub struct Running {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// Where `/metrics` is served, if it is.
    pub metrics_addr: Option<SocketAddr>,
    gateway: Gateway,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Ends every connection with `EndOfSession` (`Shutdown`) and stops.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Binds the listeners and serves on a runtime of the gateway's own. Feed it with
/// [`Gateway::ingest`] (`running.gateway()`).
pub fn start(config: Config, plan: &Plan) -> Result<Running, String> {
    let gateway = Gateway::new(config, plan)?;
    let config = gateway.config().clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.threads.max(1))
        .thread_name("rltop-gateway")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the gateway's runtime: {e}"))?;
    let listener = runtime
        .block_on(TcpListener::bind(config.listen))
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let metrics_listener = match config.metrics {
        Some(m) => Some(
            runtime
                .block_on(TcpListener::bind(m))
                .map_err(|e| format!("cannot serve metrics on {m}: {e}"))?,
        ),
        None => None,
    };
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let gw = gateway.clone();
    let thread = std::thread::Builder::new()
        .name("rltop-gateway".into())
        .spawn(move || {
            runtime.block_on(async move {
                if let Some(l) = metrics_listener {
                    tokio::spawn(crate::metrics::serve(l, gw.clone()));
                }
                gw.serve(listener, async {
                    let _ = stopped.await;
                })
                .await;
            });
            runtime.shutdown_timeout(Duration::from_millis(500));
        })
        .map_err(|e| format!("cannot start the gateway thread: {e}"))?;
    Ok(Running {
        addr,
        metrics_addr,
        gateway,
        stop: Some(stop),
        thread: Some(thread),
    })
}
