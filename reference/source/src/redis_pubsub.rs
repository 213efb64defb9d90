//! The Redis pub/sub source (seed 002): the bridge listens to channel patterns; channels
//! named `<prefix><stream key>` carry RLTOP datagrams (one message a datagram) and feed the
//! books, every other channel is forwarded to `/redis` clients in the envelope
//! `{channel, payload, timestamp}`. When Redis goes away the source says so (the bridge's
//! status turns stale) and reconnects with backoff (0.2 s doubling to 5 s) until it is back.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use rltop_net::plan::{Line, Stream};

use crate::{Input, RedisSpec, SourceState};

pub fn run(spec: RedisSpec, tx: &SyncSender<Input>, stop: &AtomicBool) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Input::State(SourceState::Down(format!(
                "cannot start the Redis client: {e}"
            ))));
            return;
        }
    };
    runtime.block_on(listen(spec, tx, stop));
}

async fn listen(spec: RedisSpec, tx: &SyncSender<Input>, stop: &AtomicBool) {
    let mut backoff = Duration::from_millis(200);
    let mut first = true;
    while !stop.load(Relaxed) {
        let result = session(&spec, tx, stop, first).await;
        first = false;
        match result {
            Ok(()) => return,
            Err(reason) => {
                if tx.send(Input::State(SourceState::Down(reason))).is_err() {
                    return;
                }
            }
        }
        // Sleep in short steps so a stop is seen promptly.
        let until = tokio::time::Instant::now() + backoff;
        while tokio::time::Instant::now() < until && !stop.load(Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One connection: Ok when stopped, Err(reason) when Redis went away.
async fn session(
    spec: &RedisSpec,
    tx: &SyncSender<Input>,
    stop: &AtomicBool,
    first: bool,
) -> Result<(), String> {
    let client =
        redis::Client::open(spec.url.as_str()).map_err(|e| format!("{}: {e}", spec.url))?;
    let mut pubsub = client
        .get_async_pubsub()
        .await
        .map_err(|e| format!("{}: {e}", spec.url))?;
    for pattern in &spec.patterns {
        pubsub
            .psubscribe(pattern)
            .await
            .map_err(|e| format!("{}: PSUBSCRIBE {pattern}: {e}", spec.url))?;
    }
    let up = if first {
        SourceState::Up
    } else {
        SourceState::Reconnected
    };
    tx.send(Input::State(up))
        .map_err(|_| "engine gone".to_string())?;
    let mut messages = pubsub.on_message();
    loop {
        let next = tokio::time::timeout(Duration::from_millis(100), messages.next()).await;
        if stop.load(Relaxed) {
            return Ok(());
        }
        let msg = match next {
            Err(_) => continue,
            Ok(None) => return Err(format!("{}: connection lost", spec.url)),
            Ok(Some(msg)) => msg,
        };
        let channel = msg.get_channel_name().to_string();
        let payload = Bytes::copy_from_slice(msg.get_payload_bytes());
        let input = match channel
            .strip_prefix(&spec.datagram_prefix)
            .and_then(|key| Stream::ALL.into_iter().find(|s| s.key() == key))
        {
            Some(stream) => Input::Datagram {
                stream: Some(stream),
                line: Line::A,
                bytes: payload,
            },
            None => Input::Redis { channel, payload },
        };
        if tx.send(input).is_err() {
            return Ok(());
        }
    }
}
