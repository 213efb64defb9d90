//! The writer side of one connection: live queue first, then replay, heartbeats when idle,
//! and the last message before closing.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use super::outbox::{Control, Item, Outbox, ReplayJob, ReplaySend};
use rltop_serve::lock::Unpoisoned;

use super::Gateway;
use crate::wire::Outgoing;

/// How much the writer gathers before a write.
pub(super) const CHUNK: usize = 256 << 10;
/// Most slices in one vectored write of a replay (Linux's `IOV_MAX` is 1024), and about
/// the most bytes: enough that a replay costs a system call per megabyte, not per message.
pub(super) const REPLAY_SLICES: usize = 1024;
pub(super) const REPLAY_BYTES: usize = 1 << 20;

/// The writer of one connection: live queue first, then replay, heartbeats when idle, and
/// the last message before closing.
///
/// Live data and control answers are small and many: they are copied into one buffer and
/// written together. A replay's messages are written from the retained datagrams with
/// vectored writes, outside the outbox's lock, one slice per run of neighbouring
/// messages; between two such writes the live queue goes first, so a long replay never
/// holds live data back.
pub(super) async fn write_loop(
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
            let mut q = outbox.queues.locked();
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
