//! `cargo bench -p rltop-bench` (or `cargo xtask bench`): decode+validate and encode of the
//! same 128-byte message mix by the generated code and by its peers, in one run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rltop_bench::{
    datagram_sum, datagrams, decode_c, decode_datagram_c, decode_generated, encode_generated,
    encoded, events, handwritten, peers, Digest, Event,
};
use rltop_runtime::crc::{checksum_with_hole, checksums_with_hole};

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
    // Whole datagrams (11 messages, one Ethernet frame's payload), the checksums of a
    // datagram's messages computed together.
    fn whole(buf: &[u8], f: fn(&[u8]) -> i64) -> i64 {
        datagrams(buf)
            .map(|d| f(black_box(d)))
            .fold(0, i64::wrapping_add)
    }
    g.bench_function("generated_datagram", |b| {
        b.iter(|| whole(&buf, datagram_sum))
    });
    g.bench_function("c_header_datagram", |b| {
        b.iter(|| whole(&buf, decode_datagram_c))
    });
    g.finish();
    // The same decoders on AddOrders alone: no type dispatch is mispredicted, which
    // separates what a random type mix costs every decoder from the decoder's own work.
    let adds: Vec<_> = events(N)
        .into_iter()
        .filter(|e| matches!(e, Event::Add { .. }))
        .collect();
    let adds = encoded(&adds);
    let mut g = c.benchmark_group("decode_one_type");
    g.throughput(Throughput::Elements((adds.len() / 128) as u64));
    g.bench_function("handwritten", |b| {
        b.iter(|| run(&adds, handwritten::decode))
    });
    g.bench_function("generated_datagram", |b| {
        b.iter(|| whole(&adds, datagram_sum))
    });
    g.finish();
}

/// The floor every decoder shares: the CRC-32C of the same bytes (the checksum field as
/// zero) and nothing else, message by message and a datagram's messages together.
fn crc(c: &mut Criterion) {
    let buf = encoded(&events(N));
    let mut g = c.benchmark_group("crc");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("per_message", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for m in buf.chunks_exact(128) {
                acc ^= checksum_with_hole(black_box(m), 32).unwrap_or(0);
            }
            acc
        })
    });
    // As the datagram decoder does it: four messages' chains interleaved, the datagram's
    // last few messages one by one.
    g.bench_function("datagram", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for d in datagrams(&buf) {
                let mut windows = black_box(d).chunks_exact(4 * 128);
                for w in &mut windows {
                    let m = |i: usize| &w[i * 128..i * 128 + 128];
                    let sums =
                        checksums_with_hole([m(0), m(1), m(2), m(3)], 32).unwrap_or_default();
                    acc ^= sums.iter().fold(0, |a, s| a ^ s);
                }
                for m in windows.remainder().chunks_exact(128) {
                    acc ^= checksum_with_hole(m, 32).unwrap_or(0);
                }
            }
            acc
        })
    });
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

criterion_group! { name = benches; config = config(); targets = decode, crc, encode }
criterion_main!(benches);
