//! The reader side of one connection: the session state machine of SPEC.md §11 (login,
//! subscriptions, replay requests), answering through the connection's outbox, with replays
//! held to a token bucket of messages a second.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use rltop::Message;
use rltop_net::plan::Stream;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use super::outbox::{end_of_session, Control, Outbox, ReplayJob, ReplaySend};
use rltop_serve::lock::Unpoisoned;

use super::{Channel, ChannelData, Gateway, Metrics};
use crate::retention::Missing;
use crate::wire::{fit_text, Framer, MAX_CLIENT_MESSAGE};

/// Replay budget: a token bucket of `rate` messages a second, holding one second's worth.
pub(super) struct Bucket {
    pub(super) rate: f64,
    pub(super) tokens: f64,
    pub(super) at: Instant,
}

impl Bucket {
    pub(super) fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            at: Instant::now(),
        }
    }

    pub(super) fn take(&mut self, n: u32) -> bool {
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

    pub(super) fn refund(&mut self, n: u32) {
        self.tokens = (self.tokens + f64::from(n)).min(self.rate);
    }
}

/// The reader side of one connection: the state machine of SPEC.md §11.
pub(super) struct Session<'a> {
    pub(super) gw: &'a Gateway,
    pub(super) outbox: &'a Arc<Outbox>,
    pub(super) over_limit: bool,
    pub(super) logged_in: bool,
    pub(super) subscribed: HashSet<usize>,
    pub(super) heartbeat: &'a AtomicU64,
    pub(super) bucket: Bucket,
}

impl Session<'_> {
    pub(super) fn metrics(&self) -> &Metrics {
        &self.gw.inner.metrics
    }

    pub(super) async fn read_loop(&mut self, mut rd: tokio::net::tcp::OwnedReadHalf) {
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

    pub(super) async fn outbox_ending(&self) {
        let ended = self.outbox.ended.notified();
        tokio::pin!(ended);
        // Registered before the check: an ending between the two still wakes it.
        ended.as_mut().enable();
        if self.outbox.is_ending() {
            return;
        }
        ended.await;
    }

    pub(super) fn reject(
        &self,
        bytes: &[u8],
        reason: rltop::RejectCode,
        offset: usize,
        detail: &str,
    ) {
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
    pub(super) fn on_message(&mut self, bytes: &[u8], stream_at: u64) -> bool {
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

    pub(super) fn not_logged_in(&self) -> bool {
        self.metrics().protocol_error_closes.fetch_add(1, Relaxed);
        self.outbox.finish(end_of_session(
            rltop::EndReason::ProtocolError,
            "a message other than Login before the login",
        ));
        false
    }

    pub(super) fn login(&mut self, l: &rltop::Login) -> bool {
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
            let d = ch.data.locked();
            self.outbox.push_control(Control::Status(status(
                ch,
                &d,
                rltop::ChannelState::Unsubscribed,
            )));
        }
        true
    }

    pub(super) fn subscription(
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
            let mut d = ch.data.locked();
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

    pub(super) fn replay(&mut self, r: &rltop::ReplayRequest) {
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
            let d = inner.channels[k].data.locked();
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
pub(super) const TYPE_AT: usize = rltop::PROTOCOL.type_offset;
/// Where Subscribe and Unsubscribe hold their stream set and instrument ids (one layout).
pub(super) const STREAMS_AT: usize = std::mem::offset_of!(rltop::Subscribe, streams);
pub(super) const INSTRUMENTS_AT: usize = std::mem::offset_of!(rltop::Subscribe, instruments);
const _: () = assert!(
    STREAMS_AT == std::mem::offset_of!(rltop::Unsubscribe, streams)
        && INSTRUMENTS_AT == std::mem::offset_of!(rltop::Unsubscribe, instruments)
);

/// The session messages only a gateway sends.
pub(super) fn is_from_gateway(msg_type: u8) -> bool {
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

pub(super) fn status(
    ch: &Channel,
    d: &ChannelData,
    state: rltop::ChannelState,
) -> rltop::ChannelStatus {
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
