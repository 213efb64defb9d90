//! The generated `rltop` crate against the rules of schema/SPEC.md.

use proptest::prelude::*;
use rltop::*;
use rltop_runtime::{decode, finalize, FieldKind, Message as Wire};

/// Calls `$f::<T>()` for every message type of the schema.
macro_rules! for_each_message {
    ($f:ident) => {{
        $f::<OrderBookSnapshot>();
        $f::<TopOfBookSnapshot>();
        $f::<TradeSnapshot>();
        $f::<AddOrder>();
        $f::<ModifyOrder>();
        $f::<DeleteOrder>();
        $f::<ExecuteOrder>();
        $f::<Trade>();
        $f::<DailyStatistics>();
        $f::<KlineUpdate>();
        $f::<TickerUpdate>();
        $f::<LiquidationEvent>();
        $f::<InstrumentDefinition>();
        $f::<Heartbeat>();
        $f::<Login>();
        $f::<LoginAccepted>();
        $f::<LoginRejected>();
        $f::<ChannelStatus>();
        $f::<Subscribe>();
        $f::<Unsubscribe>();
        $f::<ReplayRequest>();
        $f::<ReplayComplete>();
        $f::<ReplayRejected>();
        $f::<SessionHeartbeat>();
        $f::<Logout>();
        $f::<EndOfSession>();
        $f::<Reject>();
    }};
}

#[test]
fn the_list_above_is_every_message_type() {
    let mut codes = Vec::new();
    fn push<M: Wire>(codes: &mut Vec<u8>) {
        codes.push(M::TYPE_CODE);
    }
    macro_rules! collect { ($($t:ty),*) => { $(push::<$t>(&mut codes);)* } }
    collect!(
        OrderBookSnapshot,
        TopOfBookSnapshot,
        TradeSnapshot,
        AddOrder,
        ModifyOrder,
        DeleteOrder,
        ExecuteOrder,
        Trade,
        DailyStatistics,
        KlineUpdate,
        TickerUpdate,
        LiquidationEvent,
        InstrumentDefinition,
        Heartbeat,
        Login,
        LoginAccepted,
        LoginRejected,
        ChannelStatus,
        Subscribe,
        Unsubscribe,
        ReplayRequest,
        ReplayComplete,
        ReplayRejected,
        SessionHeartbeat,
        Logout,
        EndOfSession,
        Reject
    );
    let known: Vec<u8> = (0..=255u8)
        .filter(|&t| <Message as rltop_runtime::Dispatch>::size_of_type(t).is_some())
        .collect();
    codes.sort();
    assert_eq!(codes, known);
    assert_eq!(known.len(), 27);
}

/// Makes `raw` a valid body for `M`: defined enum values, counts within their arrays,
/// printable text, zero reserved bytes. Header fields are left for the encoder.
fn make_valid<M: Wire>(raw: &mut [u8]) {
    make_fields_valid(M::FIELDS, raw);
}

/// [`make_valid`] for a message type described by its fields.
fn make_fields_valid(fields: &[rltop_runtime::Field], raw: &mut [u8]) {
    for f in fields {
        let r = &mut raw[f.offset..f.offset + f.size];
        match f.kind {
            FieldKind::Enum { values, .. } => {
                let v = values[r[0] as usize % values.len()];
                r.copy_from_slice(&v.to_le_bytes()[..f.size]);
            }
            FieldKind::Count { max, .. } => {
                let v = u64::from(r[0]) % (max + 1);
                r.copy_from_slice(&v.to_le_bytes()[..f.size]);
            }
            FieldKind::Text => {
                let len = r[0] as usize % (f.size + 1);
                for (i, b) in r.iter_mut().enumerate() {
                    *b = if i < len { b' ' + (*b % 95) } else { 0 };
                }
            }
            FieldKind::Reserved => r.fill(0),
            FieldKind::Int { .. } | FieldKind::Flags { .. } => {}
        }
    }
}

