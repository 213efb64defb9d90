//! Gateway clients: one [`Connection`] (async), and a [`Pool`] of them as seed 003 has it:
//! several connections, each health-checked by heartbeats and the idle timeout, reconnected
//! with backoff, with replay requests spread over the healthy ones.
//!
//! The pool runs on a thread and runtime of its own, so synchronous code (the feed handler
//! loop of `rltop listen`) and async code use it alike. What the gateway sends comes out of
//! one channel as [`Delivery`] values, whichever connection it came on: market data in runs
//! of whole messages (live or replayed — a consumer tells them apart only by `seq_num`, as
//! SPEC.md §11 says), and what happened to the pool and its requests.
//!
//! Live data is subscribed on one connection at a time (the lowest healthy one claims it).
//! When that connection fails, another claims it and subscribes again; the messages missed
//! in between show up as a session gap at the consumer, which asks for them by replay. A
//! replay request outstanding on a connection that fails is sent again on another.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rltop::Message;
use rltop_serve::lock::Unpoisoned;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc as amsc, Notify};

use crate::wire::{fit_text, is_control, Framer, Outgoing, MAX_GATEWAY_MESSAGE};

/// What to subscribe to (SPEC.md §11, "Subscriptions").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub streams: rltop::StreamSet,
    /// Instruments whose groups to take; empty: every group. At most 20.
    pub instruments: Vec<u32>,
}

