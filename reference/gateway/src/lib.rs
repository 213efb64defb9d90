//! The RLTOP TCP gateway (SPEC.md §11): replay of missed messages, and unicast delivery for
//! sites without multicast.
//!
//! * [`server`]: [`Gateway`] keeps a bounded retention per channel of the plan and serves TCP
//!   clients: token login, channels multiplexed on one connection, live fan-out, replay of
//!   ranges as the original bytes, heartbeats and idle timeout, bounded queues with slow
//!   consumers closed with a reason, a connection limit, a replay rate limit, `/metrics`.
//! * [`client`]: one [`Connection`](client::Connection), and a [`Pool`] of
//!   them (seed 003: several connections, health-checked, reconnected with backoff, requests
//!   spread over them).
//! * [`recovery`]: the pool put to the feed handler's use: a session gap is asked for by
//!   replay and the book repaired without waiting for a snapshot; a replay the gateway
//!   cannot serve leaves the book to snapshot recovery (SPEC.md §8).
//!
//! Control messages are generated from the schema like every other message (`rltop::Login`
//! and the rest of channel `Session`); [`wire`] frames them on a byte stream.

pub mod client;
pub mod recovery;
pub mod retention;
pub mod server;
pub mod wire;

pub use client::{ClientConfig, Delivery, Pool, Subscription};
pub use recovery::Recovery;
pub use server::{start, ChannelInfo, Config, Gateway, Running};

// The README's example is compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
