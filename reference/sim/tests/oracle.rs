//! The oracle test: the feed handler, fed the simulator's datagrams through a lossy,
//! reordering network (and redundant A/B lines), ends with exactly the engines' books.

use rltop_book::{Side, TopLevel};
use rltop_feed::{Event, FeedHandler, Line};
use rltop_sim::{Config, Datagram, Oracle, Rng, Simulation};

#[derive(Debug, Clone, Copy)]
enum Loss {
    /// Each datagram lost with this probability.
    Random(f64),
    /// Runs of `len` datagrams lost, starting with probability `p` at each datagram.
    Bursts { p: f64, len: usize },
}

/// What reaches the subscriber: loss, then some adjacent pairs swapped (reordering). The
/// last two seconds (the quiet tail's final snapshot rounds) are delivered: after the network
/// settles, the book must be right.
fn network(ds: &[Datagram], loss: Loss, reorder: f64, seed: u64) -> Vec<Datagram> {
    let mut rng = Rng::new(seed);
    let settle = ds
        .last()
        .map_or(0, |d| d.time_ns.saturating_sub(3_000_000_000));
    let mut out = Vec::with_capacity(ds.len());
    let mut burst = 0;
    for d in ds {
        let lost = match loss {
            Loss::Random(p) => rng.chance(p),
            Loss::Bursts { p, len } => {
                if burst == 0 && rng.chance(p) {
                    burst = len;
                }
                if burst > 0 {
                    burst -= 1;
                    true
                } else {
                    false
                }
            }
        };
        if !lost || d.time_ns >= settle {
            out.push(d.clone());
        }
    }
    for i in 1..out.len() {
        if out[i].time_ns < settle && rng.chance(reorder) {
            out.swap(i - 1, i);
        }
    }
    out
}

fn levels(v: &[(i64, u64, u32)]) -> Vec<TopLevel> {
    v.iter()
        .map(|&(price, qty, count)| TopLevel { price, qty, count })
        .collect()
}

fn check(h: &FeedHandler, oracle: &Oracle, what: &str) {
    for (sym, bids, asks) in &oracle.books {
        let book = h
            .book(*sym)
            .unwrap_or_else(|| panic!("{what}: no book for instrument {sym}"));
        assert!(h.is_live(*sym), "{what}: instrument {sym} still stale");
        assert_eq!(
            book.top(Side::Bid, 10),
            levels(bids),
            "{what}: instrument {sym} bids"
        );
        assert_eq!(
            book.top(Side::Ask, 10),
            levels(asks),
            "{what}: instrument {sym} asks"
        );
        book.check_invariants()
            .unwrap_or_else(|e| panic!("{what}: instrument {sym}: {e}"));
    }
}

fn sim(seed: u64) -> (Vec<Datagram>, Oracle) {
    Simulation::new(Config {
        seed,
        instruments: 3,
        events: 15_000,
        quiet_tail_s: 6,
        ..Config::default()
    })
    .run()
}

#[test]
fn lossless_feed_is_followed_order_by_order() {
    let (ds, oracle) = sim(11);
    let mut h = FeedHandler::default();
    let mut rejected = 0;
    for d in &ds {
        h.on_datagram(&d.bytes, &mut |e| {
            if let Event::Rejected { .. } | Event::Stale { .. } = e {
                eprintln!("unexpected: {e:?}");
                rejected += 1;
            }
        });
    }
    assert_eq!(rejected, 0, "no message refused, no instrument stale");
    check(&h, &oracle, "lossless");
    for (sym, ..) in &oracle.books {
        assert!(
            h.book(*sym).unwrap().is_order_complete(),
            "followed from the first order"
        );
    }
    let s = h.stats();
    assert!(
        s.increments_applied > 10_000 && s.snapshots_applied == 0,
        "{s:?}"
    );
}

#[test]
fn every_loss_pattern_ends_with_the_oracle_books() {
    let patterns = [
        ("1%", Loss::Random(0.01)),
        ("5%", Loss::Random(0.05)),
        ("20%", Loss::Random(0.20)),
        ("bursts", Loss::Bursts { p: 0.002, len: 40 }),
    ];
    for seed in 1..=8 {
        let (ds, oracle) = sim(seed);
        for (name, loss) in patterns {
            let arrived = network(&ds, loss, 0.02, seed * 100 + name.len() as u64);
            let mut h = FeedHandler::default();
            for d in &arrived {
                h.on_datagram(&d.bytes, &mut |_| {});
            }
            check(&h, &oracle, &format!("seed {seed}, loss {name}"));
            assert!(
                h.stats().recoveries > 0,
                "seed {seed} {name}: loss should have forced a recovery"
            );
        }
    }
}

#[test]
fn ab_lines_with_independent_loss_act_as_one_good_line() {
    let (ds, oracle) = sim(5);
    let a = network(&ds, Loss::Random(0.05), 0.0, 1);
    let b = network(&ds, Loss::Random(0.05), 0.0, 2);
    let mut h = FeedHandler::default();
    // Interleave the lines in time order, as two sockets would deliver them.
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_a = j >= b.len() || (i < a.len() && a[i].time_ns <= b[j].time_ns);
        if take_a {
            h.on_datagram_from(Line::A, &a[i].bytes, &mut |_| {});
            i += 1;
        } else {
            h.on_datagram_from(Line::B, &b[j].bytes, &mut |_| {});
            j += 1;
        }
    }
    check(&h, &oracle, "A/B");
    let s = h.stats();
    assert!(s.won_a > 0 && s.won_b > 0 && s.duplicates > 0, "{s:?}");
}

#[test]
fn the_simulator_is_deterministic_and_emits_every_message_type() {
    let (a, oa) = sim(3);
    let (b, ob) = sim(3);
    assert_eq!(a, b);
    assert_eq!(oa, ob);
    let mut types = std::collections::BTreeSet::new();
    for d in &a {
        for m in rltop::messages(&d.bytes) {
            types.insert(m.expect("the simulator's messages are valid").name());
        }
    }
    // Every market-data type; the gateway's session-control messages are never published.
    let all: std::collections::BTreeSet<&str> = rltop::MESSAGE_TYPES
        .iter()
        .filter(|t| rltop::Channel::of_type(t.type_code) != Some(rltop::Channel::Session))
        .map(|t| t.name)
        .collect();
    assert_eq!(types, all, "every message type is published");
}
