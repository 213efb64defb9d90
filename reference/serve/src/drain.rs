//! The drain at shutdown: once every connection has been told to close (each server says it
//! its own way: a WebSocket close 1001, an RLTOP `EndOfSession`), the server waits for them
//! to go, so their last messages are written, but within a grace period, so one client that
//! does not read cannot hold the shutdown.

use std::time::Duration;

/// How often the count is read while draining.
const POLL: Duration = Duration::from_millis(10);

/// Waits until `open()` says no connection is left, or `grace` has passed. Returns whether
/// every connection went.
pub async fn drained(open: impl Fn() -> u64, grace: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        if open() == 0 {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_last_connection_but_not_past_the_grace() {
        let open = Arc::new(AtomicU64::new(2));
        let closing = open.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            closing.store(0, Relaxed);
        });
        let started = tokio::time::Instant::now();
        assert!(drained(|| open.load(Relaxed), Duration::from_secs(2)).await);
        assert!(started.elapsed() >= Duration::from_millis(300));

        open.store(1, Relaxed);
        let started = tokio::time::Instant::now();
        assert!(!drained(|| open.load(Relaxed), Duration::from_secs(2)).await);
        assert!(started.elapsed() >= Duration::from_secs(2));
    }
}
