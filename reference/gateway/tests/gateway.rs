//! The gateway and its clients over real loopback TCP: replay repairs books that lost
//! increments (with no snapshot at all to fall back on), the session rules of SPEC.md §11
//! for every bad input, slow and idle clients, limits, 1 000 clients at once, and a gateway
//! restart under a pool. Every wait is bounded.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rltop::Message;
use rltop_book::{Side, TopLevel};
use rltop_feed::{Event, FeedHandler};
use rltop_gateway::client::{ClientError, Connection, Incoming};
use rltop_gateway::{ClientConfig, Config, Delivery, Pool, Recovery, Subscription};
use rltop_net::plan::{Plan, Stream};
use rltop_sim::{Datagram, Oracle, Simulation};

fn config() -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: Some("secret".into()),
        heartbeat: Duration::from_millis(100),
        threads: 2,
        ..Config::default()
    }
}

fn client(addr: std::net::SocketAddr) -> ClientConfig {
    ClientConfig {
        addr: addr.to_string(),
        token: "secret".into(),
        name: "test".into(),
        ..ClientConfig::default()
    }
}

fn sim(seed: u64, events: u64) -> (Vec<Datagram>, Oracle) {
    Simulation::new(rltop_sim::Config {
        seed,
        instruments: 3,
        events,
        quiet_tail_s: 2,
        ..rltop_sim::Config::default()
    })
    .run()
}

fn levels(v: &[(i64, u64, u32)]) -> Vec<TopLevel> {
    v.iter()
        .map(|&(price, qty, count)| TopLevel { price, qty, count })
        .collect()
}

