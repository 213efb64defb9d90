//! The crate generated from schema/examples/itch50.rlt (`rltop-itch50`), held to NASDAQ's
//! specification three ways: bytes written out by hand from the specification, the `itchy`
//! crate (an independent nom parser of ITCH 5.0, unmodified, from crates.io) reading what the
//! generated crate wrote, and a MoldUDP64 session walked packet by packet.

use rltop_bench::itch::sample;
use rltop_itch50 as itch;
use rltop_runtime::moldudp64;
use rltop_runtime::DecodeError;

#[test]
fn an_add_order_written_out_by_hand_from_the_specification_decodes() {
    // NASDAQ TotalView-ITCH 5.0, section 1.3.1 (Add Order, no MPID attribution): 36 bytes.
    let mut b = Vec::new();
    b.push(b'A'); // message type
    b.extend_from_slice(&[0x00, 0x2A]); // stock locate 42
    b.extend_from_slice(&[0x00, 0x07]); // tracking number 7
    b.extend_from_slice(&[0x1F, 0x1A, 0xCE, 0xD9, 0xF0, 0x01]); // 09:30:00.000000001
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x30, 0x39]); // order reference 12345
    b.push(b'S'); // sell
    b.extend_from_slice(&[0, 0, 0x01, 0x2C]); // 300 shares
    b.extend_from_slice(b"AAPL    "); // stock, space padded
    b.extend_from_slice(&[0x00, 0x16, 0xE3, 0x60]); // price 150.0000 (1 500 000)
    assert_eq!(b.len(), 36);
    let m = itch::AddOrder::decode(&b).unwrap();
    assert_eq!(m.stock_locate(), 42);
    assert_eq!(m.tracking_number(), 7);
    assert_eq!(m.timestamp(), 34_200_000_000_001);
    assert_eq!(m.order_reference_number(), 12_345);
    assert_eq!(m.buy_sell_indicator(), Ok(itch::BuySell::Sell));
    assert_eq!(m.shares(), 300);
    assert_eq!(m.stock(), "AAPL");
    assert_eq!(m.price(), 1_500_000);
    assert_eq!(itch::PRICE4_SCALE, 4);
    match itch::Message::decode(&b).unwrap() {
        itch::Message::AddOrder(same) => assert_eq!(same.as_bytes(), &b[..]),
        other => panic!("decoded as {}", other.name()),
    }
    // Its canonical JSON, written out by hand: enumerations by name, Price(4) as a decimal
    // string, 64-bit integers as strings, text without its padding.
    assert_eq!(
        m.to_json(),
        r#"{"type":"AddOrder","message_type":"A","stock_locate":42,"tracking_number":7,"timestamp":34200000000001,"order_reference_number":"12345","buy_sell_indicator":"Sell","shares":300,"stock":"AAPL","price":"150.0000"}"#
    );
    // Written back through the setters: the same bytes.
    let mut again = itch::AddOrder::new();
    again.set_stock_locate(42);
    again.set_tracking_number(7);
    again.set_timestamp(34_200_000_000_001).unwrap();
    again.set_order_reference_number(12_345);
    again.set_buy_sell_indicator(itch::BuySell::Sell);
    again.set_shares(300);
    again.set_stock("AAPL").unwrap();
    again.set_price(1_500_000);
    assert_eq!(again.as_bytes(), &b[..]);
}

#[test]
fn bad_bytes_are_refused_at_their_offset_and_field() {
    let good = sample(1).remove(0);
    assert_eq!(good[0], b'A');
    let mut side = good.clone();
    side[19] = b'X';
    assert_eq!(
        itch::Message::decode(&side).unwrap_err(),
        DecodeError::BadEnum {
            offset: 19,
            field: "AddOrder.buy_sell_indicator",
            value: i64::from(b'X')
        }
    );
    let mut stock = good.clone();
    stock[25] = 0;
    assert_eq!(
        itch::Message::decode_at(&stock, 100).unwrap_err(),
        DecodeError::BadText {
            offset: 124,
            field: "AddOrder.stock"
        }
    );
    assert_eq!(
        itch::Message::decode(&good[..35]).unwrap_err(),
        DecodeError::Truncated {
            offset: 0,
            needed: 36,
            available: 35
        }
    );
    let mut long = good.clone();
    long.push(b' ');
    assert_eq!(
        itch::Message::decode(&long).unwrap_err(),
        DecodeError::BadLength {
            offset: 0,
            msg_type: b'A',
            length: 37,
            expected: 36
        }
    );
    let mut unknown = good.clone();
    unknown[0] = b'z';
    assert!(matches!(
        itch::Message::decode(&unknown).unwrap_err(),
        DecodeError::UnknownType {
            offset: 0,
            msg_type: b'z',
            ..
        }
    ));
    assert!(matches!(
        itch::OrderDelete::decode(&good).unwrap_err(),
        DecodeError::UnexpectedType {
            found: b'A',
            expected: b'D',
            ..
        }
    ));
    let mut t = itch::AddOrder::new();
    assert!(
        t.set_timestamp(1 << 48).is_err(),
        "a 48-bit field refuses 2^48"
    );
    assert_eq!(t.timestamp(), 0);
}

