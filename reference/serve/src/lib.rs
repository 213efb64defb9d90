//! What the RLTOP servers share, written once and below both: the WebSocket bridge and the
//! TCP gateway accept until told to stop ([`accept`]), drain their connections at shutdown
//! ([`drain`]), bound each connection's queue and close the one that falls behind
//! ([`slow`]), and treat a lock whose holder panicked the same way ([`lock`]).
//!
//! What each server queues and how it frames it (WebSocket frames with latest-wins
//! conflation; RLTOP control messages, live data and replays) stays with the server: only
//! the policies are here.

pub mod accept;
pub mod drain;
pub mod lock;
pub mod slow;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
struct ReadmeDoctests;