fn round_trips<M: Wire>() {
    proptest!(ProptestConfig::with_cases(64), |(raw in proptest::collection::vec(any::<u8>(), M::SIZE), session: u64, seq: u64, ts: u64)| {
        let mut raw = raw;
        make_valid::<M>(&mut raw);
        let mut msg: M = bytemuck_read::<M>(&raw);
        let bytes = finalize(&mut msg, session, seq, ts).to_vec();
        prop_assert_eq!(bytes.len(), M::SIZE);
        // Every byte the encoder did not own is kept as the input set it: the body, and the
        // header's reserved bytes (compared with the encoder's input, not with a view of
        // its output, which would be the same memory).
        let header = M::PROTOCOL.header_size;
        prop_assert_eq!(&bytes[header..], &raw[header..]);
        let reserved = M::PROTOCOL.checksum_offset + 4..header;
        prop_assert_eq!(&bytes[reserved.clone()], &raw[reserved]);
        let decoded: &M = decode::<M>(&bytes).map_err(|e| TestCaseError::fail(format!("{}: {e}", M::NAME)))?;
        // Zero-copy: the decoded view is the buffer itself.
        prop_assert_eq!(rltop_runtime::bytemuck::bytes_of(decoded).as_ptr(), bytes.as_ptr());
        // The dispatching decoder picks the same type, on the same bytes.
        let any = Message::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(any.name(), M::NAME);
        prop_assert_eq!(any.as_bytes().as_ptr(), bytes.as_ptr());
        prop_assert_eq!(any.header().session_id(), session);
        prop_assert_eq!(any.header().seq_num(), seq);
        prop_assert_eq!(any.header().timestamp(), ts);
        prop_assert_eq!(usize::from(any.header().length()), M::SIZE);
        // Debug reads every field without panicking.
        let shown = format!("{any:?}");
        prop_assert!(shown.contains(M::NAME));
    });
}

fn bytemuck_read<M: Wire>(raw: &[u8]) -> M {
    rltop_runtime::bytemuck::pod_read_unaligned(raw)
}

#[test]
fn every_message_type_round_trips() {
    for_each_message!(round_trips);
}

fn sample_add_order() -> AddOrder {
    let mut m = AddOrder::new();
    m.set_order_book_seq(77);
    m.set_order_id(0xDEAD_BEEF);
    m.set_symbol_id(1);
    m.set_side(Side::Sell);
    m.set_flags(OrderFlags::HIDDEN | OrderFlags::POST_ONLY);
    m.set_price(-5_000_025);
    m.set_quantity(15_000);
    m.set_level_quantity(45_000);
    m.set_level_order_count(3);
    m
}

#[test]
fn accessors_read_back_what_setters_wrote() {
    let mut m = sample_add_order();
    let bytes = m.encode(9, 10, 11).to_vec();
    let d = AddOrder::decode(&bytes).unwrap();
    assert_eq!(d.order_book_seq(), 77);
    assert_eq!(d.order_id(), 0xDEAD_BEEF);
    assert_eq!(d.side(), Ok(Side::Sell));
    assert!(d.flags().contains(OrderFlags::POST_ONLY));
    assert_eq!(d.price(), -5_000_025);
    assert_eq!(d.quantity(), 15_000);
    assert_eq!(d.level_quantity(), 45_000);
    assert_eq!(d.level_order_count(), 3);
    assert_eq!(d.header().msg_type(), 0x78);
    assert_eq!(
        Message::decode(&bytes).unwrap().channel(),
        Channel::Incremental
    );
}

