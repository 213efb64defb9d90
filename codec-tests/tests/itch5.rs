//! The ITCH 5.0 types the `itchy` parser lacks — the operational halt (`h`), the direct
//! listing's price discovery (`O`) and the imbalance direction `Paused` — read by a second
//! independent parser, `itch5` (crates.io), field by field against the generated crate.
//!
//! The messages are written by the generated crate's setters with values drawn by a seeded
//! generator, every enumeration cycling through all its variants; itch5 reads them from
//! NASDAQ's file format. An enumeration is compared by what itch5 makes of our byte against
//! what it read itself, so a field at the wrong offset or of the wrong width shows.

use std::ops::ControlFlow;

use itch5::messages as their;
use rltop_bench::itch::Rng;
use rltop_itch50 as itch;

const STOCKS: [&str; 4] = ["AAPL", "BRK A", "ZVZZT", "Q"];

/// `n` messages of each of the three types, in turn.
fn messages(n: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut out = Vec::new();
    for i in 0..n {
        let stock = STOCKS[i % STOCKS.len()];
        let t = rng.next_u64() >> 16;
        let mut h = itch::OperationalHalt::new();
        h.set_stock_locate(rng.next_u64() as u16);
        h.set_tracking_number(rng.next_u64() as u16);
        h.set_timestamp(t).unwrap();
        h.set_stock(stock).unwrap();
        h.set_market_code(itch::MarketCode::ALL[i % itch::MarketCode::ALL.len()]);
        h.set_operational_halt_action(
            itch::OperationalHaltAction::ALL[i % itch::OperationalHaltAction::ALL.len()],
        );
        out.push(h.as_bytes().to_vec());

        let mut o = itch::DirectListingCapitalRaise::new();
        o.set_stock_locate(rng.next_u64() as u16);
        o.set_tracking_number(rng.next_u64() as u16);
        o.set_timestamp(t).unwrap();
        o.set_stock(stock).unwrap();
        o.set_open_eligibility_status(itch::YesNo::ALL[i % 2]);
        o.set_minimum_allowable_price(rng.next_u64() as u32);
        o.set_maximum_allowable_price(rng.next_u64() as u32);
        o.set_near_execution_price(rng.next_u64() as u32);
        o.set_near_execution_time(rng.next_u64());
        o.set_lower_price_range_collar(rng.next_u64() as u32);
        o.set_upper_price_range_collar(rng.next_u64() as u32);
        out.push(o.as_bytes().to_vec());

        let mut m = itch::Noii::new();
        m.set_stock_locate(rng.next_u64() as u16);
        m.set_tracking_number(rng.next_u64() as u16);
        m.set_timestamp(t).unwrap();
        m.set_paired_shares(rng.next_u64());
        m.set_imbalance_shares(rng.next_u64());
        m.set_imbalance_direction(
            itch::ImbalanceDirection::ALL[i % itch::ImbalanceDirection::ALL.len()],
        );
        m.set_stock(stock).unwrap();
        m.set_far_price(rng.next_u64() as u32);
        m.set_near_price(rng.next_u64() as u32);
        m.set_current_reference_price(rng.next_u64() as u32);
        m.set_cross_type(itch::NoiiCrossType::ALL[i % itch::NoiiCrossType::ALL.len()]);
        m.set_price_variation_indicator(
            itch::PriceVariation::ALL[i % itch::PriceVariation::ALL.len()],
        );
        out.push(m.as_bytes().to_vec());
    }
    out
}

/// Walks itch5's callbacks alongside our messages, collecting every disagreement.
struct Compare<'a> {
    ours: &'a [Vec<u8>],
    next: usize,
    seen: usize,
    differences: Vec<String>,
}

impl Compare<'_> {
    /// Our message for itch5's next callback.
    fn ours(&mut self) -> itch::Message<'_> {
        let bytes = &self.ours[self.next];
        self.next += 1;
        self.seen += 1;
        itch::Message::decode(bytes).expect("the generated crate reads what it wrote")
    }

    fn same(&mut self, what: &str, ours: String, theirs: String) {
        if ours != theirs {
            self.differences.push(format!(
                "message {}: {what}: ours {ours}, itch5 {theirs}",
                self.next - 1
            ));
        }
    }
}

/// An enumeration's byte as itch5 maps it, beside what itch5 read: `Debug` of both.
macro_rules! same_enum {
    ($cmp:expr, $what:literal, $theirs_ty:ty, $ours:expr, $theirs:expr) => {{
        let ours = <$theirs_ty>::from_byte($ours.map(|v| v.value()).unwrap_or(0));
        $cmp.same($what, format!("{ours:?}"), format!("{:?}", $theirs));
    }};
}

macro_rules! same {
    ($cmp:expr, $($what:literal: $ours:expr, $theirs:expr;)*) => {{
        $($cmp.same($what, format!("{:?}", $ours), format!("{:?}", $theirs));)*
    }};
}

