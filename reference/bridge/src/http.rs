//! HTTP: routing, token auth, the Binance REST endpoints, `/healthz`, `/metrics` and the
//! page's static files. WebSocket paths are handed to [`crate::ws`].
//!
//! Errors have Binance's body, `{"code": <negative>, "msg": "..."}`, and its HTTP status
//! (400 for a bad request, 404 for an unknown path, 401 without the token).
//!
//! Every `/api/v3` answer carries Binance's `x-mbx-used-weight` and `x-mbx-used-weight-1m`
//! headers: the request weight the client's IP address has used this minute, with
//! Binance's weight for each request ([`weight`]). The bridge counts, it does not limit
//! (REST is answered from memory), so `exchangeInfo` lists no `rateLimits`.

use std::collections::HashMap;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use rltop_serve::lock::{Unpoisoned, UnpoisonedRw};

use crate::decimal;
use crate::market::{depth_object, kline_row, AggTrade, Definition, Instrument, Market};
use crate::reply::{json, query, ApiError, Body};
use crate::streams::Interval;
use crate::Server;

const INDEX_HTML: &str = include_str!("../web/index.html");
const APP_JS: &str = include_str!("../web/app.js");
const STYLE_CSS: &str = include_str!("../web/style.css");

fn invalid_symbol() -> ApiError {
    ApiError::bad(-1121, "Invalid symbol.")
}

fn missing(param: &str) -> ApiError {
    ApiError::bad(
        -1102,
        format!("Mandatory parameter '{param}' was not sent, was empty/null, or malformed."),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-cache"));
    r
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Does the request carry the token (when one is set)?
pub fn authorized(server: &Server, req: &Request<Incoming>) -> bool {
    let Some(token) = &server.config.token else {
        return true;
    };
    let bearer = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let given = bearer.map(str::to_string).or_else(|| {
        query(req)
            .into_iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v)
    });
    given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every request.
pub async fn handle(
    server: Arc<Server>,
    req: Request<Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    server.shared.hub.metrics.requests.fetch_add(1, Relaxed);
    let path = req.uri().path().to_string();
    let response = match (req.method(), path.as_str()) {
        (&Method::GET, "/") | (&Method::GET, "/index.html") => {
            asset("text/html; charset=utf-8", INDEX_HTML)
        }
        (&Method::GET, "/app.js") => asset("text/javascript; charset=utf-8", APP_JS),
        (&Method::GET, "/style.css") => asset("text/css; charset=utf-8", STYLE_CSS),
        (&Method::GET, "/healthz") => healthz(&server),
        (&Method::GET, "/metrics") => metrics(&server),
        (&Method::OPTIONS, _) => {
            let mut r = json(StatusCode::NO_CONTENT, String::new());
            let h = r.headers_mut();
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static("GET, OPTIONS"),
            );
            h.insert(
                "access-control-allow-headers",
                HeaderValue::from_static("authorization, content-type"),
            );
            r
        }
        (_, p)
            if p == "/ws"
                || p.starts_with("/ws/")
                || p == "/stream"
                || p == "/rltop"
                || p == "/redis" =>
        {
            if !authorized(&server, &req) {
                ApiError::unauthorized().response()
            } else {
                crate::ws::upgrade(server.clone(), req)
            }
        }
        (&Method::GET, p) if p.starts_with("/api/") => api(&server, &req, p),
        (_, p) if p.starts_with("/api/") => ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: -1000,
            msg: format!(
                "{} {p}: this bridge serves market data (GET) only",
                req.method()
            ),
        }
        .response(),
        (_, p) => ApiError {
            status: StatusCode::NOT_FOUND,
            code: -1000,
            msg: format!("Unknown path {p}."),
        }
        .response(),
    };
    Ok(response)
}

/// A GET under `/api/`: the token, the answer, the weight headers.
fn api(server: &Server, req: &Request<Incoming>, path: &str) -> Response<Body> {
    if !authorized(server, req) {
        return ApiError::unauthorized().response();
    }
    let q = query(req);
    let result = {
        let market = server.shared.market.reading();
        rest(&market, path, &q)
    };
    let mut response = match result {
        Ok(body) => json(StatusCode::OK, body),
        Err(e) => {
            server
                .shared
                .hub
                .metrics
                .request_errors
                .fetch_add(1, Relaxed);
            e.response()
        }
    };
    // The peer's address, when the listener put it on the request.
    let ip = req
        .extensions()
        .get::<SocketAddr>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), SocketAddr::ip);
    let used = server.weights.add(ip, weight(path, &q));
    let h = response.headers_mut();
    h.insert("x-mbx-used-weight", HeaderValue::from(used));
    h.insert("x-mbx-used-weight-1m", HeaderValue::from(used));
    response
}