/// Whether every instrument is live with the engines' top 10.
fn books_match(feed: &FeedHandler, oracle: &Oracle) -> Result<(), String> {
    for (sym, bids, asks) in &oracle.books {
        let book = feed.book(*sym).ok_or(format!("no book for {sym}"))?;
        if !feed.is_live(*sym) {
            return Err(format!("instrument {sym} is stale"));
        }
        if book.top(Side::Bid, 10) != levels(bids) || book.top(Side::Ask, 10) != levels(asks) {
            return Err(format!("instrument {sym}: book differs from the oracle"));
        }
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Drops each increment datagram with probability 1/5 (a fixed pattern), and every
/// snapshot datagram: only replay can repair these books.
fn lossy(ds: &[Datagram]) -> Vec<&Datagram> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    ds.iter()
        .filter(|d| match d.stream {
            Stream::FullBook => false,
            Stream::Incremental => {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % 5 != 0
            }
            _ => true,
        })
        .collect()
}

fn wait_up(pool: &Pool, n: usize) {
    let t = Instant::now();
    while pool.healthy() < n {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the pool did not connect"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn replay_repairs_books_that_lost_increments_with_no_snapshot_at_all() {
    let (ds, oracle) = sim(21, 20_000);
    let gw = rltop_gateway::start(config(), &Plan::default()).unwrap();
    for d in &ds {
        gw.gateway().ingest(&Bytes::from(d.bytes.clone()));
    }
    let delivered = lossy(&ds);
    assert!(
        delivered.len() < ds.len() * 9 / 10,
        "the pattern loses datagrams"
    );

    // Without the gateway the same input cannot rebuild the books (the test can fail).
    let mut alone = FeedHandler::default();
    for d in &delivered {
        alone.on_datagram(&d.bytes, &mut |_| {});
    }
    assert!(books_match(&alone, &oracle).is_err());

    let pool = Pool::start(ClientConfig {
        connections: 3,
        ..client(gw.addr)
    })
    .unwrap();
    wait_up(&pool, 3);
    let mut recovery = Recovery::new(pool);
    let mut feed = FeedHandler::default();
    let mut replayed_recoveries = 0;
    for d in &delivered {
        feed.on_datagram(&d.bytes, &mut |e| recovery.on_event(&e));
        recovery.poll(&mut feed, Duration::ZERO, &mut |e| {
            if let Event::Recovered { replayed, .. } = e {
                replayed_recoveries += usize::from(replayed > 0);
            }
        });
    }
    let t = Instant::now();
    while books_match(&feed, &oracle).is_err() && t.elapsed() < Duration::from_secs(20) {
        recovery.poll(&mut feed, Duration::from_millis(20), &mut |e| {
            if let Event::Recovered { replayed, .. } = e {
                replayed_recoveries += usize::from(replayed > 0);
            }
        });
    }
    books_match(&feed, &oracle).unwrap();
    // The last replay's messages may be handed on before its completion: wait for every
    // answer (bounded) before counting them.
    let t = Instant::now();
    while recovery.stats().completed + recovery.stats().rejected < recovery.stats().requested_ranges
        && t.elapsed() < Duration::from_secs(5)
    {
        recovery.poll(&mut feed, Duration::from_millis(20), &mut |_| {});
    }
    let st = recovery.stats();
    assert!(st.requested_ranges > 10, "{st:?}");
    assert!(st.completed >= st.requested_ranges, "{st:?}");
    assert_eq!(st.rejected, 0, "{st:?}");
    assert!(replayed_recoveries > 10, "{replayed_recoveries}");
    assert_eq!(feed.stats().snapshots_applied, 0);
    drop(recovery);
    gw.shutdown();
}

#[test]
fn replay_beyond_retention_is_refused_with_the_window_and_snapshots_recover() {
    let (ds, oracle) = sim(22, 8_000);
    let gw = rltop_gateway::start(
        Config {
            retention_messages: 50,
            ..config()
        },
        &Plan::default(),
    )
    .unwrap();
    let plan = Plan::default();
    let incremental = plan.session(Stream::Incremental, 0);
    for d in &ds {
        gw.gateway().ingest(&Bytes::from(d.bytes.clone()));
    }
    let (lo, hi) = gw.gateway().window(incremental).unwrap();
    assert_eq!(hi - lo + 1, 50);

    let rt = runtime();
    rt.block_on(async {
        let mut c = Connection::connect(&client(gw.addr)).await.unwrap();
        c.replay(7, incremental, 1, 10).await.unwrap();
        let rejected = next_of(&mut c, rltop::ReplayRejected::TYPE_CODE).await;
        let Ok(Message::ReplayRejected(r)) = Message::decode(&rejected) else {
            panic!()
        };
        assert_eq!(r.request_id(), 7);
        assert_eq!(r.reason(), Ok(rltop::ReplayRejectReason::OutOfWindow));
        assert_eq!((r.window_first(), r.window_last()), (lo, hi));
        // The last 50 are there, byte for byte as published.
        c.replay(8, incremental, lo, 50).await.unwrap();
        let mut got = Vec::new();
        loop {
            match c.next().await.unwrap() {
                Incoming::Data(b) => got.extend_from_slice(&b),
                Incoming::Control(b) if b[6] == rltop::ReplayComplete::TYPE_CODE => break,
                Incoming::Control(_) => {}
            }
        }
        // The channel's last 50 messages as published (increments and heartbeats).
        let published: Vec<Vec<u8>> = ds
            .iter()
            .filter(|d| d.session == incremental)
            .flat_map(|d| {
                rltop::messages(&d.bytes)
                    .map(|m| m.unwrap().as_bytes().to_vec())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(got, published[published.len() - 50..].concat());
    });

    // A subscriber with loss: every replay refused, and the snapshots recover the books.
    let pool = Pool::start(client(gw.addr)).unwrap();
    wait_up(&pool, 2);
    let mut recovery = Recovery::new(pool);
    let mut feed = FeedHandler::default();
    let mut x = 7u64;
    for d in &ds {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        if d.stream == Stream::Incremental && (x >> 33) % 5 == 0 {
            continue;
        }
        feed.on_datagram(&d.bytes, &mut |e| recovery.on_event(&e));
        recovery.poll(&mut feed, Duration::ZERO, &mut |_| {});
    }
    let t = Instant::now();
    while recovery.stats().rejected + recovery.stats().completed < recovery.stats().requested_ranges
        && t.elapsed() < Duration::from_secs(10)
    {
        recovery.poll(&mut feed, Duration::from_millis(20), &mut |_| {});
    }
    books_match(&feed, &oracle).unwrap();
    assert!(recovery.stats().rejected > 0, "{:?}", recovery.stats());
    assert!(feed.stats().snapshots_applied > 0);
    gw.shutdown();
}

/// A replay longer than the socket takes at once is written in pieces, and live data goes
/// between them: every message must still arrive whole and valid, each replayed range in
/// order before its completion, the live channel without a hole.
#[test]
fn long_replays_and_live_data_share_the_connection_message_by_message() {
    let (ds, _) = sim(26, 60_000);
    // This test is about replays, not liveness: config()'s 100 ms heartbeat gives a 300 ms idle
    // timeout, which a loaded machine running the suite in parallel overran once (the gateway
    // ended the session). Three 1 s heartbeats leave it out of the way.
    let config = Config {
        heartbeat: Duration::from_secs(1),
        ..config()
    };
    let gw = rltop_gateway::start(config, &Plan::default()).unwrap();
    let incremental = Plan::default().session(Stream::Incremental, 0);
    let (before, after) = ds.split_at(ds.len() / 2);
    for d in before {
        gw.gateway().ingest(&Bytes::from(d.bytes.clone()));
    }
    let (lo, hi) = gw.gateway().window(incremental).unwrap();
    assert!(hi - lo > 20_000, "a long window: {lo}..={hi}");
    let rt = runtime();
    let mut c = rt.block_on(async {
        let mut c = Connection::connect(&client(gw.addr)).await.unwrap();
        c.subscribe(&Subscription::everything(), true)
            .await
            .unwrap();
        // Live from here on: every channel says it is subscribed before anything is ingested.
        let mut subscribed = 0;
        while subscribed < gw.gateway().channels().len() {
            let status = next_of(&mut c, rltop::ChannelStatus::TYPE_CODE).await;
            if let Ok(Message::ChannelStatus(status)) = Message::decode(&status) {
                subscribed += usize::from(status.state() == Ok(rltop::ChannelState::Subscribed));
            }
        }
        // Four requests over the whole window, answered in order.
        let part = (hi - lo + 1).div_ceil(4);
        for k in 0..4u64 {
            let first = lo + k * part;
            let count = part.min(hi + 1 - first);
            c.replay(k as u32 + 1, incremental, first, count as u32)
                .await
                .unwrap();
        }
        c
    });
    // The reader starts late, so the socket fills and writes come back partial.
    let reader = rt.spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut replayed: Vec<u64> = Vec::new();
        let mut completions: Vec<(u32, usize)> = Vec::new();
        let mut live: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let until = tokio::time::Instant::now() + Duration::from_secs(30);
        while completions.len() < 4 && tokio::time::Instant::now() < until {
            match tokio::time::timeout(Duration::from_secs(5), c.next()).await {
                Ok(Ok(Incoming::Data(run))) => {
                    for m in rltop::messages(&run) {
                        let m = m.expect("every message arrives whole and valid");
                        let (session, seq) = (m.header().session_id(), m.header().seq_num());
                        if session == incremental && seq <= hi {
                            replayed.push(seq);
                        } else {
                            live.entry(session).or_default().push(seq);
                        }
                    }
                }
                Ok(Ok(Incoming::Control(b))) => {
                    if let Ok(Message::ReplayComplete(done)) = Message::decode(&b) {
                        completions.push((done.request_id(), replayed.len()));
                    }
                }
                other => panic!("{:?}", other.map(|r| r.map(|_| ()))),
            }
        }
        // Live data that was queued behind the last completion.
        while let Ok(Ok(Ok(Incoming::Data(run)))) =
            tokio::time::timeout(Duration::from_millis(300), c.next())
                .await
                .map(Ok::<_, ()>)
        {
            for m in rltop::messages(&run) {
                let m = m.unwrap();
                live.entry(m.header().session_id())
                    .or_default()
                    .push(m.header().seq_num());
            }
        }
        (replayed, completions, live)
    });
    for d in after {
        gw.gateway().ingest(&Bytes::from(d.bytes.clone()));
        std::thread::sleep(Duration::from_micros(20));
    }
    let (replayed, completions, live) = rt.block_on(reader).unwrap();
    assert_eq!(
        replayed,
        (lo..=hi).collect::<Vec<_>>(),
        "every replayed message once, in order"
    );
    let part = (hi - lo + 1).div_ceil(4) as usize;
    let want: Vec<(u32, usize)> = (1..=4)
        .map(|k| (k as u32, (k * part).min((hi - lo + 1) as usize)))
        .collect();
    assert_eq!(completions, want, "each completion right after its range");
    let incremental_live = &live[&incremental];
    assert_eq!(incremental_live.first(), Some(&(hi + 1)));
    for (session, seqs) in &live {
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "session {session}: live data without holes or repeats"
        );
    }
    gw.shutdown();
}

/// The next control message of `code`, skipping everything else (bounded).
async fn next_of(c: &mut Connection, code: u8) -> Bytes {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Incoming::Control(b) = c.next().await.unwrap() {
                if b[6] == code {
                    return b;
                }
            }
        }
    })
    .await
    .expect("an answer within 5 s")
}

