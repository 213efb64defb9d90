//! The accept loop, the same for every listener of both servers: accept until told to
//! stop, hand each connection on with `TCP_NODELAY` set (market data is small writes that
//! must not wait for Nagle), and survive a failed accept.
//!
//! A failed accept is nearly always the process out of descriptors. It is logged with the
//! listener's name and counted by the caller, then retried after [`PAUSE`]: retrying at
//! once would spin a core while nothing can be accepted, and stopping would end the service
//! for a condition that passes when connections close.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// The pause after a failed accept.
pub const PAUSE: Duration = Duration::from_millis(50);

/// Accepts on `listener` until `stop` resolves, giving each connection to `serve` (which
/// spawns what serves it). A failed accept is logged as `"{what}: accept: …"`, told to
/// `failed`, and retried after [`PAUSE`].
pub async fn accept_until(
    listener: &TcpListener,
    what: &str,
    stop: impl Future<Output = ()>,
    mut failed: impl FnMut(),
    mut serve: impl FnMut(TcpStream, SocketAddr),
) {
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    serve(stream, peer);
                }
                Err(e) => {
                    failed();
                    tracing::warn!("{what}: accept: {e}");
                    tokio::time::sleep(PAUSE).await;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_are_served_with_nodelay_until_stop() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let client = tokio::spawn(async move {
            let _a = TcpStream::connect(addr).await.unwrap();
            let _b = TcpStream::connect(addr).await.unwrap();
            stop.send(()).unwrap();
        });
        let mut served = Vec::new();
        accept_until(
            &listener,
            "test",
            async {
                let _ = stopped.await;
            },
            || panic!("no accept fails here"),
            |stream, _| served.push(stream.nodelay().unwrap()),
        )
        .await;
        client.await.unwrap();
        // Both connections were made before the stop was sent; the loop may see the stop
        // before the second accept, so at least the first was served.
        assert!(!served.is_empty() && served.iter().all(|&nodelay| nodelay));
    }
}