#[test]
fn new_writes_the_type_code_and_the_padding() {
    // Text and characters start as spaces, so the first field `decode` stops at is the
    // first enumeration (zero is no ITCH code): the market code, after the stock.
    let mut halt = itch::OperationalHalt::new();
    assert_eq!(halt.as_bytes()[0], b'h');
    assert_eq!(halt.stock(), "");
    assert_eq!(
        itch::Message::decode(halt.as_bytes()).unwrap_err(),
        DecodeError::BadEnum {
            offset: 19,
            field: "OperationalHalt.market_code",
            value: 0
        }
    );
    halt.set_market_code(itch::MarketCode::Bx);
    halt.set_operational_halt_action(itch::OperationalHaltAction::Resumed);
    halt.set_stock("ZVZZT").unwrap();
    let m = itch::OperationalHalt::decode(halt.as_bytes()).unwrap();
    assert_eq!(&m.as_bytes()[11..21], b"ZVZZT   BT");
}

#[test]
fn itchy_reads_what_the_generated_crate_writes_field_by_field() {
    let messages = sample(12_000);
    // NASDAQ's file format, which itchy reads: each message behind a big-endian u16 length.
    let file = rltop_bench::itch::file(&messages);
    let theirs: Vec<itchy::Message> = itchy::MessageStream::from_reader(&file[..])
        .collect::<Result<_, _>>()
        .expect("itchy reads the whole sample");
    assert_eq!(theirs.len(), messages.len());
    for (i, (bytes, them)) in messages.iter().zip(&theirs).enumerate() {
        let ours = itch::Message::decode(bytes).unwrap_or_else(|e| panic!("message {i}: {e}"));
        agree(&ours, them).unwrap_or_else(|e| panic!("message {i} ({}): {e}", ours.name()));
    }
}