/// Reads until the gateway ends the session; returns the reason and detail.
async fn end_of(stream: &mut tokio::net::TcpStream) -> (Vec<Bytes>, Option<(u8, String)>) {
    use tokio::io::AsyncReadExt;
    let mut all = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut all)).await;
    let mut framer = rltop_gateway::wire::Framer::new(65535);
    framer.buffer().extend_from_slice(&all);
    let mut msgs = Vec::new();
    let mut end = None;
    while let Ok(Some(m)) = framer.next_message() {
        if let Ok(Message::EndOfSession(e)) = Message::decode(&m) {
            end = Some((e.reason().map_or(0, |r| r as u8), e.detail().to_string()));
        }
        msgs.push(m);
    }
    (msgs, end)
}

fn sealed<M: rltop_runtime::Message>(mut m: M, seq: u64) -> Vec<u8> {
    rltop_runtime::finalize(&mut m, 0, seq, 0).to_vec()
}

fn login(token: &str) -> Vec<u8> {
    let mut l = rltop::Login::new();
    l.set_token(token).unwrap();
    sealed(l, 1)
}

fn types(msgs: &[Bytes]) -> Vec<u8> {
    msgs.iter().map(|m| m[6]).collect()
}

#[test]
fn every_bad_input_gets_its_answer() {
    use tokio::io::AsyncWriteExt;
    let gw = rltop_gateway::start(config(), &Plan::default()).unwrap();
    let rt = runtime();
    rt.block_on(async {
        let connect = || tokio::net::TcpStream::connect(gw.addr);

        // A wrong token: LoginRejected (BadToken), then the gateway closes.
        let mut s = connect().await.unwrap();
        s.write_all(&login("guess")).await.unwrap();
        let (msgs, _) = end_of(&mut s).await;
        assert_eq!(types(&msgs), [rltop::LoginRejected::TYPE_CODE]);
        let Ok(Message::LoginRejected(r)) = Message::decode(&msgs[0]) else {
            panic!()
        };
        assert_eq!(r.reason(), Ok(rltop::LoginRejectReason::BadToken));

        // Not RLTOP at all: EndOfSession (ProtocolError) naming the offset and the magic.
        let mut s = connect().await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let (_, end) = end_of(&mut s).await;
        let (reason, detail) = end.expect("an EndOfSession");
        assert_eq!(reason, rltop::EndReason::ProtocolError as u8);
        assert!(
            detail.contains("stream byte 0") && detail.contains("BadMagic"),
            "{detail}"
        );

        // A message before the login: Reject (NotLoggedIn), EndOfSession (ProtocolError).
        let mut s = connect().await.unwrap();
        s.write_all(&sealed(rltop::SessionHeartbeat::new(), 1))
            .await
            .unwrap();
        let (msgs, end) = end_of(&mut s).await;
        assert_eq!(
            types(&msgs),
            [rltop::Reject::TYPE_CODE, rltop::EndOfSession::TYPE_CODE]
        );
        let Ok(Message::Reject(r)) = Message::decode(&msgs[0]) else {
            panic!()
        };
        assert_eq!(r.reason(), Ok(rltop::RejectCode::NotLoggedIn));
        assert_eq!(end.unwrap().0, rltop::EndReason::ProtocolError as u8);

        // Logged in: each bad message gets a Reject and the connection goes on.
        let mut s = connect().await.unwrap();
        s.write_all(&login("secret")).await.unwrap();
        let mut bad_crc = sealed(rltop::Subscribe::new(), 2);
        bad_crc[40] ^= 1;
        let mut bits = rltop::Subscribe::new();
        bits.set_streams(rltop::StreamSet::from_bits_retain(0x80));
        let mut zero = rltop::Subscribe::new();
        zero.set_streams(rltop::StreamSet::TRADES);
        zero.set_num_instruments(2);
        zero.set_instruments({
            let mut a = [0u32; 20];
            a[0] = 3;
            a
        });
        let mut count = rltop::Subscribe::new();
        count.set_streams(rltop::StreamSet::TRADES);
        let mut count = sealed(count, 7);
        count[41] = 21; // num_instruments past the array
        rltop_runtime::seal(&mut count, &rltop::PROTOCOL);
        let mut trade = rltop::Trade::new();
        trade.set_taker_side(rltop::Side::Buy);
        for m in [
            bad_crc,
            sealed(rltop::Subscribe::new(), 3),
            sealed(bits, 4),
            sealed(zero, 5),
            login("secret"),
            sealed(trade, 6),
            count,
        ] {
            s.write_all(&m).await.unwrap();
        }
        s.write_all(&sealed(rltop::Logout::new(), 8)).await.unwrap();
        let (msgs, end) = end_of(&mut s).await;
        let rejects: Vec<(u8, u8, u32)> = msgs
            .iter()
            .filter_map(|m| match Message::decode(m) {
                Ok(Message::Reject(r)) => Some((
                    r.rejected_type(),
                    r.reason().map_or(0, |x| x as u8),
                    r.error_offset(),
                )),
                _ => None,
            })
            .collect();
        use rltop::RejectCode::*;
        assert_eq!(
            rejects,
            [
                (0x94, Malformed as u8, 32),
                (0x94, BadSubscription as u8, 40),
                (0x94, BadSubscription as u8, 40),
                (0x94, BadSubscription as u8, 48),
                (0x90, AlreadyLoggedIn as u8, 6),
                (0x7C, UnexpectedType as u8, 6),
                (0x94, Malformed as u8, 41),
            ]
        );
        assert_eq!(end.unwrap().0, rltop::EndReason::Logout as u8);
        assert_eq!(msgs[0][6], rltop::LoginAccepted::TYPE_CODE);

        // A length no message has: framing error, EndOfSession (ProtocolError).
        let mut s = connect().await.unwrap();
        s.write_all(&login("secret")).await.unwrap();
        let mut m = sealed(rltop::SessionHeartbeat::new(), 2);
        m[4] = 200;
        s.write_all(&m).await.unwrap();
        let (_, end) = end_of(&mut s).await;
        let (reason, detail) = end.unwrap();
        assert_eq!(reason, rltop::EndReason::ProtocolError as u8);
        assert!(
            detail.contains("BadLength") && detail.contains("byte 132"),
            "{detail}"
        );
    });
    let m = gw.gateway().metrics();
    assert_eq!(m.logins_bad_token.load(Relaxed), 1);
    gw.shutdown();
}

