//! Order books for RLTOP feeds.
//!
//! A [`Book`] is one instrument's book. It starts **order-complete** (empty, following the
//! feed from the first order): it then keeps every order (L3) in price-time priority, finds
//! any order by id in O(1), derives the visible price levels (L2) from them, and checks each
//! increment's stated level against its own. After an aggregated snapshot it is a **level
//! book**: increments set the levels they name (the protocol's increments carry the
//! resulting level state, SPEC.md §8), which is idempotent and needs no order ids.
//!
//! Every operation validates first and changes nothing when it returns an error.
//!
//! Queue priority (the seed's rules): a new order joins the back of its level; a price change
//! or a quantity increase sends the order to the back (of its new level); a decrease keeps
//! its place. Hidden orders keep their place in the queue but are not in the visible level.

mod ladder;

use core::fmt;

use hashbrown::hash_map::{Entry, OccupiedEntry};
use ladder::{Ladder, Level, NIL};
use rustc_hash::FxBuildHasher;

/// Order id → slot. hashbrown's map (the one std wraps) because its `entry` finds without
/// reserving: delete and execute probe once and remove through the entry they found, and a
/// refused increment does not even grow the table.
type OrderIndex = hashbrown::HashMap<u64, u32, FxBuildHasher>;
type IndexEntry<'i> = OccupiedEntry<'i, u64, u32, FxBuildHasher>;

/// Side of an order or a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy orders.
    Bid,
    /// Sell orders.
    Ask,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Bid => Side::Ask,
            Side::Ask => Side::Bid,
        }
    }
}

/// The state of one price level as an increment states it: visible quantity and orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LevelState {
    pub qty: u64,
    pub count: u32,
}

/// A visible price level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopLevel {
    pub price: i64,
    pub qty: u64,
    pub count: u32,
}

/// A new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Add {
    pub order_id: u64,
    pub side: Side,
    pub price: i64,
    pub qty: u64,
    /// Hidden orders rest in the queue but are not part of the visible level.
    pub hidden: bool,
    /// The level (side, price) after the add.
    pub level: LevelState,
}

/// What a modification changed (the protocol's `ModifyType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModifyKind {
    Price,
    QuantityDecrease,
    QuantityIncrease,
}

/// A resting order's new price or quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modify {
    pub order_id: u64,
    pub side: Side,
    pub kind: ModifyKind,
    pub old_price: i64,
    pub new_price: i64,
    pub new_qty: u64,
    /// Level (side, old_price) after the change.
    pub old_level: LevelState,
    /// Level (side, new_price) after the change (the same level unless the price changed).
    pub new_level: LevelState,
}

/// An order leaving the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delete {
    pub order_id: u64,
    pub side: Side,
    pub price: i64,
    /// Level (side, price) after the removal.
    pub level: LevelState,
}

/// A resting order executed, in part or in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Execute {
    pub order_id: u64,
    pub side: Side,
    pub price: i64,
    pub executed: u64,
    /// Quantity left resting; zero removes the order.
    pub remaining: u64,
    /// Level (side, price) after the execution.
    pub level: LevelState,
}

