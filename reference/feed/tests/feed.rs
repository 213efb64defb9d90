//! The feed handler on hand-made sequences: in order, duplicates, reordering, a gap
//! recovered by a snapshot, a late joiner, A/B lines.

use rltop::*;
use rltop_book::{Side as BookSide, TopLevel};
use rltop_feed::{Event, FeedHandler, Line, StaleCause};

const INC: u64 = 2; // session of the incremental channel
const SNAP: u64 = 1;

fn add(seq: u64, book_seq: u64, id: u64, price: i64, qty: u64, level: (u64, u32)) -> Vec<u8> {
    let mut m = AddOrder::new();
    m.set_symbol_id(7);
    m.set_order_book_seq(book_seq);
    m.set_order_id(id);
    m.set_side(Side::Buy);
    m.set_price(price);
    m.set_quantity(qty);
    m.set_level_quantity(level.0);
    m.set_level_order_count(level.1);
    m.encode(INC, seq, 0).to_vec()
}

fn snapshot(seq: u64, snapshot_seq: u64, bids: &[(i64, u64, u32)]) -> Vec<u8> {
    let mut s = OrderBookSnapshot::new();
    s.set_symbol_id(7);
    s.set_snapshot_seq(snapshot_seq);
    s.set_num_bid_levels(bids.len() as u8);
    for (l, &(p, q, c)) in s.bids_mut().iter_mut().zip(bids) {
        l.set_price(p);
        l.set_quantity(q);
        l.set_order_count(c);
    }
    s.encode(SNAP, seq, 0).to_vec()
}

