//! Where the feed benchmark's time goes: decode alone, then the whole feed handler, on the
//! benchmark's capture. `cargo run --release -p rltop-bench --example feedprof`
//! (`MIN_RESTING=5000` for the deep books, `FEED_ONLY=1` to skip the decode-only pass,
//! `ROUNDS=n`; made for `perf record`).
fn main() {
    use std::time::Instant;
    let (ds, _) = rltop_sim::Simulation::new(rltop_sim::Config {
        seed: 42,
        instruments: 8,
        events: 200_000,
        quiet_tail_s: 1,
        min_resting: env("MIN_RESTING").unwrap_or(500),
        ..Default::default()
    })
    .run();
    // One contiguous buffer, as datagrams sit in a receive ring.
    let arena: Vec<u8> = ds.iter().flat_map(|d| d.bytes.iter().copied()).collect();
    let mut at = 0;
    let cap: Vec<&[u8]> = ds
        .iter()
        .map(|d| {
            let s = &arena[at..at + d.bytes.len()];
            at += d.bytes.len();
            s
        })
        .collect();
    let n: usize = cap.iter().map(|d| rltop::messages(d).count()).sum();
    let mut kinds = std::collections::BTreeMap::new();
    for d in &cap {
        for m in rltop::messages(d).flatten() {
            *kinds.entry(m.name()).or_insert(0) += 1;
        }
    }
    println!("{n} messages in {} datagrams: {kinds:?}", cap.len());
    let rounds = env("ROUNDS").unwrap_or(3);
    for _ in 0..rounds {
        let feed_only = std::env::var("FEED_ONLY").is_ok();
        let t = Instant::now();
        let mut c = 0u64;
        if !feed_only {
            for d in &cap {
                for m in rltop::messages(d) {
                    if m.is_ok() {
                        c += 1;
                    }
                }
            }
        }
        println!(
            "decode only: {:.1} M/s ({c})",
            n as f64 / t.elapsed().as_secs_f64() / 1e6
        );
        let t = Instant::now();
        let mut h = rltop_feed::FeedHandler::default();
        for d in &cap {
            h.on_datagram(d, &mut |_| {});
        }
        let e = t.elapsed();
        let resting: Vec<usize> = (1..=8)
            .map(|s| h.book(s).map_or(0, |b| b.order_count()))
            .collect();
        println!(
            "feed: {:.1} M/s; orders resting per instrument: {resting:?}",
            n as f64 / e.as_secs_f64() / 1e6
        );
    }
}

fn env(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}