#[test]
fn timeouts_limits_and_rate() {
    use tokio::io::AsyncWriteExt;
    let gw = rltop_gateway::start(
        Config {
            login_timeout: Duration::from_millis(300),
            max_connections: 3,
            max_replay_count: 100,
            replay_rate: 150,
            ..config()
        },
        &Plan::default(),
    )
    .unwrap();
    let plan = Plan::default();
    let trades = plan.session(Stream::Trades, 0);
    let (ds, _) = sim(23, 3000);
    for d in &ds {
        gw.gateway().ingest(&Bytes::from(d.bytes.clone()));
    }
    let (lo, _) = gw.gateway().window(trades).unwrap();
    let rt = runtime();
    rt.block_on(async {
        // No login in time.
        let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
        let t = Instant::now();
        let (_, end) = end_of(&mut s).await;
        assert_eq!(end.unwrap().0, rltop::EndReason::LoginTimeout as u8);
        assert!(t.elapsed() >= Duration::from_millis(250));

        // Logged in, then silent: IdleTimeout after three heartbeats (100 ms here).
        let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
        s.write_all(&login("secret")).await.unwrap();
        let (msgs, end) = end_of(&mut s).await;
        assert_eq!(end.unwrap().0, rltop::EndReason::IdleTimeout as u8);
        // The gateway sent heartbeats meanwhile.
        assert!(types(&msgs).contains(&rltop::SessionHeartbeat::TYPE_CODE));

        // The replay budget: 150 a second; 100 + 100 at once is over it.
        let mut c = Connection::connect(&client(gw.addr)).await.unwrap();
        c.replay(1, trades, lo, 100).await.unwrap();
        c.replay(2, trades, lo, 100).await.unwrap();
        c.replay(3, trades, lo, 101).await.unwrap();
        let done = next_of(&mut c, rltop::ReplayComplete::TYPE_CODE).await;
        assert_eq!(u32::from_le_bytes(done[40..44].try_into().unwrap()), 1);
        let r1 = next_of(&mut c, rltop::ReplayRejected::TYPE_CODE).await;
        let r2 = next_of(&mut c, rltop::ReplayRejected::TYPE_CODE).await;
        let reason = |b: &Bytes| match Message::decode(b) {
            Ok(Message::ReplayRejected(r)) => (r.request_id(), r.reason()),
            _ => panic!(),
        };
        assert_eq!(reason(&r1), (2, Ok(rltop::ReplayRejectReason::RateLimited)));
        assert_eq!(reason(&r2), (3, Ok(rltop::ReplayRejectReason::BadCount)));
        c.replay(4, 999, 1, 1).await.unwrap();
        let r3 = next_of(&mut c, rltop::ReplayRejected::TYPE_CODE).await;
        assert_eq!(
            reason(&r3),
            (4, Ok(rltop::ReplayRejectReason::UnknownChannel))
        );

        // The connection limit: three at once; the fourth login gets ServerFull.
        let _b = Connection::connect(&client(gw.addr)).await.unwrap();
        let _c = Connection::connect(&client(gw.addr)).await.unwrap();
        match Connection::connect(&client(gw.addr)).await {
            Err(ClientError::LoginRejected { reason, .. }) => {
                assert_eq!(reason, Ok(rltop::LoginRejectReason::ServerFull))
            }
            other => panic!("{:?}", other.map(|c| c.accepted)),
        }
    });
    // The counters are served as Prometheus text.
    let text = gw.gateway().metrics_text();
    assert!(
        text.contains("rltop_gateway_logins_server_full_total 1"),
        "{text}"
    );
    assert!(text.contains("rltop_gateway_idle_closes_total 1"), "{text}");
    gw.shutdown();
}

