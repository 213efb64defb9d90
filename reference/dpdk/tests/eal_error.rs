//! An EAL start-up failure (an unknown virtual-device driver) is an error that names the
//! likely cause and quotes EAL, not a panic or an exit.
//!
//! EAL can be initialised once per process, so this file has exactly one test using it.
#![cfg(feature = "dpdk")]

use rltop_dpdk::{Config, Error, Port};

mod common;

#[test]
fn unknown_vdev_driver_is_named() {
    let (eal_args, _cleanup) = common::eal_args(
        "ealerr",
        &[
            "--no-huge",
            "-m",
            "256",
            "--no-pci",
            "--no-telemetry",
            "--vdev",
            "net_nosuch0",
        ],
    );
    let cfg = Config {
        eal_args,
        ..Config::default()
    };
    let err = Port::open(&cfg).err().expect("an unknown driver must fail");
    let text = err.to_string();
    println!("{text}");
    let Error::Eal {
        code,
        ref args,
        ref hint,
        ref log,
    } = err
    else {
        panic!("expected Error::Eal, got: {text}")
    };
    assert!(code > 0, "rte_errno is set: {code}");
    assert!(args.contains("--vdev net_nosuch0"), "{args}");
    assert!(
        hint.contains("driver was not found") && hint.contains("net_nosuch0"),
        "{hint}"
    );
    assert!(
        log.iter().any(|l| l.contains("net_nosuch0")),
        "EAL's own words are kept: {log:?}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(matches!(
        Port::open(&cfg),
        Err(Error::EalAlreadyInitialised)
    ));
}
