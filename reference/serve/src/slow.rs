//! The slow-consumer policy, the same in both servers: a connection's outgoing queue is
//! bounded in bytes, and what would take it past its bound is not queued. The connection is
//! closed instead, with a reason naming the bytes waiting and the bound, and what was
//! waiting is dropped and counted.
//!
//! Why close rather than skip: a consumer that cannot keep up with a sequence (trades,
//! increments, replays) has lost it either way; closing says so, where skipping silently
//! would hand it a sequence with holes it cannot see. Why a bound in bytes: it is what the
//! server's memory pays.
//!
//! A server may also bound all its queues together ([`Bound::Shared`]): past that, only a
//! connection that already has bytes waiting is closed. One whose queue is empty is keeping
//! up and always gets its frame, so only the connections that are behind pay.

use std::fmt;

/// The bound a frame is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// This connection's queue, bytes.
    PerConnection(usize),
    /// Every connection's queue together, bytes, with what is waiting in all of them.
    Shared { bound: usize, all_waiting: usize },
}

/// Why a connection is closed as a slow consumer; its text is the close reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowConsumer {
    /// Bytes waiting for the connection, before the frame that did not fit.
    pub waiting: usize,
    pub bound: Bound,
}

/// Whether a frame of `adding` bytes may join the `waiting` bytes of a connection's queue.
pub fn admit(waiting: usize, adding: usize, bound: Bound) -> Result<(), SlowConsumer> {
    let fits = match bound {
        Bound::PerConnection(b) => waiting.saturating_add(adding) <= b,
        Bound::Shared { bound, all_waiting } => {
            waiting == 0 || all_waiting.saturating_add(adding) <= bound
        }
    };
    if fits {
        Ok(())
    } else {
        Err(SlowConsumer { waiting, bound })
    }
}

impl fmt::Display for SlowConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bound {
            Bound::PerConnection(b) => write!(
                f,
                "slow consumer: {} bytes waiting, bound {b}",
                self.waiting
            ),
            Bound::Shared { bound, .. } => write!(
                f,
                "slow consumer: {} bytes waiting while the server's queues are full ({bound} bytes)",
                self.waiting
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_up_to_the_bound_fits_and_one_byte_more_closes() {
        let bound = Bound::PerConnection(10);
        assert_eq!(admit(0, 10, bound), Ok(()));
        assert_eq!(admit(4, 6, bound), Ok(()));
        let e = admit(4, 7, bound).unwrap_err();
        assert_eq!(e.to_string(), "slow consumer: 4 bytes waiting, bound 10");
        // A frame larger than the bound closes even an empty queue.
        assert!(admit(0, 11, bound).is_err());
        assert!(admit(usize::MAX, 1, bound).is_err());
    }

    #[test]
    fn past_the_shared_bound_only_a_connection_behind_is_closed() {
        let full = Bound::Shared {
            bound: 100,
            all_waiting: 95,
        };
        assert_eq!(admit(0, 10, full), Ok(()), "an empty queue keeps up");
        let e = admit(3, 10, full).unwrap_err();
        assert_eq!(
            e.to_string(),
            "slow consumer: 3 bytes waiting while the server's queues are full (100 bytes)"
        );
        assert_eq!(admit(3, 5, full), Ok(()));
    }
}
