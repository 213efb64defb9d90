//! `cargo bench -p rltop-bench --bench feed` (or `cargo xtask bench`): decode → feed handler
//! → book apply over a simulator capture, against the draft's sample book, same run.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rltop_bench::seed_book::{apply_datagram, SeedBook};
use rltop_feed::FeedHandler;
use rltop_sim::{Config, Simulation};

/// The capture every run uses (seeded: the same bytes each time): 8 instruments of about
/// 500 resting orders each, 200 000 order-flow events; the datagrams back to back in one
/// buffer, as they sit in a receive ring.
fn capture(min_resting: usize) -> (Vec<u8>, Vec<(usize, usize)>) {
    let cfg = Config {
        seed: 42,
        instruments: 8,
        events: 200_000,
        quiet_tail_s: 1,
        min_resting,
        ..Config::default()
    };
    let (ds, _) = Simulation::new(cfg).run();
    let mut arena = Vec::new();
    let mut spans = Vec::with_capacity(ds.len());
    for d in &ds {
        spans.push((arena.len(), d.bytes.len()));
        arena.extend_from_slice(&d.bytes);
    }
    (arena, spans)
}

fn run_group(c: &mut Criterion, group: &str, min_resting: usize) {
    let (arena, spans) = capture(min_resting);
    let cap: Vec<&[u8]> = spans
        .iter()
        .map(|&(at, len)| &arena[at..at + len])
        .collect();
    let messages: usize = cap.iter().map(|d| rltop::messages(d).count()).sum();
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(messages as u64));
    g.bench_function("rltop_feed", |b| {
        b.iter(|| {
            let mut h = FeedHandler::default();
            let mut events = 0u64;
            for d in &cap {
                h.on_datagram(black_box(*d), &mut |_| events += 1);
            }
            black_box((h.stats().increments_applied, events))
        })
    });
    g.bench_function("seed_style_book", |b| {
        b.iter(|| {
            let mut books: HashMap<u32, SeedBook> = HashMap::new();
            let mut n = 0;
            for d in &cap {
                n += apply_datagram(&mut books, black_box(*d));
            }
            black_box((n, books.get(&1).and_then(SeedBook::best_bid)))
        })
    });
    g.finish();
}

/// Books of about 500 resting orders per instrument, and of about 5 000 (a busy venue's).
fn feed(c: &mut Criterion) {
    run_group(c, "feed", 500);
    run_group(c, "feed_deep", 5_000);
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10)
}

criterion_group! { name = benches; config = config(); targets = feed }
criterion_main!(benches);
