//! `rltop-dpdk`: the DPDK transmit backend of the RLTOP reference publisher.
//!
//! The publisher hands over batches of (multicast group, UDP payload); this crate frames
//! each as Ethernet/IPv4/UDP itself — DPDK has no IP stack — and transmits the frames
//! through a DPDK port, bypassing the kernel.
//!
//! The crate has two layers, split by the `dpdk` Cargo feature:
//! - [`frame`], always present: the frame builder (plain Rust, from `rltop-capture`, whose
//!   pcap writer uses it too), so that it builds and is tested on machines without DPDK.
//! - With `--features dpdk` only: [`Port`], [`Config`], [`Stats`] and [`Error`], linked
//!   against Debian's libdpdk-dev (22.11) found with pkg-config. DPDK's fast-path functions
//!   are `static inline` in its headers, so a small C shim (`shim/shim.c`) wraps the few
//!   used; everything else is called directly. Without the feature these items do not exist
//!   at all, rather than as stubs that fail at run time.
//!
//! It runs without hugepages or NICs on virtual devices, e.g. EAL arguments
//! `--no-huge -m 256 --no-pci --vdev net_pcap0,tx_pcap=out.pcap` (writes a pcap file),
//! `--vdev net_tap0,iface=NAME` (a kernel TAP interface) or `--vdev net_null0` (discards).

#![warn(missing_docs)]

/// The frame builder, shared with the pcap writer of `rltop-capture`.
pub use rltop_capture::frame;

#[cfg(feature = "dpdk")]
mod eal_log;
#[cfg(feature = "dpdk")]
mod ffi;
#[cfg(feature = "dpdk")]
mod port;

#[cfg(feature = "dpdk")]
pub use port::{Config, Error, Port, Stats};