/// Why an increment or a snapshot does not fit the book. The book is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookError {
    /// An order-complete book does not have this order.
    UnknownOrder { order_id: u64 },
    /// An add names an order that is already resting.
    DuplicateOrder { order_id: u64 },
    /// An add or a modification to zero quantity, or an execution of nothing.
    ZeroQuantity { order_id: u64 },
    /// The increment's side or price is not the order's.
    OrderMismatch { order_id: u64, what: &'static str },
    /// An execution larger than what rests (quantity would go negative).
    Overfill {
        order_id: u64,
        resting: u64,
        executed: u64,
    },
    /// The remaining quantity stated is not resting − executed.
    RemainingMismatch {
        order_id: u64,
        stated: u64,
        computed: u64,
    },
    /// `ModifyType` disagrees with what changed.
    InconsistentModify { order_id: u64, kind: ModifyKind },
    /// The level state the increment states is not the book's (order-complete books check).
    LevelMismatch {
        side: Side,
        price: i64,
        stated: LevelState,
        computed: LevelState,
    },
    /// A level state that cannot be: orders without quantity or quantity without orders.
    InvalidLevel {
        side: Side,
        price: i64,
        level: LevelState,
    },
    /// After the increment the best bid would be at or above the best ask.
    Crossed { bid: i64, ask: i64 },
    /// A snapshot whose levels are unsorted, repeated, empty or crossed.
    InvalidSnapshot { what: &'static str },
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::UnknownOrder { order_id } => write!(f, "order {order_id} is not in the book"),
            Self::DuplicateOrder { order_id } => {
                write!(f, "order {order_id} is already in the book")
            }
            Self::ZeroQuantity { order_id } => write!(f, "order {order_id}: zero quantity"),
            Self::OrderMismatch { order_id, what } => write!(
                f,
                "order {order_id}: {what} differs from the resting order's"
            ),
            Self::Overfill {
                order_id,
                resting,
                executed,
            } => write!(
                f,
                "order {order_id}: {executed} executed, only {resting} resting"
            ),
            Self::RemainingMismatch {
                order_id,
                stated,
                computed,
            } => write!(
                f,
                "order {order_id}: {stated} stated remaining, {computed} computed"
            ),
            Self::InconsistentModify { order_id, kind } => write!(
                f,
                "order {order_id}: modify type {kind:?} does not match the change"
            ),
            Self::LevelMismatch {
                side,
                price,
                stated,
                computed,
            } => write!(
                f,
                "{side:?} level {price}: increment states {}/{} (qty/orders), book has {}/{}",
                stated.qty, stated.count, computed.qty, computed.count
            ),
            Self::InvalidLevel { side, price, level } => write!(
                f,
                "{side:?} level {price}: {} quantity with {} orders",
                level.qty, level.count
            ),
            Self::Crossed { bid, ask } => write!(f, "crossed book: bid {bid} ≥ ask {ask}"),
            Self::InvalidSnapshot { what } => write!(f, "invalid snapshot: {what}"),
        }
    }
}

impl std::error::Error for BookError {}

/// A resting order, as [`Book::order`] shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderView {
    pub order_id: u64,
    pub side: Side,
    pub price: i64,
    pub qty: u64,
    pub hidden: bool,
}

#[derive(Debug, Clone, Copy)]
struct Order {
    id: u64,
    price: i64,
    qty: u64,
    side: Side,
    hidden: bool,
    prev: u32,
    next: u32,
}

/// Where the level (side, price) is in its ladder (`Err`: where it would be inserted) and its
/// state. Takes the ladders alone, so it can run while the order index is borrowed.
fn locate_in(
    bids: &Ladder,
    asks: &Ladder,
    side: Side,
    price: i64,
) -> (Result<usize, usize>, LevelState) {
    let ladder = match side {
        Side::Bid => bids,
        Side::Ask => asks,
    };
    let pos = ladder.search(price);
    let now = match pos {
        Ok(k) => level_state(Some(ladder.at(k))),
        Err(_) => LevelState::default(),
    };
    (pos, now)
}

/// Checks that order `o` rests on the side and at the price an increment says.
fn check_resting(o: &Order, order_id: u64, side: Side, price: i64) -> Result<(), BookError> {
    let what = if o.side != side {
        "side"
    } else if o.price != price {
        "price"
    } else {
        return Ok(());
    };
    Err(BookError::OrderMismatch { order_id, what })
}

/// One instrument's book. See the crate documentation.
#[derive(Debug, Clone)]
pub struct Book {
    bids: Ladder,
    asks: Ladder,
    /// Slab of orders; freed slots are reused.
    orders: Vec<Order>,
    free: Vec<u32>,
    index: OrderIndex,
    order_complete: bool,
    /// A publisher's book ([`Book::for_publisher`]): the level fields of increments are
    /// not checked, because the publisher takes them from this book after the change.
    derives_levels: bool,
}

impl Default for Book {
    fn default() -> Self {
        Self::new()
    }
}

fn level_state(l: Option<&Level>) -> LevelState {
    l.map_or(LevelState::default(), |l| LevelState {
        qty: l.qty,
        count: l.count,
    })
}

fn check_level(side: Side, price: i64, level: LevelState) -> Result<(), BookError> {
    if (level.count == 0) != (level.qty == 0) {
        return Err(BookError::InvalidLevel { side, price, level });
    }
    Ok(())
}

impl Book {
    /// An empty, order-complete book.
    pub fn new() -> Self {
        Self {
            bids: Ladder::new(Side::Bid),
            asks: Ladder::new(Side::Ask),
            orders: Vec::new(),
            free: Vec::new(),
            index: OrderIndex::default(),
            order_complete: true,
            derives_levels: false,
        }
    }