#[test]
fn a_client_that_never_reads_is_closed_and_the_others_carry_on() {
    let gw = rltop_gateway::start(
        Config {
            queue_bytes: 256 << 10,
            // Neither client sends heartbeats: stay within the idle timeout.
            heartbeat: Duration::from_secs(20),
            ..config()
        },
        &Plan::default(),
    )
    .unwrap();
    let (ds, _) = sim(24, 40_000);
    let rt = runtime();
    let (mut idle, mut reader) = rt.block_on(async {
        // A small receive buffer, so what the kernel holds for it does not hide the queue.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(16 << 10).unwrap();
        let mut idle = socket.connect(gw.addr).await.unwrap();
        let mut sub = rltop::Subscribe::new();
        sub.set_streams(Subscription::everything().streams);
        use tokio::io::AsyncWriteExt;
        idle.write_all(&[login("secret"), sealed(sub, 2)].concat())
            .await
            .unwrap();
        let mut reader = Connection::connect(&client(gw.addr)).await.unwrap();
        reader
            .subscribe(&Subscription::everything(), true)
            .await
            .unwrap();
        (idle, reader)
    });
    std::thread::sleep(Duration::from_millis(200));
    let total: usize = ds.iter().map(|d| d.bytes.len()).sum();
    // The source waits for the reading client, never more than LEAD bytes ahead of it, so
    // however slow this machine is the reader's queue stays far under the bound while the
    // idle client's grows past it. Paced by time instead, a loaded machine closes both.
    const LEAD: usize = 64 << 10;
    let read = Arc::new(AtomicUsize::new(0));
    let handle = rt.spawn({
        let read = read.clone();
        async move {
            let until = tokio::time::Instant::now() + Duration::from_secs(30);
            while read.load(Relaxed) < total && tokio::time::Instant::now() < until {
                match tokio::time::timeout(Duration::from_secs(5), reader.next()).await {
                    Ok(Ok(Incoming::Data(b))) => {
                        read.fetch_add(b.len(), Relaxed);
                    }
                    Ok(Ok(_)) => {}
                    _ => break,
                }
            }
        }
    });
    let until = Instant::now() + Duration::from_secs(30);
    let mut ingested = 0;
    for d in &ds {
        while ingested > read.load(Relaxed) + LEAD
            && !handle.is_finished()
            && Instant::now() < until
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        gw.gateway().ingest(&Bytes::from(d.bytes.clone()));
        ingested += d.bytes.len();
    }
    rt.block_on(handle).unwrap();
    assert_eq!(
        read.load(Relaxed),
        total,
        "the reading client got everything"
    );
    let m = gw.gateway().metrics();
    assert_eq!(m.slow_closes.load(Relaxed), 1);
    // The idle client, reading at last, finds its data cut and the connection closed: with
    // the reason when its socket took it, or without (SPEC.md §11).
    let (msgs, end) = rt.block_on(end_of(&mut idle));
    assert!(msgs.len() > 2, "it had data before it fell behind");
    if let Some((reason, detail)) = end {
        assert_eq!(reason, rltop::EndReason::SlowConsumer as u8);
        assert!(detail.contains("bytes waiting, bound 262144"), "{detail}");
    }
    assert!(
        msgs.iter().map(|m| m.len()).sum::<usize>() < total,
        "its data was cut"
    );
    gw.shutdown();
}

