//! Who gets what: subscriptions, and each client's bounded outbox.
//!
//! The engine thread renders an event once and hands it to the hub; the hub appends it to
//! the outbox of every subscriber and wakes its writer task. An outbox is bounded in bytes:
//!
//! * A latest-wins stream (book tickers, partial books, tickers: [`Topic::conflates`]) has
//!   at most one frame waiting per client: a newer value replaces the waiting one in place
//!   (counted as conflated). A client that keeps up never sees this; one that falls behind
//!   gets the newest state, not a backlog.
//! * A sequence (trades, diffs, raw datagrams) is never thinned: when a frame would take the
//!   outbox past its bound, the client is closed with code 1008 and a reason naming the
//!   bound, and what was waiting is counted as dropped. A consumer that cannot keep up with
//!   a sequence has lost it either way; closing says so, where silently skipping would not.
//! * All outboxes together are bounded too ([`Hub::new`]'s `total_bytes`): past it, a frame
//!   for a client that already has frames waiting closes that client (1008) as its own bound
//!   would; a client whose outbox is empty is keeping up and always gets its frame. So the
//!   server's memory stays near the bound however many clients fall behind at once, and
//!   only clients that are behind pay.
//!
//! A frame is rendered once and shared: every outbox holds the same reference-counted
//! bytes. Writers are woken once per engine batch ([`Hub::wake`]), not once per frame: a
//! client with several frames from one batch is written once, with all of them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use rltop_serve::lock::{Unpoisoned, UnpoisonedRw};
use rltop_serve::slow::{admit, Bound};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::streams::{Symbols, Topic};

/// What a client subscribes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A Binance-style stream.
    Market(Topic),
    /// Raw RLTOP datagrams of one stream of the channel plan (`/rltop?streams=`).
    Rltop(rltop_net::Stream),
    /// One Redis pub/sub channel, in the envelope `{channel, payload, timestamp}`.
    Redis(Arc<str>),
    /// Every Redis channel the bridge listens to.
    RedisAll,
}

/// One WebSocket message.
#[derive(Debug, Clone)]
pub enum Frame {
    Text(Utf8Bytes),
    Binary(Bytes),
}

impl Frame {
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(t) => t.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why the server closes a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: String,
}

/// Counters for `/metrics` (Prometheus text) and `/healthz`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub connections: AtomicU64,
    pub connections_total: AtomicU64,
    pub refused_connections: AtomicU64,
    pub messages_out: AtomicU64,
    pub bytes_out: AtomicU64,
    pub conflated: AtomicU64,
    pub dropped: AtomicU64,
    pub slow_closes: AtomicU64,
    pub rate_limit_closes: AtomicU64,
    pub requests: AtomicU64,
    pub request_errors: AtomicU64,
    pub source_datagrams: AtomicU64,
    pub source_bytes: AtomicU64,
    pub source_messages: AtomicU64,
    pub source_rejected: AtomicU64,
    pub source_gaps: AtomicU64,
    pub source_recoveries: AtomicU64,
    pub source_stale_events: AtomicU64,
    pub redis_messages: AtomicU64,
    pub redis_reconnects: AtomicU64,
    /// Connections the listener could not accept (out of descriptors and the like).
    pub accept_errors: AtomicU64,
    /// TLS handshakes that failed or timed out.
    pub tls_failures: AtomicU64,
    /// Definitions refused for their symbol (each repetition counts).
    pub definitions_refused: AtomicU64,
}

/// A combined-stream frame, `{"stream":<name>,"data":<event>}`.
pub fn combined_frame(stream: &str, data: &str) -> String {
    let mut s = String::with_capacity(stream.len() + data.len() + 22);
    s.push_str("{\"stream\":");
    crate::json::string(&mut s, stream);
    s.push_str(",\"data\":");
    s.push_str(data);
    s.push('}');
    s
}

#[derive(Debug, Default)]
struct Outbox {
    slots: VecDeque<Frame>,
    /// Absolute index of `slots[0]`.
    base: u64,
    /// Latest-wins topic → absolute index of its waiting frame.
    waiting: HashMap<Topic, u64>,
    bytes: usize,
    close: Option<Close>,
}

/// One connected client: its outbox and the writer task's wake-up.
#[derive(Debug)]
pub struct Client {
    pub id: u64,
    /// Bytes waiting in every outbox (the hub's, shared by its clients).
    total: Arc<AtomicUsize>,
    outbox: Mutex<Outbox>,
    pub wake: Notify,
    /// Told when the client is closed without its waiting frames (a slow consumer): the
    /// writer abandons a write that the client is not taking.
    pub abort: Notify,
    /// Combined payloads (`{"stream","data"}`): set by `/stream` and `SET_PROPERTY`.
    pub combined: AtomicBool,
    /// Frames queued since the hub last woke it: it is on the hub's list to wake.
    to_wake: AtomicBool,
}