/// Whether our decoding and itchy's say the same, field by field.
fn agree(ours: &itch::Message<'_>, them: &itchy::Message) -> Result<(), String> {
    use itch::Message as M;
    use itchy::Body as B;
    let eq = |what: &str, a: String, b: String| {
        if a == b {
            Ok(())
        } else {
            Err(format!("{what}: ours {a}, itchy {b}"))
        }
    };
    macro_rules! same {
        ($($what:literal: $a:expr, $b:expr;)*) => {{
            $(eq($what, format!("{:?}", $a), format!("{:?}", $b))?;)*
        }};
    }
    eq("type", ours.type_code().to_string(), them.tag.to_string())?;
    macro_rules! head {
        ($m:expr) => {
            same! {
                "stock_locate": $m.stock_locate(), them.stock_locate;
                "tracking_number": $m.tracking_number(), them.tracking_number;
                "timestamp": $m.timestamp(), them.timestamp;
            }
        };
    }
    let side = |s: Result<itch::BuySell, _>| s.map(|s| s.value()).ok();
    let their_side = |s: itchy::Side| {
        Some(match s {
            itchy::Side::Buy => b'B',
            itchy::Side::Sell => b'S',
        })
    };
    match (ours, &them.body) {
        (M::AddOrder(m), B::AddOrder(o)) => {
            head!(m);
            same! {
                "reference": m.order_reference_number(), o.reference;
                "side": side(m.buy_sell_indicator()), their_side(o.side);
                "shares": m.shares(), o.shares;
                "stock": m.stock(), o.stock.trim_end_matches(' ');
                "price": m.price(), o.price.raw();
                "mpid": None::<&str>, o.mpid.as_ref().map(|s| s.trim_end_matches(' '));
            }
        }
        (M::AddOrderMpid(m), B::AddOrder(o)) => {
            head!(m);
            same! {
                "reference": m.order_reference_number(), o.reference;
                "side": side(m.buy_sell_indicator()), their_side(o.side);
                "shares": m.shares(), o.shares;
                "stock": m.stock(), o.stock.trim_end_matches(' ');
                "price": m.price(), o.price.raw();
                "mpid": Some(m.attribution()), o.mpid.as_ref().map(|s| s.trim_end_matches(' '));
            }
        }
        (
            M::OrderExecuted(m),
            B::OrderExecuted {
                reference,
                executed,
                match_number,
            },
        ) => {
            head!(m);
            same! {
                "reference": m.order_reference_number(), reference;
                "executed": m.executed_shares(), executed;
                "match": m.match_number(), match_number;
            }
        }
        (
            M::OrderExecutedWithPrice(m),
            B::OrderExecutedWithPrice {
                reference,
                executed,
                match_number,
                printable,
                price,
            },
        ) => {
            head!(m);
            same! {
                "reference": m.order_reference_number(), reference;
                "executed": m.executed_shares(), executed;
                "match": m.match_number(), match_number;
                "printable": m.printable() == Ok(itch::YesNo::Yes), printable;
                "price": m.execution_price(), price.raw();
            }
        }
        (
            M::OrderCancel(m),
            B::OrderCancelled {
                reference,
                cancelled,
            },
        ) => {
            head!(m);
            same! {
                "reference": m.order_reference_number(), reference;
                "cancelled": m.cancelled_shares(), cancelled;
            }
        }
        (M::OrderDelete(m), B::DeleteOrder { reference }) => {
            head!(m);
            same! { "reference": m.order_reference_number(), reference; }
        }
        (M::OrderReplace(m), B::ReplaceOrder(o)) => {
            head!(m);
            same! {
                "old": m.original_order_reference_number(), o.old_reference;
                "new": m.new_order_reference_number(), o.new_reference;
                "shares": m.shares(), o.shares;
                "price": m.price(), o.price.raw();
            }
        }
        (M::Trade(m), B::NonCrossTrade(o)) => {
            head!(m);
            same! {
                "reference": m.order_reference_number(), o.reference;
                "side": side(m.buy_sell_indicator()), their_side(o.side);
                "shares": m.shares(), o.shares;
                "stock": m.stock(), o.stock.trim_end_matches(' ');
                "price": m.price(), o.price.raw();
                "match": m.match_number(), o.match_number;
            }
        }
        (M::CrossTrade(m), B::CrossTrade(o)) => {
            head!(m);
            same! {
                "shares": m.shares(), o.shares;
                "stock": m.stock(), o.stock.trim_end_matches(' ');
                "price": m.cross_price(), o.cross_price.raw();
                "match": m.match_number(), o.match_number;
                "cross_type": m.cross_type().map(|c| c.value()), Ok::<u8, ()>(cross(o.cross_type));
            }
        }
        (M::BrokenTrade(m), B::BrokenTrade { match_number }) => {
            head!(m);
            same! { "match": m.match_number(), match_number; }
        }
        (M::Noii(m), B::Imbalance(o)) => {
            head!(m);
            same! {
                "paired": m.paired_shares(), o.paired_shares;
                "imbalance": m.imbalance_shares(), o.imbalance_shares;
                "stock": m.stock(), o.stock.trim_end_matches(' ');
                "far": m.far_price(), o.far_price.raw();
                "near": m.near_price(), o.near_price.raw();
                "reference": m.current_reference_price(), o.current_ref_price.raw();
                "direction": m.imbalance_direction().map(|d| d.value()), Ok::<u8, ()>(direction(o.imbalance_direction));
                "cross_type": m.cross_type().map(|c| c.value()), Ok::<u8, ()>(cross(o.cross_type));
                "variation": m.price_variation_indicator().map(|v| char::from(v.value())).ok(), Some(o.price_variation_indicator);
            }
        }
        (
            M::MwcbDeclineLevel(m),
            B::MwcbDeclineLevel {
                level1,
                level2,
                level3,
            },
        ) => {
            head!(m);
            same! {
                "level1": m.level1(), level1.raw();
                "level2": m.level2(), level2.raw();
                "level3": m.level3(), level3.raw();
            }
        }
        (ours, theirs) => return agree_reference_data(ours, theirs),
    }
    Ok(())
}

