//! `/metrics` over HTTP/1.1 (hyper): the gateway's counters as OpenMetrics text, for a
//! scraper or `curl`. Anything but `GET /metrics` is a 404 that says what is served.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use rltop_serve::accept::accept_until;
use rltop_serve::lock::Unpoisoned;
use tokio::net::TcpListener;

use super::{Gateway, Metrics};

/// Serves `/metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, gateway: Gateway) {
    let pending = std::future::pending::<()>();
    accept_until(
        &listener,
        "gateway /metrics",
        pending,
        || {},
        |stream, _| {
            let gateway = gateway.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| answer(req, gateway.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(5))
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        },
    )
    .await;
}

async fn answer<B>(req: Request<B>, gateway: Gateway) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, kind, body) = if req.method() == Method::GET && req.uri().path() == "/metrics" {
        (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            gateway.metrics_text(),
        )
    } else {
        (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "only GET /metrics is served here\n".to_string(),
        )
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    Ok(r)
}

impl Gateway {
    /// `/metrics`: the counters and gauges as OpenMetrics text (prometheus-client's encoder;
    /// counters get their `_total`), and the messages retained per channel.
    pub fn metrics_text(&self) -> String {
        use prometheus_client::metrics::counter::ConstCounter;
        use prometheus_client::metrics::family::Family;
        use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
        let rows = rows(&self.inner.metrics);
        let mut registry = prometheus_client::registry::Registry::with_prefix("rltop_gateway");
        for (name, kind, help, value) in rows {
            match kind {
                Kind::Counter => registry.register(name, help, ConstCounter::new(value)),
                Kind::Gauge => registry.register(name, help, ConstGauge::new(value as i64)),
            }
        }
        let retained = Family::<Vec<(String, String)>, Gauge>::default();
        for ch in &self.inner.channels {
            let labels = vec![
                ("session".to_string(), ch.info.session.to_string()),
                ("stream".to_string(), ch.info.stream.key().to_string()),
                ("group".to_string(), ch.info.group.to_string()),
            ];
            let n = ch.data.locked().retention.len();
            retained.get_or_create(&labels).set(n as i64);
        }
        registry.register(
            "retained_messages",
            "Messages retained, per channel",
            retained,
        );
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry)
            .expect("encoding into a String cannot fail");
        text
    }
}

/// A counter or a gauge.
enum Kind {
    Counter,
    Gauge,
}

/// Every metric of the gateway but the per-channel ones: name, kind, help, value.
fn rows(m: &Metrics) -> [(&'static str, Kind, &'static str, u64); 21] {
    let c = |a: &AtomicU64| a.load(Relaxed);
    [
        (
            "connections",
            Kind::Gauge,
            "Open client connections",
            c(&m.connections),
        ),
        (
            "connections_accepted",
            Kind::Counter,
            "Client connections accepted",
            c(&m.connections_total),
        ),
        ("logins", Kind::Counter, "Logins accepted", c(&m.logins)),
        (
            "logins_bad_token",
            Kind::Counter,
            "Logins refused for a wrong token",
            c(&m.logins_bad_token),
        ),
        (
            "logins_server_full",
            Kind::Counter,
            "Logins refused at the connection limit",
            c(&m.logins_server_full),
        ),
        (
            "datagrams_in",
            Kind::Counter,
            "Datagrams ingested",
            c(&m.datagrams_in),
        ),
        (
            "messages_in",
            Kind::Counter,
            "Messages ingested",
            c(&m.messages_in),
        ),
        (
            "messages_rejected",
            Kind::Counter,
            "Ingested messages failing verification",
            c(&m.messages_rejected),
        ),
        (
            "messages_unknown_channel",
            Kind::Counter,
            "Ingested messages of a session outside the plan",
            c(&m.messages_unknown_channel),
        ),
        (
            "messages_duplicate",
            Kind::Counter,
            "Ingested messages already retained (B line, retransmissions)",
            c(&m.messages_duplicate),
        ),
        (
            "messages_too_old",
            Kind::Counter,
            "Ingested messages older than the retention",
            c(&m.messages_too_old),
        ),
        (
            "forwarded_messages",
            Kind::Counter,
            "Live messages queued to subscribers",
            c(&m.forwarded_messages),
        ),
        (
            "bytes_out",
            Kind::Counter,
            "Bytes written to clients",
            c(&m.bytes_out),
        ),
        (
            "replay_requests",
            Kind::Counter,
            "Replay requests received",
            c(&m.replay_requests),
        ),
        (
            "replay_rejected",
            Kind::Counter,
            "Replay requests refused",
            c(&m.replay_rejected),
        ),
        (
            "replayed_messages",
            Kind::Counter,
            "Messages sent by replay",
            c(&m.replayed_messages),
        ),
        (
            "rejects",
            Kind::Counter,
            "Control messages refused with Reject",
            c(&m.rejects),
        ),
        (
            "slow_consumer_closes",
            Kind::Counter,
            "Connections closed as slow consumers",
            c(&m.slow_closes),
        ),
        (
            "idle_closes",
            Kind::Counter,
            "Connections closed after the idle timeout",
            c(&m.idle_closes),
        ),
        (
            "protocol_error_closes",
            Kind::Counter,
            "Connections closed for framing errors",
            c(&m.protocol_error_closes),
        ),
        (
            "dropped_bytes",
            Kind::Counter,
            "Bytes discarded from slow consumers' queues",
            c(&m.dropped_bytes),
        ),
    ]
}