#[test]
fn a_thousand_clients_each_get_every_message() {
    raise_fd_limit(4096);
    // These clients send no heartbeats: a long interval keeps them within the idle timeout.
    let gw = rltop_gateway::start(
        Config {
            heartbeat: Duration::from_secs(20),
            ..config()
        },
        &Plan::default(),
    )
    .unwrap();
    let (ds, _) = sim(25, 2000);
    let trades: Vec<&Datagram> = ds.iter().filter(|d| d.stream == Stream::Trades).collect();
    let want: usize = trades.iter().map(|d| d.bytes.len()).sum();
    let rt = runtime();
    let clients = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for k in 0..1000 {
            let cfg = client(gw.addr);
            set.spawn(async move {
                let mut c = Connection::connect(&cfg)
                    .await
                    .map_err(|e| format!("{k}: {e}"))?;
                c.subscribe(
                    &Subscription {
                        streams: rltop::StreamSet::TRADES,
                        instruments: Vec::new(),
                    },
                    true,
                )
                .await
                .map_err(|e| e.to_string())?;
                // Subscribed once the status comes back.
                loop {
                    if let Incoming::Control(b) = c.next().await.map_err(|e| e.to_string())? {
                        if let Ok(Message::ChannelStatus(s)) = Message::decode(&b) {
                            if s.state() == Ok(rltop::ChannelState::Subscribed) {
                                return Ok::<_, String>(c);
                            }
                        }
                    }
                }
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap().unwrap());
        }
        out
    });
    assert_eq!(clients.len(), 1000);
    for d in &trades {
        gw.gateway().ingest(&Bytes::from(d.bytes.clone()));
    }
    let counts = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for mut c in clients {
            set.spawn(async move {
                let mut got = 0usize;
                while got < want {
                    match tokio::time::timeout(Duration::from_secs(20), c.next()).await {
                        Ok(Ok(Incoming::Data(b))) => got += b.len(),
                        Ok(Ok(_)) => {}
                        _ => break,
                    }
                }
                got
            });
        }
        let mut counts = BTreeMap::new();
        while let Some(r) = set.join_next().await {
            *counts.entry(r.unwrap()).or_insert(0) += 1;
        }
        counts
    });
    assert_eq!(counts, BTreeMap::from([(want, 1000)]));
    gw.shutdown();
}

