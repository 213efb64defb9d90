//! A connection's outbox: what its writer task sends, in order — control answers and live
//! data in one bounded queue, replays after them — and the slow-consumer policy: the push
//! that would pass the bound empties the queue and queues `EndOfSession` (`SlowConsumer`)
//! instead, so a slow client is closed with a reason, never left to grow without end.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::Notify;

use rltop_serve::lock::Unpoisoned;
use rltop_serve::slow::{admit, Bound};

use super::Metrics;
use crate::retention::Piece;
use crate::wire::{fit_text, Outgoing};

/// A control message the gateway sends, sealed (numbered) when it is written.
#[derive(Debug, Clone, Copy)]
pub(super) enum Control {
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
    pub(super) fn seal(self, out: &mut Outgoing) -> Bytes {
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

pub(super) enum Item {
    Data(Bytes),
    Control(Control),
}

/// An answered replay request, waiting for the writer.
pub(super) enum ReplayJob {
    Send(ReplaySend),
    Rejected(rltop::ReplayRejected),
}

/// The messages of an accepted replay, as runs of their datagrams, and how far the writer
/// has sent them. Its `ReplayComplete` is sealed (numbered) when the writer reaches it and
/// goes out as the last run, in the same write as the last messages when they fit.
pub(super) struct ReplaySend {
    pub(super) runs: Vec<Piece>,
    /// The run being sent, and bytes of it already sent.
    pub(super) next: usize,
    pub(super) sent: usize,
    pub(super) done: rltop::ReplayComplete,
    pub(super) sealed: bool,
}

impl ReplaySend {
    pub(super) fn new(runs: Vec<Piece>, done: rltop::ReplayComplete) -> Self {
        Self {
            runs,
            next: 0,
            sent: 0,
            done,
            sealed: false,
        }
    }

    pub(super) fn is_done(&self) -> bool {
        self.sealed && self.next == self.runs.len()
    }

    /// Whether the next write must continue this replay: it stopped inside a run (and so
    /// perhaps inside a message), or its completion is numbered already and anything sealed
    /// before it went out would carry a later number ahead of it.
    pub(super) fn must_continue(&self) -> bool {
        self.sent > 0 || (self.sealed && !self.is_done())
    }

    /// What is left to send, at most `max_slices` slices and about `max_bytes` bytes; the
    /// completion is sealed with `out` and included once everything else fits.
    pub(super) fn slices(
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
    pub(super) fn advance(&mut self, mut n: usize) {
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

pub(super) struct Queues {
    pub(super) live: VecDeque<Item>,
    pub(super) live_bytes: usize,
    pub(super) replays: VecDeque<ReplayJob>,
    /// The last message (EndOfSession or LoginRejected): the writer sends it after what is
    /// queued live, then closes.
    pub(super) last: Option<Control>,
    /// No more pushes: the connection is ending.
    pub(super) ending: bool,
    /// The writer is done (or the socket failed): nothing will be sent.
    pub(super) closed: bool,
}

/// One connection's outgoing side.
pub(super) struct Outbox {
    pub(super) id: u64,
    pub(super) bound: usize,
    pub(super) queues: Mutex<Queues>,
    /// Wakes the writer: something was queued, or the connection is ending.
    pub(super) wake: Notify,
    /// Wakes the reader when the connection is ending.
    pub(super) ended: Notify,
}

impl Outbox {
    pub(super) fn new(id: u64, bound: usize) -> Self {
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
    pub(super) fn push_data(&self, bytes: Bytes, metrics: &Metrics) -> bool {
        let mut q = self.queues.locked();
        if q.ending || q.closed {
            return false;
        }
        if let Err(slow) = admit(q.live_bytes, bytes.len(), Bound::PerConnection(self.bound)) {
            metrics
                .dropped_bytes
                .fetch_add((q.live_bytes + bytes.len()) as u64, Relaxed);
            q.live.clear();
            q.live_bytes = 0;
            q.ending = true;
            q.last = Some(end_of_session(
                rltop::EndReason::SlowConsumer,
                &slow.to_string(),
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

    pub(super) fn push_control(&self, c: Control) {
        let mut q = self.queues.locked();
        if q.ending || q.closed {
            return;
        }
        q.live.push_back(Item::Control(c));
        drop(q);
        self.wake.notify_one();
    }

    pub(super) fn push_replay(&self, job: ReplayJob) {
        let mut q = self.queues.locked();
        if q.ending || q.closed {
            return;
        }
        q.replays.push_back(job);
        drop(q);
        self.wake.notify_one();
    }

    /// Ends the connection with `last` after what is queued live. Returns false if it was
    /// ending already (the first reason stands).
    pub(super) fn finish(&self, last: Control) -> bool {
        let mut q = self.queues.locked();
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

    pub(super) fn close(&self) {
        let mut q = self.queues.locked();
        q.closed = true;
        q.ending = true;
        q.live.clear();
        q.replays.clear();
        drop(q);
        self.wake.notify_one();
        self.ended.notify_waiters();
    }

    pub(super) fn is_ending(&self) -> bool {
        let q = self.queues.locked();
        q.ending || q.closed
    }
}

pub(super) fn end_of_session(reason: rltop::EndReason, detail: &str) -> Control {
    let mut m = rltop::EndOfSession::new();
    m.set_reason(reason);
    let _ = m.set_detail(&fit_text(detail, 80));
    Control::End(m)
}
