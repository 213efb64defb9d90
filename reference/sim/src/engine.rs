//! One instrument's matching engine: the simulator's own book, deliberately simple
//! (`BTreeMap` of price → FIFO queue, a `HashMap` of orders) and independent of
//! `rltop-book`, so that it can serve as the oracle the feed handler is checked against.
//!
//! Every change is reported as the order-level event an exchange's engine gives the
//! publisher ([`rltop_publish::Event`]); the publisher derives the level state and the
//! numbering from its own book, and the two books must agree (the oracle test).

use std::collections::{BTreeMap, HashMap, VecDeque};

use rltop::{DeleteReason, OrderFlags, Side};
use rltop_publish::Event;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resting {
    pub id: u64,
    pub side: Side,
    pub price: i64,
    pub qty: u64,
    pub hidden: bool,
}

/// A visible price level: (price, quantity, orders).
pub type Level = (i64, u64, u32);

/// A trade, as the statistics need it.
#[derive(Debug, Clone, Copy)]
pub struct Fill {
    pub trade_id: u64,
    pub price: i64,
    pub qty: u64,
    pub taker_side: Side,
    pub time_ns: u64,
}

#[derive(Debug, Default)]
pub struct Engine {
    pub symbol_id: u32,
    bids: BTreeMap<i64, VecDeque<u64>>,
    asks: BTreeMap<i64, VecDeque<u64>>,
    orders: HashMap<u64, Resting>,
    /// Resting ids, for picking one at random; `slot` maps id → index.
    ids: Vec<u64>,
    slot: HashMap<u64, usize>,
    pub fills: Vec<Fill>,
}

impl Engine {
    pub fn new(symbol_id: u32) -> Self {
        Self {
            symbol_id,
            ..Self::default()
        }
    }

    fn side_map(&self, side: Side) -> &BTreeMap<i64, VecDeque<u64>> {
        if side == Side::Buy {
            &self.bids
        } else {
            &self.asks
        }
    }

    fn side_map_mut(&mut self, side: Side) -> &mut BTreeMap<i64, VecDeque<u64>> {
        if side == Side::Buy {
            &mut self.bids
        } else {
            &mut self.asks
        }
    }

    /// Best price with any order (hidden ones included) on a side.
    pub fn best(&self, side: Side) -> Option<i64> {
        let m = self.side_map(side);
        if side == Side::Buy {
            m.keys().next_back().copied()
        } else {
            m.keys().next().copied()
        }
    }

    /// Visible quantity and orders at (side, price).
    pub fn level(&self, side: Side, price: i64) -> (u64, u32) {
        self.side_map(side).get(&price).map_or((0, 0), |q| {
            q.iter()
                .filter_map(|id| self.orders.get(id))
                .filter(|o| !o.hidden)
                .fold((0, 0), |(s, n), o| (s + o.qty, n + 1))
        })
    }

    /// The best `n` visible levels of a side, best first.
    pub fn top(&self, side: Side, n: usize) -> Vec<Level> {
        let m = self.side_map(side);
        let prices: Box<dyn Iterator<Item = &i64>> = if side == Side::Buy {
            Box::new(m.keys().rev())
        } else {
            Box::new(m.keys())
        };
        prices
            .map(|&p| {
                let (q, c) = self.level(side, p);
                (p, q, c)
            })
            .filter(|l| l.2 > 0)
            .take(n)
            .collect()
    }

    /// Would resting at (side, price) cross the other side?
    pub fn crosses(&self, side: Side, price: i64) -> bool {
        match side {
            Side::Buy => self.best(Side::Sell).is_some_and(|a| price >= a),
            Side::Sell => self.best(Side::Buy).is_some_and(|b| price <= b),
        }
    }

    pub fn order_count(&self) -> usize {
        self.orders.len()
    }

    /// A resting order chosen with `pick` in [0, count).
    pub fn order_at(&self, pick: u64) -> Option<Resting> {
        let id = *self.ids.get(pick as usize % self.ids.len().max(1))?;
        self.orders.get(&id).copied()
    }

    fn insert(&mut self, o: Resting) {
        self.side_map_mut(o.side)
            .entry(o.price)
            .or_default()
            .push_back(o.id);
        self.slot.insert(o.id, self.ids.len());
        self.ids.push(o.id);
        self.orders.insert(o.id, o);
    }