/// Whether the start-of-day messages (S, R, H) agree field by field, enumerations compared
/// through itchy's own variants by the specification's codes (the tables below).
fn agree_reference_data(ours: &itch::Message<'_>, them: &itchy::Body) -> Result<(), String> {
    use itch::Message as M;
    use itchy::Body as B;
    let eq = |what: &str, a: String, b: String| {
        if a == b {
            Ok(())
        } else {
            Err(format!("{what}: ours {a}, itchy {b}"))
        }
    };
    macro_rules! same {
        ($($what:literal: $a:expr, $b:expr;)*) => {{
            $(eq($what, format!("{:?}", $a), format!("{:?}", $b))?;)*
        }};
    }
    let code = |v: Option<u8>| v.map(char::from);
    let yes_no = |b: bool| Some(if b { 'Y' } else { 'N' });
    let maybe = |b: Option<bool>| Some(b.map_or(' ', |b| if b { 'Y' } else { 'N' }));
    match (ours, them) {
        (M::SystemEvent(m), B::SystemEvent { event }) => same! {
            "event_code": code(m.event_code().ok().map(|e| e.value())),
            code_of(*event, &EVENT_CODES);
        },
        (
            M::StockTradingAction(m),
            B::TradingAction {
                stock,
                trading_state,
                reason,
            },
        ) => same! {
            "stock": m.stock(), stock.trim_end_matches(' ');
            "trading_state": code(m.trading_state().ok().map(|e| e.value())),
                code_of(*trading_state, &TRADING_STATES);
            "reason": m.reason(), reason.trim_end_matches(' ');
        },
        (M::StockDirectory(m), B::StockDirectory(d)) => same! {
            "stock": m.stock(), d.stock.trim_end_matches(' ');
            "market_category": code(m.market_category().ok().map(|e| e.value())),
                code_of(d.market_category, &MARKET_CATEGORIES);
            "financial_status": code(m.financial_status().ok().map(|e| e.value())),
                code_of(d.financial_status, &FINANCIAL_STATUSES);
            "round_lot_size": m.round_lot_size(), d.round_lot_size;
            "round_lots_only": code(m.round_lots_only().ok().map(|e| e.value())),
                yes_no(d.round_lots_only);
            "issue_classification": code(m.issue_classification().ok().map(|e| e.value())),
                code_of(d.issue_classification, &ISSUE_CLASSIFICATIONS);
            "issue_sub_type": Some(format!("{:<2}", m.issue_sub_type())),
                ISSUE_SUB_TYPES.iter().find(|(_, v)| *v == d.issue_subtype).map(|(c, _)| c.to_string());
            "authenticity": code(m.authenticity().ok().map(|e| e.value())),
                Some(if d.authenticity { 'P' } else { 'T' });
            "short_sale_threshold": code(m.short_sale_threshold().ok().map(|e| e.value())),
                maybe(d.short_sale_threshold);
            "ipo_flag": code(m.ipo_flag().ok().map(|e| e.value())), maybe(d.ipo_flag);
            "luld_reference_price_tier": code(m.luld_reference_price_tier().ok().map(|e| e.value())),
                code_of(d.luld_ref_price_tier, &LULD_TIERS);
            // itchy reads 'M' as Some(true) too; RITCH's sample has none.
            "etp_flag": code(m.etp_flag().ok().map(|e| e.value())), maybe(d.etp_flag);
            "etp_leverage_factor": m.etp_leverage_factor(), d.etp_leverage_factor;
            "inverse_indicator": code(m.inverse_indicator().ok().map(|e| e.value())),
                yes_no(d.inverse_indicator);
        },
        (ours, theirs) => return Err(format!("{} read by itchy as {theirs:?}", ours.name())),
    }
    Ok(())
}

/// The specification's code for one of itchy's variants, from a table below.
fn code_of<T: PartialEq + Copy>(v: T, table: &[(u8, T)]) -> Option<char> {
    table
        .iter()
        .find(|(_, t)| *t == v)
        .map(|(c, _)| char::from(*c))
}

/// The codes of ITCH 5.0's specification (section 4), against itchy's variants.
const EVENT_CODES: [(u8, itchy::EventCode); 6] = {
    use itchy::EventCode as E;
    [
        (b'O', E::StartOfMessages),
        (b'S', E::StartOfSystemHours),
        (b'Q', E::StartOfMarketHours),
        (b'M', E::EndOfMarketHours),
        (b'E', E::EndOfSystemHours),
        (b'C', E::EndOfMessages),
    ]
};
const TRADING_STATES: [(u8, itchy::TradingState); 4] = {
    use itchy::TradingState as T;
    [
        (b'H', T::Halted),
        (b'P', T::Paused),
        (b'Q', T::QuotationOnly),
        (b'T', T::Trading),
    ]
};
const MARKET_CATEGORIES: [(u8, itchy::MarketCategory); 9] = {
    use itchy::MarketCategory as M;
    [
        (b'Q', M::NasdaqGlobalSelect),
        (b'G', M::NasdaqGlobalMarket),
        (b'S', M::NasdaqCapitalMarket),
        (b'N', M::Nyse),
        (b'A', M::NyseMkt),
        (b'P', M::NyseArca),
        (b'Z', M::BatsZExchange),
        (b'V', M::InvestorsExchange),
        (b' ', M::Unavailable),
    ]
};
const FINANCIAL_STATUSES: [(u8, itchy::FinancialStatus); 11] = {
    use itchy::FinancialStatus as F;
    [
        (b'N', F::Normal),
        (b'D', F::Deficient),
        (b'E', F::Delinquent),
        (b'Q', F::Bankrupt),
        (b'S', F::Suspended),
        (b'G', F::DeficientBankrupt),
        (b'H', F::DeficientDelinquent),
        (b'J', F::DelinquentBankrupt),
        (b'K', F::DeficientDelinquentBankrupt),
        (b'C', F::EtpSuspended),
        (b' ', F::Unavailable),
    ]
};
const ISSUE_CLASSIFICATIONS: [(u8, itchy::IssueClassification); 16] = {
    use itchy::IssueClassification as I;
    [
        (b'A', I::AmericanDepositaryShare),
        (b'B', I::Bond),
        (b'C', I::CommonStock),
        (b'F', I::DepositoryReceipt),
        (b'I', I::A144),
        (b'L', I::LimitedPartnership),
        (b'N', I::Notes),
        (b'O', I::OrdinaryShare),
        (b'P', I::PreferredStock),
        (b'Q', I::OtherSecurities),
        (b'R', I::Right),
        (b'S', I::SharesOfBeneficialInterest),
        (b'T', I::ConvertibleDebenture),
        (b'U', I::Unit),
        (b'V', I::UnitsPerBenifInt),
        (b'W', I::Warrant),
    ]
};
const LULD_TIERS: [(u8, itchy::LuldRefPriceTier); 3] = {
    use itchy::LuldRefPriceTier as L;
    [(b' ', L::Na), (b'1', L::Tier1), (b'2', L::Tier2)]
};
/// The sub-types RITCH's sample uses, and a few beside them (the table has ~60).
const ISSUE_SUB_TYPES: [(&str, itchy::IssueSubType); 6] = {
    use itchy::IssueSubType as S;
    [
        ("A ", S::PreferredTrustSecurities),
        ("C ", S::CommonShares),
        ("E ", S::ETFPortfolioDepositaryReceipt),
        ("I ", S::ETFIndexFundShares),
        ("Z ", S::NotApplicable),
        ("RT", S::REIT),
    ]
};