    /// An empty book for a publisher: it is the source of the level fields its increments
    /// carry, so it applies increments by order id without checking their stated levels
    /// (pass `LevelState::default()`), and the publisher takes the resulting levels from
    /// what [`Book::add`], [`Book::modify`], [`Book::delete`] and [`Book::execute`] return. Every other check (unknown or duplicate order, overfill, remaining
    /// quantity, modify type, crossing) still refuses a change that does not fit.
    pub fn for_publisher() -> Self {
        Self {
            derives_levels: true,
            ..Self::new()
        }
    }

    /// Whether the book has every order (followed the feed from empty): increments are then
    /// applied by order id and checked against the levels they state.
    pub fn is_order_complete(&self) -> bool {
        self.order_complete
    }

    /// Back to an empty, order-complete book (a publisher's stays a publisher's).
    pub fn reset(&mut self) {
        *self = Self {
            derives_levels: self.derives_levels,
            ..Self::new()
        };
    }

    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    /// A level book takes the level states increments state; one left with orders at a
    /// price that crosses the other side is refused, whatever the increment (a delete or an
    /// execution naming a level the book never had would otherwise cross it).
    fn level_crosses(&self, side: Side, price: i64, level: LevelState) -> Result<(), BookError> {
        if level.count > 0 {
            self.crosses(side, price)
        } else {
            Ok(())
        }
    }

    /// Whether resting at (side, price) would cross the other side.
    fn crosses(&self, side: Side, price: i64) -> Result<(), BookError> {
        match (side, self.ladder(side.opposite()).best()) {
            (Side::Bid, Some(ask)) if price >= ask => Err(BookError::Crossed { bid: price, ask }),
            (Side::Ask, Some(bid)) if price <= bid => Err(BookError::Crossed { bid, ask: price }),
            _ => Ok(()),
        }
    }

    /// Where the level (side, price) is in its ladder (or would be inserted) and its state:
    /// one search serves both the check and the change that follows it.
    fn locate(&self, side: Side, price: i64) -> (Result<usize, usize>, LevelState) {
        locate_in(&self.bids, &self.asks, side, price)
    }

    fn level_now(&self, side: Side, price: i64) -> LevelState {
        level_state(self.ladder(side).get(price))
    }

    /// Checks a stated level against the book's; `derives` (a publisher's book) skips it.
    fn expect_level(
        derives: bool,
        side: Side,
        price: i64,
        stated: LevelState,
        computed: LevelState,
    ) -> Result<(), BookError> {
        if derives || stated == computed {
            Ok(())
        } else {
            Err(BookError::LevelMismatch {
                side,
                price,
                stated,
                computed,
            })
        }
    }

    /// The resting order an increment names, checked to rest where the increment says.
    fn resting_at(&self, order_id: u64, side: Side, price: i64) -> Result<(u32, Order), BookError> {
        let i = self.find(order_id)?;
        let o = self.orders[i as usize];
        check_resting(&o, order_id, side, price)?;
        Ok((i, o))
    }

