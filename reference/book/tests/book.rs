//! The order book against its rules, and against a naive reference model under random
//! operation sequences.

use proptest::prelude::*;
use rltop_book::*;

fn lvl(qty: u64, count: u32) -> LevelState {
    LevelState { qty, count }
}

fn add(book: &mut Book, id: u64, side: Side, price: i64, qty: u64) -> Result<(), BookError> {
    let now = book
        .level(side, price)
        .map_or(lvl(0, 0), |l| lvl(l.qty, l.count));
    book.add(&Add {
        order_id: id,
        side,
        price,
        qty,
        hidden: false,
        level: lvl(now.qty + qty, now.count + 1),
    })
    .map(drop)
}

fn ids(book: &Book, side: Side, price: i64) -> Vec<u64> {
    book.queue(side, price).iter().map(|o| o.order_id).collect()
}

#[test]
fn price_time_priority_and_modify_rules() {
    let mut b = Book::new();
    add(&mut b, 1, Side::Bid, 100, 10).unwrap();
    add(&mut b, 2, Side::Bid, 100, 20).unwrap();
    add(&mut b, 3, Side::Bid, 100, 30).unwrap();
    assert_eq!(ids(&b, Side::Bid, 100), [1, 2, 3]);
    // A decrease keeps the place in the queue.
    b.modify(&Modify {
        order_id: 1,
        side: Side::Bid,
        kind: ModifyKind::QuantityDecrease,
        old_price: 100,
        new_price: 100,
        new_qty: 5,
        old_level: lvl(55, 3),
        new_level: lvl(55, 3),
    })
    .map(drop)
    .unwrap();
    assert_eq!(ids(&b, Side::Bid, 100), [1, 2, 3]);
    // An increase goes to the back.
    b.modify(&Modify {
        order_id: 1,
        side: Side::Bid,
        kind: ModifyKind::QuantityIncrease,
        old_price: 100,
        new_price: 100,
        new_qty: 7,
        old_level: lvl(57, 3),
        new_level: lvl(57, 3),
    })
    .map(drop)
    .unwrap();
    assert_eq!(ids(&b, Side::Bid, 100), [2, 3, 1]);
    // A price change goes to the back of the new level.
    add(&mut b, 4, Side::Bid, 99, 1).unwrap();
    b.modify(&Modify {
        order_id: 2,
        side: Side::Bid,
        kind: ModifyKind::Price,
        old_price: 100,
        new_price: 99,
        new_qty: 20,
        old_level: lvl(37, 2),
        new_level: lvl(21, 2),
    })
    .map(drop)
    .unwrap();
    assert_eq!(ids(&b, Side::Bid, 99), [4, 2]);
    assert_eq!(
        b.top(Side::Bid, 5),
        [
            TopLevel {
                price: 100,
                qty: 37,
                count: 2
            },
            TopLevel {
                price: 99,
                qty: 21,
                count: 2
            }
        ]
    );
    b.check_invariants().unwrap();
}

#[test]
fn execute_and_delete() {
    let mut b = Book::new();
    add(&mut b, 1, Side::Ask, 105, 10).unwrap();
    add(&mut b, 2, Side::Ask, 105, 10).unwrap();
    b.execute(&Execute {
        order_id: 1,
        side: Side::Ask,
        price: 105,
        executed: 4,
        remaining: 6,
        level: lvl(16, 2),
    })
    .map(drop)
    .unwrap();
    assert_eq!(b.order(1).unwrap().qty, 6);
    assert_eq!(
        ids(&b, Side::Ask, 105),
        [1, 2],
        "a partial execution keeps priority"
    );
    b.execute(&Execute {
        order_id: 1,
        side: Side::Ask,
        price: 105,
        executed: 6,
        remaining: 0,
        level: lvl(10, 1),
    })
    .map(drop)
    .unwrap();
    assert!(b.order(1).is_none(), "a full execution removes the order");
    b.delete(&Delete {
        order_id: 2,
        side: Side::Ask,
        price: 105,
        level: lvl(0, 0),
    })
    .map(drop)
    .unwrap();
    assert_eq!(b.depth(Side::Ask), 0, "no empty level is kept");
    b.check_invariants().unwrap();
}