/// itchy's cross type as the specification's code.
fn cross(c: itchy::CrossType) -> u8 {
    use itchy::CrossType as C;
    match c {
        C::Opening => b'O',
        C::Closing => b'C',
        C::IpoOrHalted => b'H',
        C::Intraday => b'I',
        C::ExtendedTradingClose => b'A',
    }
}

/// itchy's imbalance direction as the specification's code.
fn direction(d: itchy::ImbalanceDirection) -> u8 {
    use itchy::ImbalanceDirection as D;
    match d {
        D::Buy => b'B',
        D::Sell => b'S',
        D::NoImbalance => b'N',
        D::InsufficientOrders => b'O',
    }
}

#[test]
fn a_moldudp64_session_walks_packet_by_packet_with_continuous_sequence_numbers() {
    let messages = sample(2_000);
    let mut writer = moldudp64::Writer::new("SAMPLE01", 1);
    let mut packets = Vec::new();
    for m in &messages {
        // A packet within a 1 500-byte MTU, as a feed handler sends them.
        if writer.len() + 2 + m.len() > 1_472 {
            packets.push(writer.finish());
        }
        writer.push(m).unwrap();
    }
    packets.push(writer.finish());
    packets.push(writer.heartbeat().to_vec());
    packets.push(writer.end_of_session().to_vec());
    let mut expected = 1;
    let mut seen = Vec::new();
    for p in &packets {
        let (header, blocks) = itch::packet(p).unwrap();
        assert_eq!(header.session_str(), Some("SAMPLE01"));
        assert_eq!(header.sequence, expected, "no gap between packets");
        for block in blocks {
            let (sequence, message) = block.unwrap();
            assert_eq!(sequence, expected);
            expected += 1;
            seen.push(message.as_bytes().to_vec());
        }
        assert_eq!(header.next_sequence(), expected);
    }
    assert_eq!(seen, messages, "every message, in order, byte for byte");
    assert!(packets.len() > 10);
    // A block whose message does not decode is reported with its sequence; the walk goes on.
    let mut bad = packets[0].clone();
    bad[20 + 2 + 19] = b'?';
    let (_, blocks) = itch::packet(&bad).unwrap();
    let items: Vec<_> = blocks.collect();
    assert!(matches!(
        items[0],
        Err(moldudp64::BlockError::Decode {
            sequence: 1,
            error: DecodeError::BadEnum { offset: 41, .. }
        })
    ));
    assert!(items[1..].iter().all(Result::is_ok));
}

/// One line a message, as `codec-tests/c/itch_walk.c` prints it.
fn rust_line(item: itch::Sequenced<'_>) -> String {
    match item {
        Ok((seq, m)) => format!("{seq} {}", m.to_json()),
        Err(moldudp64::BlockError::Decode { sequence, error }) => {
            format!("{sequence} {}", error_line(&error))
        }
        Err(moldudp64::BlockError::Frame(e)) => format!("- FRAME {e}"),
    }
}

/// `ERROR KIND OFFSET FIELD VALUE`, as the C and Python walkers print a decode error.
fn error_line(error: &DecodeError) -> String {
    let value = match *error {
        DecodeError::Truncated { needed, .. } => needed as i64,
        DecodeError::BadLength { length, .. } => i64::from(length),
        DecodeError::UnknownType { msg_type, .. } => i64::from(msg_type),
        DecodeError::BadEnum { value, .. } => value,
        _ => 0,
    };
    format!(
        "ERROR {} {} {} {value}",
        error.name(),
        error.offset(),
        error.field().unwrap_or("-")
    )
}

/// 3 000 sample messages in MoldUDP64 packets (each behind a u16 length, in a file), five of
/// them damaged one way each, and the Rust crate's line for every one.
fn damaged_session(who: &str) -> (std::path::PathBuf, Vec<String>) {
    let mut messages = sample(3_000);
    // An enumeration, a text, an unknown type, a short and a long block.
    messages[0][19] = b'X';
    messages[12][26] = 0x01;
    messages[24][0] = b'z';
    messages[36].pop();
    messages[48].push(b' ');
    let (input, expected) = session_file(who, &messages);
    let errors: Vec<_> = expected.iter().filter(|l| l.contains(" ERROR ")).collect();
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(
        errors[0].ends_with("ERROR BadEnum 41 AddOrder.buy_sell_indicator 88"),
        "{errors:?}"
    );
    (input, expected)
}

