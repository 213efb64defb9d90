//! The gateway server (SPEC.md §11): retention per channel, TCP sessions, live fan-out and
//! replay.
//!
//! Threads and locks. Datagrams come in through [`Gateway::ingest`] on the source's thread.
//! Each channel has one lock over its retention and its subscriber list; each connection
//! has an `Outbox` (a lock over its queues, and a `Notify` for its writer task). The
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
//!
//! Modules: `config` (the settings and their check), `outbox` (a connection's queues and
//! the slow-consumer policy), `session` (the reader's state machine), `writer` (the
//! writer task), `metrics` (`/metrics`, served by hyper). This file holds the gateway's
//! channels, ingest and fan-out, the accept loop and shutdown.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rltop_net::plan::{Plan, Stream};
use rltop_serve::accept::accept_until;
use rltop_serve::drain::drained;
use rltop_serve::lock::Unpoisoned;
use tokio::net::{TcpListener, TcpStream};

mod config;
mod metrics;
mod outbox;
mod session;
mod writer;

pub use config::Config;
use outbox::{end_of_session, Outbox};
use session::{Bucket, Session};
use writer::write_loop;

use crate::retention::{Insert, Piece, Retention};

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
        self.inner.channels[k].data.locked().retention.window()
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
            let inserted = self.inner.channels[k]
                .data
                .locked()
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
        let data = self.inner.channels[k].data.locked();
        for sub in &data.subscribers {
            if sub.push_data(slice.clone(), m) {
                m.slow_closes.fetch_add(1, Relaxed);
            }
        }
        m.forwarded_messages
            .fetch_add(count * data.subscribers.len() as u64, Relaxed);
    }

    /// Serves clients on `listener` until `stop` resolves; then ends every connection with
    /// `EndOfSession` (`Shutdown`) and waits (a second at most) for them to go.
    pub async fn serve(self, listener: TcpListener, stop: impl std::future::Future<Output = ()>) {
        accept_until(
            &listener,
            "gateway",
            stop,
            || {},
            |stream, _peer| {
                let gw = self.clone();
                tokio::spawn(async move { gw.connection(stream).await });
            },
        )
        .await;
        self.inner.stopping.store(true, Relaxed);
        drop(listener);
        let conns: Vec<Arc<Outbox>> = self.inner.conns.locked().values().cloned().collect();
        for c in conns {
            c.finish(end_of_session(
                rltop::EndReason::Shutdown,
                "the gateway is shutting down",
            ));
        }
        drained(
            || self.inner.active.load(Relaxed) as u64,
            Duration::from_secs(1),
        )
        .await;
    }

    async fn connection(self, stream: TcpStream) {
        let inner = &self.inner;
        let over_limit = inner.active.fetch_add(1, Relaxed) >= inner.config.max_connections;
        inner.metrics.connections.fetch_add(1, Relaxed);
        inner.metrics.connections_total.fetch_add(1, Relaxed);
        let id = inner.next_conn.fetch_add(1, Relaxed);
        let outbox = Arc::new(Outbox::new(id, inner.config.queue_bytes));
        inner.conns.locked().insert(id, outbox.clone());
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
            inner.channels[k]
                .data
                .locked()
                .subscribers
                .retain(|s| s.id != id);
        }
        if tokio::time::timeout(Duration::from_secs(2), writer)
            .await
            .is_err()
        {
            outbox.close();
        }
        inner.conns.locked().remove(&id);
        inner.active.fetch_sub(1, Relaxed);
        inner.metrics.connections.fetch_sub(1, Relaxed);
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
                    tokio::spawn(metrics::serve(l, gw.clone()));
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