    /// [`Self::resting_at`] through the order's index entry, for the caller to remove the
    /// order by without a second probe. Takes the index and the slab alone, so the ladders
    /// stay readable meanwhile.
    fn resting_entry<'i>(
        index: &'i mut OrderIndex,
        orders: &[Order],
        order_id: u64,
        side: Side,
        price: i64,
    ) -> Result<(IndexEntry<'i>, u32, Order), BookError> {
        let Entry::Occupied(entry) = index.entry(order_id) else {
            return Err(BookError::UnknownOrder { order_id });
        };
        let i = *entry.get();
        let o = orders[i as usize];
        check_resting(&o, order_id, side, price)?;
        Ok((entry, i, o))
    }

    fn find(&self, order_id: u64) -> Result<u32, BookError> {
        self.index
            .get(&order_id)
            .copied()
            .ok_or(BookError::UnknownOrder { order_id })
    }

    /// Sets a level to the state an increment gives (level books).
    fn set_level(&mut self, side: Side, price: i64, level: LevelState) {
        let ladder = self.ladder_mut(side);
        if level.count == 0 {
            if let Some(l) = ladder.get_mut(price) {
                l.qty = 0;
                l.count = 0;
            }
            ladder.prune(price);
        } else {
            let l = ladder.entry(price);
            l.qty = level.qty;
            l.count = level.count;
        }
    }

    // ---- The order queue ----------------------------------------------------------------

    /// Appends order `i` to the back of its level's queue and counts it in.
    fn link_back(&mut self, i: u32) {
        let o = self.orders[i as usize];
        let pos = self.ladder(o.side).search(o.price);
        self.link_back_at(i, pos);
    }

    /// [`Self::link_back`] with the level's position already searched (`Err`: to insert).
    fn link_back_at(&mut self, i: u32, pos: Result<usize, usize>) {
        let o = self.orders[i as usize];
        let ladder = match o.side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        };
        let level = ladder.entry_at(pos, o.price);
        let tail = level.tail;
        level.tail = i;
        if tail == NIL {
            level.head = i;
        }
        level.orders += 1;
        if !o.hidden {
            level.qty += o.qty;
            level.count += 1;
        }
        self.orders[i as usize].prev = tail;
        self.orders[i as usize].next = NIL;
        if tail != NIL {
            self.orders[tail as usize].next = i;
        }
    }

    /// Takes order `i` out of its level's queue (the level goes when empty).
    fn unlink(&mut self, i: u32) {
        let o = self.orders[i as usize];
        if let Ok(at) = self.ladder(o.side).search(o.price) {
            self.unlink_at(i, at);
        }
    }

    /// [`Self::unlink`] with the level's position already found.
    fn unlink_at(&mut self, i: u32, at: usize) {
        let o = self.orders[i as usize];
        if o.prev != NIL {
            self.orders[o.prev as usize].next = o.next;
        }
        if o.next != NIL {
            self.orders[o.next as usize].prev = o.prev;
        }
        let ladder = match o.side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        };
        let level = ladder.at_mut(at);
        if level.head == i {
            level.head = o.next;
        }
        if level.tail == i {
            level.tail = o.prev;
        }
        level.orders -= 1;
        if !o.hidden {
            level.qty -= o.qty;
            level.count -= 1;
        }
        ladder.prune_at(at);
    }

    /// Unlinks order `i` (its level at `at`) and frees its slot; its index entry is the
    /// caller's to remove (it holds it already: one probe per removal).
    fn release_at(&mut self, i: u32, at: usize) {
        self.unlink_at(i, at);
        self.free.push(i);
    }

    // ---- Increments ---------------------------------------------------------------------

    /// Applies an `AddOrder`; returns the level (side, price) after it.
    pub fn add(&mut self, a: &Add) -> Result<LevelState, BookError> {
        if a.qty == 0 {
            return Err(BookError::ZeroQuantity {
                order_id: a.order_id,
            });
        }
        check_level(a.side, a.price, a.level)?;
        self.crosses(a.side, a.price)?;
        if !self.order_complete {
            self.set_level(a.side, a.price, a.level);
            return Ok(a.level);
        }
        let (pos, now) = self.locate(a.side, a.price);
        // One probe of the index: the vacant slot found is the one filled.
        let slot = match self.index.entry(a.order_id) {
            Entry::Occupied(_) => {
                return Err(BookError::DuplicateOrder {
                    order_id: a.order_id,
                })
            }
            Entry::Vacant(v) => v,
        };
        let after = if a.hidden {
            now
        } else {
            LevelState {
                qty: now.qty.saturating_add(a.qty),
                count: now.count + 1,
            }
        };
        Self::expect_level(self.derives_levels, a.side, a.price, a.level, after)?;
        let o = Order {
            id: a.order_id,
            price: a.price,
            qty: a.qty,
            side: a.side,
            hidden: a.hidden,
            prev: NIL,
            next: NIL,
        };
        // A slab slot: a freed one first (the index stays borrowed by `slot` meanwhile).
        let i = match self.free.pop() {
            Some(i) => {
                self.orders[i as usize] = o;
                i
            }
            None => {
                self.orders.push(o);
                (self.orders.len() - 1) as u32
            }
        };
        slot.insert(i);
        self.link_back_at(i, pos);
        Ok(after)
    }

    /// Applies a `ModifyOrder`; returns the levels (side, old price) and (side, new price)
    /// after it (the same level twice when the price did not change).
    pub fn modify(&mut self, m: &Modify) -> Result<(LevelState, LevelState), BookError> {
        check_level(m.side, m.old_price, m.old_level)?;
        check_level(m.side, m.new_price, m.new_level)?;
        let id = m.order_id;
        if m.new_qty == 0 {
            return Err(BookError::ZeroQuantity { order_id: id });
        }
        let moved = m.new_price != m.old_price;
        if moved != (m.kind == ModifyKind::Price) {
            return Err(BookError::InconsistentModify {
                order_id: id,
                kind: m.kind,
            });
        }
        if moved {
            self.crosses(m.side, m.new_price)?;
        }
        if !self.order_complete {
            self.level_crosses(m.side, m.old_price, m.old_level)?;
            self.level_crosses(m.side, m.new_price, m.new_level)?;
            self.set_level(m.side, m.old_price, m.old_level);
            self.set_level(m.side, m.new_price, m.new_level);
            return Ok((m.old_level, m.new_level));
        }
        let (i, o) = self.resting_at(id, m.side, m.old_price)?;
        let kind_ok = match m.kind {
            ModifyKind::Price => true,
            ModifyKind::QuantityDecrease => m.new_qty < o.qty,
            ModifyKind::QuantityIncrease => m.new_qty > o.qty,
        };
        if !kind_ok {
            return Err(BookError::InconsistentModify {
                order_id: id,
                kind: m.kind,
            });
        }
        let vis = |q: u64| if o.hidden { 0 } else { q };
        let one = u32::from(!o.hidden);
        let old = self.level_now(m.side, m.old_price);
        let levels = if moved {
            let old_after = LevelState {
                qty: old.qty - vis(o.qty),
                count: old.count - one,
            };
            let new = self.level_now(m.side, m.new_price);
            let new_after = LevelState {
                qty: new.qty.saturating_add(vis(m.new_qty)),
                count: new.count + one,
            };
            Self::expect_level(
                self.derives_levels,
                m.side,
                m.old_price,
                m.old_level,
                old_after,
            )?;
            Self::expect_level(
                self.derives_levels,
                m.side,
                m.new_price,
                m.new_level,
                new_after,
            )?;
            (old_after, new_after)
        } else {
            let after = LevelState {
                qty: old.qty - vis(o.qty) + vis(m.new_qty),
                count: old.count,
            };
            Self::expect_level(self.derives_levels, m.side, m.old_price, m.old_level, after)?;
            Self::expect_level(self.derives_levels, m.side, m.new_price, m.new_level, after)?;
            (after, after)
        };
        if m.kind == ModifyKind::QuantityDecrease {
            // Keeps its place in the queue.
            let level = self
                .ladder_mut(m.side)
                .get_mut(m.old_price)
                .expect("the order's level exists");
            if !o.hidden {
                level.qty = level.qty - o.qty + m.new_qty;
            }
            self.orders[i as usize].qty = m.new_qty;
        } else {
            // Loses priority: to the back of the (new) level.
            self.unlink(i);
            self.orders[i as usize].price = m.new_price;
            self.orders[i as usize].qty = m.new_qty;
            self.link_back(i);
        }
        Ok(levels)
    }

    /// Applies a `DeleteOrder`; returns the level after it.
    pub fn delete(&mut self, d: &Delete) -> Result<LevelState, BookError> {
        check_level(d.side, d.price, d.level)?;
        if !self.order_complete {
            self.level_crosses(d.side, d.price, d.level)?;
            self.set_level(d.side, d.price, d.level);
            return Ok(d.level);
        }
        // One probe of the index: the entry found is the one removed.
        let (entry, i, o) =
            Self::resting_entry(&mut self.index, &self.orders, d.order_id, d.side, d.price)?;
        let (pos, now) = locate_in(&self.bids, &self.asks, d.side, d.price);
        let after = if o.hidden {
            now
        } else {
            LevelState {
                qty: now.qty - o.qty,
                count: now.count - 1,
            }
        };
        Self::expect_level(self.derives_levels, d.side, d.price, d.level, after)?;
        entry.remove();
        self.release_at(i, pos.expect("a resting order's level exists"));
        Ok(after)
    }

    /// Applies an `ExecuteOrder`; returns the level after it.
    pub fn execute(&mut self, e: &Execute) -> Result<LevelState, BookError> {
        if e.executed == 0 {
            return Err(BookError::ZeroQuantity {
                order_id: e.order_id,
            });
        }
        check_level(e.side, e.price, e.level)?;
        if !self.order_complete {
            self.level_crosses(e.side, e.price, e.level)?;
            self.set_level(e.side, e.price, e.level);
            return Ok(e.level);
        }
        // One probe of the index: the entry found is removed if the order fills.
        let (entry, i, o) =
            Self::resting_entry(&mut self.index, &self.orders, e.order_id, e.side, e.price)?;
        if e.executed > o.qty {
            return Err(BookError::Overfill {
                order_id: e.order_id,
                resting: o.qty,
                executed: e.executed,
            });
        }
        let left = o.qty - e.executed;
        if left != e.remaining {
            return Err(BookError::RemainingMismatch {
                order_id: e.order_id,
                stated: e.remaining,
                computed: left,
            });
        }
        let (pos, now) = locate_in(&self.bids, &self.asks, e.side, e.price);
        let at = pos.expect("a resting order's level exists");
        let after = match (o.hidden, left) {
            (true, _) => now,
            (false, 0) => LevelState {
                qty: now.qty - o.qty,
                count: now.count - 1,
            },
            (false, _) => LevelState {
                qty: now.qty - e.executed,
                count: now.count,
            },
        };
        Self::expect_level(self.derives_levels, e.side, e.price, e.level, after)?;
        if left == 0 {
            entry.remove();
            self.release_at(i, at);
        } else {
            if !o.hidden {
                self.ladder_mut(e.side).at_mut(at).qty -= e.executed;
            }
            self.orders[i as usize].qty = left;
        }
        Ok(after)
    }

    /// Replaces the book with an aggregated snapshot (bids best first, descending; asks best
    /// first, ascending). The book becomes a level book.
    pub fn apply_snapshot(
        &mut self,
        bids: &[TopLevel],
        asks: &[TopLevel],
    ) -> Result<(), BookError> {
        let sorted = |ls: &[TopLevel], better: fn(i64, i64) -> bool| {
            ls.windows(2).all(|w| better(w[0].price, w[1].price))
        };
        if !sorted(bids, |a, b| a > b) || !sorted(asks, |a, b| a < b) {
            return Err(BookError::InvalidSnapshot {
                what: "levels not strictly ordered from the best",
            });
        }
        if bids.iter().chain(asks).any(|l| l.qty == 0 || l.count == 0) {
            return Err(BookError::InvalidSnapshot {
                what: "a level without quantity or orders",
            });
        }
        if let (Some(b), Some(a)) = (bids.first(), asks.first()) {
            if b.price >= a.price {
                return Err(BookError::InvalidSnapshot { what: "crossed" });
            }
        }
        *self = Self::new();
        self.order_complete = false;
        for l in bids {
            self.set_level(
                Side::Bid,
                l.price,
                LevelState {
                    qty: l.qty,
                    count: l.count,
                },
            );
        }
        for l in asks {
            self.set_level(
                Side::Ask,
                l.price,
                LevelState {
                    qty: l.qty,
                    count: l.count,
                },
            );
        }
        Ok(())
    }

    // ---- Reading ------------------------------------------------------------------------

    /// Best visible bid.
    pub fn best_bid(&self) -> Option<TopLevel> {
        self.bids.best_visible().map(|l| TopLevel {
            price: l.price,
            qty: l.qty,
            count: l.count,
        })
    }

    /// Best visible ask.
    pub fn best_ask(&self) -> Option<TopLevel> {
        self.asks.best_visible().map(|l| TopLevel {
            price: l.price,
            qty: l.qty,
            count: l.count,
        })
    }

    /// Best ask − best bid, in price units (None when a side is empty).
    pub fn spread(&self) -> Option<i128> {
        Some(i128::from(self.best_ask()?.price) - i128::from(self.best_bid()?.price))
    }

    /// (best bid + best ask) / 2, in price units.
    pub fn mid(&self) -> Option<f64> {
        Some((i128::from(self.best_ask()?.price) + i128::from(self.best_bid()?.price)) as f64 / 2.0)
    }

    /// The best `n` visible levels of a side, best first, appended to `out` (no allocation
    /// when `out` has room).
    pub fn top_into(&self, side: Side, n: usize, out: &mut Vec<TopLevel>) {
        out.extend(self.ladder(side).visible().take(n).map(|l| TopLevel {
            price: l.price,
            qty: l.qty,
            count: l.count,
        }));
    }

    /// The best `n` visible levels of a side, best first (`usize::MAX`: all of them).
    pub fn top(&self, side: Side, n: usize) -> Vec<TopLevel> {
        let mut v = Vec::with_capacity(n.min(self.depth(side)));
        self.top_into(side, n, &mut v);
        v
    }

    /// The visible level at (side, price).
    pub fn level(&self, side: Side, price: i64) -> Option<TopLevel> {
        self.ladder(side)
            .get(price)
            .filter(|l| l.count > 0)
            .map(|l| TopLevel {
                price: l.price,
                qty: l.qty,
                count: l.count,
            })
    }

    /// A resting order (order-complete books).
    pub fn order(&self, order_id: u64) -> Option<OrderView> {
        let o = &self.orders[*self.index.get(&order_id)? as usize];
        Some(OrderView {
            order_id: o.id,
            side: o.side,
            price: o.price,
            qty: o.qty,
            hidden: o.hidden,
        })
    }

    /// The orders at (side, price), front of the queue first.
    pub fn queue(&self, side: Side, price: i64) -> Vec<OrderView> {
        let mut out = Vec::new();
        let mut i = self.ladder(side).get(price).map_or(NIL, |l| l.head);
        while i != NIL {
            let o = &self.orders[i as usize];
            out.push(OrderView {
                order_id: o.id,
                side: o.side,
                price: o.price,
                qty: o.qty,
                hidden: o.hidden,
            });
            i = o.next;
        }
        out
    }

    /// Resting orders (order-complete books).
    pub fn order_count(&self) -> usize {
        self.index.len()
    }

    /// Levels held on a side (visible or with hidden orders only).
    pub fn depth(&self, side: Side) -> usize {
        self.ladder(side).len()
    }

    /// Bytes of memory per resting order: slab slot plus index entry (the hash table's
    /// per-entry cost at its load factor, control byte included).
    pub const fn bytes_per_order() -> usize {
        core::mem::size_of::<Order>() + (core::mem::size_of::<(u64, u32)>() + 1) * 8 / 7
    }

    /// Checks every invariant; for tests. Returns what is broken.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (side, ladder) in [(Side::Bid, &self.bids), (Side::Ask, &self.asks)] {
            let levels = ladder.all();
            for w in levels.windows(2) {
                let ok = match side {
                    Side::Bid => w[0].price < w[1].price,
                    Side::Ask => w[0].price > w[1].price,
                };
                if !ok {
                    return Err(format!(
                        "{side:?} levels out of order at {} / {}",
                        w[0].price, w[1].price
                    ));
                }
            }
            for l in levels {
                if l.is_empty() {
                    return Err(format!("{side:?} level {} is empty but kept", l.price));
                }
                if (l.count == 0) != (l.qty == 0) {
                    return Err(format!(
                        "{side:?} level {}: {} qty with {} visible orders",
                        l.price, l.qty, l.count
                    ));
                }
                if !self.order_complete {
                    continue;
                }
                let (mut qty, mut count, mut n, mut prev, mut i) = (0u64, 0u32, 0u32, NIL, l.head);
                while i != NIL {
                    let o = &self.orders[i as usize];
                    if o.price != l.price
                        || o.side != side
                        || o.prev != prev
                        || self.index.get(&o.id) != Some(&i)
                    {
                        return Err(format!(
                            "{side:?} level {}: order {} misplaced or mislinked",
                            l.price, o.id
                        ));
                    }
                    if !o.hidden {
                        qty += o.qty;
                        count += 1;
                    }
                    n += 1;
                    prev = i;
                    i = o.next;
                }
                if prev != l.tail || (qty, count, n) != (l.qty, l.count, l.orders) {
                    return Err(format!("{side:?} level {}: says {}/{}/{} (qty/visible/all), orders sum to {qty}/{count}/{n}", l.price, l.qty, l.count, l.orders));
                }
            }
        }
        if let (Some(b), Some(a)) = (self.bids.best(), self.asks.best()) {
            if b >= a {
                return Err(format!("crossed: bid {b} ≥ ask {a}"));
            }
        }
        let linked: usize = self
            .bids
            .all()
            .iter()
            .chain(self.asks.all())
            .map(|l| l.orders as usize)
            .sum();
        if linked != self.index.len() {
            return Err(format!(
                "{} orders indexed, {linked} in queues",
                self.index.len()
            ));
        }
        Ok(())
    }
}
