//! The publisher's behaviour, read back through the generated decoder and the feed handler
//! (independent of the publisher's own book): level fields, refusals, packing, the hold
//! time, the cycles, instrument groups and the B line, the end of session.

use std::net::{Ipv4Addr, SocketAddrV4};

use rltop::{DeleteReason, Message, OrderFlags, Side, TradingStatus};
use rltop_net::plan::{Line, Plan, Stream};
use rltop_publish::transport::{Memory, Sent};
use rltop_publish::{Event, PublishError, Publisher};

const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

fn add(symbol_id: u32, order_id: u64, side: Side, price: i64, quantity: u64) -> Event {
    Event::Add {
        symbol_id,
        order_id,
        side,
        price,
        quantity,
        flags: OrderFlags::empty(),
    }
}

fn messages(sent: &[Sent]) -> Vec<(SocketAddrV4, Message<'_>)> {
    sent.iter()
        .flat_map(|d| rltop::messages(&d.bytes).map(move |m| (d.dst, m.expect("valid message"))))
        .collect()
}

fn publisher(plan: Plan) -> Publisher<Memory> {
    Publisher::new(plan, Memory::default())
}

#[test]
fn increments_carry_the_level_after_the_change() {
    let mut p = publisher(Plan::default());
    p.publish(&add(1, 10, Side::Buy, 100, 5), T0).unwrap();
    p.publish(&add(1, 11, Side::Buy, 100, 7), T0).unwrap();
    p.publish(
        &Event::Modify {
            symbol_id: 1,
            order_id: 10,
            price: 99,
            quantity: 5,
        },
        T0,
    )
    .unwrap();
    p.publish(
        &Event::Execute {
            symbol_id: 1,
            order_id: 11,
            quantity: 3,
            trade_id: 1,
            taker_order_id: 50,
        },
        T0,
    )
    .unwrap();
    p.publish(
        &Event::Cancel {
            symbol_id: 1,
            order_id: 10,
            reason: DeleteReason::Canceled,
        },
        T0,
    )
    .unwrap();
    p.flush(T0).unwrap();
    let sent = p.into_transport().sent;
    let ms = messages(&sent);
    let mut seqs = Vec::new();
    let mut trade = None;
    for (_, m) in &ms {
        match m {
            Message::AddOrder(a) if a.order_id() == 11 => {
                assert_eq!((a.level_quantity(), a.level_order_count()), (12, 2));
                seqs.push(a.order_book_seq());
            }
            Message::AddOrder(a) => {
                assert_eq!((a.level_quantity(), a.level_order_count()), (5, 1));
                seqs.push(a.order_book_seq());
            }
            Message::ModifyOrder(m) => {
                assert_eq!(m.modify_type(), Ok(rltop::ModifyType::PriceModify));
                assert_eq!((m.old_level_quantity(), m.old_level_order_count()), (7, 1));
                assert_eq!((m.new_level_quantity(), m.new_level_order_count()), (5, 1));
                seqs.push(m.order_book_seq());
            }
            Message::ExecuteOrder(e) => {
                assert_eq!(
                    (e.price(), e.executed_quantity(), e.remaining_quantity()),
                    (100, 3, 4)
                );
                assert_eq!((e.level_quantity(), e.level_order_count()), (4, 1));
                seqs.push(e.order_book_seq());
            }
            Message::DeleteOrder(d) => {
                assert_eq!(
                    (d.price(), d.level_quantity(), d.level_order_count()),
                    (99, 0, 0)
                );
                seqs.push(d.order_book_seq());
            }
            Message::Trade(t) => {
                trade = Some((
                    t.price(),
                    t.quantity(),
                    t.taker_side(),
                    t.maker_order_id(),
                    t.taker_order_id(),
                ))
            }
            _ => {}
        }
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert_eq!(trade, Some((100, 3, Ok(Side::Sell), 11, 50)));
}

#[test]
fn a_change_that_does_not_fit_is_refused_and_publishes_nothing() {
    let mut p = publisher(Plan::default());
    p.publish(&add(1, 10, Side::Buy, 100, 5), T0).unwrap();
    p.publish(&add(1, 11, Side::Sell, 101, 5), T0).unwrap();
    p.flush(T0).unwrap();
    let before = p.stats().messages;
    let refusals = [
        Event::Cancel {
            symbol_id: 1,
            order_id: 99,
            reason: DeleteReason::Canceled,
        },
        add(1, 10, Side::Buy, 100, 5),
        add(1, 12, Side::Buy, 101, 5),
        Event::Execute {
            symbol_id: 1,
            order_id: 10,
            quantity: 6,
            trade_id: 1,
            taker_order_id: 2,
        },
        Event::Modify {
            symbol_id: 1,
            order_id: 10,
            price: 102,
            quantity: 5,
        },
    ];
    for e in &refusals {
        match p.publish(e, T0) {
            Err(PublishError::Refused { symbol_id: 1, .. }) => {}
            other => panic!("{e:?}: {other:?}"),
        }
    }
    assert!(matches!(
        p.publish(
            &Event::Modify {
                symbol_id: 1,
                order_id: 10,
                price: 100,
                quantity: 5
            },
            T0
        ),
        Err(PublishError::NoChange { order_id: 10, .. })
    ));
    p.flush(T0).unwrap();
    assert_eq!(p.stats().messages, before);
    assert_eq!(p.stats().refused, 6);
    assert_eq!(p.book(1).unwrap().order_count(), 2);
}

#[test]
fn messages_are_packed_up_to_the_mtu_and_numbered_without_holes() {
    let mut p = publisher(Plan::default());
    for i in 0..100 {
        p.publish(&add(1, i + 1, Side::Buy, 1000 - i as i64, 1), T0)
            .unwrap();
    }
    p.flush(T0).unwrap();
    let sent = p.into_transport().sent;
    let inc: Vec<&Sent> = sent.iter().filter(|d| d.dst.port() == 9002).collect();
    // 1472 / 128 = 11 messages a datagram.
    assert_eq!(
        inc.iter().map(|d| d.bytes.len() / 128).collect::<Vec<_>>(),
        [11, 11, 11, 11, 11, 11, 11, 11, 11, 1]
    );
    let seqs: Vec<u64> = messages(&sent)
        .iter()
        .filter(|(d, _)| d.port() == 9002)
        .map(|(_, m)| m.header().seq_num())
        .collect();
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
    assert!(sent.iter().all(|d| d.bytes.len() <= 1472));
    // The draft's plan: a full snapshot after every 100 increments of an instrument.
    let snaps: Vec<u64> = messages(&sent)
        .iter()
        .filter_map(|(_, m)| match m {
            Message::OrderBookSnapshot(s) => Some(s.snapshot_seq()),
            _ => None,
        })
        .collect();
    assert_eq!(snaps, [100]);
}

#[test]
fn one_message_a_datagram_when_packing_is_off() {
    let mut p = publisher(Plan::default());
    p.set_packing(false);
    for i in 0..5 {
        p.publish(&add(1, i + 1, Side::Buy, 1000 - i as i64, 1), T0)
            .unwrap();
    }
    p.flush(T0).unwrap();
    let sent = p.into_transport().sent;
    assert_eq!(sent.iter().filter(|d| d.dst.port() == 9002).count(), 5);
    assert!(sent.iter().all(|d| rltop::messages(&d.bytes).count() == 1));
}

#[test]
fn a_partly_filled_datagram_leaves_when_its_first_message_has_waited_the_hold_time() {
    let plan = Plan {
        hold_us: 100,
        ..Plan::default()
    };
    let mut p = publisher(plan);
    p.publish(&add(1, 1, Side::Buy, 100, 1), T0).unwrap();
    p.poll(T0 + 99_000).unwrap();
    assert!(p.transport().sent.is_empty(), "sent before the hold time");
    p.publish(&add(1, 2, Side::Buy, 99, 1), T0 + 99_500)
        .unwrap();
    p.poll(T0 + 100_000).unwrap();
    let sent = &p.transport().sent;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].bytes.len(), 256, "both messages in one datagram");
    assert_eq!(sent[0].time_ns, T0 + 100_000);
}