impl Client {
    /// Takes every waiting frame, in order, into `out`, and the close that follows them if
    /// the client is to be closed (after [`Client::close`] there are no frames: they were
    /// dropped and counted; after [`Client::close_after`] they go first).
    pub fn take(&self, out: &mut Vec<Frame>) -> Option<Close> {
        let mut o = self.outbox.locked();
        let close = o.close.take();
        let n = o.slots.len() as u64;
        out.extend(o.slots.drain(..));
        o.base += n;
        o.waiting.clear();
        self.total.fetch_sub(o.bytes, Relaxed);
        o.bytes = 0;
        close
    }

    /// Asks the writer to close the connection with `close` (the first request wins).
    pub fn close(&self, close: Close, metrics: &Metrics) {
        let mut o = self.outbox.locked();
        if o.close.is_none() {
            metrics.dropped.fetch_add(o.slots.len() as u64, Relaxed);
            o.slots.clear();
            o.waiting.clear();
            self.total.fetch_sub(o.bytes, Relaxed);
            o.bytes = 0;
            o.close = Some(close);
        }
        drop(o);
        self.wake.notify_one();
        self.abort.notify_one();
    }

    /// Asks the writer to close the connection once what is waiting has been sent (replies
    /// before a rate-limit close reach the client). Nothing is queued after it.
    pub fn close_after(&self, close: Close) {
        let mut o = self.outbox.locked();
        if o.close.is_none() {
            o.close = Some(close);
        }
        drop(o);
        self.wake.notify_one();
    }

    /// Queues a reply (subscription results, errors): always delivered in order.
    pub fn reply(&self, text: String) {
        let mut o = self.outbox.locked();
        if o.close.is_none() {
            o.bytes += text.len();
            self.total.fetch_add(text.len(), Relaxed);
            o.slots.push_back(Frame::Text(text.into()));
        }
        drop(o);
        self.wake.notify_one();
    }

    /// Bytes waiting.
    pub fn queued(&self) -> usize {
        self.outbox.locked().bytes
    }
}

/// The bridge's subscriptions and clients.
#[derive(Debug)]
pub struct Hub {
    subs: RwLock<HashMap<Key, Vec<Arc<Client>>>>,
    pub symbols: Mutex<Symbols>,
    pub metrics: Metrics,
    next_id: AtomicU64,
    /// Outbox bound, bytes.
    pub queue_bytes: usize,
    /// Bound of all outboxes together, bytes.
    pub total_bytes: usize,
    /// Bytes waiting in all outboxes.
    total: Arc<AtomicUsize>,
    /// Clients with frames queued since the last [`Hub::wake`].
    to_wake: Mutex<Vec<Arc<Client>>>,
}

impl Hub {
    /// A hub whose outboxes hold at most `queue_bytes` each and `total_bytes` together.
    pub fn new(queue_bytes: usize, total_bytes: usize) -> Hub {
        Hub {
            subs: RwLock::new(HashMap::new()),
            symbols: Mutex::new(Symbols::default()),
            metrics: Metrics::default(),
            next_id: AtomicU64::new(1),
            queue_bytes,
            total_bytes,
            total: Arc::new(AtomicUsize::new(0)),
            to_wake: Mutex::new(Vec::new()),
        }
    }

    /// Bytes waiting in all outboxes.
    pub fn queued(&self) -> usize {
        self.total.load(Relaxed)
    }

    /// Wakes, once each, the writers of the clients that got frames since the last call:
    /// the engine calls it after each batch of inputs and each boundary.
    pub fn wake(&self) {
        let clients = std::mem::take(&mut *self.to_wake.locked());
        for c in clients {
            c.to_wake.store(false, Relaxed);
            c.wake.notify_one();
        }
    }

    fn wake_later(&self, client: &Arc<Client>) {
        if !client.to_wake.swap(true, Relaxed) {
            self.to_wake.locked().push(client.clone());
        }
    }

    pub fn client(&self, combined: bool) -> Arc<Client> {
        Arc::new(Client {
            id: self.next_id.fetch_add(1, Relaxed),
            outbox: Mutex::new(Outbox::default()),
            total: self.total.clone(),
            wake: Notify::new(),
            abort: Notify::new(),
            combined: AtomicBool::new(combined),
            to_wake: AtomicBool::new(false),
        })
    }

    /// Adds `client` to `key`'s subscribers; false if it already was one.
    pub fn subscribe(&self, key: Key, client: &Arc<Client>) -> bool {
        let mut subs = self.subs.writing();
        let list = subs.entry(key).or_default();
        if list.iter().any(|c| c.id == client.id) {
            return false;
        }
        list.push(client.clone());
        true
    }

