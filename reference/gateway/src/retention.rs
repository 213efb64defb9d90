//! What a gateway keeps of one channel for replay: the newest messages, by `seq_num`, up to
//! a count and a byte bound (SPEC.md §11, "Retention").
//!
//! Slots are indexed by `seq_num - first`, so a range is found without a search. The gateway
//! receives its channels like any subscriber and can lose datagrams too: a hole is an empty
//! slot, filled if the message arrives late, and a replay that would cross it is refused
//! rather than sent with a piece missing. A message is kept as a [`Piece`] of the datagram it
//! came in: retaining one costs a reference count, not a copy, and a replayed range comes
//! out as runs of consecutive messages that lie next to each other in one datagram, so the
//! writer hands the kernel one slice a datagram rather than one a message.

use std::collections::VecDeque;
use std::ops::Range;

use bytes::Bytes;

/// What became of an inserted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Kept (at the end, or filling a hole).
    Stored,
    /// Its `seq_num` is held already (the B line's copy, or a retransmission).
    Duplicate,
    /// Older than everything held: evicted long ago, not kept.
    TooOld,
}

/// Bytes `start..end` of a datagram that is kept alive with them: one message, or a run of
/// consecutive ones.
#[derive(Debug, Clone)]
pub struct Piece {
    datagram: Bytes,
    start: usize,
    end: usize,
}

impl Piece {
    /// `range` of `datagram`; panics if the range is not within it (a caller's bug: the
    /// gateway cuts pieces at the positions its message walk returned).
    pub fn new(datagram: Bytes, range: Range<usize>) -> Self {
        assert!(
            range.start <= range.end && range.end <= datagram.len(),
            "piece {range:?} of a {}-byte datagram",
            datagram.len()
        );
        Self {
            datagram,
            start: range.start,
            end: range.end,
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.datagram[self.start..self.end]
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Takes `next` into this piece if it starts where this one ends in the same datagram.
    /// (Two live `Bytes` with one address and length show the same memory, so comparing
    /// them is enough to know the bytes are the same.)
    fn absorb(&mut self, next: &Piece) -> bool {
        let same = self.datagram.as_ptr() == next.datagram.as_ptr()
            && self.datagram.len() == next.datagram.len();
        if same && self.end == next.start {
            self.end = next.end;
            true
        } else {
            false
        }
    }
}

/// Why a range cannot be replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Part of the range is before the oldest or after the newest message held.
    OutOfWindow,
    /// The gateway never received this one (it lost it, as any subscriber can).
    Hole(u64),
}

/// The retained messages of one channel.
#[derive(Debug)]
pub struct Retention {
    max_messages: usize,
    max_bytes: usize,
    /// `seq_num` of `slots[0]`.
    first: u64,
    slots: VecDeque<Option<Piece>>,
    held: usize,
    bytes: usize,
}

impl Retention {
    /// Keeps at most `max_messages` messages and `max_bytes` bytes (at least one message).
    pub fn new(max_messages: usize, max_bytes: usize) -> Self {
        Self {
            max_messages: max_messages.max(1),
            max_bytes,
            first: 0,
            slots: VecDeque::new(),
            held: 0,
            bytes: 0,
        }
    }

    /// Keeps `message`, whose `seq_num` is `seq`.
    pub fn insert(&mut self, seq: u64, message: Piece) -> Insert {
        if self.slots.is_empty() {
            self.first = seq;
        }
        if seq < self.first {
            return Insert::TooOld;
        }
        let index = seq - self.first;
        if index >= self.max_messages as u64 + self.slots.len() as u64 {
            // So far ahead that nothing held would survive the jump: start again from it.
            self.slots.clear();
            self.held = 0;
            self.bytes = 0;
            self.first = seq;
        }
        let index = (seq - self.first) as usize;
        if index < self.slots.len() {
            if self.slots[index].is_some() {
                return Insert::Duplicate;
            }
            self.bytes += message.len();
            self.held += 1;
            self.slots[index] = Some(message);
        } else {
            // Messages between the newest held and this one are holes until they come.
            self.slots.resize(index, None);
            self.bytes += message.len();
            self.held += 1;
            self.slots.push_back(Some(message));
        }
        self.evict();
        Insert::Stored
    }

    fn evict(&mut self) {
        while self.slots.len() > self.max_messages
            || (self.bytes > self.max_bytes && self.held > 1)
            || matches!(self.slots.front(), Some(None))
        {
            if let Some(Some(m)) = self.slots.pop_front() {
                self.held -= 1;
                self.bytes -= m.len();
            }
            self.first += 1;
        }
    }

    /// `(first, last)` `seq_num` held, if any. The newest and the oldest slots are never
    /// holes; slots between may be.
    pub fn window(&self) -> Option<(u64, u64)> {
        (!self.slots.is_empty()).then(|| (self.first, self.first + self.slots.len() as u64 - 1))
    }

    /// Messages held (holes not counted).
    pub fn len(&self) -> usize {
        self.held
    }

    pub fn is_empty(&self) -> bool {
        self.held == 0
    }

