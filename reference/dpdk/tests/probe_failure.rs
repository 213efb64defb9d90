//! EAL starts but the one --vdev fails to probe (net_pcap cannot create its file): the
//! error names the device and quotes the driver's complaint.
//!
//! EAL can be initialised once per process, so this file has exactly one test using it.
#![cfg(feature = "dpdk")]

use rltop_dpdk::{Config, Error, Port};

#[test]
fn a_failed_probe_is_quoted() {
    let prefix = format!("rltop-probe-{}", std::process::id());
    let cfg = Config {
        eal_args: [
            "--no-huge",
            "-m",
            "256",
            "--no-pci",
            "--no-telemetry",
            "--log-level=error",
            "--file-prefix",
            &prefix,
            "--vdev",
            "net_pcap0,tx_pcap=/nonexistent-rltop-dir/x.pcap",
        ]
        .map(String::from)
        .to_vec(),
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
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
}