#[test]
fn bbo_spread_mid_and_hidden_orders() {
    let mut b = Book::new();
    add(&mut b, 1, Side::Bid, -20, 5).unwrap(); // negative prices are legal
    add(&mut b, 2, Side::Ask, 30, 5).unwrap();
    b.add(&Add {
        order_id: 3,
        side: Side::Bid,
        price: 10,
        qty: 50,
        hidden: true,
        level: lvl(0, 0),
    })
    .map(drop)
    .unwrap();
    assert_eq!(
        b.best_bid().unwrap().price,
        -20,
        "a hidden order is not in the visible levels"
    );
    assert_eq!(b.spread(), Some(50));
    assert_eq!(b.mid(), Some(5.0));
    assert_eq!(
        add(&mut b, 4, Side::Ask, 10, 1),
        Err(BookError::Crossed { bid: 10, ask: 10 }),
        "but it still rests: an ask at its price would cross"
    );
    b.check_invariants().unwrap();
}

#[test]
fn refused_increments_change_nothing() {
    let mut b = Book::new();
    add(&mut b, 1, Side::Bid, 100, 10).unwrap();
    add(&mut b, 2, Side::Ask, 101, 10).unwrap();
    let before = format!("{b:?}");
    let cases: Vec<(BookError, Result<(), BookError>)> = vec![
        (
            BookError::UnknownOrder { order_id: 9 },
            b.clone()
                .delete(&Delete {
                    order_id: 9,
                    side: Side::Bid,
                    price: 100,
                    level: lvl(10, 1),
                })
                .map(drop),
        ),
        (
            BookError::DuplicateOrder { order_id: 1 },
            add(&mut b.clone(), 1, Side::Bid, 99, 1),
        ),
        (
            BookError::Crossed { bid: 101, ask: 101 },
            add(&mut b.clone(), 3, Side::Bid, 101, 1),
        ),
        (
            BookError::Overfill {
                order_id: 1,
                resting: 10,
                executed: 11,
            },
            b.clone()
                .execute(&Execute {
                    order_id: 1,
                    side: Side::Bid,
                    price: 100,
                    executed: 11,
                    remaining: 0,
                    level: lvl(0, 0),
                })
                .map(drop),
        ),
        (
            BookError::RemainingMismatch {
                order_id: 1,
                stated: 5,
                computed: 7,
            },
            b.clone()
                .execute(&Execute {
                    order_id: 1,
                    side: Side::Bid,
                    price: 100,
                    executed: 3,
                    remaining: 5,
                    level: lvl(7, 1),
                })
                .map(drop),
        ),
        (
            BookError::LevelMismatch {
                side: Side::Bid,
                price: 100,
                stated: lvl(9, 1),
                computed: lvl(0, 0),
            },
            b.clone()
                .delete(&Delete {
                    order_id: 1,
                    side: Side::Bid,
                    price: 100,
                    level: lvl(9, 1),
                })
                .map(drop),
        ),
        (
            BookError::OrderMismatch {
                order_id: 1,
                what: "price",
            },
            b.clone()
                .delete(&Delete {
                    order_id: 1,
                    side: Side::Bid,
                    price: 99,
                    level: lvl(0, 0),
                })
                .map(drop),
        ),
        (
            BookError::InconsistentModify {
                order_id: 1,
                kind: ModifyKind::QuantityDecrease,
            },
            b.clone()
                .modify(&Modify {
                    order_id: 1,
                    side: Side::Bid,
                    kind: ModifyKind::QuantityDecrease,
                    old_price: 100,
                    new_price: 100,
                    new_qty: 12,
                    old_level: lvl(12, 1),
                    new_level: lvl(12, 1),
                })
                .map(drop),
        ),
        (
            BookError::ZeroQuantity { order_id: 5 },
            add(&mut b.clone(), 5, Side::Bid, 90, 0),
        ),
        (
            BookError::InvalidLevel {
                side: Side::Bid,
                price: 90,
                level: lvl(5, 0),
            },
            b.clone()
                .add(&Add {
                    order_id: 5,
                    side: Side::Bid,
                    price: 90,
                    qty: 5,
                    hidden: false,
                    level: lvl(5, 0),
                })
                .map(drop),
        ),
    ];
    for (want, got) in cases {
        assert_eq!(got, Err(want));
    }
    // And on the book itself (not a clone): every refusal leaves it as it was.
    assert!(b
        .execute(&Execute {
            order_id: 1,
            side: Side::Bid,
            price: 100,
            executed: 11,
            remaining: 0,
            level: lvl(0, 0)
        })
        .map(drop)
        .is_err());
    assert!(add(&mut b, 3, Side::Bid, 101, 1).is_err());
    assert_eq!(format!("{b:?}"), before);
}