/// The expected bytes of an AddOrder, written from SPEC.md's offset table by hand and
/// checksummed by the independent `crc32c` crate: the generator cannot bless its own bugs.
#[test]
fn encoder_output_matches_hand_computed_bytes() {
    let mut want = [0u8; 128];
    let mut put = |at: usize, v: &[u8]| want[at..at + v.len()].copy_from_slice(v);
    put(0, &[0x4F, 0x54, 0x4C, 0x52]); // 'RLTO' as a little-endian u32
    put(4, &128u16.to_le_bytes());
    put(6, &[0x78, 1]);
    put(8, &9u64.to_le_bytes());
    put(16, &10u64.to_le_bytes());
    put(24, &11u64.to_le_bytes());
    put(40, &77u64.to_le_bytes());
    put(48, &0xDEAD_BEEFu64.to_le_bytes());
    put(56, &1u32.to_le_bytes());
    put(60, &[2, 0b11]);
    put(64, &(-5_000_025i64).to_le_bytes());
    put(72, &15_000u64.to_le_bytes());
    put(80, &45_000u64.to_le_bytes());
    put(88, &3u32.to_le_bytes());
    let crc = ::crc32c::crc32c(&want); // checksum field still zero here
    want[32..36].copy_from_slice(&crc.to_le_bytes());
    let mut m = sample_add_order();
    assert_eq!(m.encode(9, 10, 11), &want[..]);
}

fn encoded_add_order() -> Vec<u8> {
    sample_add_order().encode(1, 2, 3).to_vec()
}

/// Re-seals a message after a deliberate corruption, so only the intended check fails.
fn reseal(bytes: &mut [u8]) {
    rltop_runtime::seal(bytes, &PROTOCOL);
}

#[test]
fn each_error_names_its_kind_and_offset() {
    let good = encoded_add_order();

    let e = Message::decode(&good[..100]).unwrap_err();
    assert_eq!(
        e,
        DecodeError::Truncated {
            offset: 0,
            needed: 128,
            available: 100
        }
    );
    let e = Message::decode(&good[..39]).unwrap_err();
    assert_eq!(
        e,
        DecodeError::Truncated {
            offset: 0,
            needed: 40,
            available: 39
        }
    );

    let mut b = good.clone();
    b[0] = 0;
    assert_eq!(
        Message::decode(&b).unwrap_err(),
        DecodeError::BadMagic {
            offset: 0,
            found: 0x524C_5400,
            expected: 0x524C_544F
        }
    );

    let mut b = good.clone();
    b[4..6].copy_from_slice(&120u16.to_le_bytes());
    assert_eq!(
        Message::decode(&b).unwrap_err(),
        DecodeError::BadLength {
            offset: 4,
            msg_type: 0x78,
            length: 120,
            expected: 128
        }
    );

    let mut b = good.clone();
    b[7] = 0;
    reseal(&mut b);
    assert_eq!(
        Message::decode(&b).unwrap_err(),
        DecodeError::UnsupportedVersion {
            offset: 7,
            version: 0,
            min: 1
        }
    );

    let mut b = good.clone();
    b[100] ^= 1;
    assert!(matches!(
        Message::decode(&b).unwrap_err(),
        DecodeError::BadChecksum { offset: 32, .. }
    ));

    let mut b = good.clone();
    b[60] = 7;
    reseal(&mut b);
    let e = Message::decode(&b).unwrap_err();
    assert_eq!(
        e,
        DecodeError::BadEnum {
            offset: 60,
            field: "AddOrder.side",
            value: 7
        }
    );
    assert_eq!(
        e.to_string(),
        "invalid value 7 for enumeration field AddOrder.side at byte 60"
    );

    let mut b = good.clone();
    b[6] = 0x9F;
    reseal(&mut b);
    assert_eq!(
        Message::decode(&b).unwrap_err(),
        DecodeError::UnknownType {
            offset: 6,
            msg_type: 0x9F,
            length: 128
        }
    );
    assert_eq!(
        AddOrder::decode(&b).unwrap_err(),
        DecodeError::UnexpectedType {
            offset: 6,
            found: 0x9F,
            expected: 0x78
        }
    );
}

