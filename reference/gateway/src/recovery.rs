//! Gap repair for the feed handler: a [`Pool`] asked for what a session lost.
//!
//! The feed handler reports `SessionGap { session_id, expected, received }` when a session's
//! `seq_num` jumps; [`Recovery::on_event`] asks the gateway for `expected .. received`. The
//! replayed messages go back into the handler through [`FeedHandler::on_replayed`], which
//! takes them as late arrivals: an instrument whose increments were missing drains its
//! buffer and is live again, without a snapshot. When the gateway cannot serve the range
//! (beyond its retention), nothing more is done: the instrument recovers from the next
//! snapshot, as it would without a gateway.
//!
//! With a subscription ([`ClientConfig::subscribe`](crate::ClientConfig)) the pool is also
//! the source of live data (`rltop listen --unicast`): everything then goes through
//! [`Recovery::poll`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rltop_feed::{Event, FeedHandler};

use crate::client::{Delivery, Pool};

/// Attempts at a range the gateway has not received yet, before leaving it to a snapshot.
const RETRIES: u32 = 8;
/// The wait before the first retry; the n-th waits n times as long (about 70 ms in all).
const RETRY_WAIT: Duration = Duration::from_millis(2);

/// Counters of what recovery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    /// Ranges asked for.
    pub requested_ranges: u64,
    /// Messages asked for.
    pub requested_messages: u64,
    /// Replay parts served in full.
    pub completed: u64,
    /// Replay parts refused for good (the book then waits for a snapshot).
    pub rejected: u64,
    /// Replay parts asked again because the gateway had not received them yet.
    pub retried: u64,
    /// Bytes of market data received from the gateway (live and replayed).
    pub bytes: u64,
    /// Connections that went down.
    pub disconnects: u64,
}

/// A feed handler's link to a gateway.
pub struct Recovery {
    pool: Pool,
    stats: RecoveryStats,
    /// Parts to ask again: (when, session, first, count, attempts so far).
    retries: Vec<(Instant, u64, u64, u32, u32)>,
    /// Attempts per part before it is left to snapshot recovery.
    attempts: HashMap<(u64, u64), u32>,
    /// The last refusal, for the consumer's report.
    pub last_rejection: Option<String>,
}

impl Recovery {
    pub fn new(pool: Pool) -> Self {
        Self {
            pool,
            stats: RecoveryStats::default(),
            retries: Vec::new(),
            attempts: HashMap::new(),
            last_rejection: None,
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn stats(&self) -> RecoveryStats {
        self.stats
    }

    /// Looks at a feed-handler event: a session gap is asked for by replay.
    pub fn on_event(&mut self, event: &Event<'_>) {
        if let Event::SessionGap {
            session_id,
            expected,
            received,
        } = *event
        {
            self.request(session_id, expected, received - expected);
        }
    }

    /// Asks for messages `first .. first + count` of a session.
    pub fn request(&mut self, session: u64, first: u64, count: u64) {
        self.stats.requested_ranges += 1;
        self.stats.requested_messages += count;
        self.pool.replay(session, first, count);
    }

    /// Hands what the gateway sent to `feed` (waiting up to `timeout` for the first
    /// delivery), and asks for the gaps it shows. Returns whether anything came.
    pub fn poll(
        &mut self,
        feed: &mut FeedHandler,
        timeout: Duration,
        on_event: &mut impl FnMut(Event<'_>),
    ) -> bool {
        let now = Instant::now();
        let mut k = 0;
        while k < self.retries.len() {
            if self.retries[k].0 <= now {
                let (_, session, first, count, _) = self.retries.swap_remove(k);
                self.pool.replay(session, first, u64::from(count));
            } else {
                k += 1;
            }
        }
        let timeout = match self.retries.iter().map(|r| r.0).min() {
            Some(due) => timeout.min(due.saturating_duration_since(now)),
            None => timeout,
        };
        let mut any = false;
        let mut next = self.pool.recv_timeout(timeout);
        while let Some(d) = next {
            any = true;
            match d {
                Delivery::Data(bytes) => {
                    self.stats.bytes += bytes.len() as u64;
                    let mut gaps = Vec::new();
                    feed.on_replayed(&bytes, &mut |e| {
                        if let Event::SessionGap {
                            session_id,
                            expected,
                            received,
                        } = e
                        {
                            gaps.push((session_id, expected, received - expected));
                        }
                        on_event(e)
                    });
                    for (s, first, count) in gaps {
                        self.request(s, first, count);
                    }
                }
                Delivery::ReplayComplete {
                    session, first_seq, ..
                } => {
                    self.stats.completed += 1;
                    self.attempts.remove(&(session, first_seq));
                }
                Delivery::ReplayRejected {
                    session,
                    first_seq,
                    count,
                    reason,
                    window,
                    detail,
                } => {
                    // Ahead of what the gateway holds: it has not received them yet (it
                    // hears the feed as the subscriber does, a little later). Ask again
                    // shortly, a few times.
                    let ahead = reason == Ok(rltop::ReplayRejectReason::OutOfWindow)
                        && first_seq + u64::from(count) - 1 > window.1
                        && first_seq >= window.0;
                    let tries = self.attempts.entry((session, first_seq)).or_insert(0);
                    *tries += 1;
                    if ahead && *tries <= RETRIES {
                        self.stats.retried += 1;
                        let wait = RETRY_WAIT * *tries;
                        self.retries.push((
                            Instant::now() + wait,
                            session,
                            first_seq,
                            count,
                            *tries,
                        ));
                        next = self.pool.try_recv();
                        continue;
                    }
                    self.attempts.remove(&(session, first_seq));
                    self.stats.rejected += 1;
                    self.last_rejection = Some(format!(
                        "session {session} {first_seq}+{count}: {reason:?} (held {}..={}): {detail}",
                        window.0, window.1
                    ));
                }
                Delivery::Down { .. } => self.stats.disconnects += 1,
                Delivery::Up { .. } | Delivery::Channel(_) | Delivery::Rejected { .. } => {}
            }
            next = self.pool.try_recv();
        }
        any
    }
}
