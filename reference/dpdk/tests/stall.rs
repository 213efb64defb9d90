//! Back-pressure through DPDK's net_ring driver, whose tx queue is a ring nobody drains:
//! once it is full the driver takes nothing, and `send` must give up after its retry budget
//! with an error that counts the frames not sent — dropping none silently — and return the
//! unsent frames' buffers to the pool (a leak would run the small pool dry).
//!
//! EAL can be initialised once per process, so this file has exactly one test using it.
#![cfg(feature = "dpdk")]

use std::net::{Ipv4Addr, SocketAddrV4};

use rltop_dpdk::{Config, Error, Port};

mod common;

#[test]
fn a_full_queue_is_an_error_that_counts_the_unsent() {
    let (eal_args, _cleanup) = common::eal_args(
        "stall",
        &[
            "--no-huge",
            "-m",
            "256",
            "--no-pci",
            "--no-telemetry",
            "--log-level=error",
            "--vdev",
            "net_ring0",
        ],
    );
    let cfg = Config {
        eal_args,
        src: SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 40_000),
        // The ring holds 1023 frames; two bursts more, so a leak of one burst shows.
        mbufs: 1023 + 2 * 32,
        burst: 32,
        tx_retry_limit: 1000,
        ..Config::default()
    };
    let mut port = Port::open(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let group = SocketAddrV4::new(Ipv4Addr::new(239, 9, 9, 9), 9000);
    let payload = [7u8; 100];
    let batch: Vec<(SocketAddrV4, &[u8])> = vec![(group, &payload[..]); 5000];

    // The first batch fills the ring (1023 frames: 31 full bursts and 31 of the 32nd).
    let err = port
        .send(&batch)
        .expect_err("a ring nobody drains must stall");
    let text = err.to_string();
    println!("{text}");
    let Error::TxStalled {
        sent,
        unsent,
        attempts,
        ..
    } = err
    else {
        panic!("expected TxStalled: {text}")
    };
    assert!(sent > 0 && unsent > 0, "{text}");
    assert_eq!(
        sent + unsent,
        batch.len(),
        "every frame is either sent or reported"
    );
    assert_eq!(attempts, 1000);
    assert!(
        text.contains(&format!("{unsent} frames of the batch were not sent")),
        "{text}"
    );
    let s = port.stats();
    assert_eq!(s.frames, sent as u64, "{s:?}");
    assert_eq!(s.dev_opackets, sent as u64, "{s:?}");
    assert!(s.tx_retries >= 999, "the retries are counted: {s:?}");

    // Later batches stall at once. Their buffers must go back to the pool: the pool was
    // sized to the ring plus two bursts, so one leaked burst would leave too few buffers.
    assert_eq!(
        sent, 1023,
        "net_ring's ring holds 1023 frames; the pool is sized for that"
    );
    for round in 0..3 {
        match port.send(&batch[..64]) {
            Err(Error::TxStalled {
                sent: 0,
                unsent: 64,
                ..
            }) => {}
            other => panic!("round {round}: expected an immediate stall, got {other:?}"),
        }
    }
    let s = port.stats();
    assert_eq!(s.alloc_failures, 0, "{s:?}");
    assert_eq!(s.frames, sent as u64, "{s:?}");
    port.close().unwrap_or_else(|e| panic!("{e}"));
}