    pub fn unsubscribe(&self, key: &Key, client_id: u64) {
        let mut subs = self.subs.writing();
        if let Some(list) = subs.get_mut(key) {
            if let Some(at) = list.iter().position(|c| c.id == client_id) {
                list.swap_remove(at);
            }
            if list.is_empty() {
                subs.remove(key);
            }
        }
    }

    /// Does anyone listen to `key`? (The engine renders only what someone will get.)
    pub fn wanted(&self, key: &Key) -> bool {
        self.subs.reading().contains_key(key)
    }

    /// Delivers a rendered market event: `raw` to raw-stream clients, `{"stream","data"}`
    /// to combined ones (made only if one listens).
    pub fn publish_market(&self, topic: Topic, raw: String) {
        let subs = self.subs.reading();
        let Some(list) = subs.get(&Key::Market(topic)) else {
            return;
        };
        let mut combined: Option<Utf8Bytes> = None;
        let raw: Utf8Bytes = raw.into();
        for client in list {
            let frame = if client.combined.load(Relaxed) {
                let c = combined.get_or_insert_with(|| {
                    let name = crate::streams::name(topic, &self.symbols.locked());
                    combined_frame(&name, &raw).into()
                });
                Frame::Text(c.clone())
            } else {
                Frame::Text(raw.clone())
            };
            self.push(client, frame, topic.conflates().then_some(topic));
        }
    }

    /// Delivers a frame to `key`'s subscribers, in sequence (never conflated).
    pub fn publish(&self, key: &Key, frame: Frame) {
        let subs = self.subs.reading();
        if let Some(list) = subs.get(key) {
            for client in list {
                self.push(client, frame.clone(), None);
            }
        }
    }

    fn push(&self, client: &Arc<Client>, frame: Frame, latest_of: Option<Topic>) {
        let mut o = client.outbox.locked();
        if o.close.is_some() {
            self.metrics.dropped.fetch_add(1, Relaxed);
            return;
        }
        let len = frame.len();
        if let Some(topic) = latest_of {
            if let Some(&at) = o.waiting.get(&topic) {
                let base = o.base;
                let slot = &mut o.slots[(at - base) as usize];
                let old = slot.len();
                *slot = frame;
                o.bytes = o.bytes - old + len;
                self.total.fetch_add(len, Relaxed);
                self.total.fetch_sub(old, Relaxed);
                self.metrics.conflated.fetch_add(1, Relaxed);
                return;
            }
        }
        // A latest-wins frame with nothing of its topic waiting is held to the shared bound
        // only: it replaces itself from then on, so it cannot grow the queue.
        let own = match latest_of {
            None => admit(o.bytes, len, Bound::PerConnection(self.queue_bytes)),
            Some(_) => Ok(()),
        };
        let shared = Bound::Shared {
            bound: self.total_bytes,
            all_waiting: self.total.load(Relaxed),
        };
        if let Err(slow) = own.and_then(|()| admit(o.bytes, len, shared)) {
            drop(o);
            let reason = slow.to_string();
            self.metrics.slow_closes.fetch_add(1, Relaxed);
            self.metrics.dropped.fetch_add(1, Relaxed);
            client.close(Close { code: 1008, reason }, &self.metrics);
            return;
        }
        if let Some(topic) = latest_of {
            let at = o.base + o.slots.len() as u64;
            o.waiting.insert(topic, at);
        }
        o.bytes += len;
        self.total.fetch_add(len, Relaxed);
        o.slots.push_back(frame);
        drop(o);
        self.wake_later(client);
    }

    /// Every connected client (for shutdown and the status stream).
    pub fn clients(&self) -> Vec<Arc<Client>> {
        let subs = self.subs.reading();
        let mut seen = HashMap::new();
        for list in subs.values() {
            for c in list {
                seen.entry(c.id).or_insert_with(|| c.clone());
            }
        }
        seen.into_values().collect()
    }