/// Request weight used per IP address in the current minute (Binance's `1m` interval: the
/// count starts again at each minute of the clock).
#[derive(Debug, Default)]
pub struct Weights {
    /// The minute counted (ms since the epoch / 60 000) and each address's weight in it.
    used: Mutex<(u64, HashMap<IpAddr, u64>)>,
}

impl Weights {
    /// Adds `weight` to `ip`'s count; the count after it.
    pub fn add(&self, ip: IpAddr, weight: u64) -> u64 {
        let minute = crate::source::realtime_ns() / 60_000_000_000;
        let mut used = self.used.locked();
        if used.0 != minute {
            *used = (minute, HashMap::new());
        }
        let count = used.1.entry(ip).or_default();
        *count += weight;
        *count
    }
}

/// Binance's request weight of a market-data request (its spot API's documented weights).
pub fn weight(path: &str, q: &[(String, String)]) -> u64 {
    let one_symbol = param(q, "symbol").is_some();
    let listed = param(q, "symbols")
        .and_then(|list| serde_json::from_str::<Vec<serde_json::Value>>(list).ok())
        .map(|v| v.len());
    match path {
        "/api/v3/exchangeInfo" => 20,
        "/api/v3/depth" => match number(q, "limit").ok().flatten().unwrap_or(100) {
            0..=100 => 5,
            101..=500 => 25,
            501..=1000 => 50,
            _ => 250,
        },
        "/api/v3/trades" => 25,
        "/api/v3/aggTrades" => 4,
        "/api/v3/klines" | "/api/v3/avgPrice" => 2,
        "/api/v3/ticker/24hr" => match (one_symbol, listed) {
            (true, _) | (false, Some(0..=20)) => 2,
            (false, Some(21..=100)) => 40,
            _ => 80,
        },
        "/api/v3/ticker/price" | "/api/v3/ticker/bookTicker" if one_symbol => 2,
        "/api/v3/ticker/price" | "/api/v3/ticker/bookTicker" => 4,
        _ => 1,
    }
}

/// The REST API, answered from the market model.
pub fn rest(market: &Market, path: &str, q: &[(String, String)]) -> Result<String, ApiError> {
    match path {
        "/api/v3/ping" => Ok("{}".into()),
        "/api/v3/time" => Ok(format!(
            "{{\"serverTime\":{}}}",
            crate::source::realtime_ns() / 1_000_000
        )),
        "/api/v3/exchangeInfo" => exchange_info(market, q),
        "/api/v3/depth" => {
            let (def, inst) = symbol(market, q)?;
            // Binance: a limit over 5000 is answered with 5000 levels.
            let limit = limit(q, 100, usize::MAX)?.min(5000);
            Ok(depth_object(def, &inst.view, limit))
        }
        "/api/v3/trades" => {
            let (def, inst) = symbol(market, q)?;
            let limit = limit(q, 500, 1000)?;
            let mut s = String::from("[");
            let skip = inst.trades.len().saturating_sub(limit);
            for (i, t) in inst.trades.iter().skip(skip).enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let _ = write!(s, "{{\"id\":{},\"price\":", t.id);
                def.price(&mut s, i128::from(t.price));
                s.push_str(",\"qty\":");
                def.qty(&mut s, t.qty);
                s.push_str(",\"quoteQty\":");
                def.turnover(
                    &mut s,
                    u128::from(t.price.unsigned_abs()) * u128::from(t.qty),
                );
                let _ = write!(
                    s,
                    ",\"time\":{},\"isBuyerMaker\":{},\"isBestMatch\":true}}",
                    t.time_ms, t.buyer_maker
                );
            }
            s.push(']');
            Ok(s)
        }
        "/api/v3/aggTrades" => agg_trades(market, q),
        "/api/v3/avgPrice" => avg_price(market, q),
        "/api/v3/ticker/24hr" => per_symbol(market, q, ticker_24hr),
        "/api/v3/ticker/price" => per_symbol(market, q, ticker_price),
        "/api/v3/ticker/bookTicker" => per_symbol(market, q, book_ticker),
        "/api/v3/klines" => klines(market, q),
        _ => Err(ApiError {
            status: StatusCode::NOT_FOUND,
            code: -1000,
            msg: format!("Unknown endpoint {path}."),
        }),
    }
}