fn raise_fd_limit(want: u64) {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < want {
            l.rlim_cur = want.min(l.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

#[test]
fn the_pool_reconnects_across_a_gateway_restart_and_the_books_resume() {
    let (ds, oracle) = sim(26, 20_000);
    let plan = Plan::default();
    let mut gw = rltop_gateway::start(config(), &plan).unwrap();
    let addr = gw.addr;
    let pool = Pool::start(ClientConfig {
        connections: 2,
        subscribe: Some(Subscription::everything()),
        backoff_min: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        ..client(addr)
    })
    .unwrap();
    wait_up(&pool, 2);
    let mut recovery = Recovery::new(pool);
    let mut feed = FeedHandler::default();
    let subscribed = |recovery: &mut Recovery, feed: &mut FeedHandler| {
        // Live data flows once the statuses are back: wait for the first datagram.
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(300) {
            recovery.poll(feed, Duration::from_millis(10), &mut |_| {});
        }
    };
    subscribed(&mut recovery, &mut feed);
    let half = ds.len() / 2;
    for (k, d) in ds.iter().enumerate() {
        if k == half {
            // Restart on the same port; what is published meanwhile is lost to everyone.
            gw.shutdown();
            gw = loop {
                match rltop_gateway::start(
                    Config {
                        listen: addr,
                        ..config()
                    },
                    &plan,
                ) {
                    Ok(g) => break g,
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            };
            let t = Instant::now();
            while recovery.pool().healthy() < 2 && t.elapsed() < Duration::from_secs(10) {
                recovery.poll(&mut feed, Duration::from_millis(10), &mut |_| {});
            }
            subscribed(&mut recovery, &mut feed);
        }
        if (half..half + 50).contains(&k) {
            continue; // published while the gateway was down
        }
        gw.gateway().ingest(&Bytes::from(d.bytes.clone()));
        if k % 16 == 0 {
            recovery.poll(&mut feed, Duration::ZERO, &mut |_| {});
        }
    }
    let t = Instant::now();
    while books_match(&feed, &oracle).is_err() && t.elapsed() < Duration::from_secs(20) {
        recovery.poll(&mut feed, Duration::from_millis(20), &mut |_| {});
    }
    books_match(&feed, &oracle).unwrap();
    let st = recovery.stats();
    assert!(st.disconnects >= 2, "{st:?}");
    assert!(recovery.pool().reconnects() >= 2);
    assert!(
        st.rejected > 0,
        "the gap across the restart is beyond the new gateway: {st:?}"
    );
    assert_eq!(recovery.pool().healthy(), 2);
    drop(recovery);
    gw.shutdown();
}

#[test]
fn metrics_are_served_over_http() {
    use std::io::{Read, Write};
    let gw = rltop_gateway::start(
        Config {
            metrics: Some("127.0.0.1:0".parse().unwrap()),
            ..config()
        },
        &Plan::default(),
    )
    .unwrap();
    let (ds, _) = sim(27, 500);
    for d in &ds {
        gw.gateway().ingest(&Bytes::from(d.bytes.clone()));
    }
    let get = |path: &str| {
        let mut s = std::net::TcpStream::connect(gw.metrics_addr.unwrap()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    };
    let text = get("/metrics");
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(
        text.contains(&format!("rltop_gateway_datagrams_in_total {}", ds.len())),
        "{text}"
    );
    assert!(text.contains(
        "rltop_gateway_retained_messages{session=\"3\",stream=\"incremental\",group=\"0\"}"
    ));
    assert!(get("/").starts_with("HTTP/1.1 404"));
    gw.shutdown();
}

#[test]
fn deliveries_name_every_channel_after_login() {
    let gw = rltop_gateway::start(config(), &Plan::default()).unwrap();
    let pool = Pool::start(ClientConfig {
        connections: 1,
        ..client(gw.addr)
    })
    .unwrap();
    let mut statuses = Vec::new();
    let t = Instant::now();
    while statuses.len() < 5 && t.elapsed() < Duration::from_secs(5) {
        if let Some(Delivery::Channel(s)) = pool.recv_timeout(Duration::from_millis(50)) {
            statuses.push((s.channel_session(), s.stream().unwrap()));
        }
    }
    assert_eq!(
        statuses,
        [
            (1, rltop::Stream::FullBook),
            (2, rltop::Stream::TopOfBook),
            (3, rltop::Stream::Incremental),
            (4, rltop::Stream::Trades),
            (5, rltop::Stream::Statistics)
        ]
    );
    drop(pool);
    gw.shutdown();
}
