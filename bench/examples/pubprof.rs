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
