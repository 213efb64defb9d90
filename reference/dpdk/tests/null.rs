//! Throughput path through DPDK's net_null driver (which discards): 100 000 datagrams,
//! every one counted by this crate and by the device; then a second `Port::open` in the
//! same process is refused, since EAL cannot be initialised twice.
//!
//! EAL can be initialised once per process, so this file has exactly one test using it.
#![cfg(feature = "dpdk")]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use rltop_dpdk::{Config, Error, Port};

mod common;

const COUNT: usize = 100_000;
const BATCH: usize = 1000;

#[test]
fn every_datagram_is_counted_and_eal_opens_once() {
    let (eal_args, _cleanup) = common::eal_args(
        "null",
        &[
            "--no-huge",
            "-m",
            "256",
            "--no-pci",
            "--no-telemetry",
            "--log-level=error",
            "--vdev",
            "net_null0",
        ],
    );
    let cfg = Config {
        eal_args,
        src: SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 40_000),
        ..Config::default()
    };
    let mut port = Port::open(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let payloads: Vec<Vec<u8>> = (0..BATCH)
        .map(|i| vec![i as u8; 64 + (i * 37) % (1472 - 64 + 1)])
        .collect();
    let groups: Vec<SocketAddrV4> = (0..4)
        .map(|g| SocketAddrV4::new(Ipv4Addr::new(239, 1, 1, g), 31_000))
        .collect();
    let batch: Vec<(SocketAddrV4, &[u8])> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| (groups[i % 4], p.as_slice()))
        .collect();
    let per_batch: u64 = payloads.iter().map(|p| p.len() as u64).sum();

    let start = Instant::now();
    for _ in 0..COUNT / BATCH {
        port.send(&batch).unwrap_or_else(|e| panic!("{e}"));
    }
    let elapsed = start.elapsed();
    let s = port.stats();
    println!(
        "net_null: {COUNT} datagrams in {elapsed:?} ({:.2} M/s, {} build): {s:?}",
        COUNT as f64 / elapsed.as_secs_f64() / 1e6,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    assert_eq!(s.frames, COUNT as u64);
    assert_eq!(s.payload_bytes, per_batch * (COUNT / BATCH) as u64);
    assert_eq!(s.bytes, s.payload_bytes + 42 * COUNT as u64);
    assert_eq!(
        s.dev_opackets, COUNT as u64,
        "the device counted every frame"
    );
    assert_eq!(s.dev_oerrors, 0);
    assert_eq!(s.alloc_failures, 0);
    assert!(s.bursts >= (COUNT / 32) as u64, "{s:?}");

    let closed = port.close().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(closed.frames, COUNT as u64);

    match Port::open(&cfg) {
        Err(e @ Error::EalAlreadyInitialised) => {
            assert!(e.to_string().contains("cannot be initialised twice"), "{e}")
        }
        Err(e) => panic!("expected EalAlreadyInitialised, got: {e}"),
        Ok(_) => panic!("a second Port::open in one process must be refused"),
    }
}