    /// Bytes of the messages held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Messages `first .. first + count`, all of them or the reason not, as runs: messages
    /// next to each other in one datagram come out as one piece.
    pub fn range(&self, first: u64, count: u32) -> Result<Vec<Piece>, Missing> {
        let (lo, hi) = self.window().ok_or(Missing::OutOfWindow)?;
        let last = first
            .checked_add(u64::from(count))
            .and_then(|end| end.checked_sub(1))
            .ok_or(Missing::OutOfWindow)?;
        if count == 0 || first < lo || last > hi {
            return Err(Missing::OutOfWindow);
        }
        let start = (first - lo) as usize;
        let mut out: Vec<Piece> = Vec::new();
        for (k, slot) in self.slots.range(start..start + count as usize).enumerate() {
            match slot {
                Some(m) => {
                    if !out.last_mut().is_some_and(|run| run.absorb(m)) {
                        out.push(m.clone())
                    }
                }
                None => return Err(Missing::Hole(first + k as u64)),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message of its own datagram: `seq` in its first 8 bytes.
    fn msg(seq: u64, len: usize) -> Piece {
        let mut v = vec![0u8; len];
        v[..8].copy_from_slice(&seq.to_le_bytes());
        Piece::new(Bytes::from(v), 0..len)
    }

    /// The `seq`s of the 16-byte messages in `pieces`, in order.
    fn seqs(pieces: &[Piece]) -> Vec<u64> {
        pieces
            .iter()
            .flat_map(|p| p.as_slice().chunks(16))
            .map(|m| u64::from_le_bytes(m[..8].try_into().unwrap()))
            .collect()
    }

    #[test]
    fn keeps_the_newest_up_to_the_count() {
        let mut r = Retention::new(4, usize::MAX);
        assert_eq!(r.window(), None);
        for s in 10..20 {
            assert_eq!(r.insert(s, msg(s, 16)), Insert::Stored);
        }
        assert_eq!(r.window(), Some((16, 19)));
        assert_eq!(r.len(), 4);
        assert_eq!(r.bytes(), 64);
        assert_eq!(seqs(&r.range(17, 3).unwrap()), [17, 18, 19]);
        assert_eq!(r.range(15, 2).unwrap_err(), Missing::OutOfWindow);
        assert_eq!(r.range(18, 3).unwrap_err(), Missing::OutOfWindow);
        assert_eq!(r.range(18, 0).unwrap_err(), Missing::OutOfWindow);
        assert_eq!(r.range(u64::MAX, 2).unwrap_err(), Missing::OutOfWindow);
        assert_eq!(r.insert(19, msg(19, 16)), Insert::Duplicate);
        assert_eq!(r.insert(3, msg(3, 16)), Insert::TooOld);
    }

    #[test]
    fn keeps_the_newest_up_to_the_bytes() {
        let mut r = Retention::new(1000, 100);
        for s in 1..=10 {
            r.insert(s, msg(s, 30));
        }
        assert_eq!(r.window(), Some((8, 10)));
        assert_eq!(r.bytes(), 90);
        // One message larger than the bound is still kept: the newest always is.
        r.insert(11, msg(11, 500));
        assert_eq!(r.window(), Some((11, 11)));
    }

    #[test]
    fn holes_refuse_a_replay_until_filled() {
        let mut r = Retention::new(100, usize::MAX);
        for s in [1, 2, 5, 6] {
            r.insert(s, msg(s, 16));
        }
        assert_eq!(r.window(), Some((1, 6)));
        assert_eq!(r.len(), 4);
        assert_eq!(r.range(2, 3).unwrap_err(), Missing::Hole(3));
        assert_eq!(seqs(&r.range(5, 2).unwrap()), [5, 6]);
        assert_eq!(r.insert(3, msg(3, 16)), Insert::Stored);
        assert_eq!(r.insert(4, msg(4, 16)), Insert::Stored);
        assert_eq!(seqs(&r.range(1, 6).unwrap()), [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn eviction_skips_past_holes_at_the_front() {
        let mut r = Retention::new(3, usize::MAX);
        for s in [1, 4, 5, 6] {
            r.insert(s, msg(s, 16));
        }
        // 1 evicted; 2 and 3 were holes at the front: the window starts at 4.
        assert_eq!(r.window(), Some((4, 6)));
        // A jump far ahead starts over rather than holding a run of holes.
        r.insert(1000, msg(1000, 16));
        assert_eq!(r.window(), Some((1000, 1000)));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn neighbours_in_one_datagram_come_out_as_one_piece() {
        // Two datagrams of three 16-byte messages each: 1-3 and 4-6.
        let datagram = |seqs: [u64; 3]| {
            Bytes::from(
                seqs.iter()
                    .flat_map(|s| {
                        let mut m = [0u8; 16];
                        m[..8].copy_from_slice(&s.to_le_bytes());
                        m
                    })
                    .collect::<Vec<u8>>(),
            )
        };
        let (a, b) = (datagram([1, 2, 3]), datagram([4, 5, 6]));
        let mut r = Retention::new(100, usize::MAX);
        for (k, s) in [1, 2, 3].into_iter().enumerate() {
            r.insert(s, Piece::new(a.clone(), k * 16..k * 16 + 16));
        }
        // 5 is lost for now; 4 and 6 are kept apart.
        r.insert(4, Piece::new(b.clone(), 0..16));
        r.insert(6, Piece::new(b.clone(), 32..48));
        let runs = r.range(2, 3).unwrap();
        assert_eq!(runs.iter().map(Piece::len).collect::<Vec<_>>(), [32, 16]);
        assert_eq!(seqs(&runs), [2, 3, 4]);
        assert_eq!(r.range(2, 5).unwrap_err(), Missing::Hole(5));
        // 5 comes late, as a copy of its own (the B line's): it does not join 4 and 6.
        r.insert(5, msg(5, 16));
        let runs = r.range(1, 6).unwrap();
        assert_eq!(
            runs.iter().map(Piece::len).collect::<Vec<_>>(),
            [48, 16, 16, 16]
        );
        assert_eq!(seqs(&runs), [1, 2, 3, 4, 5, 6]);
        assert_eq!(runs[0].as_slice(), &a[..]);
    }
}
