//! Per-session sequence tracking: which sequence numbers have been seen, over a sliding
//! window, so a late (reordered) message is told apart from a duplicate.

/// How far behind the highest sequence number a late message is still accepted.
pub const WINDOW: u64 = 4096;

const WORDS: usize = (WINDOW / 64) as usize;

/// What a sequence number is, relative to those seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The first message of the session, or the next one expected.
    InOrder,
    /// Ahead of the next expected: `missing` numbers were skipped (lost or still to come).
    Gap { expected: u64, missing: u64 },
    /// Behind the highest seen but not seen before: a reordered message.
    Late,
    /// Seen before (an A/B copy or a retransmission), or too old to tell.
    Duplicate,
}

/// Seen-bits for the `WINDOW` numbers up to the highest seen (bit `s % WINDOW`).
#[derive(Debug, Clone)]
pub struct SeqWindow {
    highest: Option<u64>,
    seen: [u64; WORDS],
}

impl Default for SeqWindow {
    fn default() -> Self {
        Self {
            highest: None,
            seen: [0; WORDS],
        }
    }
}

impl SeqWindow {
    fn bit(s: u64) -> (usize, u64) {
        let k = s % WINDOW;
        ((k / 64) as usize, 1 << (k % 64))
    }

    fn is_seen(&self, s: u64) -> bool {
        let (w, b) = Self::bit(s);
        self.seen[w] & b != 0
    }

    fn mark(&mut self, s: u64) {
        let (w, b) = Self::bit(s);
        self.seen[w] |= b;
    }

    fn clear(&mut self, s: u64) {
        let (w, b) = Self::bit(s);
        self.seen[w] &= !b;
    }

    /// Records `s` and says how it arrived.
    pub fn arrive(&mut self, s: u64) -> Arrival {
        let Some(high) = self.highest else {
            self.highest = Some(s);
            self.mark(s);
            return Arrival::InOrder;
        };
        if high.checked_add(1) == Some(s) {
            // The common case: the next one. Its bit last stood for s - WINDOW; now for s.
            self.highest = Some(s);
            self.mark(s);
            return Arrival::InOrder;
        }
        if s > high {
            // Slide: the numbers between are not seen yet.
            let span = (s - high).min(WINDOW);
            for k in 1..=span {
                self.clear(high + k);
            }
            self.highest = Some(s);
            self.mark(s);
            return if s == high + 1 {
                Arrival::InOrder
            } else {
                Arrival::Gap {
                    expected: high + 1,
                    missing: s - high - 1,
                }
            };
        }
        if high - s >= WINDOW || self.is_seen(s) {
            return Arrival::Duplicate;
        }
        self.mark(s);
        Arrival::Late
    }

    pub fn highest(&self) -> Option<u64> {
        self.highest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_gap_late_duplicate() {
        let mut w = SeqWindow::default();
        assert_eq!(w.arrive(100), Arrival::InOrder);
        assert_eq!(w.arrive(101), Arrival::InOrder);
        assert_eq!(w.arrive(101), Arrival::Duplicate);
        assert_eq!(
            w.arrive(105),
            Arrival::Gap {
                expected: 102,
                missing: 3
            }
        );
        assert_eq!(w.arrive(103), Arrival::Late);
        assert_eq!(w.arrive(103), Arrival::Duplicate);
        assert_eq!(w.arrive(99), Arrival::Late, "never seen, within the window");
        assert_eq!(w.arrive(106), Arrival::InOrder);
        assert_eq!(
            w.arrive(106 + WINDOW + 10),
            Arrival::Gap {
                expected: 107,
                missing: WINDOW + 9
            }
        );
        assert_eq!(w.arrive(106), Arrival::Duplicate, "too old to tell");
        assert_eq!(w.arrive(106 + WINDOW + 5), Arrival::Late);
    }
}
