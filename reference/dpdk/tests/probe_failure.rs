//! EAL starts but the one --vdev fails to probe (net_pcap cannot create its file): the
//! error names the device and quotes the driver's complaint.
//!
//! EAL can be initialised once per process, so this file has exactly one test using it.
#![cfg(feature = "dpdk")]

use rltop_dpdk::{Config, Error, Port};

mod common;

#[test]
fn a_failed_probe_is_quoted() {
    let (eal_args, _cleanup) = common::eal_args(
        "probe",
        &[
            "--no-huge",
            "-m",
            "256",
            "--no-pci",
            "--no-telemetry",
            "--log-level=error",
            "--vdev",
            "net_pcap0,tx_pcap=/nonexistent-rltop-dir/x.pcap",
        ],
    );
    let cfg = Config {
        eal_args,
        ..Config::default()
    };
    let err = Port::open(&cfg)
        .err()
        .expect("an unwritable pcap path must fail");
    let text = err.to_string();
    println!("{text}");
    assert!(matches!(err, Error::NoPort { .. }), "{text}");
    assert!(text.contains("net_pcap0 failed to probe"), "{text}");
    assert!(
        text.contains("/nonexistent-rltop-dir/x.pcap"),
        "the driver's complaint is quoted: {text}"
    );
}