    fn take(&mut self, id: u64) -> Option<Resting> {
        let o = self.orders.remove(&id)?;
        let map = self.side_map_mut(o.side);
        if let Some(q) = map.get_mut(&o.price) {
            q.retain(|&x| x != id);
            if q.is_empty() {
                map.remove(&o.price);
            }
        }
        if let Some(i) = self.slot.remove(&id) {
            self.ids.swap_remove(i);
            if let Some(&moved) = self.ids.get(i) {
                self.slot.insert(moved, i);
            }
        }
        Some(o)
    }

    /// A passive order joins the book.
    pub fn add(&mut self, o: Resting, post_only: bool, out: &mut Vec<Event>) {
        self.insert(o);
        let mut flags = OrderFlags::empty();
        if o.hidden {
            flags.insert(OrderFlags::HIDDEN);
        }
        if post_only {
            flags.insert(OrderFlags::POST_ONLY);
        }
        out.push(Event::Add {
            symbol_id: self.symbol_id,
            order_id: o.id,
            side: o.side,
            price: o.price,
            quantity: o.qty,
            flags,
        });
    }

    /// The owner cancels (or the order expires).
    pub fn cancel(&mut self, id: u64, reason: DeleteReason, out: &mut Vec<Event>) -> bool {
        if self.take(id).is_none() {
            return false;
        }
        out.push(Event::Cancel {
            symbol_id: self.symbol_id,
            order_id: id,
            reason,
        });
        true
    }

    /// New price and/or quantity. A price change or an increase loses priority. Refused
    /// (false) when nothing changes or the new price would cross.
    pub fn modify(&mut self, id: u64, new_price: i64, new_qty: u64, out: &mut Vec<Event>) -> bool {
        let Some(o) = self.orders.get(&id).copied() else {
            return false;
        };
        if new_qty == 0
            || (new_price == o.price && new_qty == o.qty)
            || (new_price != o.price && self.crosses(o.side, new_price))
        {
            return false;
        }
        // A decrease keeps its place in the queue; a price change or an increase does not.
        if new_price == o.price && new_qty < o.qty {
            if let Some(r) = self.orders.get_mut(&id) {
                r.qty = new_qty;
            }
        } else {
            self.take(id);
            self.insert(Resting {
                price: new_price,
                qty: new_qty,
                ..o
            });
        }
        out.push(Event::Modify {
            symbol_id: self.symbol_id,
            order_id: id,
            price: new_price,
            quantity: new_qty,
        });
        true
    }

    /// An aggressive order: trades against the other side up to `limit` (None: any price),
    /// one execution per resting order met; what is left of a limit order then rests.
    /// Returns the quantity traded.
    #[allow(clippy::too_many_arguments)]
    pub fn take_liquidity(
        &mut self,
        taker_id: u64,
        side: Side,
        limit: Option<i64>,
        mut qty: u64,
        rest: bool,
        trade_id: &mut u64,
        time_ns: u64,
        out: &mut Vec<Event>,
    ) -> u64 {
        let opposite = if side == Side::Buy {
            Side::Sell
        } else {
            Side::Buy
        };
        let mut traded = 0;
        while qty > 0 {
            let Some(best) = self.best(opposite) else {
                break;
            };
            if limit.is_some_and(|l| {
                if side == Side::Buy {
                    best > l
                } else {
                    best < l
                }
            }) {
                break;
            }
            let Some(&maker_id) = self.side_map(opposite).get(&best).and_then(|q| q.front()) else {
                break;
            };
            let Some(maker) = self.orders.get(&maker_id).copied() else {
                break;
            };
            let fill = qty.min(maker.qty);
            qty -= fill;
            traded += fill;
            let remaining = maker.qty - fill;
            if remaining == 0 {
                self.take(maker_id);
            } else if let Some(r) = self.orders.get_mut(&maker_id) {
                r.qty = remaining;
            }
            *trade_id += 1;
            out.push(Event::Execute {
                symbol_id: self.symbol_id,
                order_id: maker_id,
                quantity: fill,
                trade_id: *trade_id,
                taker_order_id: taker_id,
            });
            self.fills.push(Fill {
                trade_id: *trade_id,
                price: best,
                qty: fill,
                taker_side: side,
                time_ns,
            });
        }
        if qty > 0 && rest {
            if let Some(price) = limit {
                self.add(
                    Resting {
                        id: taker_id,
                        side,
                        price,
                        qty,
                        hidden: false,
                    },
                    false,
                    out,
                );
            }
        }
        traded
    }
}