/// `messages` in MoldUDP64 packets within a 1 500-byte MTU, written to a file (each packet
/// behind a u16 length) in a directory of `who`'s own, and the Rust crate's line for each.
fn session_file(who: &str, messages: &[Vec<u8>]) -> (std::path::PathBuf, Vec<String>) {
    let mut writer = moldudp64::Writer::new("CTEST", 100);
    let mut file = Vec::new();
    let mut expected = Vec::new();
    let mut flush = |packet: Vec<u8>, file: &mut Vec<u8>| {
        let (_, blocks) = itch::packet(&packet).unwrap();
        expected.extend(blocks.map(rust_line));
        file.extend_from_slice(&(packet.len() as u16).to_be_bytes());
        file.extend_from_slice(&packet);
    };
    for m in messages {
        if writer.len() + 2 + m.len() > 1_472 {
            flush(writer.finish(), &mut file);
        }
        writer.push(m).unwrap();
    }
    flush(writer.finish(), &mut file);
    // A directory per walker: the tests run in parallel.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("itch-walk-{who}"));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("packets.bin");
    std::fs::write(&input, &file).unwrap();
    assert_eq!(expected.len(), messages.len());
    (input, expected)
}

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Another walker's output, line by line against the Rust crate's.
fn same_lines(who: &str, out: std::process::Output, expected: &[String]) {
    assert!(
        out.status.success(),
        "{who}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{who}");
    for (i, (theirs, ours)) in lines.iter().zip(expected).enumerate() {
        assert_eq!(theirs, ours, "{who}, line {i}");
    }
}

/// The generated C header (`generated/itch50/c/itch.h`), compiled with gcc under the address
/// and undefined-behaviour sanitizers, walks the same MoldUDP64 packets as the Rust crate to
/// the same lines: every message's canonical JSON, and every error's kind, offset, field
/// and value.
#[test]
fn c_and_rust_walk_the_same_packets_to_the_same_lines() {
    let (input, expected) = damaged_session("c");
    same_lines("C", c_walk(&input), &expected);
}

/// `codec-tests/c/itch_walk.c` on `input`, built beside it with gcc and the sanitizers.
fn c_walk(input: &std::path::Path) -> std::process::Output {
    let exe = input.with_file_name("itch_walk");
    let built = std::process::Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
        .arg("-I")
        .arg(repo().join("generated/itch50/c"))
        .arg(repo().join("codec-tests/c/itch_walk.c"))
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("gcc runs");
    assert!(built.success(), "gcc failed on the generated header");
    std::process::Command::new(&exe)
        .arg(input)
        .output()
        .unwrap()
}