fn symbol<'a>(
    market: &'a Market,
    q: &[(String, String)],
) -> Result<(&'a Definition, &'a Instrument), ApiError> {
    let name = param(q, "symbol").ok_or_else(|| missing("symbol"))?;
    lookup(market, name)
}

fn lookup<'a>(
    market: &'a Market,
    name: &str,
) -> Result<(&'a Definition, &'a Instrument), ApiError> {
    let inst = market.instrument(name).ok_or_else(invalid_symbol)?;
    let def = inst.def.as_ref().ok_or_else(invalid_symbol)?;
    Ok((def, inst))
}

fn number(q: &[(String, String)], name: &str) -> Result<Option<u64>, ApiError> {
    match param(q, name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ApiError::bad(
                -1100,
                format!("Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."),
            )
        }),
    }
}

fn limit(q: &[(String, String)], default: usize, max: usize) -> Result<usize, ApiError> {
    match number(q, "limit")? {
        None => Ok(default),
        Some(n) if (1..=max as u64).contains(&n) => Ok(n as usize),
        Some(_) => Err(ApiError::bad(
            -1100,
            format!("Illegal characters found in parameter 'limit'; legal range is '1 - {max}'."),
        )),
    }
}

/// `symbol=X`, `symbols=["X","Y"]`, or neither (all): one object or an array.
fn per_symbol(
    market: &Market,
    q: &[(String, String)],
    render: fn(&Definition, &Instrument) -> Option<String>,
) -> Result<String, ApiError> {
    if param(q, "symbol").is_some() && param(q, "symbols").is_some() {
        return Err(ApiError::bad(
            -1128,
            "Combination of optional parameters invalid.",
        ));
    }
    if let Some(name) = param(q, "symbol") {
        let (def, inst) = lookup(market, name)?;
        return Ok(render(def, inst).unwrap_or_else(|| "{}".into()));
    }
    let names: Vec<String> = match param(q, "symbols") {
        Some(list) => serde_json::from_str(list).map_err(|_| {
            ApiError::bad(-1100, "Illegal characters found in parameter 'symbols'; legal range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.")
        })?,
        None => market
            .instruments
            .values()
            .filter_map(|i| i.def.as_ref().map(|d| d.symbol.clone()))
            .collect(),
    };
    let mut parts = Vec::new();
    for name in &names {
        let (def, inst) = lookup(market, name)?;
        parts.extend(render(def, inst));
    }
    Ok(format!("[{}]", parts.join(",")))
}

fn ticker_24hr(def: &Definition, inst: &Instrument) -> Option<String> {
    let f = inst.day_figures();
    let p = |v: i64| def.price_string(i128::from(v));
    let qty = |v: u64| def.qty_string(v);
    let mut turnover = String::new();
    decimal::write_unsigned(
        &mut turnover,
        u128::from(f.turnover),
        def.turnover_exponent(),
    );
    let mut average = String::new();
    decimal::write_ratio(
        &mut average,
        u128::from(f.turnover),
        f.volume,
        def.price_exponent,
    );
    let mut percent = String::new();
    crate::market::percent(&mut percent, f.change_bp);
    let percent = percent.trim_matches('"');
    Some(
        serde_json::json!({
            "symbol": def.symbol,
            "priceChange": p(f.change),
            "priceChangePercent": percent,
            "weightedAvgPrice": average,
            "prevClosePrice": p(f.open),
            "lastPrice": p(f.last),
            "lastQty": qty(f.last_qty),
            "bidPrice": p(f.bid.map_or(0, |l| l.0)),
            "bidQty": qty(f.bid.map_or(0, |l| l.1)),
            "askPrice": p(f.ask.map_or(0, |l| l.0)),
            "askQty": qty(f.ask.map_or(0, |l| l.1)),
            "openPrice": p(f.open),
            "highPrice": p(f.high),
            "lowPrice": p(f.low),
            "volume": qty(f.volume),
            "quoteVolume": turnover,
            "openTime": f.time_ms.saturating_sub(86_400_000),
            "closeTime": f.time_ms,
            "firstId": f.first_id as i64,
            "lastId": f.last_id as i64,
            "count": f.count,
        })
        .to_string(),
    )
}

