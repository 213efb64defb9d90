//! A network lab on one machine, for the tests and benchmarks that need real multicast
//! with real loss: network namespaces joined by a veth pair ([`Link`]), datagram loss made
//! by nftables in the subscriber's namespace (this kernel has no netem), and the run both
//! the e2e tests and `bench gateway` make of it ([`loss_run`]): `rltop publish` in one
//! namespace, `rltop listen` in the other, optionally a gateway that repairs the gaps.
//!
//! Needs root. Everything created here is removed on drop, whatever ends the run: a
//! namespace takes its interfaces and nftables tables with it.

mod loss;
mod netns;

pub use loss::{
    loss_run, GatewaySetup, ListenSummary, Loss, LossRun, Repairs, Replays, GATEWAY_ADDR,
};
pub use netns::{link, Link, Netns};
