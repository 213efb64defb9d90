//! EAL starts, but no device was asked for (no --vdev, PCI off): the error says which
//! --vdev to add, and the half-opened EAL is cleaned up without a panic.
//!
//! EAL can be initialised once per process, so this file has exactly one test using it.
#![cfg(feature = "dpdk")]

use rltop_dpdk::{Config, Error, Port};

mod common;

#[test]
fn no_device_names_the_vdevs_to_add() {
    let (eal_args, _cleanup) = common::eal_args(
        "noport",
        &[
            "--no-huge",
            "-m",
            "256",
            "--no-pci",
            "--no-telemetry",
            "--log-level=error",
        ],
    );
    let cfg = Config {
        eal_args,
        ..Config::default()
    };
    let err = Port::open(&cfg).err().expect("no device must fail");
    let text = err.to_string();
    println!("{text}");
    assert!(
        matches!(err, Error::NoPort { wanted: None, ref available, .. } if available.is_empty()),
        "{text}"
    );
    for needle in [
        "no --vdev given",
        "--vdev net_null0",
        "net_pcap0,tx_pcap=FILE",
        "net_tap0",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from: {text}");
    }
}