/// The generated Python package (`generated/itch50/python`, standard library only) walks the
/// same packets to the same lines, and encodes every message it decodes back to its bytes.
#[test]
fn python_and_rust_walk_the_same_packets_to_the_same_lines() {
    let (input, expected) = damaged_session("python");
    same_lines("Python", python_walk(&input), &expected);
    // Encoding refuses what a field cannot hold, naming it.
    let out = std::process::Command::new("python3")
        .args(["-c", "import itch\ntry:\n    itch.AddOrder(timestamp=1 << 48).encode()\nexcept ValueError as e:\n    print(e)"])
        .env("PYTHONPATH", repo().join("generated/itch50/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "timestamp: 281474976710656 does not fit a 48-bit unsigned integer (0 to 281474976710655)"
    );
}

/// `codec-tests/py/itch_walk.py` on `input`.
fn python_walk(input: &std::path::Path) -> std::process::Output {
    std::process::Command::new("python3")
        .arg(repo().join("codec-tests/py/itch_walk.py"))
        .arg(input)
        .env("PYTHONPATH", repo().join("generated/itch50/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs")
}

/// RITCH's published counts per type for its sample (its `inst/tinytest/test_read_functions.R`).
const RITCH_COUNTS: [(u8, usize); 10] = [
    (b'S', 6),
    (b'R', 3),
    (b'H', 3),
    (b'A', 4_997),
    (b'F', 3),
    (b'E', 198),
    (b'X', 45),
    (b'D', 1_745),
    (b'U', 12),
    (b'P', 5_000),
];

/// RITCH's sample (tests/data/ritch) decodes whole with the generated crate, to the counts
/// per type RITCH publishes, and none of the other thirteen types.
#[test]
fn ritch_s_sample_decodes_to_ritch_s_published_counts_per_type() {
    let messages = rltop_bench::itch::ritch().unwrap();
    let mut counts = std::collections::BTreeMap::<u8, usize>::new();
    for (i, bytes) in messages.iter().enumerate() {
        let m = itch::Message::decode(bytes).unwrap_or_else(|e| panic!("message {i}: {e}"));
        *counts.entry(m.type_code()).or_default() += 1;
    }
    let expected: std::collections::BTreeMap<u8, usize> = RITCH_COUNTS.into_iter().collect();
    assert_eq!(counts, expected);
    assert_eq!(messages.len(), 12_012);
}

/// The generated Rust, C and Python read RITCH's sample, sent as a MoldUDP64 session, to the
/// same canonical JSON line by line, and Python encodes each message back to its bytes.
#[test]
fn rust_c_and_python_read_ritch_s_sample_to_the_same_lines() {
    let messages = rltop_bench::itch::ritch().unwrap();
    let (input, expected) = session_file("ritch", &messages);
    assert!(expected.iter().all(|l| !l.contains(" ERROR ")));
    same_lines("C", c_walk(&input), &expected);
    same_lines("Python", python_walk(&input), &expected);
}

/// itchy (an independent nom parser) reads RITCH's sample, given the lengths its prefixes
/// lack, field by field as the generated crate does.
#[test]
fn itchy_agrees_field_by_field_on_ritch_s_sample() {
    let messages = rltop_bench::itch::ritch().unwrap();
    let file = rltop_bench::itch::file(&messages);
    let theirs: Vec<itchy::Message> = itchy::MessageStream::from_reader(&file[..])
        .collect::<Result<_, _>>()
        .expect("itchy reads the whole sample");
    assert_eq!(theirs.len(), messages.len());
    for (i, (bytes, them)) in messages.iter().zip(&theirs).enumerate() {
        let ours = itch::Message::decode(bytes).unwrap_or_else(|e| panic!("message {i}: {e}"));
        agree(&ours, them).unwrap_or_else(|e| panic!("message {i} ({}): {e}", ours.name()));
    }
}

/// The same schema expanded at compile time by `include_schema!`.
mod expanded {
    rltop_runtime::include_schema!("../schema/examples/itch50.rlt");
}

/// `include_schema!` gives a protocol of another shape the same API and the same decoding
/// as the generated crate: every sample message to the same canonical JSON.
#[test]
fn include_schema_expands_itch_to_the_generated_crate_s_decoder() {
    for bytes in sample(1_200) {
        let a = itch::Message::decode(&bytes).unwrap();
        let b = expanded::Message::decode(&bytes).unwrap();
        assert_eq!(a.name(), b.name());
        assert_eq!(b.to_json(), a.to_json());
    }
    let mut m = expanded::AddOrder::new();
    assert!(m.set_timestamp(1 << 48).is_err());
    assert_eq!(expanded::PRICE4_SCALE, 4);
}

/// A hand-written struct checked against the schema's AddOrder by `#[derive(Message)]`.
mod hand_written {
    // The schema's types the derived accessors name.
    use rltop_itch50::{BuySell, Price4, Timestamp};
    use rltop_runtime::be;

    #[derive(
        Clone,
        Copy,
        rltop_runtime::bytemuck::Pod,
        rltop_runtime::bytemuck::Zeroable,
        rltop_runtime::Message,
    )]
    #[bytemuck(crate = "rltop_runtime::bytemuck")]
    #[repr(C, packed)]
    #[rltop(schema = "../schema/examples/itch50.rlt", message = "AddOrder")]
    pub struct MyAddOrder {
        pub message_type: u8,
        pub stock_locate: be::U16,
        pub tracking_number: be::U16,
        pub timestamp: be::U48,
        pub order_reference_number: be::U64,
        pub buy_sell_indicator: u8,
        pub shares: be::U32,
        pub stock: [u8; 8],
        pub price: be::U32,
    }

    /// Names the accessors' types, so that the imports above are what they resolve to.
    pub fn price_and_time(m: &MyAddOrder) -> (Price4, Timestamp, Option<BuySell>) {
        (m.price(), m.timestamp(), m.buy_sell_indicator().ok())
    }
}

/// The derived struct reads every AddOrder of RITCH's sample as the generated crate does,
/// refuses what it refuses at the same byte, and writes the same `new()`.
#[test]
fn a_hand_written_struct_derived_from_the_schema_decodes_as_the_generated_crate() {
    use hand_written::MyAddOrder;
    let messages = rltop_bench::itch::ritch().unwrap();
    let mut n = 0;
    for bytes in messages
        .iter()
        .filter(|m| m[0] == itch::AddOrder::TYPE_CODE)
    {
        let ours = MyAddOrder::decode(bytes).unwrap();
        let theirs = itch::AddOrder::decode(bytes).unwrap();
        assert_eq!(ours.to_json(), theirs.to_json());
        assert_eq!(
            hand_written::price_and_time(ours),
            (
                theirs.price(),
                theirs.timestamp(),
                theirs.buy_sell_indicator().ok()
            )
        );
        n += 1;
    }
    assert_eq!(n, 4_997);
    let mut bad = messages.iter().find(|m| m[0] == b'A').unwrap().clone();
    bad[19] = b'?';
    assert_eq!(
        MyAddOrder::decode(&bad).map(|_| ()),
        itch::AddOrder::decode(&bad).map(|_| ())
    );
    assert!(MyAddOrder::decode(&bad).is_err());
    assert_eq!(
        MyAddOrder::new().as_bytes(),
        itch::AddOrder::new().as_bytes()
    );
    assert_eq!(MyAddOrder::SIZE, itch::AddOrder::SIZE);
}