#[derive(Debug, PartialEq)]
enum Seen {
    Book(u64),
    Stale(StaleCause),
    Recovered(u64, usize),
    Gap(u64, u64),
    Rejected(&'static str),
}

fn feed(h: &mut FeedHandler, line: Line, d: &[u8], out: &mut Vec<Seen>) {
    h.on_datagram_from(line, d, &mut |e| match e {
        Event::Book { order_book_seq, .. } => out.push(Seen::Book(order_book_seq)),
        Event::Stale { cause, .. } => out.push(Seen::Stale(cause)),
        Event::Recovered {
            order_book_seq,
            replayed,
            ..
        } => out.push(Seen::Recovered(order_book_seq, replayed)),
        Event::SessionGap {
            expected, received, ..
        } => out.push(Seen::Gap(expected, received)),
        Event::Rejected { error } => out.push(Seen::Rejected(error.name())),
        _ => {}
    });
}

fn bids(h: &FeedHandler) -> Vec<TopLevel> {
    h.book(7).unwrap().top(BookSide::Bid, 10)
}

#[test]
fn in_order_from_the_first_increment() {
    let mut h = FeedHandler::default();
    let mut ev = Vec::new();
    feed(
        &mut h,
        Line::A,
        &[add(10, 1, 1, 100, 5, (5, 1)), add(11, 2, 2, 100, 3, (8, 2))].concat(),
        &mut ev,
    );
    assert_eq!(ev, [Seen::Book(1), Seen::Book(2)]);
    assert!(h.is_live(7) && h.book(7).unwrap().is_order_complete());
    assert_eq!(
        bids(&h),
        [TopLevel {
            price: 100,
            qty: 8,
            count: 2
        }]
    );
}

#[test]
fn duplicates_and_ab_copies_are_dropped() {
    let mut h = FeedHandler::default();
    let mut ev = Vec::new();
    let d1 = add(10, 1, 1, 100, 5, (5, 1));
    feed(&mut h, Line::A, &d1, &mut ev);
    feed(&mut h, Line::B, &d1, &mut ev);
    let d2 = add(11, 2, 2, 101, 5, (5, 1));
    feed(&mut h, Line::B, &d2, &mut ev);
    feed(&mut h, Line::A, &d2, &mut ev);
    assert_eq!(ev, [Seen::Book(1), Seen::Book(2)]);
    let s = h.stats();
    assert_eq!((s.duplicates, s.won_a, s.won_b), (2, 1, 1));
}

#[test]
fn reordering_is_repaired_without_a_snapshot() {
    let mut h = FeedHandler::default();
    let mut ev = Vec::new();
    feed(&mut h, Line::A, &add(10, 1, 1, 100, 5, (5, 1)), &mut ev);
    feed(&mut h, Line::A, &add(12, 3, 3, 100, 1, (9, 3)), &mut ev);
    feed(&mut h, Line::A, &add(11, 2, 2, 100, 3, (8, 2)), &mut ev);
    assert_eq!(
        ev,
        [
            Seen::Book(1),
            Seen::Gap(11, 12),
            Seen::Stale(StaleCause::Gap {
                expected: 2,
                received: 3
            }),
            Seen::Book(3),
            Seen::Recovered(3, 2)
        ]
    );
    assert_eq!(
        bids(&h),
        [TopLevel {
            price: 100,
            qty: 9,
            count: 3
        }]
    );
    assert!(
        h.book(7).unwrap().is_order_complete(),
        "nothing was lost: still order by order"
    );
}

#[test]
fn gap_recovered_by_the_next_snapshot_and_buffered_increments() {
    let mut h = FeedHandler::default();
    let mut ev = Vec::new();
    feed(&mut h, Line::A, &add(10, 1, 1, 100, 5, (5, 1)), &mut ev);
    // book seq 2 is lost; 3 and 4 are buffered.
    feed(&mut h, Line::A, &add(12, 3, 3, 99, 1, (1, 1)), &mut ev);
    feed(&mut h, Line::A, &add(13, 4, 4, 98, 2, (2, 1)), &mut ev);
    assert!(!h.is_live(7));
    // A snapshot as of book seq 3 (which includes seq 2 and 3), then 4 is replayed.
    feed(
        &mut h,
        Line::A,
        &snapshot(50, 3, &[(100, 8, 2), (99, 1, 1)]),
        &mut ev,
    );
    assert!(h.is_live(7));
    assert_eq!(ev.last(), Some(&Seen::Recovered(4, 1)));
    assert_eq!(
        bids(&h),
        [
            TopLevel {
                price: 100,
                qty: 8,
                count: 2
            },
            TopLevel {
                price: 99,
                qty: 1,
                count: 1
            },
            TopLevel {
                price: 98,
                qty: 2,
                count: 1
            }
        ]
    );
}

#[test]
fn late_joiner_and_a_snapshot_older_than_the_buffer() {
    let mut h = FeedHandler::default();
    let mut ev = Vec::new();
    feed(&mut h, Line::A, &add(40, 20, 20, 100, 5, (5, 1)), &mut ev);
    assert_eq!(ev, [Seen::Stale(StaleCause::AwaitingSnapshot)]);
    // Too old: increments 18..19 are missing between it and the buffer.
    feed(&mut h, Line::A, &snapshot(5, 17, &[(101, 1, 1)]), &mut ev);
    assert!(!h.is_live(7));
    feed(&mut h, Line::A, &add(41, 21, 21, 100, 5, (10, 2)), &mut ev);
    // This one bridges: as of 20, then 21 replays.
    feed(
        &mut h,
        Line::A,
        &snapshot(6, 20, &[(101, 1, 1), (100, 5, 1)]),
        &mut ev,
    );
    assert!(h.is_live(7));
    assert_eq!(
        bids(&h),
        [
            TopLevel {
                price: 101,
                qty: 1,
                count: 1
            },
            TopLevel {
                price: 100,
                qty: 10,
                count: 2
            }
        ]
    );
    assert!(!h.book(7).unwrap().is_order_complete());
}

#[test]
fn bad_messages_are_reported_not_dropped_silently() {
    let mut h = FeedHandler::default();
    let mut ev = Vec::new();
    let mut d = add(10, 1, 1, 100, 5, (5, 1));
    d[70] ^= 1;
    feed(&mut h, Line::A, &d, &mut ev);
    assert_eq!(ev, [Seen::Rejected("BadChecksum")]);
    assert_eq!(h.stats().rejected, 1);
}