#[test]
fn count_and_text_fields_are_checked() {
    let mut snap = OrderBookSnapshot::new();
    snap.set_num_bid_levels(2);
    snap.bids_mut()[1].set_price(42);
    let mut b = snap.encode(1, 1, 1).to_vec();
    assert_eq!(
        OrderBookSnapshot::decode(&b).unwrap().bids_used()[1].price(),
        42
    );
    b[44] = 11;
    reseal(&mut b);
    assert_eq!(
        Message::decode(&b).unwrap_err(),
        DecodeError::BadCount {
            offset: 44,
            field: "OrderBookSnapshot.num_bid_levels",
            value: 11,
            max: 10
        }
    );

    let mut def = InstrumentDefinition::new();
    def.set_trading_status(TradingStatus::Trading);
    def.set_symbol("BTCUSDT").unwrap();
    assert_eq!(
        def.set_symbol("THIS-SYMBOL-IS-TOO-LONG"),
        Err(TextError::TooLong { len: 23, max: 16 })
    );
    let mut b = def.encode(1, 1, 1).to_vec();
    assert_eq!(
        InstrumentDefinition::decode(&b).unwrap().symbol(),
        "BTCUSDT"
    );
    b[57] = 0x07;
    reseal(&mut b);
    assert_eq!(
        Message::decode(&b).unwrap_err(),
        DecodeError::BadText {
            offset: 56,
            field: "InstrumentDefinition.symbol"
        }
    );

    // An enum inside an array of structs is checked at its own offset.
    let mut ts = TradeSnapshot::new();
    ts.set_num_trades(3);
    for t in ts.trades_mut() {
        t.set_taker_side(Side::Buy);
    }
    let mut b = ts.encode(1, 1, 1).to_vec();
    b[48 + 2 * 40 + 32] = 9;
    reseal(&mut b);
    assert_eq!(
        Message::decode(&b).unwrap_err(),
        DecodeError::BadEnum {
            offset: 160,
            field: "TradeSnapshot.trades[2].taker_side",
            value: 9
        }
    );
    // Entries past the count carry nothing and are not checked (SPEC.md §1).
    b[48 + 2 * 40 + 32] = 1;
    b[48 + 3 * 40 + 32] = 9;
    reseal(&mut b);
    assert!(
        Message::decode(&b).is_ok(),
        "entry 3 lies past num_trades = 3"
    );
}

#[test]
fn a_datagram_skips_unknown_and_bad_messages_but_stops_at_framing_errors() {
    let mut enc = rltop_runtime::Encoder::new(5, 100);
    let mut dgram = Vec::new();
    let mut a = sample_add_order();
    let mut t = Trade::new();
    t.set_taker_side(Side::Buy);
    let mut hb = Heartbeat::new();
    hb.set_channel(Channel::Trade);
    assert!(enc.append(&mut dgram, 1472, &mut a, 1));
    // An unknown type with a valid frame, and a message with a bad checksum.
    let mut unknown = encoded_add_order();
    unknown[6] = 0x8F;
    let mut bad_crc = encoded_add_order();
    bad_crc[90] ^= 0xFF;
    dgram.extend_from_slice(&unknown);
    dgram.extend_from_slice(&bad_crc);
    assert!(enc.append(&mut dgram, 1472, &mut t, 2));
    assert!(enc.append(&mut dgram, 1472, &mut hb, 3));
    dgram.extend_from_slice(&[0xAB; 7]); // trailing garbage
    let items: Vec<_> = messages(&dgram).collect();
    assert_eq!(items.len(), 6);
    assert_eq!(items[0].as_ref().unwrap().name(), "AddOrder");
    assert_eq!(items[0].as_ref().unwrap().header().seq_num(), 100);
    assert_eq!(
        items[1].as_ref().unwrap_err(),
        &DecodeError::UnknownType {
            offset: 128 + 6,
            msg_type: 0x8F,
            length: 128
        }
    );
    assert!(matches!(
        items[2],
        Err(DecodeError::BadChecksum { offset: 288, .. })
    ));
    assert_eq!(items[3].as_ref().unwrap().header().seq_num(), 101);
    assert_eq!(items[4].as_ref().unwrap().name(), "Heartbeat");
    assert_eq!(
        items[5].as_ref().unwrap_err(),
        &DecodeError::Truncated {
            offset: 128 * 4 + 64,
            needed: 40,
            available: 7
        }
    );
    assert!(items[5].as_ref().unwrap_err().is_framing());
    // A message that does not fit is refused, not truncated.
    let limit = dgram.len() + 100;
    assert!(!enc.append(&mut dgram, limit, &mut a, 4));
}

