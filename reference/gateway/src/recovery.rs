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

use std::time::Duration;

use rltop_feed::{Event, FeedHandler};

use crate::client::{Delivery, Pool};

/// Counters of what recovery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    /// Ranges asked for.
    pub requested_ranges: u64,
    /// Messages asked for.
    pub requested_messages: u64,
    /// Replay parts served in full.
    pub completed: u64,
    /// Replay parts refused (the book then waits for a snapshot).
    pub rejected: u64,
    /// Bytes of market data received from the gateway (live and replayed).
    pub bytes: u64,
    /// Connections that went down.
    pub disconnects: u64,
}

/// A feed handler's link to a gateway.
pub struct Recovery {
    pool: Pool,
    stats: RecoveryStats,
    /// The last refusal, for the consumer's report.
    pub last_rejection: Option<String>,
}

impl Recovery {
    pub fn new(pool: Pool) -> Self {
        Self {
            pool,
            stats: RecoveryStats::default(),
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
                Delivery::ReplayComplete { .. } => self.stats.completed += 1,
                Delivery::ReplayRejected {
                    session,
                    first_seq,
                    count,
                    reason,
                    window,
                    detail,
                } => {
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