#[test]
fn cycles_snapshots_top_of_book_statistics_definitions_heartbeats() {
    let mut p = publisher(Plan::default());
    let mut def = rltop::InstrumentDefinition::new();
    def.set_symbol_id(1);
    def.set_trading_status(TradingStatus::Trading);
    p.publish(&Event::Instrument(Box::new(def)), T0).unwrap();
    p.publish(&add(1, 1, Side::Buy, 100, 4), T0).unwrap();
    p.publish(&add(1, 2, Side::Sell, 105, 6), T0).unwrap();
    let mut daily = rltop::DailyStatistics::new();
    daily.set_symbol_id(1);
    p.publish(&Event::Daily(Box::new(daily)), T0).unwrap();
    // 10.5 s of silence, polled every millisecond.
    let mut t = T0;
    while t < T0 + 10_500 * MS {
        t += MS;
        p.poll(t).unwrap();
    }
    p.flush(t).unwrap();
    let sent = p.into_transport().sent;
    let ms = messages(&sent);
    let count = |f: &dyn Fn(&Message<'_>) -> bool| ms.iter().filter(|(_, m)| f(m)).count();
    // Full book once a second, each with the book's sequence and levels.
    let snaps: Vec<_> = ms
        .iter()
        .filter_map(|(_, m)| match m {
            Message::OrderBookSnapshot(s) => Some(*s),
            _ => None,
        })
        .collect();
    assert_eq!(snaps.len(), 10);
    for s in &snaps {
        assert_eq!(s.snapshot_seq(), 2);
        assert_eq!(
            (
                s.num_bid_levels(),
                s.bids()[0].price(),
                s.bids()[0].quantity()
            ),
            (1, 100, 4)
        );
        assert_eq!(
            (
                s.num_ask_levels(),
                s.asks()[0].price(),
                s.asks()[0].quantity()
            ),
            (1, 105, 6)
        );
    }
    assert_eq!(count(&|m| matches!(m, Message::TradeSnapshot(_))), 10);
    // Top of book ten times a second.
    let tobs: Vec<_> = ms
        .iter()
        .filter_map(|(_, m)| match m {
            Message::TopOfBookSnapshot(t) => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(tobs.len(), 105);
    assert!(tobs.iter().all(|t| (
        t.best_bid_price(),
        t.best_ask_price(),
        t.spread(),
        t.mid_price()
    ) == (100, 105, 5, 102)));
    // Statistics repeated each second, the definition every ten (plus the first of each).
    assert_eq!(count(&|m| matches!(m, Message::DailyStatistics(_))), 11);
    assert_eq!(count(&|m| matches!(m, Message::InstrumentDefinition(_))), 2);
    // Heartbeats only where the stream was silent: increments and trades, once a second.
    let hb = |port: u16| {
        ms.iter()
            .filter(|(d, m)| d.port() == port && matches!(m, Message::Heartbeat(_)))
            .count()
    };
    assert_eq!(hb(9002), 10);
    assert_eq!(hb(9003), 10);
    assert_eq!(hb(9004), 0, "statistics are never silent for a second here");
}

#[test]
fn a_snapshot_leaves_after_the_increments_it_covers() {
    // Every 100 increments (at one instant: nothing leaves by the hold time before the
    // flush), then once the full-book period has passed.
    let mut p = publisher(Plan::default());
    for order_id in 1..=250 {
        p.publish(&add(1, order_id, Side::Buy, 100, 1), T0).unwrap();
    }
    let t1 = T0 + 1000 * MS;
    p.publish(&add(1, 251, Side::Buy, 100, 1), t1).unwrap();
    p.flush(t1).unwrap();
    let sent = p.into_transport().sent;
    let mut increments = 0;
    let mut snapshots = Vec::new();
    for (k, d) in sent.iter().enumerate() {
        for m in rltop::messages(&d.bytes) {
            match m.unwrap() {
                Message::AddOrder(a) => increments = increments.max(a.order_book_seq()),
                Message::OrderBookSnapshot(s) => {
                    assert!(
                        s.snapshot_seq() <= increments,
                        "datagram {k}: snapshot at {} sent after increments up to {increments} only",
                        s.snapshot_seq()
                    );
                    snapshots.push(s.snapshot_seq());
                }
                _ => {}
            }
        }
    }
    assert_eq!(snapshots, [100, 200, 251]);
}

#[test]
fn instrument_groups_sessions_and_the_b_line() {
    let mut plan: Plan = Plan::from_toml(
        &format!(
            "groups = 2\n{}\n{}",
            streams("streams", 255),
            streams("b_line", 254)
        ),
        "test.toml",
    )
    .unwrap();
    plan.hold_us = 0;
    let mut p = publisher(plan.clone());
    p.publish(&add(1, 1, Side::Buy, 100, 1), T0).unwrap();
    p.publish(&add(2, 2, Side::Buy, 100, 1), T0).unwrap();
    p.flush(T0).unwrap();
    let sent = p.into_transport().sent;
    let inc = |line, group| {
        plan.endpoint(Stream::Incremental, group, line)
            .unwrap()
            .addr
    };
    for (group, symbol, session) in [(0, 1, 3), (1, 2, 11)] {
        let a: Vec<&Sent> = sent
            .iter()
            .filter(|d| d.dst == inc(Line::A, group))
            .collect();
        let b: Vec<&Sent> = sent
            .iter()
            .filter(|d| d.dst == inc(Line::B, group))
            .collect();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].bytes, b[0].bytes, "the B line carries the same bytes");
        let m = rltop::AddOrder::decode(&a[0].bytes).unwrap();
        assert_eq!((m.symbol_id(), m.header().session_id()), (symbol, session));
    }
    assert_eq!(
        inc(Line::A, 1),
        SocketAddrV4::new(Ipv4Addr::new(239, 255, 1, 2), 9002)
    );
    assert_eq!(
        inc(Line::B, 0),
        SocketAddrV4::new(Ipv4Addr::new(239, 254, 1, 1), 9002)
    );
}

fn streams(table: &str, second: u8) -> String {
    format!(
        "[{table}.full_book]\naddr = \"239.{second}.0.1\"\nport = 9001\nstride = 2\n\
         [{table}.top_of_book]\naddr = \"239.{second}.0.2\"\nport = 9001\nstride = 2\n\
         [{table}.incremental]\naddr = \"239.{second}.1.1\"\nport = 9002\n\
         [{table}.trades]\naddr = \"239.{second}.2.1\"\nport = 9003\n\
         [{table}.statistics]\naddr = \"239.{second}.3.1\"\nport = 9004\n"
    )
}

#[test]
fn the_session_ends_with_final_snapshots_closed_definitions_and_a_last_heartbeat() {
    let mut p = publisher(Plan::default());
    let mut def = rltop::InstrumentDefinition::new();
    def.set_symbol_id(1);
    def.set_trading_status(TradingStatus::Trading);
    p.publish(&Event::Instrument(Box::new(def)), T0).unwrap();
    p.publish(&add(1, 1, Side::Buy, 100, 4), T0).unwrap();
    p.end_session(T0 + MS).unwrap();
    let sent = p.into_transport().sent;
    let ms = messages(&sent);
    let defs: Vec<_> = ms
        .iter()
        .filter_map(|(_, m)| match m {
            Message::InstrumentDefinition(d) => Some(d.trading_status()),
            _ => None,
        })
        .collect();
    assert_eq!(
        defs,
        [Ok(TradingStatus::Trading), Ok(TradingStatus::Closed)]
    );
    // On every stream the last message is a heartbeat with interval 0.
    for s in Stream::ALL {
        let port_group = Plan::default().endpoint(s, 0, Line::A).unwrap().addr;
        let last = ms
            .iter()
            .rev()
            .find(|(d, _)| *d == port_group)
            .map(|(_, m)| m);
        match last {
            Some(Message::Heartbeat(h)) => assert_eq!(h.interval_ms(), 0, "{s:?}"),
            other => panic!("{s:?}: last message {other:?}"),
        }
    }
    assert!(ms
        .iter()
        .any(|(_, m)| matches!(m, Message::OrderBookSnapshot(s) if s.snapshot_seq() == 1)));
}

#[test]
fn polling_in_between_does_not_change_how_messages_are_packed() {
    let plan = Plan {
        hold_us: 50,
        cadence: rltop_net::plan::Cadence {
            full_book_ms: 0,
            full_book_every_increments: 0,
            top_of_book_ms: 0,
            statistics_ms: 0,
            definitions_ms: 0,
            heartbeat_ms: 0,
        },
        ..Plan::default()
    };
    let run = |poll_every: Option<u64>| {
        let mut p = publisher(plan.clone());
        let mut t = T0;
        for i in 0..400u64 {
            t += 7_000 + (i * 7919) % 40_000; // 7–47 µs apart
            if let Some(k) = poll_every {
                if i % k == 0 {
                    p.poll(t - 3_000).unwrap();
                }
            }
            p.publish(
                &add(1 + (i % 3) as u32, i + 1, Side::Buy, 1000 - i as i64, 1),
                t,
            )
            .unwrap();
        }
        p.flush(t + 1).unwrap();
        p.into_transport()
            .sent
            .into_iter()
            .map(|d| (d.dst, d.bytes))
            .collect::<Vec<_>>()
    };
    let plain = run(None);
    assert!(
        plain.len() > 40,
        "the hold time closes datagrams: {}",
        plain.len()
    );
    assert_eq!(run(Some(1)), plain);
    assert_eq!(run(Some(3)), plain);
}

#[test]
fn refusals_on_unknown_instruments_leave_nothing_behind() {
    let mut p = publisher(Plan::default());
    let cancel = Event::Cancel {
        symbol_id: 77,
        order_id: 1,
        reason: DeleteReason::Canceled,
    };
    assert!(matches!(
        p.publish(&cancel, T0),
        Err(PublishError::Refused { symbol_id: 77, .. })
    ));
    assert!(matches!(
        p.publish(&add(78, 1, Side::Buy, 100, 0), T0),
        Err(PublishError::Refused { symbol_id: 78, .. })
    ));
    // Sparse symbol ids are fine.
    p.publish(&add(u32::MAX, 1, Side::Buy, 100, 1), T0).unwrap();
    assert_eq!(p.symbols().collect::<Vec<_>>(), [u32::MAX]);
    p.end_session(T0 + MS).unwrap();
    let sent = p.into_transport().sent;
    let snapshots: Vec<u32> = messages(&sent)
        .iter()
        .filter_map(|(_, m)| match m {
            Message::OrderBookSnapshot(s) => Some(s.symbol_id()),
            _ => None,
        })
        .collect();
    assert_eq!(snapshots, [u32::MAX]);
}

/// Fails its first `fail` sends, then keeps what it is given.
struct Flaky {
    fail: usize,
    kept: Memory,
}

impl rltop_publish::Transport for Flaky {
    fn send(&mut self, batch: &[rltop_publish::Outgoing<'_>], now_ns: u64) -> std::io::Result<()> {
        if self.fail > 0 {
            self.fail -= 1;
            return Err(std::io::Error::other("link down"));
        }
        self.kept.send(batch, now_ns)
    }
}

#[test]
fn a_failed_send_is_reported_and_the_book_stays_in_step() {
    let plan = Plan {
        hold_us: 0,
        ..Plan::default()
    };
    let mut p = Publisher::new(
        plan,
        Flaky {
            fail: 1,
            kept: Memory::default(),
        },
    );
    // The first send fails: the event is still applied, the error reported.
    assert!(matches!(
        p.publish(&add(1, 1, Side::Buy, 100, 5), T0),
        Err(PublishError::Send(_))
    ));
    assert_eq!(p.book(1).unwrap().order_count(), 1);
    // The engine goes on: its next change to that order fits the book.
    p.publish(
        &Event::Cancel {
            symbol_id: 1,
            order_id: 1,
            reason: DeleteReason::Canceled,
        },
        T0 + 1,
    )
    .unwrap();
    let kept = p.into_transport().kept.sent;
    let seqs: Vec<u64> = messages(&kept)
        .iter()
        .map(|(_, m)| m.header().seq_num())
        .collect();
    // The lost datagram is a gap subscribers see: the delete is the session's second message.
    assert_eq!(seqs, [2]);
}
