//! The engine thread: datagrams in, through the feed handler, into the market model, out
//! to the hub as rendered events; 100 ms and 1 s boundaries for depth, partial books and
//! tickers; the source's health.
//!
//! One thread owns the feed handler (its books are not shared). The market model is behind
//! a lock that REST handlers read; the engine holds it for one batch of datagrams at a time.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rltop_feed::{Event, FeedHandler};
use rltop_serve::lock::{Unpoisoned, UnpoisonedRw};

use crate::hub::{Frame, Hub, Key};
use crate::market::{Market, Sink};
use crate::source::{realtime_ns, Input, SourceState};
use crate::streams::Topic;

/// The source's health, as `/healthz` and `!bridgeStatus` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Nothing received yet.
    Starting,
    Live,
    /// No datagram for longer than the stale bound, or the source is down.
    Stale,
    /// The source has ended (a capture replayed to its end).
    Ended,
}

impl Health {
    pub fn name(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Live => "live",
            Health::Stale => "stale",
            Health::Ended => "ended",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Status {
    pub source: String,
    pub health: Health,
    pub reason: String,
    pub since_ms: u64,
    pub last_input: Option<Instant>,
    pub instruments: usize,
    pub live_instruments: usize,
}

impl Status {
    /// The `!bridgeStatus` event.
    pub fn event(&self) -> String {
        serde_json::json!({
            "e": "bridgeStatus",
            "E": realtime_ns() / 1_000_000,
            "source": self.source,
            "state": self.health.name(),
            "reason": self.reason,
            "instruments": self.instruments,
            "liveInstruments": self.live_instruments,
        })
        .to_string()
    }
}

/// What the engine shares with the server.
pub struct Shared {
    pub hub: Hub,
    pub market: RwLock<Market>,
    pub status: Mutex<Status>,
}

struct HubSink<'a>(&'a Hub);

impl Sink for HubSink<'_> {
    fn wants(&self, topic: Topic) -> bool {
        self.0.wanted(&Key::Market(topic))
    }

    fn send(&mut self, topic: Topic, json: String) {
        self.0.publish_market(topic, json);
    }
}

const BOUNDARY: Duration = Duration::from_millis(100);
/// Inputs taken under one hold of the market lock.
const BATCH: usize = 256;

/// Runs until the source's channel closes and `stop` says so.
pub fn run(
    shared: Arc<Shared>,
    rx: Receiver<Input>,
    stale_after: Duration,
    stop: &std::sync::atomic::AtomicBool,
) {
    let mut feed = FeedHandler::default();
    let mut next_boundary = Instant::now() + BOUNDARY;
    let mut boundaries: u64 = 0;
    let mut source_down: Option<String> = None;
    let mut ended = false;
    loop {
        let wait = next_boundary.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(first) => {
                let mut market = shared.market.writing();
                let mut sink = HubSink(&shared.hub);
                let mut input = Some(first);
                let mut n = 0;
                while let Some(i) = input.take() {
                    match i {
                        Input::State(SourceState::Up) => source_down = None,
                        Input::State(SourceState::Reconnected) => {
                            source_down = None;
                            shared.hub.metrics.redis_reconnects.fetch_add(1, Relaxed);
                        }
                        Input::State(SourceState::Down(reason)) => source_down = Some(reason),
                        Input::State(SourceState::Ended) => ended = true,
                        other => handle(&shared, &mut feed, &mut market, &mut sink, other),
                    }
                    n += 1;
                    if n < BATCH {
                        input = rx.try_recv().ok();
                    }
                }
                market.after_batch(&feed, &mut sink);
                drop(market);
                // Each client with frames from this batch is written once, with all of them.
                shared.hub.wake();
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                ended = true;
                if stop.load(Relaxed) {
                    return;
                }
                std::thread::sleep(wait);
            }
        }
        if stop.load(Relaxed) {
            return;
        }
        if Instant::now() >= next_boundary {
            boundaries += 1;
            next_boundary += BOUNDARY;
            // After a pause (a suspended process), do not replay the missed boundaries.
            if next_boundary < Instant::now() {
                next_boundary = Instant::now() + BOUNDARY;
            }
            let mut market = shared.market.writing();
            market.boundary(
                boundaries.is_multiple_of(10),
                &feed,
                &mut HubSink(&shared.hub),
            );
            drop(market);
            update_health(&shared, &feed, stale_after, source_down.as_deref(), ended);
            shared.hub.wake();
        }
    }
}