/// The ITCH schema with SoupBinTCP framing: its C header and Python package, generated into a
/// directory of this test's own through the library `rltop-codegen gen` runs.
fn soup_artifacts() -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("schema/examples/itch50.rlt")).unwrap();
    let text = text.replace("framing moldudp64;", "framing soupbintcp;");
    let checked = rltop_codegen::check("itch50-soupbintcp.rlt", &text);
    let laid = checked
        .laid
        .expect("the schema checks with SoupBinTCP framing");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("itch-soup");
    let mut outputs = rltop_codegen::Outputs::new(rltop_codegen::Banner::new(
        "codec-tests",
        "itch50-soupbintcp.rlt",
    ));
    outputs.c = Some(dir.join("c/itch.h"));
    outputs.python = Some(dir.join("py"));
    let files = rltop_codegen::artifacts_of(&laid, &outputs).unwrap();
    rltop_codegen::artifacts::write(std::path::Path::new("/"), &files).unwrap();
    dir
}

/// A SoupBinTCP session: the login, then 3 000 sample messages as sequenced data (five
/// damaged), with heartbeats, a debug packet, an unsequenced message and the end of the
/// session among them; and the Rust runtime's line for each packet.
fn soup_session(dir: &std::path::Path) -> (std::path::PathBuf, Vec<String>) {
    use rltop_runtime::soupbintcp::{self, Kind, Sequencer};
    let mut messages = sample(3_000);
    messages[0][19] = b'X';
    messages[12][26] = 0x01;
    messages[24][0] = b'z';
    messages[36].pop();
    messages[48].push(b' ');
    let mut stream = Vec::new();
    let login = format!("{:<10}{:>20}", "SOUP01", 7_000_000_000u64);
    soupbintcp::write(&mut stream, b'A', login.as_bytes()).unwrap();
    for (i, m) in messages.iter().enumerate() {
        soupbintcp::write(&mut stream, b'S', m).unwrap();
        match i % 500 {
            0 => soupbintcp::write(&mut stream, b'H', b"").unwrap(),
            1 => soupbintcp::write(&mut stream, b'+', b"debug \x01 text").unwrap(),
            2 => soupbintcp::write(&mut stream, b'U', &messages[3]).unwrap(),
            _ => {}
        }
    }
    soupbintcp::write(&mut stream, b'Z', b"").unwrap();
    let (packets, used, error) = soupbintcp::split(&stream);
    assert_eq!((used, error), (stream.len(), None));
    let mut sequencer = Sequencer::default();
    let lines: Vec<String> = packets
        .iter()
        .map(|p| {
            let seq = sequencer
                .number(p)
                .map_or("-".to_string(), |n| n.to_string());
            let kind = match p.kind {
                Kind::Other(c) => char::from(c),
                _ => char::from(stream[p.offset + 2]),
            };
            match p.kind {
                Kind::SequencedData | Kind::UnsequencedData => {
                    match itch::Message::decode_at(p.payload, p.offset + 3) {
                        Ok(m) => format!("{seq} {kind} {}", m.to_json()),
                        Err(e) => format!("{seq} {kind} {}", error_line(&e)),
                    }
                }
                _ => format!("- {kind}"),
            }
        })
        .collect();
    assert_eq!(lines.iter().filter(|l| l.contains(" ERROR ")).count(), 5);
    assert!(
        lines[1].starts_with("7000000000 S ERROR BadEnum 55 AddOrder.buy_sell_indicator"),
        "{}",
        lines[1]
    );
    let input = dir.join("stream.bin");
    std::fs::write(&input, &stream).unwrap();
    (input, lines)
}

/// The C header and the Python package generated for ITCH over SoupBinTCP read a session off
/// a stream in 97-byte reads, keeping partial packets, to the Rust runtime's lines: sequence
/// numbers from the login, every message's JSON or error, the session's other packets.
#[test]
fn soupbintcp_streams_read_the_same_in_rust_c_and_python() {
    let dir = soup_artifacts();
    let (input, expected) = soup_session(&dir);
    let exe = dir.join("itch_soup_walk");
    let built = std::process::Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
        .arg("-I")
        .arg(dir.join("c"))
        .arg(repo().join("codec-tests/c/itch_soup_walk.c"))
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("gcc runs");
    assert!(built.success(), "gcc failed on the SoupBinTCP header");
    let out = std::process::Command::new(&exe)
        .arg(&input)
        .output()
        .unwrap();
    same_lines("C", out, &expected);
    let out = std::process::Command::new("python3")
        .arg(repo().join("codec-tests/py/itch_soup_walk.py"))
        .arg(dir.join("py"))
        .arg(&input)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs");
    same_lines("Python", out, &expected);
}