#[test]
fn snapshot_makes_a_level_book_that_increments_set() {
    let mut b = Book::new();
    let bids = [
        TopLevel {
            price: 100,
            qty: 10,
            count: 2,
        },
        TopLevel {
            price: 99,
            qty: 5,
            count: 1,
        },
    ];
    let asks = [TopLevel {
        price: 101,
        qty: 7,
        count: 1,
    }];
    b.apply_snapshot(&bids, &asks).unwrap();
    assert!(!b.is_order_complete());
    // Order 77 was never seen: the level state the increment carries is applied.
    b.delete(&Delete {
        order_id: 77,
        side: Side::Bid,
        price: 100,
        level: lvl(6, 1),
    })
    .map(drop)
    .unwrap();
    b.delete(&Delete {
        order_id: 77,
        side: Side::Bid,
        price: 100,
        level: lvl(6, 1),
    })
    .map(drop)
    .unwrap(); // idempotent
    b.execute(&Execute {
        order_id: 5,
        side: Side::Ask,
        price: 101,
        executed: 7,
        remaining: 0,
        level: lvl(0, 0),
    })
    .map(drop)
    .unwrap();
    assert_eq!(
        b.top(Side::Bid, 10),
        [
            TopLevel {
                price: 100,
                qty: 6,
                count: 1
            },
            bids[1]
        ]
    );
    assert!(b.best_ask().is_none());
    assert_eq!(
        b.apply_snapshot(&[bids[1], bids[0]], &[]),
        Err(BookError::InvalidSnapshot {
            what: "levels not strictly ordered from the best"
        })
    );
    assert_eq!(
        b.apply_snapshot(
            &bids,
            &[TopLevel {
                price: 100,
                qty: 1,
                count: 1
            }]
        ),
        Err(BookError::InvalidSnapshot { what: "crossed" })
    );
    b.check_invariants().unwrap();
}

/// A naive model: a list of orders with a time stamp each; levels and queues derived.
#[derive(Debug, Clone, Default)]
struct Model {
    orders: Vec<(u64, Side, i64, u64, bool, u64)>, // id, side, price, qty, hidden, stamp
    clock: u64,
}

impl Model {
    fn get(&self, id: u64) -> Option<&(u64, Side, i64, u64, bool, u64)> {
        self.orders.iter().find(|o| o.0 == id)
    }
    fn level(&self, side: Side, price: i64) -> LevelState {
        let vis = self
            .orders
            .iter()
            .filter(|o| o.1 == side && o.2 == price && !o.4);
        LevelState {
            qty: vis.clone().map(|o| o.3).sum(),
            count: vis.count() as u32,
        }
    }
    fn best(&self, side: Side) -> Option<i64> {
        let p = self.orders.iter().filter(|o| o.1 == side).map(|o| o.2);
        if side == Side::Bid {
            p.max()
        } else {
            p.min()
        }
    }
    fn crosses(&self, side: Side, price: i64) -> bool {
        match side {
            Side::Bid => self.best(Side::Ask).is_some_and(|a| price >= a),
            Side::Ask => self.best(Side::Bid).is_some_and(|b| price <= b),
        }
    }
    fn queue(&self, side: Side, price: i64) -> Vec<u64> {
        let mut q: Vec<_> = self
            .orders
            .iter()
            .filter(|o| o.1 == side && o.2 == price)
            .collect();
        q.sort_by_key(|o| o.5);
        q.iter().map(|o| o.0).collect()
    }
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

#[derive(Debug, Clone)]
enum Op {
    Add {
        id: u64,
        bid: bool,
        price: i64,
        qty: u64,
        hidden: bool,
    },
    Modify {
        id: u64,
        price_delta: i64,
        qty: u64,
    },
    Delete {
        id: u64,
    },
    Execute {
        id: u64,
        qty: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..40, any::<bool>(), 90i64..110, 1u64..50, prop::bool::weighted(0.1)).prop_map(|(id, bid, price, qty, hidden)| Op::Add { id, bid, price, qty, hidden }),
        2 => (0u64..40, -2i64..3, 0u64..60).prop_map(|(id, price_delta, qty)| Op::Modify { id, price_delta, qty }),
        2 => (0u64..45).prop_map(|id| Op::Delete { id }),
        2 => (0u64..40, 0u64..60).prop_map(|(id, qty)| Op::Execute { id, qty }),
    ]
}

