//! `cargo bench -p rltop-bench` (or `cargo xtask bench`): decode+validate and encode of the
//! same 128-byte message mix by the generated code and by its peers, in one run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rltop_bench::{
    decode_c, decode_generated, encode_generated, encoded, events, handwritten, peers, Digest,
};

const N: usize = 4096;

fn decode(c: &mut Criterion) {
    let buf = encoded(&events(N));
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(N as u64));
    fn run<E>(buf: &[u8], f: impl Fn(&[u8]) -> Result<Digest, E>) -> i64 {
        let mut acc = 0i64;
        for m in buf.chunks_exact(128) {
            if let Ok((_, id, price)) = f(black_box(m)) {
                acc = acc.wrapping_add(id as i64 ^ price);
            }
        }
        acc
    }
    g.bench_function("generated", |b| b.iter(|| run(&buf, decode_generated)));
    g.bench_function("c_header", |b| b.iter(|| run(&buf, decode_c)));
    g.bench_function("handwritten", |b| b.iter(|| run(&buf, handwritten::decode)));
    g.bench_function("binrw", |b| b.iter(|| run(&buf, peers::binrw_decode)));
    g.bench_function("deku", |b| b.iter(|| run(&buf, peers::deku_decode)));
    g.finish();
}

fn encode(c: &mut Criterion) {
    let evs = events(N);
    let mut out = vec![0u8; N * 128];
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(N as u64));
    let mut run = |name: &str, f: fn(&rltop_bench::Event, u64, &mut [u8])| {
        g.bench_function(name, |b| {
            b.iter(|| {
                for (i, (e, slot)) in evs.iter().zip(out.chunks_exact_mut(128)).enumerate() {
                    f(black_box(e), i as u64, slot);
                }
                black_box(out[64]);
            })
        });
    };
    run("generated", encode_generated);
    run("handwritten", handwritten::encode);
    run("binrw", peers::binrw_encode);
    run("deku", peers::deku_encode);
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = decode, encode }
criterion_main!(benches);