/// `{"symbol","price"}`: the last trade's price.
fn ticker_price(def: &Definition, inst: &Instrument) -> Option<String> {
    let last = inst.day_figures().last;
    Some(
        serde_json::json!({
            "symbol": def.symbol,
            "price": def.price_string(i128::from(last)),
        })
        .to_string(),
    )
}

fn book_ticker(def: &Definition, inst: &Instrument) -> Option<String> {
    let bid = inst.view.bids.first().copied().unwrap_or((0, 0));
    let ask = inst.view.asks.first().copied().unwrap_or((0, 0));
    Some(
        serde_json::json!({
            "symbol": def.symbol,
            "bidPrice": def.price_string(i128::from(bid.0)),
            "bidQty": def.qty_string(bid.1),
            "askPrice": def.price_string(i128::from(ask.0)),
            "askQty": def.qty_string(ask.1),
        })
        .to_string(),
    )
}

fn klines(market: &Market, q: &[(String, String)]) -> Result<String, ApiError> {
    let (def, inst) = symbol(market, q)?;
    let interval = param(q, "interval").ok_or_else(|| missing("interval"))?;
    let interval =
        Interval::parse(interval).ok_or_else(|| ApiError::bad(-1120, "Invalid interval."))?;
    let start = number(q, "startTime")?;
    let end = number(q, "endTime")?;
    let limit = limit(q, 500, 1000)?;
    let bars: Vec<_> = inst
        .bars(interval)
        .into_iter()
        .filter(|b| start.is_none_or(|s| b.open_ms >= s) && end.is_none_or(|e| b.open_ms <= e))
        .collect();
    // With a start, the first `limit` from it; otherwise the latest `limit`.
    let chosen: &[_] = if start.is_some() {
        &bars[..bars.len().min(limit)]
    } else {
        &bars[bars.len().saturating_sub(limit)..]
    };
    let mut s = String::from("[");
    for (i, bar) in chosen.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        kline_row(&mut s, def, interval, bar);
    }
    s.push(']');
    Ok(s)
}

/// `/api/v3/aggTrades`: from `fromId` or `startTime` the first `limit`, otherwise the
/// latest `limit`, of the aggregate trades the bridge holds
/// ([`crate::market::AGG_TRADES_KEPT`]).
fn agg_trades(market: &Market, q: &[(String, String)]) -> Result<String, ApiError> {
    let (def, inst) = symbol(market, q)?;
    let limit = limit(q, 500, 1000)?;
    let from_id = number(q, "fromId")?;
    let start = number(q, "startTime")?;
    let end = number(q, "endTime")?;
    if let (Some(start), Some(end)) = (start, end) {
        if end.saturating_sub(start) > 3_600_000 {
            return Err(ApiError::bad(
                -1127,
                "More than 1 hours between startTime and endTime.",
            ));
        }
    }
    let matching: Vec<&AggTrade> = inst
        .agg_trades
        .iter()
        .filter(|a| {
            from_id.is_none_or(|f| a.id >= f)
                && start.is_none_or(|s| a.time_ms >= s)
                && end.is_none_or(|e| a.time_ms <= e)
        })
        .collect();
    let chosen = if from_id.is_some() || start.is_some() {
        &matching[..matching.len().min(limit)]
    } else {
        &matching[matching.len().saturating_sub(limit)..]
    };
    let mut s = String::with_capacity(2 + 130 * chosen.len());
    s.push('[');
    for (i, a) in chosen.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{{\"a\":{},\"p\":", a.id);
        def.price(&mut s, i128::from(a.price));
        s.push_str(",\"q\":");
        def.qty(&mut s, a.qty);
        let _ = write!(
            s,
            ",\"f\":{},\"l\":{},\"T\":{},\"m\":{},\"M\":true}}",
            a.first, a.last, a.time_ms, a.buyer_maker
        );
    }
    s.push(']');
    Ok(s)
}