fn handle(
    shared: &Shared,
    feed: &mut FeedHandler,
    market: &mut Market,
    sink: &mut HubSink<'_>,
    input: Input,
) {
    let metrics = &shared.hub.metrics;
    match input {
        Input::Datagram {
            stream,
            line,
            bytes,
        } => {
            metrics.source_datagrams.fetch_add(1, Relaxed);
            metrics.source_bytes.fetch_add(bytes.len() as u64, Relaxed);
            shared.status.locked().last_input = Some(Instant::now());
            if let Some(stream) = stream {
                let key = Key::Rltop(stream);
                if shared.hub.wanted(&key) {
                    shared.hub.publish(&key, Frame::Binary(bytes.clone()));
                }
            }
            // The header time of the datagram's first message stamps its book changes.
            let header = std::mem::size_of::<rltop::MessageHeader>();
            let ts = bytes
                .get(..header)
                .map(|h| rltop_runtime::bytemuck::from_bytes::<rltop::MessageHeader>(h).timestamp())
                .unwrap_or(0);
            let line = match line {
                rltop_net::plan::Line::A => rltop_feed::Line::A,
                rltop_net::plan::Line::B => rltop_feed::Line::B,
            };
            let before = feed.stats().messages;
            feed.on_datagram_from(line, &bytes, &mut |e| match e {
                Event::Book { symbol_id, .. } => market.book_changed(symbol_id, ts),
                Event::Trade(t) => market.trade(t, sink),
                Event::Market(m) => market.market_message(&m, sink),
                Event::Instrument(d) => {
                    let mut symbols = shared.hub.symbols.locked();
                    if let Err(refused) = market.define(d, &mut symbols) {
                        metrics.definitions_refused.fetch_add(1, Relaxed);
                        if refused.first {
                            tracing::warn!("{refused}");
                        }
                    }
                }
                Event::Heartbeat(_) => {}
                Event::Stale { .. } => {
                    metrics.source_stale_events.fetch_add(1, Relaxed);
                }
                Event::Recovered { .. } => {
                    metrics.source_recoveries.fetch_add(1, Relaxed);
                }
                Event::SessionGap { .. } => {
                    metrics.source_gaps.fetch_add(1, Relaxed);
                }
                Event::Rejected { .. } => {
                    metrics.source_rejected.fetch_add(1, Relaxed);
                }
            });
            metrics
                .source_messages
                .fetch_add(feed.stats().messages - before, Relaxed);
        }
        Input::Redis { channel, payload } => {
            metrics.redis_messages.fetch_add(1, Relaxed);
            let one = Key::Redis(channel.as_str().into());
            if !shared.hub.wanted(&one) && !shared.hub.wanted(&Key::RedisAll) {
                return;
            }
            let text = envelope(&channel, &payload);
            let frame = Frame::Text(text.into());
            shared.hub.publish(&one, frame.clone());
            shared.hub.publish(&Key::RedisAll, frame);
        }
        Input::State(_) => {}
    }
}

/// Seed 002's envelope. A payload that is not UTF-8 goes as base64 with `"encoding"`.
pub fn envelope(channel: &str, payload: &[u8]) -> String {
    let timestamp = rfc3339(realtime_ns());
    match std::str::from_utf8(payload) {
        Ok(text) => serde_json::json!({"channel": channel, "payload": text, "timestamp": timestamp}),
        Err(_) => serde_json::json!({"channel": channel, "payload": base64(payload), "encoding": "base64", "timestamp": timestamp}),
    }
    .to_string()
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `2024-01-15T10:30:00.123Z` from ns since the epoch (UTC, milliseconds).
pub fn rfc3339(ns: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns);
    humantime::format_rfc3339_millis(t).to_string()
}

fn update_health(
    shared: &Shared,
    feed: &FeedHandler,
    stale_after: Duration,
    down: Option<&str>,
    ended: bool,
) {
    let symbols: Vec<u32> = feed.symbols().collect();
    let live = symbols.iter().filter(|&&s| feed.is_live(s)).count();
    let mut status = shared.status.locked();
    let quiet = status.last_input.map(|t| t.elapsed());
    let (health, reason) = if ended {
        (Health::Ended, "the source has ended".to_string())
    } else if let Some(reason) = down {
        (Health::Stale, reason.to_string())
    } else {
        match quiet {
            None => (
                Health::Starting,
                "waiting for the first datagram".to_string(),
            ),
            Some(q) if q > stale_after => (
                Health::Stale,
                format!("no datagram for {:.1} s", q.as_secs_f64()),
            ),
            Some(_) => (Health::Live, String::new()),
        }
    };
    status.instruments = symbols.len();
    status.live_instruments = live;
    if status.health != health || status.reason != reason && health != Health::Stale {
        status.health = health;
        status.reason = reason;
        status.since_ms = realtime_ns() / 1_000_000;
        let event = status.event();
        drop(status);
        shared.hub.publish_market(Topic::Status, event);
    } else if health == Health::Stale {
        status.reason = reason;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        // 2024-01-15T10:30:00.123Z (date -d ... +%s: 1705314600).
        assert_eq!(
            rfc3339(1_705_314_600_123_000_000),
            "2024-01-15T10:30:00.123Z"
        );
        // A leap day.
        assert_eq!(
            rfc3339(1_709_164_800_000_000_000),
            "2024-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn base64_of_rfc4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }
}
