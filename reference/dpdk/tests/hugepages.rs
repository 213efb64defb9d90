//! Without --no-huge on a machine with no hugepages reserved, EAL fails; the error says to
//! add --no-huge -m 256. (On a machine with hugepages this test has nothing to check.)
//!
//! EAL can be initialised once per process, so this file has exactly one test using it.
#![cfg(feature = "dpdk")]

use rltop_dpdk::{Config, Error, Port};

mod common;

fn hugepages_reserved() -> bool {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .any(|l| l.starts_with("HugePages_Total:") && l.split_whitespace().nth(1) != Some("0"))
}

#[test]
fn missing_hugepages_suggest_no_huge() {
    if hugepages_reserved() {
        println!("note: this machine has hugepages reserved; nothing to check");
        return;
    }
    let (eal_args, _cleanup) = common::eal_args(
        "huge",
        &["--no-pci", "--no-telemetry", "--vdev", "net_null0"],
    );
    let cfg = Config {
        eal_args,
        ..Config::default()
    };
    let err = Port::open(&cfg).err().expect("no hugepages must fail");
    let text = err.to_string();
    println!("{text}");
    assert!(matches!(err, Error::Eal { .. }), "{text}");
    assert!(text.contains("add --no-huge -m 256"), "{text}");
}