/// `/api/v3/avgPrice`: the volume-weighted price of the last 5 one-minute bars (the one
/// forming included), 8 places truncated; `closeTime` is the last trade's time.
fn avg_price(market: &Market, q: &[(String, String)]) -> Result<String, ApiError> {
    const MINS: u64 = 5;
    let (def, inst) = symbol(market, q)?;
    let close_ms = inst.trades.back().map_or(0, |t| t.time_ms);
    let (mut turnover, mut volume) = (0u128, 0u64);
    for bar in inst.bars(Interval::M1).iter().rev() {
        if bar.open_ms + MINS * 60_000 <= close_ms {
            break;
        }
        turnover += u128::from(bar.turnover);
        volume = volume.saturating_add(bar.volume);
    }
    let mut s = format!("{{\"mins\":{MINS},\"price\":");
    def.average(&mut s, turnover, volume);
    let _ = write!(s, ",\"closeTime\":{close_ms}}}");
    Ok(s)
}

fn exchange_info(market: &Market, q: &[(String, String)]) -> Result<String, ApiError> {
    let wanted: Option<Vec<String>> = match (param(q, "symbol"), param(q, "symbols")) {
        (Some(s), None) => Some(vec![s.to_string()]),
        (None, Some(list)) => Some(serde_json::from_str(list).map_err(|_| {
            ApiError::bad(-1100, "Illegal characters found in parameter 'symbols'.")
        })?),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                -1128,
                "Combination of optional parameters invalid.",
            ))
        }
    };
    let defs: Vec<&Definition> = match &wanted {
        Some(names) => names
            .iter()
            .map(|n| lookup(market, n).map(|(d, _)| d))
            .collect::<Result<_, _>>()?,
        None => market
            .instruments
            .values()
            .filter_map(|i| i.def.as_ref())
            .collect(),
    };
    let symbols: Vec<serde_json::Value> = defs
        .iter()
        .map(|d| {
            // Binance spot writes every amount with 8 places, and says so.
            let places = decimal::PLACES;
            serde_json::json!({
                "symbol": d.symbol,
                "status": d.status,
                "baseAsset": d.base,
                "baseAssetPrecision": places,
                "quoteAsset": d.quote,
                "quotePrecision": places,
                "quoteAssetPrecision": places,
                "baseCommissionPrecision": places,
                "quoteCommissionPrecision": places,
                "orderTypes": ["LIMIT", "MARKET"],
                "icebergAllowed": false,
                "ocoAllowed": false,
                "otoAllowed": false,
                "quoteOrderQtyMarketAllowed": false,
                "allowTrailingStop": false,
                "cancelReplaceAllowed": false,
                "isSpotTradingAllowed": d.status == "TRADING",
                "isMarginTradingAllowed": false,
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": d.price_string(i128::from(d.tick_size)),
                        "maxPrice": d.price_string(0),
                        "tickSize": d.price_string(i128::from(d.tick_size)),
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "minQty": d.qty_string(d.min_quantity),
                        "maxQty": d.qty_string(d.max_quantity),
                        "stepSize": d.qty_string(d.lot_size),
                    },
                ],
                "permissions": [],
                "permissionSets": [["SPOT"]],
                "defaultSelfTradePreventionMode": "NONE",
                "allowedSelfTradePreventionModes": ["NONE"],
            })
        })
        .collect();
    Ok(serde_json::json!({
        "timezone": "UTC",
        "serverTime": crate::source::realtime_ns() / 1_000_000,
        // No limit is enforced (REST is answered from memory); weights are counted and
        // reported in the x-mbx-used-weight headers.
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": symbols,
    })
    .to_string())
}

