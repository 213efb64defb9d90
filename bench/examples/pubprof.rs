//! The publisher alone over the simulator's order flow, for profiling:
//! `cargo build --release -p rltop-bench --example pubprof` then
//! `perf record -e cpu-clock -g target/release/examples/pubprof` (this VM has no hardware
//! counters; the timer samples well enough).

use std::time::Instant;

use rltop_net::mcast::Outgoing;
use rltop_publish::{Event, Publisher, Transport};

struct Discard(u64);

impl Transport for Discard {
    fn send(&mut self, batch: &[Outgoing<'_>], _now_ns: u64) -> std::io::Result<()> {
        self.0 += std::hint::black_box(batch).len() as u64;
        Ok(())
    }
}

fn main() {
    let events: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut market = rltop_sim::Market::new(rltop_sim::Config {
        seed: 42,
        instruments: 8,
        events,
        ..rltop_sim::Config::default()
    });
    let mut work: Vec<(u64, Event)> = Vec::new();
    let mut batch = Vec::new();
    market.definitions(&mut batch);
    loop {
        let t = market.now();
        work.extend(batch.drain(..).map(|e| (t, e)));
        if !market.step(&mut batch) {
            break;
        }
    }
    // The book alone, the same changes: what the publisher adds on top of its book.
    for round in 0..3 {
        let mut books: std::collections::HashMap<u32, rltop_book::Book> = Default::default();
        let start = Instant::now();
        let mut n = 0u64;
        for (_, e) in &work {
            use rltop_book::{Add, Book, Delete, Execute, LevelState, Modify, ModifyKind, Side};
            let none = LevelState::default();
            let side = |s| {
                if s == rltop::Side::Buy {
                    Side::Bid
                } else {
                    Side::Ask
                }
            };
            let ok = match *e {
                Event::Add {
                    symbol_id,
                    order_id,
                    side: s,
                    price,
                    quantity,
                    ..
                } => books
                    .entry(symbol_id)
                    .or_insert_with(Book::for_publisher)
                    .add(&Add {
                        order_id,
                        side: side(s),
                        price,
                        qty: quantity,
                        hidden: false,
                        level: none,
                    })
                    .is_ok(),
                Event::Cancel {
                    symbol_id,
                    order_id,
                    ..
                } => {
                    let b = books.get_mut(&symbol_id).unwrap();
                    let o = b.order(order_id).unwrap();
                    b.delete(&Delete {
                        order_id,
                        side: o.side,
                        price: o.price,
                        level: none,
                    })
                    .is_ok()
                }
                Event::Execute {
                    symbol_id,
                    order_id,
                    quantity,
                    ..
                } => {
                    let b = books.get_mut(&symbol_id).unwrap();
                    let o = b.order(order_id).unwrap();
                    b.execute(&Execute {
                        order_id,
                        side: o.side,
                        price: o.price,
                        executed: quantity,
                        remaining: o.qty - quantity,
                        level: none,
                    })
                    .is_ok()
                }
                Event::Modify {
                    symbol_id,
                    order_id,
                    price,
                    quantity,
                } => {
                    let b = books.get_mut(&symbol_id).unwrap();
                    let o = b.order(order_id).unwrap();
                    let kind = if price != o.price {
                        ModifyKind::Price
                    } else if quantity < o.qty {
                        ModifyKind::QuantityDecrease
                    } else {
                        ModifyKind::QuantityIncrease
                    };
                    b.modify(&Modify {
                        order_id,
                        side: o.side,
                        kind,
                        old_price: o.price,
                        new_price: price,
                        new_qty: quantity,
                        old_level: none,
                        new_level: none,
                    })
                    .is_ok()
                }
                _ => true,
            };
            n += u64::from(ok);
        }
        let s = start.elapsed().as_secs_f64();
        println!(
            "book alone, round {round}: {n} changes in {s:.3} s: {:.2} M/s",
            n as f64 / s / 1e6
        );
    }
    for round in 0..3 {
        let mut p = Publisher::new(rltop_net::Plan::default(), Discard(0));
        let start = Instant::now();
        for (t, e) in &work {
            p.publish(e, *t).expect("fits");
        }
        let s = start.elapsed().as_secs_f64();
        let m = p.stats().messages;
        println!(
            "round {round}: {m} messages in {s:.3} s: {:.2} M/s",
            m as f64 / s / 1e6
        );
    }
}
