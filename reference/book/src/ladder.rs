//! One side of a book: price levels kept sorted with the best last, so the busy end of the
//! book (near the top) is the cheap end of the vector to insert into and remove from.

use crate::Side;

/// Marks "no order" in the intrusive queue links.
pub(crate) const NIL: u32 = u32::MAX;

/// One price level: what the market sees (visible quantity and order count) and, for an
/// order-level book, the queue of its orders in time priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Level {
    pub price: i64,
    /// Visible (non-hidden) quantity.
    pub qty: u64,
    /// Visible (non-hidden) orders.
    pub count: u32,
    /// Orders of any kind in the queue (hidden ones included); 0 in an aggregated book.
    pub orders: u32,
    pub head: u32,
    pub tail: u32,
}

impl Level {
    pub fn new(price: i64) -> Self {
        Self {
            price,
            qty: 0,
            count: 0,
            orders: 0,
            head: NIL,
            tail: NIL,
        }
    }

    /// Whether the level still holds anything.
    pub fn is_empty(&self) -> bool {
        self.count == 0 && self.orders == 0
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Ladder {
    /// Sorted by `key`, best last.
    levels: Vec<Level>,
    side: Option<Side>,
}

impl Ladder {
    pub fn new(side: Side) -> Self {
        Self {
            levels: Vec::new(),
            side: Some(side),
        }
    }

    /// Bids sort ascending (best = highest = last); asks by `!price`, i.e. descending
    /// (best = lowest = last). `!` reverses the order without overflow.
    fn key(&self, price: i64) -> i64 {
        match self.side {
            Some(Side::Ask) => !price,
            _ => price,
        }
    }

    pub fn search(&self, price: i64) -> Result<usize, usize> {
        let k = self.key(price);
        // Most activity is at the top: look there first.
        if let Some(last) = self.levels.last() {
            let lk = self.key(last.price);
            if lk == k {
                return Ok(self.levels.len() - 1);
            }
            if lk < k {
                return Err(self.levels.len());
            }
        }
        self.levels.binary_search_by_key(&k, |l| self.key(l.price))
    }

    pub fn at_mut(&mut self, i: usize) -> &mut Level {
        &mut self.levels[i]
    }

    /// Removes level `i` if it holds nothing any more.
    pub fn prune_at(&mut self, i: usize) {
        if self.levels[i].is_empty() {
            self.levels.remove(i);
        }
    }

    pub fn get(&self, price: i64) -> Option<&Level> {
        self.search(price).ok().map(|i| &self.levels[i])
    }

    pub fn get_mut(&mut self, price: i64) -> Option<&mut Level> {
        match self.search(price) {
            Ok(i) => Some(&mut self.levels[i]),
            Err(_) => None,
        }
    }

    /// The level at position `i`.
    pub fn at(&self, i: usize) -> &Level {
        &self.levels[i]
    }

    /// The level at a position [`Self::search`] returned for `price`, inserted if absent.
    pub fn entry_at(&mut self, pos: Result<usize, usize>, price: i64) -> &mut Level {
        let i = match pos {
            Ok(i) => i,
            Err(i) => {
                self.levels.insert(i, Level::new(price));
                i
            }
        };
        &mut self.levels[i]
    }

    /// The level at `price`, created empty if absent.
    pub fn entry(&mut self, price: i64) -> &mut Level {
        let i = match self.search(price) {
            Ok(i) => i,
            Err(i) => {
                self.levels.insert(i, Level::new(price));
                i
            }
        };
        &mut self.levels[i]
    }

    /// Drops the level at `price` if it holds nothing any more.
    pub fn prune(&mut self, price: i64) {
        if let Ok(i) = self.search(price) {
            if self.levels[i].is_empty() {
                self.levels.remove(i);
            }
        }
    }

    /// Best price with anything (visible or hidden) resting.
    pub fn best(&self) -> Option<i64> {
        self.levels.last().map(|l| l.price)
    }

    /// Best price with visible quantity.
    pub fn best_visible(&self) -> Option<&Level> {
        self.levels.iter().rev().find(|l| l.count > 0)
    }

    /// Levels from the best down, visible ones only.
    pub fn visible(&self) -> impl Iterator<Item = &Level> {
        self.levels.iter().rev().filter(|l| l.count > 0)
    }

    pub fn all(&self) -> &[Level] {
        &self.levels
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }
}
