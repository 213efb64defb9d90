//! The gateway's settings, and the check that they make sense before anything binds.

use std::net::SocketAddr;
use std::time::Duration;

/// Gateway settings (`rltop gateway --help` documents each).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen for clients.
    pub listen: SocketAddr,
    /// Where to serve `/metrics` (Prometheus text), if anywhere.
    pub metrics: Option<SocketAddr>,
    /// The shared secret a `Login` must carry; `None` accepts any.
    pub token: Option<String>,
    /// Messages retained per channel.
    pub retention_messages: usize,
    /// Bytes retained per channel.
    pub retention_bytes: usize,
    /// Default heartbeat interval (a client may ask for another in `Login`).
    pub heartbeat: Duration,
    /// Time a connection has to log in.
    pub login_timeout: Duration,
    /// Connections served at once; a `Login` past it gets `ServerFull`.
    pub max_connections: usize,
    /// Bytes queued for a connection before it is closed as a slow consumer.
    pub queue_bytes: usize,
    /// Most messages one `ReplayRequest` may ask for.
    pub max_replay_count: u32,
    /// Replayed messages a second per connection.
    pub replay_rate: u32,
    /// Worker threads of the gateway's runtime.
    pub threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9400".parse().expect("a valid address"),
            metrics: None,
            token: None,
            retention_messages: 1 << 20,
            retention_bytes: 256 << 20,
            heartbeat: Duration::from_secs(1),
            login_timeout: Duration::from_secs(5),
            max_connections: 4096,
            queue_bytes: 8 << 20,
            max_replay_count: 100_000,
            replay_rate: 2_000_000,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

impl Config {
    pub(super) fn check(&self) -> Result<(), String> {
        if self.max_replay_count == 0 || self.max_replay_count > self.replay_rate {
            return Err(format!(
                "max replay count {} must be between 1 and the replay rate {}",
                self.max_replay_count, self.replay_rate
            ));
        }
        if self.heartbeat < Duration::from_millis(10) {
            return Err("the heartbeat interval must be at least 10 ms".into());
        }
        Ok(())
    }
}
