//! `/metrics` over HTTP/1.1 (hyper): the gateway's counters as OpenMetrics text, for a
//! scraper or `curl`. Anything but `GET /metrics` is a 404 that says what is served.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::server::Gateway;

/// Serves `/metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, gateway: Gateway) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors and the like: say so, wait, do not spin.
                tracing::warn!("/metrics accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| answer(req, gateway.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(5))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
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
