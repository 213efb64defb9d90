//! The depth contract, without sockets: a snapshot of the published view plus the diff
//! events after it, applied by Binance's documented local-book procedure, give the book the
//! feed handler holds and the simulator's engines hold, for the 100 ms and the 1000 ms
//! diff streams and snapshots taken at any point.

use std::collections::BTreeMap;

use rltop_bridge::market::{depth_object, Market};
use rltop_bridge::streams::{Kind, Symbols, Topic};
use rltop_feed::decimal::parse_decimal;
use rltop_feed::{Event, FeedHandler};
use serde_json::Value;

mod common;
use common::Collect;

/// A local book kept by Binance's procedure, in scaled integers (price −2, qty −3).
struct LocalBook {
    update_id: u64,
    first_applied: bool,
    bids: BTreeMap<i64, u64>,
    asks: BTreeMap<i64, u64>,
    applied: usize,
}

fn level(l: &Value) -> (i64, u64) {
    (
        parse_decimal(l[0].as_str().unwrap(), -2).unwrap() as i64,
        parse_decimal(l[1].as_str().unwrap(), -3).unwrap() as u64,
    )
}

impl LocalBook {
    fn from_snapshot(snapshot: &Value) -> LocalBook {
        let side = |key: &str| {
            snapshot[key]
                .as_array()
                .unwrap()
                .iter()
                .map(level)
                .collect()
        };
        LocalBook {
            update_id: snapshot["lastUpdateId"].as_u64().unwrap(),
            first_applied: false,
            bids: side("bids"),
            asks: side("asks"),
            applied: 0,
        }
    }

    fn apply(&mut self, event: &Value) {
        let (first, last) = (event["U"].as_u64().unwrap(), event["u"].as_u64().unwrap());
        if last <= self.update_id {
            return;
        }
        if self.first_applied {
            assert_eq!(first, self.update_id + 1, "a gap or an overlap: {event}");
        } else {
            assert!(
                first <= self.update_id + 1 && self.update_id < last,
                "the first event does not straddle: {event}"
            );
            self.first_applied = true;
        }
        for (key, side) in [("b", &mut self.bids), ("a", &mut self.asks)] {
            for l in event[key].as_array().unwrap() {
                let (price, qty) = level(l);
                if qty == 0 {
                    side.remove(&price);
                } else {
                    side.insert(price, qty);
                }
            }
        }
        self.update_id = last;
        self.applied += 1;
    }

    /// The best `n` levels a side: (bids, asks).
    fn top(&self, n: usize) -> [Vec<(i64, u64)>; 2] {
        [
            self.bids
                .iter()
                .rev()
                .take(n)
                .map(|(&p, &q)| (p, q))
                .collect(),
            self.asks.iter().take(n).map(|(&p, &q)| (p, q)).collect(),
        ]
    }
}

#[test]
fn snapshots_and_diffs_rebuild_the_engines_books() {
    let cfg = rltop_sim::Config {
        seed: 5,
        instruments: 2,
        events: 20_000,
        quiet_tail_s: 1,
        ..rltop_sim::Config::default()
    };
    let (datagrams, oracle) = rltop_sim::Simulation::new(cfg).run();
    let mut feed = FeedHandler::default();
    let mut market = Market::default();
    let mut symbols = Symbols::default();
    let mut sink = Collect::default();
    // Snapshots of SIM1USDT at several points, each with the index of the next event.
    let mut snapshots: Vec<(usize, Value)> = Vec::new();
    let boundary_every = 5;
    // A dozen snapshots, at points that are not boundaries.
    let snapshot_every = datagrams.len() / 12 + 1;
    for (i, d) in datagrams.iter().enumerate() {
        feed.on_datagram(&d.bytes, &mut |e| match e {
            Event::Instrument(def) => market.define(def, &mut symbols).expect("SIM<id>USDT"),
            Event::Trade(t) => market.trade(t, &mut sink),
            Event::Market(m) => market.market_message(&m, &mut sink),
            Event::Book { symbol_id, .. } => market.book_changed(symbol_id, d.time_ns),
            _ => {}
        });
        market.after_batch(&feed, &mut sink);
        if i % boundary_every == 0 {
            // Every tenth boundary is a second.
            market.boundary(i % (10 * boundary_every) == 0, &feed, &mut sink);
        }
        if i % snapshot_every == 3 {
            if let Some(inst) = market.instrument("SIM1USDT") {
                if let Some(def) = &inst.def {
                    let snapshot = depth_object(def, &inst.view, 5000);
                    snapshots.push((sink.0.len(), serde_json::from_str(&snapshot).unwrap()));
                }
            }
        }
    }
    market.boundary(true, &feed, &mut sink);
    assert!(snapshots.len() > 5, "{} snapshots", snapshots.len());
    let key = symbols.get("sim1usdt").unwrap();
    let (_, want_bids, want_asks) = oracle.books.iter().find(|b| b.0 == 1).unwrap();
    let want =
        |side: &Vec<(i64, u64, u32)>| side.iter().map(|&(p, q, _)| (p, q)).collect::<Vec<_>>();
    let book = feed.book(1).unwrap();
    for fast in [true, false] {
        for (at, snapshot) in &snapshots {
            let mut local = LocalBook::from_snapshot(snapshot);
            for (topic, json) in &sink.0[*at..] {
                if *topic == Topic::Symbol(key, Kind::Diff { fast }) {
                    local.apply(&serde_json::from_str(json).unwrap());
                }
            }
            assert!(local.applied > 0);
            assert_eq!(
                local.update_id,
                feed.order_book_seq(1).unwrap(),
                "fast {fast}"
            );
            // Every level equals the feed handler's book…
            let all = local.top(usize::MAX);
            let feed_levels = |side| {
                book.top(side, usize::MAX)
                    .iter()
                    .map(|l| (l.price, l.qty))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                all[0],
                feed_levels(rltop_book::Side::Bid),
                "fast {fast}, snapshot at {at}"
            );
            assert_eq!(
                all[1],
                feed_levels(rltop_book::Side::Ask),
                "fast {fast}, snapshot at {at}"
            );
            // …and the top 10 equal the engines'.
            let [bids, asks] = local.top(10);
            assert_eq!(bids, want(want_bids));
            assert_eq!(asks, want(want_asks));
        }
    }
}