    pub fn subscriptions(&self) -> usize {
        self.subs.reading().values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::{Kind, SymbolKey};

    fn texts(c: &Client) -> Vec<String> {
        let mut out = Vec::new();
        assert!(c.take(&mut out).is_none());
        out.into_iter()
            .map(|f| match f {
                Frame::Text(t) => t.to_string(),
                Frame::Binary(_) => panic!("binary"),
            })
            .collect()
    }

    #[test]
    fn latest_wins_streams_conflate_in_place() {
        let hub = Hub::new(1 << 20, usize::MAX);
        let c = hub.client(false);
        let ticker = Topic::Symbol(SymbolKey(0), Kind::BookTicker);
        let trades = Topic::Symbol(SymbolKey(0), Kind::Trade);
        hub.subscribe(Key::Market(ticker), &c);
        hub.subscribe(Key::Market(trades), &c);
        hub.publish_market(ticker, "t1".into());
        hub.publish_market(trades, "x1".into());
        hub.publish_market(ticker, "t2".into());
        hub.publish_market(trades, "x2".into());
        hub.publish_market(ticker, "t3".into());
        // The ticker keeps its first place with the newest value; trades all arrive.
        assert_eq!(texts(&c), ["t3", "x1", "x2"]);
        assert_eq!(hub.metrics.conflated.load(Relaxed), 2);
        // Once taken, the next value queues anew.
        hub.publish_market(ticker, "t4".into());
        assert_eq!(texts(&c), ["t4"]);
    }

    #[test]
    fn a_sequence_past_the_bound_closes_the_client() {
        let hub = Hub::new(10, usize::MAX);
        let c = hub.client(false);
        let trades = Topic::Symbol(SymbolKey(0), Kind::Trade);
        hub.subscribe(Key::Market(trades), &c);
        hub.publish_market(trades, "12345".into());
        hub.publish_market(trades, "12345".into());
        hub.publish_market(trades, "1".into());
        let close = c.take(&mut Vec::new()).expect("closed");
        assert_eq!(close.code, 1008);
        assert!(close
            .reason
            .contains("slow consumer: 10 bytes waiting, bound 10"));
        assert_eq!(hub.metrics.slow_closes.load(Relaxed), 1);
        // The two waiting frames and the one that did not fit.
        assert_eq!(hub.metrics.dropped.load(Relaxed), 3);
    }

    #[test]
    fn writers_are_woken_once_per_batch() {
        use futures_util::FutureExt;
        let hub = Hub::new(1 << 20, usize::MAX);
        let c = hub.client(false);
        let trades = Topic::Symbol(SymbolKey(0), Kind::Trade);
        hub.subscribe(Key::Market(trades), &c);
        for t in ["x1", "x2", "x3"] {
            hub.publish_market(trades, t.into());
        }
        assert!(
            c.wake.notified().now_or_never().is_none(),
            "woken before the batch ended"
        );
        hub.wake();
        assert!(c.wake.notified().now_or_never().is_some(), "not woken");
        // One wake for the three frames: nothing more to wake for.
        hub.wake();
        assert!(c.wake.notified().now_or_never().is_none());
        assert_eq!(texts(&c), ["x1", "x2", "x3"]);
        assert_eq!(hub.queued(), 0);
    }

    #[test]
    fn the_server_wide_bound_closes_clients_that_are_behind() {
        let hub = Hub::new(1000, 20);
        let trades = Topic::Symbol(SymbolKey(0), Kind::Trade);
        let (a, b) = (hub.client(false), hub.client(false));
        hub.subscribe(Key::Market(trades), &a);
        hub.subscribe(Key::Market(trades), &b);
        hub.publish_market(trades, "0123456789".into());
        assert_eq!(hub.queued(), 20);
        // Past the bound: the first client that has frames waiting is closed (and its
        // bytes freed); then there is room for the second.
        hub.publish_market(trades, "abcdefghij".into());
        let close = a.take(&mut Vec::new()).expect("a closed");
        assert_eq!(close.code, 1008);
        assert!(
            close
                .reason
                .contains("while the server's queues are full (20 bytes)"),
            "{}",
            close.reason
        );
        assert_eq!(texts(&b), ["0123456789", "abcdefghij"]);
        // A client with nothing waiting keeps up: it gets its frame even when the server is
        // over the bound.
        let c = hub.client(false);
        hub.subscribe(Key::Market(trades), &c);
        hub.publish_market(trades, "0123456789".into());
        assert_eq!(texts(&c), ["0123456789"]);
        hub.publish_market(trades, "abcdefghij".into());
        assert_eq!(hub.queued(), 30, "b's 20 and c's 10: over the bound");
        assert_eq!(texts(&c), ["abcdefghij"]);
        assert_eq!(texts(&b), ["0123456789", "abcdefghij"]);
        assert_eq!(hub.queued(), 0);
    }

    #[test]
    fn combined_clients_get_the_envelope() {
        let hub = Hub::new(1 << 20, usize::MAX);
        let key = hub.symbols.lock().unwrap().intern("simusdt");
        let raw = hub.client(false);
        let combined = hub.client(true);
        let topic = Topic::Symbol(key, Kind::Trade);
        hub.subscribe(Key::Market(topic), &raw);
        hub.subscribe(Key::Market(topic), &combined);
        hub.publish_market(topic, "{\"e\":1}".into());
        assert_eq!(texts(&raw), ["{\"e\":1}"]);
        assert_eq!(
            texts(&combined),
            ["{\"stream\":\"simusdt@trade\",\"data\":{\"e\":1}}"]
        );
    }
}
