//! A book built the way the protocol draft's sample code builds it (seed 004,
//! `OrderBook`): per side a `BTreeMap<i64, Vec<Order>>`, orders pushed at their price, and
//! an order found by id by walking every level. The benchmark's point of comparison.

use std::collections::{BTreeMap, HashMap};

use rltop::{Message, Side};

pub struct Order {
    pub order_id: u64,
    pub price: i64,
    pub quantity: u64,
    pub timestamp: u64,
}

#[derive(Default)]
pub struct SeedBook {
    pub bids: BTreeMap<i64, Vec<Order>>,
    pub asks: BTreeMap<i64, Vec<Order>>,
}

impl SeedBook {
    fn side(&mut self, buy: bool) -> &mut BTreeMap<i64, Vec<Order>> {
        if buy {
            &mut self.bids
        } else {
            &mut self.asks
        }
    }

    /// Finds an order by id the draft's way: every level of both sides.
    fn take(&mut self, order_id: u64) -> Option<Order> {
        for side in [&mut self.bids, &mut self.asks] {
            let mut found = None;
            for (price, orders) in side.iter_mut() {
                if let Some(i) = orders.iter().position(|o| o.order_id == order_id) {
                    found = Some((*price, orders.remove(i)));
                    break;
                }
            }
            if let Some((price, o)) = found {
                if side.get(&price).is_some_and(Vec::is_empty) {
                    side.remove(&price);
                }
                return Some(o);
            }
        }
        None
    }

    fn push(&mut self, buy: bool, o: Order) {
        self.side(buy).entry(o.price).or_default().push(o);
    }

    pub fn best_bid(&self) -> Option<i64> {
        self.bids.keys().next_back().copied()
    }
}

/// Decode every message of a datagram and apply the increments, seed style.
pub fn apply_datagram(books: &mut HashMap<u32, SeedBook>, datagram: &[u8]) -> usize {
    let mut n = 0;
    for m in rltop::messages(datagram).flatten() {
        n += 1;
        match m {
            Message::AddOrder(a) => {
                let o = Order {
                    order_id: a.order_id(),
                    price: a.price(),
                    quantity: a.quantity(),
                    timestamp: a.header.timestamp(),
                };
                books
                    .entry(a.symbol_id())
                    .or_default()
                    .push(a.side() == Ok(Side::Buy), o);
            }
            Message::ModifyOrder(m) => {
                let b = books.entry(m.symbol_id()).or_default();
                if let Some(mut o) = b.take(m.order_id()) {
                    o.price = m.new_price();
                    o.quantity = m.new_quantity();
                    b.push(m.side() == Ok(Side::Buy), o);
                }
            }
            Message::DeleteOrder(d) => {
                books.entry(d.symbol_id()).or_default().take(d.order_id());
            }
            Message::ExecuteOrder(e) => {
                let b = books.entry(e.symbol_id()).or_default();
                if let Some(mut o) = b.take(e.order_id()) {
                    if e.remaining_quantity() > 0 {
                        o.quantity = e.remaining_quantity();
                        b.push(e.side() == Ok(Side::Buy), o);
                    }
                }
            }
            _ => {}
        }
    }
    n
}
