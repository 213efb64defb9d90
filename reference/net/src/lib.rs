//! RLTOP on the network: the channel plan ([`plan`]) that says which multicast group and
//! session every message goes to, and kernel UDP multicast sockets ([`mcast`]) for the
//! reference publisher and subscriber.

pub mod clock;
pub mod mcast;
pub mod plan;

pub use clock::realtime_ns;
pub use mcast::{Outgoing, Received, Receiver, SendMode, Sender};
pub use plan::{Endpoint, Line, Plan, PlanError, Stream};