#[test]
fn debug_names_enums_and_flags() {
    let m = sample_add_order();
    let s = format!("{m:?}");
    assert!(s.contains("side: Sell"), "{s}");
    assert!(s.contains("flags: HIDDEN | POST_ONLY"), "{s}");
    assert!(s.contains("price: -5000025"), "{s}");
    assert!(!s.contains("_reserved"), "{s}");
    let mut bytes = rltop_runtime::bytemuck::bytes_of(&m).to_vec();
    bytes[60] = 7;
    bytes[61] = 0x81;
    let bad: AddOrder = rltop_runtime::bytemuck::pod_read_unaligned(&bytes);
    let s = format!("{bad:?}");
    assert!(s.contains("side: <invalid Side: 7>"), "{s}");
    assert!(s.contains("flags: HIDDEN | 0x80"), "{s}");
}

#[test]
fn debug_shows_a_counted_array_up_to_its_count() {
    let mut snap = OrderBookSnapshot::new();
    snap.set_num_bid_levels(2);
    snap.bids_mut()[1].set_price(42);
    snap.bids_mut()[2].set_price(77);
    let s = format!("{snap:?}");
    assert_eq!(s.matches("PriceLevel {").count(), 2, "{s}");
    assert!(s.contains("price: 42"), "{s}");
    assert!(!s.contains("price: 77"), "{s}");
    assert!(s.contains("asks: []"), "{s}");
}

#[test]
fn integer_arrays_are_little_endian_element_by_element() {
    let mut sub = Subscribe::new();
    let mut ids = [0u32; 20];
    ids[0] = 0x0102_0304;
    ids[19] = u32::MAX - 1;
    sub.set_instruments(ids);
    sub.set_num_instruments(20);
    let b = sub.encode(1, 1, 1).to_vec();
    assert_eq!(b[44..48], [4, 3, 2, 1]);
    assert_eq!(b[120..124], (u32::MAX - 1).to_le_bytes());
    assert_eq!(Subscribe::decode(&b).unwrap().instruments(), ids);
}

#[test]
fn enums_convert_both_ways() {
    for s in Side::ALL {
        assert_eq!(Side::try_from(s.value()), Ok(s));
    }
    assert_eq!(
        Side::try_from(0),
        Err(InvalidEnum {
            enum_name: "Side",
            value: 0
        })
    );
    assert_eq!(Channel::of_type(0x7C), Some(Channel::Trade));
    assert_eq!(Channel::of_type(0x90), Some(Channel::Session));
    assert_eq!(Channel::of_type(0xA0), None);
    assert_eq!(Channel::Incremental.type_codes(), 0x78..=0x7B);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
        for item in messages(&bytes) {
            let _ = item.map(|m| format!("{m:?}"));
        }
        let _ = Message::decode(&bytes);
        let _ = AddOrder::decode(&bytes);
        let _ = OrderBookSnapshot::decode(&bytes);
    }

    /// Corrupting any byte of a valid datagram yields an error or, where the byte is one the
    /// checks cannot see (none: the CRC covers all), the same message. Never a panic.
    #[test]
    fn any_single_corruption_is_detected(at in 0usize..128, flip in 1u8..=255) {
        let mut b = encoded_add_order();
        b[at] ^= flip;
        prop_assert!(Message::decode(&b).is_err(), "corruption at byte {} went unnoticed", at);
    }

    #[test]
    fn framing_fuzz_with_valid_magic(tail in proptest::collection::vec(any::<u8>(), 0..600), len in any::<u16>(), ty in any::<u8>()) {
        let mut b = encoded_add_order();
        b[4..6].copy_from_slice(&len.to_le_bytes());
        b[6] = ty;
        b.extend_from_slice(&tail);
        let n = messages(&b).count();
        prop_assert!(n >= 1);
    }
}