/// Applies `op` to the model if it is valid there; returns whether it was, and the book
/// increment describing it (with the level states the model computes).
fn step(m: &mut Model, op: &Op, b: &mut Book) -> (bool, Result<(), BookError>) {
    match *op {
        Op::Add {
            id,
            bid,
            price,
            qty,
            hidden,
        } => {
            let side = if bid { Side::Bid } else { Side::Ask };
            let now = m.level(side, price);
            let level = if hidden {
                now
            } else {
                lvl(now.qty + qty, now.count + 1)
            };
            let valid = m.get(id).is_none() && !m.crosses(side, price);
            if valid {
                let t = m.tick();
                m.orders.push((id, side, price, qty, hidden, t));
            }
            (
                valid,
                b.add(&Add {
                    order_id: id,
                    side,
                    price,
                    qty,
                    hidden,
                    level,
                })
                .map(drop),
            )
        }
        Op::Modify {
            id,
            price_delta,
            qty,
        } => {
            let Some(&(_, side, price, old_qty, hidden, _)) = m.get(id) else {
                return (
                    false,
                    b.modify(&Modify {
                        order_id: id,
                        side: Side::Bid,
                        kind: ModifyKind::Price,
                        old_price: 0,
                        new_price: 1,
                        new_qty: 1,
                        old_level: lvl(0, 0),
                        new_level: lvl(0, 0),
                    })
                    .map(drop),
                );
            };
            let new_price = price + price_delta;
            let kind = if price_delta != 0 {
                ModifyKind::Price
            } else if qty < old_qty {
                ModifyKind::QuantityDecrease
            } else {
                ModifyKind::QuantityIncrease
            };
            let valid = qty > 0
                && (price_delta == 0 || !m.crosses(side, new_price))
                && (price_delta != 0 || qty != old_qty);
            let mut after = m.clone();
            let o = after.orders.iter_mut().find(|o| o.0 == id).unwrap();
            o.2 = new_price;
            o.3 = qty;
            if kind != ModifyKind::QuantityDecrease {
                after.clock += 1;
                o.5 = after.clock;
            }
            let _ = hidden;
            let (old_level, new_level) = (after.level(side, price), after.level(side, new_price));
            if valid {
                *m = after;
            }
            (
                valid,
                b.modify(&Modify {
                    order_id: id,
                    side,
                    kind,
                    old_price: price,
                    new_price,
                    new_qty: qty,
                    old_level,
                    new_level,
                })
                .map(drop),
            )
        }
        Op::Delete { id } => {
            let Some(&(_, side, price, ..)) = m.get(id) else {
                return (
                    false,
                    b.delete(&Delete {
                        order_id: id,
                        side: Side::Bid,
                        price: 100,
                        level: lvl(0, 0),
                    })
                    .map(drop),
                );
            };
            m.orders.retain(|o| o.0 != id);
            (
                true,
                b.delete(&Delete {
                    order_id: id,
                    side,
                    price,
                    level: m.level(side, price),
                })
                .map(drop),
            )
        }
        Op::Execute { id, qty } => {
            let Some(&(_, side, price, resting, ..)) = m.get(id) else {
                return (
                    false,
                    b.execute(&Execute {
                        order_id: id,
                        side: Side::Ask,
                        price: 100,
                        executed: 1,
                        remaining: 0,
                        level: lvl(0, 0),
                    })
                    .map(drop),
                );
            };
            let valid = qty > 0 && qty <= resting;
            let remaining = resting.saturating_sub(qty);
            let mut after = m.clone();
            if valid {
                if remaining == 0 {
                    after.orders.retain(|o| o.0 != id);
                } else {
                    after.orders.iter_mut().find(|o| o.0 == id).unwrap().3 = remaining;
                }
            }
            let level = after.level(side, price);
            if valid {
                *m = after;
            }
            (
                valid,
                b.execute(&Execute {
                    order_id: id,
                    side,
                    price,
                    executed: qty,
                    remaining,
                    level,
                })
                .map(drop),
            )
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Every operation the model accepts the book accepts, and vice versa; refused ones
    /// change nothing; the invariants hold throughout; levels and queues match the model.
    #[test]
    fn book_matches_the_model(ops in prop::collection::vec(op(), 1..200)) {
        let mut model = Model::default();
        let mut book = Book::new();
        for op in &ops {
            let before = format!("{book:?}");
            let (valid, got) = step(&mut model, op, &mut book);
            prop_assert_eq!(valid, got.is_ok(), "{:?}: model says {}, book says {:?}", op, valid, got);
            if got.is_err() {
                prop_assert_eq!(&before, &format!("{book:?}"), "a refused increment changed the book");
            }
            if let Err(e) = book.check_invariants() {
                prop_assert!(false, "after {:?}: {}", op, e);
            }
        }
        for side in [Side::Bid, Side::Ask] {
            let mut prices: Vec<i64> = model.orders.iter().filter(|o| o.1 == side).map(|o| o.2).collect();
            prices.sort_unstable();
            prices.dedup();
            for p in prices {
                let got: Vec<u64> = book.queue(side, p).iter().map(|o| o.order_id).collect();
                prop_assert_eq!(got, model.queue(side, p), "queue {:?} {}", side, p);
            }
            let top = book.top(side, 100);
            let levels: u32 = top.iter().map(|l| l.count).sum();
            prop_assert_eq!(levels as usize, model.orders.iter().filter(|o| o.1 == side && !o.4).count());
        }
    }
}

#[test]
fn each_change_returns_the_levels_after_it() {
    let mut b = Book::for_publisher();
    let none = lvl(0, 0);
    let add = |b: &mut Book, order_id, price, qty, hidden| {
        b.add(&Add {
            order_id,
            side: Side::Bid,
            price,
            qty,
            hidden,
            level: none,
        })
    };
    assert_eq!(add(&mut b, 1, 100, 10, false), Ok(lvl(10, 1)));
    assert_eq!(add(&mut b, 2, 100, 5, false), Ok(lvl(15, 2)));
    assert_eq!(
        add(&mut b, 3, 100, 7, true),
        Ok(lvl(15, 2)),
        "hidden: not in the level"
    );
    let moved = b.modify(&Modify {
        order_id: 1,
        side: Side::Bid,
        kind: ModifyKind::Price,
        old_price: 100,
        new_price: 99,
        new_qty: 10,
        old_level: none,
        new_level: none,
    });
    assert_eq!(moved, Ok((lvl(5, 1), lvl(10, 1))));
    let fill = b.execute(&Execute {
        order_id: 2,
        side: Side::Bid,
        price: 100,
        executed: 2,
        remaining: 3,
        level: none,
    });
    assert_eq!(fill, Ok(lvl(3, 1)));
    assert_eq!(
        b.delete(&Delete {
            order_id: 2,
            side: Side::Bid,
            price: 100,
            level: none
        }),
        Ok(lvl(0, 0))
    );
    // A publisher's book still refuses what does not fit, and says why.
    assert_eq!(
        add(&mut b, 1, 98, 1, false),
        Err(BookError::DuplicateOrder { order_id: 1 })
    );
    // An ordinary book checks the stated level; the publisher's does not.
    let mut checked = Book::new();
    assert!(matches!(
        add(&mut checked, 1, 100, 10, false),
        Err(BookError::LevelMismatch { .. })
    ));
    b.check_invariants().unwrap();
}

/// Found by `cargo xtask fuzz`: a level book took a delete naming an ask below its best bid
/// (with orders left) and became crossed. Any level an increment leaves with orders must not
/// cross; one it empties may be anywhere.
#[test]
fn a_level_book_refuses_levels_left_across_the_book() {
    let mut b = Book::new();
    let level = |price, qty, count| TopLevel { price, qty, count };
    b.apply_snapshot(&[level(100, 10, 1)], &[level(102, 5, 1)])
        .unwrap();
    let before = (b.top(Side::Bid, 10), b.top(Side::Ask, 10));
    let delete = |price, level| Delete {
        order_id: 1,
        side: Side::Ask,
        price,
        level,
    };
    assert_eq!(
        b.delete(&delete(99, lvl(3, 1))),
        Err(BookError::Crossed { bid: 100, ask: 99 })
    );
    let execute = Execute {
        order_id: 2,
        side: Side::Bid,
        price: 103,
        executed: 1,
        remaining: 2,
        level: lvl(2, 1),
    };
    assert_eq!(
        b.execute(&execute),
        Err(BookError::Crossed { bid: 103, ask: 102 })
    );
    let modify = Modify {
        order_id: 3,
        side: Side::Bid,
        kind: ModifyKind::QuantityDecrease,
        old_price: 102,
        new_price: 102,
        new_qty: 1,
        old_level: lvl(1, 1),
        new_level: lvl(1, 1),
    };
    assert!(matches!(b.modify(&modify), Err(BookError::Crossed { .. })));
    assert_eq!((b.top(Side::Bid, 10), b.top(Side::Ask, 10)), before);
    // Emptying a level the book does not have changes nothing and is not a cross.
    assert_eq!(b.delete(&delete(99, lvl(0, 0))), Ok(lvl(0, 0)));
    assert_eq!((b.top(Side::Bid, 10), b.top(Side::Ask, 10)), before);
}