impl Subscription {
    /// Every stream of every instrument group.
    pub fn everything() -> Self {
        Self {
            streams: rltop_net::plan::Stream::ALL
                .iter()
                .fold(rltop::StreamSet::empty(), |s, st| s | st.bit()),
            instruments: Vec::new(),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port` of the gateway (resolved at every connection attempt).
    pub addr: String,
    pub token: String,
    /// Sent in `Login`, for the gateway's log.
    pub name: String,
    /// Connections in the pool.
    pub connections: usize,
    /// Heartbeat interval to ask for; zero takes the gateway's.
    pub heartbeat: Duration,
    pub connect_timeout: Duration,
    /// Reconnection backoff: doubles from `backoff_min` up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Live data to take (on one connection of the pool); `None`: replay only.
    pub subscribe: Option<Subscription>,
    /// Deliveries waiting for the consumer before the pool stops reading (back-pressure
    /// onto TCP, which the gateway's slow-consumer bound then judges).
    pub queue: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:9400".into(),
            token: String::new(),
            name: "rltop".into(),
            connections: 2,
            heartbeat: Duration::ZERO,
            connect_timeout: Duration::from_secs(2),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
            subscribe: None,
            queue: 65536,
        }
    }
}

/// What `LoginAccepted` said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub session: u64,
    pub heartbeat: Duration,
    pub idle_timeout: Duration,
    pub num_channels: u16,
    pub max_replay_count: u32,
    pub replay_rate: u32,
}

/// Why a connection attempt or a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// TCP could not connect, or the connection failed.
    Io(String),
    /// The gateway refused the login.
    LoginRejected {
        reason: Result<rltop::LoginRejectReason, u8>,
        detail: String,
    },
    /// The gateway ended the session.
    Ended {
        reason: Result<rltop::EndReason, u8>,
        detail: String,
    },
    /// The gateway's bytes cannot be followed.
    Protocol(String),
    /// Nothing came from the gateway for its idle timeout.
    Idle,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::LoginRejected { reason, detail } => {
                write!(f, "login rejected ({reason:?}): {detail}")
            }
            ClientError::Ended { reason, detail } => {
                write!(f, "session ended ({reason:?}): {detail}")
            }
            ClientError::Protocol(e) => write!(f, "protocol error: {e}"),
            ClientError::Idle => write!(f, "nothing from the gateway for its idle timeout"),
        }
    }
}

/// One thing a connection read.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// Whole market-data messages, as the gateway sent them.
    Data(Bytes),
    /// One control message (decode it with `rltop::Message::decode`).
    Control(Bytes),
}

/// A logged-in connection to a gateway.
pub struct Connection {
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    framer: Framer,
    out: Outgoing,
    pub accepted: Accepted,
}

impl Connection {
    /// Connects, logs in, and waits for `LoginAccepted` (the `ChannelStatus` messages after
    /// it come out of [`Connection::next`]).
    pub async fn connect(config: &ClientConfig) -> Result<Connection, ClientError> {
        let io = |e: std::io::Error| ClientError::Io(format!("{}: {e}", config.addr));
        let stream = tokio::time::timeout(config.connect_timeout, TcpStream::connect(&config.addr))
            .await
            .map_err(|_| ClientError::Io(format!("{}: connection timed out", config.addr)))?
            .map_err(io)?;
        let _ = stream.set_nodelay(true);
        let (rd, wr) = stream.into_split();
        let mut c = Connection {
            rd,
            wr,
            framer: Framer::new(MAX_GATEWAY_MESSAGE),
            out: Outgoing::default(),
            accepted: Accepted {
                session: 0,
                heartbeat: Duration::from_secs(1),
                idle_timeout: Duration::from_secs(3),
                num_channels: 0,
                max_replay_count: 0,
                replay_rate: 0,
            },
        };
        let mut login = rltop::Login::new();
        login.set_heartbeat_ms(config.heartbeat.as_millis().min(u128::from(u32::MAX)) as u32);
        let _ = login.set_client_name(&fit_text(&config.name, 16));
        login
            .set_token(&config.token)
            .map_err(|e| ClientError::Io(format!("the token cannot be sent: {e}")))?;
        c.send_control(login).await?;
        let first = tokio::time::timeout(config.connect_timeout * 3, c.next())
            .await
            .map_err(|_| ClientError::Io(format!("{}: no answer to Login", config.addr)))??;
        let Incoming::Control(bytes) = first else {
            return Err(ClientError::Protocol(
                "market data before LoginAccepted".into(),
            ));
        };
        match Message::decode(&bytes) {
            Ok(Message::LoginAccepted(a)) => {
                c.accepted = Accepted {
                    session: a.header().session_id(),
                    heartbeat: Duration::from_millis(u64::from(a.heartbeat_ms())),
                    idle_timeout: Duration::from_millis(u64::from(a.idle_timeout_ms())),
                    num_channels: a.num_channels(),
                    max_replay_count: a.max_replay_count(),
                    replay_rate: a.replay_rate(),
                };
                c.out.session = c.accepted.session;
                Ok(c)
            }
            Ok(Message::LoginRejected(r)) => Err(ClientError::LoginRejected {
                reason: r.reason().map_err(|e| e.value as u8),
                detail: r.detail().to_string(),
            }),
            Ok(Message::EndOfSession(e)) => Err(ended(e)),
            Ok(other) => Err(ClientError::Protocol(format!(
                "{} instead of LoginAccepted",
                other.name()
            ))),
            Err(e) => Err(ClientError::Protocol(e.to_string())),
        }
    }

    /// Sends one control message.
    pub async fn send_control<M: rltop_runtime::Message>(
        &mut self,
        m: M,
    ) -> Result<(), ClientError> {
        let bytes = self.out.seal(m);
        self.wr
            .write_all(&bytes)
            .await
            .map_err(|e| ClientError::Io(e.to_string()))
    }

    /// Sends raw bytes (tests use it for malformed input).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.wr
            .write_all(bytes)
            .await
            .map_err(|e| ClientError::Io(e.to_string()))
    }

    pub async fn subscribe(&mut self, s: &Subscription, on: bool) -> Result<(), ClientError> {
        let mut list = [0u32; 20];
        let n = s.instruments.len().min(20);
        list[..n].copy_from_slice(&s.instruments[..n]);
        if on {
            let mut m = rltop::Subscribe::new();
            m.set_streams(s.streams);
            m.set_num_instruments(n as u8);
            m.set_instruments(list);
            self.send_control(m).await
        } else {
            let mut m = rltop::Unsubscribe::new();
            m.set_streams(s.streams);
            m.set_num_instruments(n as u8);
            m.set_instruments(list);
            self.send_control(m).await
        }
    }

    pub async fn replay(
        &mut self,
        request_id: u32,
        session: u64,
        first_seq: u64,
        count: u32,
    ) -> Result<(), ClientError> {
        let mut m = rltop::ReplayRequest::new();
        m.set_request_id(request_id);
        m.set_channel_session(session);
        m.set_first_seq(first_seq);
        m.set_count(count);
        self.send_control(m).await
    }

    pub async fn heartbeat(&mut self) -> Result<(), ClientError> {
        self.send_control(rltop::SessionHeartbeat::new()).await
    }

    pub async fn logout(&mut self) -> Result<(), ClientError> {
        self.send_control(rltop::Logout::new()).await
    }

    /// The next run of market data or control message. `EndOfSession` is returned as
    /// [`ClientError::Ended`]; end of stream as `Io`.
    pub async fn next(&mut self) -> Result<Incoming, ClientError> {
        loop {
            if let Some(t) = self
                .framer
                .peek_type()
                .map_err(|e| ClientError::Protocol(e.to_string()))?
            {
                if is_control(t) {
                    let bytes = self
                        .framer
                        .next_message()
                        .map_err(|e| ClientError::Protocol(e.to_string()))?
                        .expect("a whole message was peeked");
                    if let Ok(Message::EndOfSession(e)) = Message::decode(&bytes) {
                        return Err(ended(e));
                    }
                    return Ok(Incoming::Control(bytes));
                }
                if let Some(run) = self
                    .framer
                    .next_run(64 << 10, is_control)
                    .map_err(|e| ClientError::Protocol(e.to_string()))?
                {
                    return Ok(Incoming::Data(run));
                }
            }
            let buf = self.framer.buffer();
            buf.reserve(128 << 10);
            match self.rd.read_buf(buf).await {
                Ok(0) => return Err(ClientError::Io("the gateway closed the connection".into())),
                Ok(_) => {}
                Err(e) => return Err(ClientError::Io(e.to_string())),
            }
        }
    }
}

fn ended(e: &rltop::EndOfSession) -> ClientError {
    ClientError::Ended {
        reason: e.reason().map_err(|x| x.value as u8),
        detail: e.detail().to_string(),
    }
}

/// What a pool hands its consumer.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// Whole market-data messages (live or replayed).
    Data(Bytes),
    /// A replay was sent in full (its messages came before this).
    ReplayComplete {
        session: u64,
        first_seq: u64,
        count: u32,
    },
    /// A replay was refused: the consumer falls back to a snapshot (SPEC.md §8).
    ReplayRejected {
        session: u64,
        first_seq: u64,
        count: u32,
        reason: Result<rltop::ReplayRejectReason, u8>,
        /// What the gateway holds of the channel, `(0, 0)` when nothing.
        window: (u64, u64),
        detail: String,
    },
    /// A channel's status (after the login, and after subscription changes).
    Channel(rltop::ChannelStatus),
    /// The gateway refused one of the pool's messages (a bug on one side or the other).
    Rejected { conn: usize, detail: String },
    /// Connection `conn` is logged in.
    Up { conn: usize, session: u64 },
    /// Connection `conn` failed or ended; it reconnects after a backoff.
    Down { conn: usize, reason: ClientError },
}

#[derive(Debug, Clone, Copy)]
struct Request {
    session: u64,
    first_seq: u64,
    count: u32,
}

struct Shared {
    config: ClientConfig,
    stop: AtomicBool,
    /// Which connection has the live subscription (usize::MAX: none).
    live: AtomicUsize,
    live_free: Notify,
    healthy: Vec<AtomicBool>,
    /// Per connection: where to send it requests.
    senders: Vec<amsc::UnboundedSender<Request>>,
    /// Requests no healthy connection could take yet.
    waiting: Mutex<VecDeque<Request>>,
    next_conn: AtomicUsize,
    next_id: AtomicU32,
    deliveries: mpsc::SyncSender<Delivery>,
    reconnects: AtomicU32,
}

impl Shared {
    fn deliver(&self, d: Delivery) -> bool {
        self.deliveries.send(d).is_ok()
    }

    /// Gives a request to the next healthy connection, or keeps it until one is.
    fn route(&self, r: Request) {
        let n = self.senders.len();
        for _ in 0..n {
            let k = self.next_conn.fetch_add(1, Relaxed) % n;
            if self.healthy[k].load(Relaxed) && self.senders[k].send(r).is_ok() {
                return;
            }
        }
        self.waiting.locked().push_back(r);
    }
}

/// A pool of gateway connections. Dropping it stops them.
pub struct Pool {
    shared: Arc<Shared>,
    deliveries: mpsc::Receiver<Delivery>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Pool {
    /// Starts `config.connections` connections (they connect in the background; watch for
    /// [`Delivery::Up`]).
    pub fn start(config: ClientConfig) -> Result<Pool, String> {
        let n = config.connections.max(1);
        let (tx, rx) = mpsc::sync_channel(config.queue.max(16));
        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        for _ in 0..n {
            let (s, r) = amsc::unbounded_channel();
            senders.push(s);
            receivers.push(r);
        }
        let shared = Arc::new(Shared {
            config,
            stop: AtomicBool::new(false),
            live: AtomicUsize::new(usize::MAX),
            live_free: Notify::new(),
            healthy: (0..n).map(|_| AtomicBool::new(false)).collect(),
            senders,
            waiting: Mutex::new(VecDeque::new()),
            next_conn: AtomicUsize::new(0),
            next_id: AtomicU32::new(1),
            deliveries: tx,
            reconnects: AtomicU32::new(0),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the pool's runtime: {e}"))?;
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("rltop-gateway-pool".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mut tasks = Vec::new();
                    for (k, r) in receivers.into_iter().enumerate() {
                        tasks.push(tokio::spawn(run_connection(sh.clone(), k, r)));
                    }
                    for t in tasks {
                        let _ = t.await;
                    }
                });
            })
            .map_err(|e| format!("cannot start the pool's thread: {e}"))?;
        Ok(Pool {
            shared,
            deliveries: rx,
            thread: Some(thread),
        })
    }

    /// Asks for messages `first_seq .. first_seq + count` of a channel, split into
    /// requests the gateway accepts and spread over the healthy connections. The answer
    /// comes as deliveries: the messages, then `ReplayComplete` or `ReplayRejected` per part.
    pub fn replay(&self, session: u64, first_seq: u64, count: u64) {
        // The gateway's bound, as far as known (every gateway accepts 1000).
        const PART: u64 = 1000;
        let mut at = first_seq;
        let end = first_seq.saturating_add(count);
        while at < end {
            let n = (end - at).min(PART);
            self.shared.route(Request {
                session,
                first_seq: at,
                count: n as u32,
            });
            at += n;
        }
    }

    /// The next delivery, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Delivery> {
        self.deliveries.recv_timeout(timeout).ok()
    }

    /// The next delivery if one is waiting.
    pub fn try_recv(&self) -> Option<Delivery> {
        self.deliveries.try_recv().ok()
    }

    /// Connections logged in now.
    pub fn healthy(&self) -> usize {
        self.shared
            .healthy
            .iter()
            .filter(|h| h.load(Relaxed))
            .count()
    }

    /// Times a connection of the pool has been lost.
    pub fn reconnects(&self) -> u32 {
        self.shared.reconnects.load(Relaxed)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.stop.store(true, Relaxed);
        self.shared.live_free.notify_waiters();
        // Unblock a connection waiting to hand over a delivery.
        while self.deliveries.try_recv().is_ok() {}
        if let Some(t) = self.thread.take() {
            // Connections notice the stop within a heartbeat; drain meanwhile.
            while !t.is_finished() {
                while self.deliveries.try_recv().is_ok() {}
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = t.join();
        }
    }
}

async fn run_connection(
    shared: Arc<Shared>,
    k: usize,
    mut requests: amsc::UnboundedReceiver<Request>,
) {
    let config = &shared.config;
    let mut backoff = config.backoff_min;
    let mut first = true;
    while !shared.stop.load(Relaxed) {
        if !first {
            shared.reconnects.fetch_add(1, Relaxed);
            // Jitter (up to a half), so a pool does not reconnect in lockstep.
            let jitter = backoff.mul_f64(0.5 * ((k as f64 * 0.618) % 1.0));
            tokio::time::sleep(backoff + jitter).await;
            backoff = (backoff * 2).min(config.backoff_max);
        }
        first = false;
        let mut conn = match Connection::connect(config).await {
            Ok(c) => c,
            Err(reason) => {
                if !shared.deliver(Delivery::Down { conn: k, reason }) {
                    return;
                }
                continue;
            }
        };
        backoff = config.backoff_min;
        shared.healthy[k].store(true, Relaxed);
        if !shared.deliver(Delivery::Up {
            conn: k,
            session: conn.accepted.session,
        }) {
            return;
        }
        let reason = serve(&shared, k, &mut conn, &mut requests).await;
        shared.healthy[k].store(false, Relaxed);
        if shared
            .live
            .compare_exchange(k, usize::MAX, Relaxed, Relaxed)
            .is_ok()
        {
            shared.live_free.notify_waiters();
        }
        if shared.stop.load(Relaxed) {
            let _ = conn.logout().await;
            return;
        }
        if !shared.deliver(Delivery::Down { conn: k, reason }) {
            return;
        }
    }
}

/// Runs one logged-in connection until it fails; outstanding requests go back to the pool.
async fn serve(
    shared: &Shared,
    k: usize,
    conn: &mut Connection,
    requests: &mut amsc::UnboundedReceiver<Request>,
) -> ClientError {
    let mut pending: VecDeque<Request> = VecDeque::new();
    // Requests that waited for a healthy connection.
    let waiting: Vec<Request> = shared.waiting.locked().drain(..).collect();
    let reason = 'conn: {
        for r in waiting {
            if let Err(e) = send_request(shared, conn, &mut pending, r).await {
                break 'conn e;
            }
        }
        let heartbeat = conn.accepted.heartbeat.max(Duration::from_millis(10));
        let idle = conn.accepted.idle_timeout.max(heartbeat);
        let mut last_rx = tokio::time::Instant::now();
        let mut last_tx = tokio::time::Instant::now();
        loop {
            if shared.stop.load(Relaxed) {
                break 'conn ClientError::Io("the pool is stopping".into());
            }
            if let Some(sub) = &shared.config.subscribe {
                if shared
                    .live
                    .compare_exchange(usize::MAX, k, Relaxed, Relaxed)
                    .is_ok()
                {
                    if let Err(e) = conn.subscribe(sub, true).await {
                        break 'conn e;
                    }
                    last_tx = tokio::time::Instant::now();
                }
            }
            let free = shared.live_free.notified();
            tokio::select! {
                incoming = conn.next() => {
                    last_rx = tokio::time::Instant::now();
                    match incoming {
                        Ok(Incoming::Data(b)) => {
                            if !shared.deliver(Delivery::Data(b)) {
                                break 'conn ClientError::Io("the consumer is gone".into());
                            }
                        }
                        Ok(Incoming::Control(b)) => {
                            if let Some(d) = control(k, &b, &mut pending) {
                                if !shared.deliver(d) {
                                    break 'conn ClientError::Io("the consumer is gone".into());
                                }
                            }
                        }
                        Err(e) => break 'conn e,
                    }
                }
                r = requests.recv() => {
                    let Some(r) = r else { break 'conn ClientError::Io("the pool is stopping".into()) };
                    if let Err(e) = send_request(shared, conn, &mut pending, r).await {
                        break 'conn e;
                    }
                    last_tx = tokio::time::Instant::now();
                }
                _ = tokio::time::sleep_until(last_tx + heartbeat) => {
                    if let Err(e) = conn.heartbeat().await {
                        break 'conn e;
                    }
                    last_tx = tokio::time::Instant::now();
                }
                _ = tokio::time::sleep_until(last_rx + idle) => break 'conn ClientError::Idle,
                _ = free => {}
            }
        }
    };
    // Whatever this connection still owed goes to the others (or waits for one).
    while let Ok(r) = requests.try_recv() {
        pending.push_back(r);
    }
    for r in pending {
        shared.route(r);
    }
    reason
}

async fn send_request(
    shared: &Shared,
    conn: &mut Connection,
    pending: &mut VecDeque<Request>,
    r: Request,
) -> Result<(), ClientError> {
    let id = shared.next_id.fetch_add(1, Relaxed);
    pending.push_back(r);
    conn.replay(id, r.session, r.first_seq, r.count).await
}

/// A control message from the gateway as a delivery; answers settle `pending` in order.
fn control(k: usize, bytes: &[u8], pending: &mut VecDeque<Request>) -> Option<Delivery> {
    match Message::decode(bytes) {
        Ok(Message::ReplayComplete(c)) => {
            pending.pop_front();
            Some(Delivery::ReplayComplete {
                session: c.channel_session(),
                first_seq: c.first_seq(),
                count: c.count(),
            })
        }
        Ok(Message::ReplayRejected(r)) => {
            pending.pop_front();
            Some(Delivery::ReplayRejected {
                session: r.channel_session(),
                first_seq: r.first_seq(),
                count: r.count(),
                reason: r.reason().map_err(|e| e.value as u8),
                window: (r.window_first(), r.window_last()),
                detail: r.detail().to_string(),
            })
        }
        Ok(Message::ChannelStatus(s)) => Some(Delivery::Channel(*s)),
        Ok(Message::Reject(r)) => Some(Delivery::Rejected {
            conn: k,
            detail: format!(
                "type 0x{:02X}: {:?}: {}",
                r.rejected_type(),
                r.reason(),
                r.detail()
            ),
        }),
        Ok(_) => None,
        Err(e) => Some(Delivery::Rejected {
            conn: k,
            detail: format!("a control message from the gateway failed verification: {e}"),
        }),
    }
}
