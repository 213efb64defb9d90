//! The end-to-end checks: the reference programs over real sockets, with the real
//! components their users run beside them. `cargo test -p rltop-e2e` runs them (root only:
//! namespaces, nftables, apt); `tests/e2e.rs` is the harness. Each check is bounded in time
//! and removes what it created (namespaces, nftables tables, processes) when it ends,
//! whatever happens.
//!
//! - [`multicast`]: publisher and subscriber in two namespaces under loss made by nftables;
//!   the subscriber's books equal the simulator's oracle; then gaps repaired by a gateway.
//! - [`c_subscriber`]: the C subscriber on libev and the generated header.
//! - [`dpdk`]: the DPDK backend on virtual devices, against the kernel path.
//! - [`bridge`]: the WebSocket bridge with Binance's client libraries, headless Chromium,
//!   redis-server and nginx.
//! - [`abi`]: `rltop-codegen compat` against libabigail's abidiff on the C headers.

pub mod abi;
pub mod bridge;
pub mod c_subscriber;
pub mod dpdk;
pub mod itch;
pub mod multicast;
pub mod wireshark;

use std::path::PathBuf;

use rltop_devsupport::{debian, process, root};

/// One check: its name (as the harness lists it) and what it runs. Ok: its report.
pub struct Check {
    pub name: &'static str,
    pub run: fn(&Env) -> Result<String, String>,
}

/// What every check is given: the `rltop` binary (with the DPDK backend) and a folder for
/// what the checks write (`target/e2e`).
pub struct Env {
    pub rltop: PathBuf,
    pub dir: PathBuf,
}

/// Every check, in the order they run.
pub fn checks() -> Vec<Check> {
    let mut all = multicast::checks();
    all.extend([
        Check {
            name: "c_subscriber::against_publish",
            run: |e| c_subscriber::against_publish(&e.rltop, &e.dir),
        },
        Check {
            name: "c_subscriber::bad_input",
            run: |e| c_subscriber::bad_input(&e.dir),
        },
        Check {
            name: "dpdk::crate_tests",
            run: |_| dpdk::crate_tests(),
        },
        Check {
            name: "dpdk::pcap_matches_kernel",
            run: |e| dpdk::pcap_matches_kernel(&e.rltop, &e.dir),
        },
        Check {
            name: "dpdk::tap_late_joiner",
            run: |e| dpdk::tap_late_joiner(&e.rltop, &e.dir),
        },
        Check {
            name: "dpdk::bad_setups",
            run: |e| dpdk::bad_setups(&e.rltop),
        },
        Check {
            name: "bridge::binance_clients",
            run: |e| bridge::binance_sdk(&e.rltop, &e.dir),
        },
        Check {
            name: "bridge::page_in_chromium",
            run: |e| bridge::browser(&e.rltop, &e.dir),
        },
        Check {
            name: "bridge::redis_and_nginx",
            run: |_| bridge::servers(),
        },
        Check {
            name: "abi::abidiff_agrees_with_compat",
            run: |e| abi::abidiff_agrees_with_compat(&e.dir),
        },
        Check {
            name: "itch::moldudp64_pcap_with_tshark",
            run: |e| itch::moldudp64_pcap(&e.dir),
        },
        Check {
            name: "wireshark::vectors_dissect_to_their_values",
            run: |_| wireshark::vectors_dissect_to_their_values(&wireshark::RLTOP),
        },
        Check {
            name: "wireshark::itch_vectors_dissect_to_their_values",
            run: |_| wireshark::vectors_dissect_to_their_values(&wireshark::ITCH),
        },
        Check {
            name: "wireshark::simulator_capture_with_damage",
            run: |e| wireshark::simulator_capture_with_damage(&e.rltop),
        },
        Check {
            name: "wireshark::screenshot",
            run: |e| wireshark::screenshot(&e.rltop, &e.dir),
        },
    ]);
    all
}

/// Installs what the checks start or build against (the namespaces and the loss, the C
/// subscriber's libev, the DPDK backend through pkg-config, tshark), then builds `rltop`
/// with the DPDK backend.
pub fn setup() -> Result<Env, String> {
    debian::ensure_debian(&[
        ("ip", "iproute2"),
        ("nft", "nftables"),
        ("/usr/include/ev.h", "libev-dev"),
        ("pkg-config", "pkg-config"),
        ("/usr/include/dpdk/rte_ethdev.h", "libdpdk-dev"),
        ("tshark", "tshark"),
        ("luac5.2", "lua5.2"),
        ("abidiff", "abigail-tools"),
    ])?;
    let dir = root().join("target/e2e");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(Env {
        rltop: rltop_binary()?,
        dir,
    })
}

/// The e2e builds' own target directory, so that the workspace's plain build (no DPDK) and
/// these do not rebuild each other.
fn target_dir() -> PathBuf {
    root().join("target/e2e-build")
}

/// `cargo build -p rltop-cli --features dpdk` into [`target_dir`]: the `rltop` binary.
fn rltop_binary() -> Result<PathBuf, String> {
    let target = target_dir();
    process::cargo(&[
        "build",
        "--quiet",
        "-p",
        "rltop-cli",
        "--features",
        "dpdk",
        "--target-dir",
        &target.to_string_lossy(),
    ])?;
    Ok(target.join("debug/rltop"))
}