impl itch5::MessageHandler for Compare<'_> {
    fn on_operational_halt(&mut self, t: &their::OperationalHalt) -> ControlFlow<()> {
        let itch::Message::OperationalHalt(m) = self.ours() else {
            self.differences
                .push("itch5 read an operational halt".into());
            return ControlFlow::Break(());
        };
        let m = *m;
        same! { self,
            "stock_locate": m.stock_locate(), t.stock_locate();
            "tracking_number": m.tracking_number(), t.tracking_number();
            "timestamp": m.timestamp(), t.timestamp().to_u64();
            "stock": m.stock(), t.stock().as_str().trim_end();
        }
        same_enum!(
            self,
            "market_code",
            their::MarketCode,
            m.market_code(),
            t.market_code()
        );
        same_enum!(
            self,
            "operational_halt_action",
            their::OperationalHaltAction,
            m.operational_halt_action(),
            t.operational_halt_action()
        );
        ControlFlow::Continue(())
    }

    fn on_direct_listing_with_capital_raise_price_discovery(
        &mut self,
        t: &their::DirectListingwithCapitalRaisePriceDiscovery,
    ) -> ControlFlow<()> {
        let itch::Message::DirectListingCapitalRaise(m) = self.ours() else {
            self.differences.push("itch5 read a direct listing".into());
            return ControlFlow::Break(());
        };
        let m = *m;
        same! { self,
            "stock_locate": m.stock_locate(), t.stock_locate();
            "tracking_number": m.tracking_number(), t.tracking_number();
            "timestamp": m.timestamp(), t.timestamp().to_u64();
            "stock": m.stock(), t.stock().as_str().trim_end();
            "minimum_allowable_price": m.minimum_allowable_price(), t.minimum_allowable_price().into_u32();
            "maximum_allowable_price": m.maximum_allowable_price(), t.maximum_allowable_price().into_u32();
            "near_execution_price": m.near_execution_price(), t.near_execution_price().into_u32();
            "near_execution_time": m.near_execution_time(), t.near_execution_time();
            "lower_price_range_collar": m.lower_price_range_collar(), t.lower_price_range_collar().into_u32();
            "upper_price_range_collar": m.upper_price_range_collar(), t.upper_price_range_collar().into_u32();
        }
        same_enum!(
            self,
            "open_eligibility_status",
            their::OpenEligibilityStatus,
            m.open_eligibility_status(),
            t.open_eligibility_status()
        );
        ControlFlow::Continue(())
    }

    fn on_net_order_imbalance_indicator(
        &mut self,
        t: &their::NetOrderImbalanceIndicator,
    ) -> ControlFlow<()> {
        let itch::Message::Noii(m) = self.ours() else {
            self.differences.push("itch5 read an imbalance".into());
            return ControlFlow::Break(());
        };
        let m = *m;
        same! { self,
            "stock_locate": m.stock_locate(), t.stock_locate();
            "tracking_number": m.tracking_number(), t.tracking_number();
            "timestamp": m.timestamp(), t.timestamp().to_u64();
            "paired_shares": m.paired_shares(), t.paired_shares();
            "imbalance_shares": m.imbalance_shares(), t.imbalance_shares();
            "stock": m.stock(), t.stock().as_str().trim_end();
            "far_price": m.far_price(), t.far_price().into_u32();
            "near_price": m.near_price(), t.near_price().into_u32();
            "current_reference_price": m.current_reference_price(), t.current_reference_price().into_u32();
        }
        same_enum!(
            self,
            "imbalance_direction",
            their::ImbalanceDirection,
            m.imbalance_direction(),
            t.imbalance_direction()
        );
        same_enum!(
            self,
            "cross_type",
            their::CrossType,
            m.cross_type(),
            t.cross_type()
        );
        same_enum!(
            self,
            "price_variation_indicator",
            their::PriceVariationIndicator,
            m.price_variation_indicator(),
            t.price_variation_indicator()
        );
        ControlFlow::Continue(())
    }
}

#[test]
fn itch5_reads_the_types_itchy_lacks_as_the_generated_crate_does() {
    let ours = messages(300);
    let file = rltop_bench::itch::file(&ours);
    let mut cmp = Compare {
        ours: &ours,
        next: 0,
        seen: 0,
        differences: Vec::new(),
    };
    itch5::Parser::new(&file)
        .parse_stream(&mut cmp)
        .expect("itch5 reads every message");
    assert_eq!(cmp.seen, ours.len(), "itch5 called back once a message");
    assert!(
        cmp.differences.is_empty(),
        "{:#?}",
        &cmp.differences[..cmp.differences.len().min(10)]
    );
    // Every imbalance direction went through, Paused ('P') included.
    let directions: std::collections::BTreeSet<u8> = ours
        .iter()
        .filter_map(|b| match itch::Message::decode(b) {
            Ok(itch::Message::Noii(m)) => m.imbalance_direction().ok().map(|d| d.value()),
            _ => None,
        })
        .collect();
    assert!(directions.contains(&b'P'), "{directions:?}");
}