/// A valid message of type `mt` from random bytes: defined values (as [`make_valid`]), its
/// header filled and sealed.
fn valid_message(mt: &rltop_runtime::MessageType, raw: &[u8], seq: u64) -> Vec<u8> {
    let p = &PROTOCOL;
    let mut m: Vec<u8> = raw.iter().cycle().take(mt.size).copied().collect();
    make_fields_valid(mt.fields, &mut m);
    m[p.magic_offset..p.magic_offset + 4].copy_from_slice(&p.magic.to_le_bytes());
    m[p.length_offset..p.length_offset + 2].copy_from_slice(&(mt.size as u16).to_le_bytes());
    m[p.type_offset] = mt.type_code;
    m[p.version_offset] = p.version;
    m[p.sequence_offset..p.sequence_offset + 8].copy_from_slice(&seq.to_le_bytes());
    rltop_runtime::seal(&mut m, p);
    m
}

/// The datagram decoded one message at a time, each checksum computed alone: what the
/// batched [`messages`] iterator must reproduce item for item. Each item with the offset
/// the message starts at.
fn one_by_one(datagram: &[u8]) -> Vec<(usize, String)> {
    use rltop_runtime::Dispatch;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < datagram.len() {
        match rltop_runtime::split_frame(&datagram[pos..], pos, &PROTOCOL, Message::size_of_type) {
            Ok(frame) => {
                out.push((pos, format!("{:?}", Message::from_frame(frame))));
                pos += frame.bytes.len();
            }
            Err(e) => {
                out.push((pos, format!("{:?}", Err::<Message, _>(e))));
                break;
            }
        }
    }
    out
}

proptest! {
    /// Datagrams of 1 to 14 messages of every type (so windows are full, partial, ragged in
    /// length), valid or corrupted anywhere (checksums, enums, lengths, magic: errors inside
    /// a window, framing errors that end it), or cut short: the batched iterator yields
    /// exactly what decoding each message alone yields, and reports the same positions; so does
    /// `for_each_message`.
    #[test]
    fn batched_datagram_equals_one_message_at_a_time(
        kinds in proptest::collection::vec((any::<prop::sample::Index>(), proptest::collection::vec(any::<u8>(), 1..64)), 1..15),
        corruptions in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut datagram = Vec::new();
        for (i, (kind, raw)) in kinds.iter().enumerate() {
            let mt = kind.get(MESSAGE_TYPES);
            datagram.extend(valid_message(mt, raw, i as u64));
        }
        for (at, flip) in &corruptions {
            let at = at.index(datagram.len());
            datagram[at] ^= flip;
        }
        if let Some(cut) = cut {
            datagram.truncate(cut.index(datagram.len()));
        }
        let mut batched = Vec::new();
        let mut it = messages(&datagram);
        loop {
            let at = it.position();
            let Some(item) = it.next() else { break };
            batched.push((at, format!("{item:?}")));
        }
        let alone = one_by_one(&datagram);
        let mut each = Vec::new();
        for_each_message(&datagram, |item| each.push(format!("{item:?}")));
        prop_assert_eq!(&each, &alone.iter().map(|(_, item)| item.clone()).collect::<Vec<_>>());
        prop_assert_eq!(batched, alone);
    }
}