fn healthz(server: &Server) -> Response<Body> {
    let status = server.shared.status.locked().clone();
    let m = &server.shared.hub.metrics;
    let body = serde_json::json!({
        "status": status.health.name(),
        "reason": status.reason,
        "source": status.source,
        "since": status.since_ms,
        "lastDatagramAgeMs": status.last_input.map(|t| t.elapsed().as_millis() as u64),
        "datagrams": m.source_datagrams.load(Relaxed),
        "instruments": status.instruments,
        "liveInstruments": status.live_instruments,
        "connections": m.connections.load(Relaxed),
    })
    .to_string();
    let code = match status.health {
        crate::engine::Health::Live | crate::engine::Health::Ended => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    json(code, body)
}

/// `/metrics`: the counters and gauges as OpenMetrics text (prometheus-client's encoder;
/// counters get their `_total`).
fn metrics(server: &Server) -> Response<Body> {
    use prometheus_client::metrics::{counter::ConstCounter, gauge::ConstGauge};
    enum Kind {
        Counter,
        Gauge,
    }
    let m = &server.shared.hub.metrics;
    let status = server.shared.status.locked().clone();
    let refused = server.shared.market.reading().refused() as u64;
    let rows = [
        ("connections", Kind::Gauge, "Open WebSocket connections", m.connections.load(Relaxed)),
        ("connections_accepted", Kind::Counter, "WebSocket connections accepted", m.connections_total.load(Relaxed)),
        ("connections_refused", Kind::Counter, "WebSocket upgrades refused at the connection limit", m.refused_connections.load(Relaxed)),
        ("messages_out", Kind::Counter, "WebSocket messages sent", m.messages_out.load(Relaxed)),
        ("bytes_out", Kind::Counter, "WebSocket payload bytes sent", m.bytes_out.load(Relaxed)),
        ("conflated", Kind::Counter, "Latest-wins messages replaced by a newer one before a slow client took them", m.conflated.load(Relaxed)),
        ("dropped", Kind::Counter, "Messages not delivered because their client was being closed", m.dropped.load(Relaxed)),
        ("slow_closes", Kind::Counter, "Clients closed for falling behind a sequence stream", m.slow_closes.load(Relaxed)),
        ("rate_limit_closes", Kind::Counter, "Clients closed for sending more than the incoming-message limit", m.rate_limit_closes.load(Relaxed)),
        ("http_requests", Kind::Counter, "HTTP requests", m.requests.load(Relaxed)),
        ("http_request_errors", Kind::Counter, "REST requests answered with an error", m.request_errors.load(Relaxed)),
        ("source_datagrams", Kind::Counter, "Datagrams from the source", m.source_datagrams.load(Relaxed)),
        ("source_bytes", Kind::Counter, "Bytes of datagrams from the source", m.source_bytes.load(Relaxed)),
        ("source_messages", Kind::Counter, "RLTOP messages from the source", m.source_messages.load(Relaxed)),
        ("source_rejected", Kind::Counter, "Source messages that failed verification", m.source_rejected.load(Relaxed)),
        ("source_gaps", Kind::Counter, "Sequence gaps in the source's sessions", m.source_gaps.load(Relaxed)),
        ("source_recoveries", Kind::Counter, "Books recovered after a gap", m.source_recoveries.load(Relaxed)),
        ("source_stale", Kind::Counter, "Times a book went stale", m.source_stale_events.load(Relaxed)),
        ("definitions_refused", Kind::Counter, "Instrument definitions refused: symbol outside the served alphabet, or prices or quantities finer than 8 decimal places", m.definitions_refused.load(Relaxed)),
        ("instruments_refused", Kind::Gauge, "Instruments not served: their latest definition was refused", refused),
        ("redis_messages", Kind::Counter, "Redis pub/sub messages forwarded", m.redis_messages.load(Relaxed)),
        ("accept_errors", Kind::Counter, "Connections the listener could not accept", m.accept_errors.load(Relaxed)),
        ("tls_failures", Kind::Counter, "TLS handshakes that failed or timed out", m.tls_failures.load(Relaxed)),
        ("redis_reconnects", Kind::Counter, "Times the Redis source connected again after losing Redis", m.redis_reconnects.load(Relaxed)),
        ("source_up", Kind::Gauge, "1 while the source is live", u64::from(status.health == crate::engine::Health::Live)),
        ("subscriptions", Kind::Gauge, "Stream subscriptions over all clients", server.shared.hub.subscriptions() as u64),
    ];
    let mut registry = prometheus_client::registry::Registry::with_prefix("rltop_bridge");
    for (name, kind, help, value) in rows {
        match kind {
            Kind::Counter => registry.register(name, help, ConstCounter::new(value)),
            Kind::Gauge => registry.register(name, help, ConstGauge::new(value as i64)),
        }
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .expect("encoding into a String cannot fail");
    let mut r = Response::new(Full::new(Bytes::from(text)));
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}
