//! The RLTOP WebSocket bridge: an RLTOP feed in, the Binance market-data API out.
//!
//! Browser apps, bots and dashboards do not speak multicast; the de facto API of their
//! world is Binance's. The bridge takes datagrams from a source ([`source::SourceSpec`]: the
//! embedded simulator, the multicast plan, a capture, Redis pub/sub), rebuilds the books
//! with the feed handler, and serves on one port:
//!
//! * Binance's WebSocket streams (`/ws/<stream>…`, `/stream?streams=`), with live
//!   `SUBSCRIBE`/`UNSUBSCRIBE`/`LIST_SUBSCRIPTIONS`/`SET_PROPERTY`/`GET_PROPERTY`, its limits
//!   and ping/pong ([`ws`]);
//! * Binance's REST market-data endpoints under `/api/v3` ([`http`]);
//! * raw RLTOP datagrams as binary frames (`/rltop?streams=`) for clients of the generated
//!   decoders, and seed 002's Redis envelopes (`/redis?channels=`);
//! * `/healthz`, `/metrics` (Prometheus), and a live page at `/`.
//!
//! Module by module: [`streams`] names, [`market`] the Binance view of the books and every
//! event rendered, [`hub`] subscriptions and bounded outboxes, [`engine`] the thread that
//! drives them, [`source`] and [`redis_source`] the inputs.

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod decimal;
pub mod engine;
pub mod http;
pub mod hub;
pub mod json;
pub mod market;
pub mod reply;
pub mod request;
pub mod streams;
pub mod ws;

/// The bridge's sources ([`rltop_source`], shared with the gateway).
pub use rltop_source as source;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rltop_serve::accept::accept_until;
use rltop_serve::drain::drained;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use engine::{Health, Shared, Status};
use hub::Hub;
use source::SourceSpec;

/// Everything `rltop bridge` takes.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub source: SourceSpec,
    /// Required of WebSocket and REST clients (`?token=` or `Authorization: Bearer`).
    pub token: Option<String>,
    /// PEM certificate chain and private key: serve https and wss.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub max_connections: usize,
    /// Per-client outbox bound, bytes.
    pub queue_bytes: usize,
    /// Bound of all outboxes together, bytes ([`hub`]'s policy).
    pub queue_bytes_total: usize,
    /// Largest incoming WebSocket message, bytes.
    pub max_frame: usize,
    /// Streams a connection may hold (Binance: 1024).
    pub max_streams: usize,
    /// Incoming messages a second before a connection is closed (Binance: 5).
    pub incoming_per_second: u32,
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    /// No datagram for this long: the source is stale.
    pub stale_after: Duration,
    /// Which instrument symbols are served.
    pub symbol_alphabet: streams::SymbolAlphabet,
}

impl Config {
    pub fn new(listen: SocketAddr, source: SourceSpec) -> Config {
        Config {
            listen,
            source,
            token: None,
            tls: None,
            max_connections: 20_000,
            queue_bytes: 4 << 20,
            queue_bytes_total: 512 << 20,
            max_frame: 64 << 10,
            max_streams: 1024,
            incoming_per_second: 5,
            ping_interval: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(60),
            stale_after: Duration::from_secs(3),
            symbol_alphabet: streams::SymbolAlphabet::Binance,
        }
    }
}

/// What every request handler sees.
pub struct Server {
    pub config: Config,
    pub shared: Arc<Shared>,
    /// Notified once, at shutdown: every connection closes with 1001.
    pub shutdown: Notify,
    /// REST request weight per IP address this minute.
    pub weights: http::Weights,
}

/// A bridge started on its port: where it listens, and how to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub server: Arc<Server>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Graceful shutdown: stop accepting, close every connection with 1001 (after
    /// Binance's `serverShutdown` event), give writers a moment, stop the source and the
    /// engine.
    pub async fn shutdown(self) {
        self.accept.abort();
        self.server.shutdown.notify_waiters();
        for client in self.server.shared.hub.clients() {
            client.close_after(hub::Close {
                code: 1001,
                reason: "server shutting down".into(),
            });
        }
        let metrics = &self.server.shared.hub.metrics;
        drained(|| metrics.connections.load(Relaxed), Duration::from_secs(2)).await;
        self.stop.store(true, Relaxed);
        for t in self.threads {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

/// Starts the source, the engine and the listener (inside a tokio runtime).
pub async fn start(config: Config) -> Result<Running, String> {
    let tls = match &config.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let shared = Arc::new(Shared {
        hub: Hub::new(config.queue_bytes, config.queue_bytes_total),
        market: RwLock::new(market::Market::new(config.symbol_alphabet)),
        status: Mutex::new(Status {
            source: config.source.describe(),
            health: Health::Starting,
            reason: "waiting for the first datagram".into(),
            since_ms: source::realtime_ns() / 1_000_000,
            last_input: None,
            instruments: 0,
            live_instruments: 0,
        }),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::sync_channel(1 << 14);
    let source = config.source.clone().start(tx, stop.clone())?;
    let engine = {
        let shared = shared.clone();
        let stop = stop.clone();
        let stale_after = config.stale_after;
        std::thread::Builder::new()
            .name("bridge engine".into())
            .spawn(move || engine::run(shared, rx, stale_after, &stop))
            .map_err(|e| format!("cannot start the engine thread: {e}"))?
    };
    let server = Arc::new(Server {
        config,
        shared,
        shutdown: Notify::new(),
        weights: http::Weights::default(),
    });
    let accept = tokio::spawn(accept_loop(listener, server.clone(), tls));
    Ok(Running {
        addr,
        server,
        stop,
        threads: vec![source, engine],
        accept,
    })
}

async fn accept_loop(
    listener: TcpListener,
    server: Arc<Server>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let failed = || {
        let errors = &server.shared.hub.metrics.accept_errors;
        errors.fetch_add(1, Relaxed);
    };
    // Stopped by aborting this task ([`Running::shutdown`]).
    let forever = std::future::pending();
    accept_until(&listener, "bridge", forever, failed, |stream, peer| {
        let server = server.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    let handshake = Duration::from_secs(10);
                    match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => serve(TokioIo::new(s), server, peer).await,
                        Ok(Err(e)) => tls_failed(&server, peer, &e.to_string()),
                        Err(_) => tls_failed(&server, peer, "no handshake within 10 s"),
                    }
                }
                None => serve(TokioIo::new(stream), server, peer).await,
            }
        });
    })
    .await;
}

/// A TLS handshake that failed: counted, and logged with the peer (the error is rustls's
/// own text, not the peer's bytes).
fn tls_failed(server: &Server, peer: SocketAddr, why: &str) {
    server.shared.hub.metrics.tls_failures.fetch_add(1, Relaxed);
    tracing::warn!(%peer, "TLS handshake failed: {why}");
}

async fn serve<I>(io: I, server: Arc<Server>, peer: SocketAddr)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
        // The peer's address, for per-address request weights.
        req.extensions_mut().insert(peer);
        http::handle(server.clone(), req)
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(io, service)
        .with_upgrades()
        .await;
}

fn tls_acceptor(cert: &PathBuf, key: &PathBuf) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in the file", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate and key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Runs a bridge until SIGINT or SIGTERM, then shuts it down gracefully. `ready` is told
/// the address once it listens.
pub fn run(config: Config, ready: impl FnOnce(SocketAddr)) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let running = start(config).await?;
        ready(running.addr);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        running.shutdown().await;
        Ok(())
    })
}
