//! NASDAQ TotalView-ITCH 5.0 in the schema language (schema/examples/itch50.rlt): the 23
//! messages at the lengths NASDAQ's specification gives (written here from the
//! specification, not from the layout pass), big-endian, character type codes, 6-byte
//! timestamps, space-padded text; a wrong length on any message is refused with its sum.

use rltop_codegen::layout::LeafKind;
use rltop_codegen::model::{ByteOrder, Checksum, Framing, Padding, Prim, TypeCodeAt};
use rltop_codegen::{check, Laid};

const ITCH: &str = include_str!("../../schema/examples/itch50.rlt");

/// Type code and length of each message, from TotalView-ITCH 5.0 §1.
const NASDAQ: [(char, usize); 23] = [
    ('S', 12),
    ('R', 39),
    ('H', 25),
    ('Y', 20),
    ('L', 26),
    ('V', 35),
    ('W', 12),
    ('K', 28),
    ('J', 35),
    ('h', 21),
    ('A', 36),
    ('F', 40),
    ('E', 31),
    ('C', 36),
    ('X', 23),
    ('D', 19),
    ('U', 35),
    ('P', 44),
    ('Q', 40),
    ('B', 19),
    ('I', 50),
    ('N', 20),
    ('O', 48),
];

fn laid() -> Laid {
    let c = check("itch50.rlt", ITCH);
    assert!(c.diagnostics.is_empty(), "{}", c.render());
    c.laid.expect("a valid schema is laid out")
}

#[test]
fn every_message_has_nasdaqs_type_code_and_length() {
    let laid = laid();
    let got: Vec<(char, usize)> = laid
        .schema
        .messages
        .iter()
        .zip(&laid.layout.messages)
        .map(|(m, l)| (char::from(m.message.unwrap().type_code), l.size))
        .collect();
    assert_eq!(got, NASDAQ);
    assert!(laid
        .schema
        .messages
        .iter()
        .all(|m| m.message.unwrap().char_code));
}

#[test]
fn the_protocol_is_big_endian_without_header_or_checksum_over_moldudp64() {
    let laid = laid();
    let p = &laid.schema.protocol;
    assert_eq!(p.byte_order, ByteOrder::Big);
    assert_eq!(p.checksum, Checksum::None);
    assert_eq!(p.framing, Framing::MoldUdp64);
    assert_eq!(p.type_code, TypeCodeAt::FirstByte { char_code: true });
    assert!(p.header.is_none() && p.magic.is_none());
    // Every message: the type character, locate, tracking number, a 6-byte timestamp.
    for (m, l) in laid.schema.messages.iter().zip(&laid.layout.messages) {
        let head: Vec<(&str, usize, usize)> = l.leaves[..4]
            .iter()
            .map(|x| (x.path.as_str(), x.offset, x.size))
            .collect();
        assert_eq!(
            head,
            [
                ("message_type", 0, 1),
                ("stock_locate", 1, 2),
                ("tracking_number", 3, 2),
                ("timestamp", 5, 6)
            ],
            "{}",
            m.name
        );
        assert_eq!(l.leaves[0].kind, LeafKind::Int(Prim::Char));
        assert_eq!(l.leaves[3].kind, LeafKind::Int(Prim::U48));
        for leaf in &l.leaves {
            assert_eq!(leaf.order, ByteOrder::Big, "{}.{}", m.name, leaf.path);
            if leaf.kind == LeafKind::Text {
                assert_eq!(leaf.pad, Padding::Space, "{}.{}", m.name, leaf.path);
            }
        }
    }
}

#[test]
fn prices_carry_their_implied_decimals() {
    let laid = laid();
    let scale = |name: &str| {
        laid.schema
            .aliases
            .iter()
            .find(|a| a.name == name)
            .unwrap()
            .scale
    };
    assert_eq!(scale("Price4"), Some(4));
    assert_eq!(scale("Price8"), Some(8));
    assert_eq!(scale("Timestamp"), None);
}

#[test]
fn a_wrong_length_on_any_message_is_refused_with_the_literal_sum() {
    for (code, len) in NASDAQ {
        let declared = format!("type '{code}' size {len} ");
        assert_eq!(ITCH.matches(&declared).count(), 1, "{declared}");
        let wrong = ITCH.replace(&declared, &format!("type '{code}' size {} ", len + 1));
        let c = check("itch50.rlt", &wrong);
        let r = c.render();
        assert!(
            r.contains(&format!(
                "declares {} bytes but its fields sum to {len} (1 byte short of the declared size)",
                len + 1
            )),
            "{code}: {r}"
        );
        assert!(
            r.contains("= note: fields: message_type 1 + stock_locate 2 + tracking_number 2 + timestamp 6 + "),
            "{code}: {r}"
        );
        assert!(r.contains(&format!(" = {len}\n")), "{code}: {r}");
        assert!(c.laid.is_none());
    }
}

#[test]
fn rltop_s_model_says_why_itch_is_not_of_its_shape() {
    let e = check("itch50.rlt", ITCH).into_model().unwrap_err();
    assert!(
        e.contains("this needs a protocol of RLTOP's shape, and `ITCH` is not"),
        "{e}"
    );
    for reason in [
        "it is big-endian",
        "its checksum is not CRC-32C",
        "its framing is moldudp64",
    ] {
        assert!(e.contains(reason), "{reason}: {e}");
    }
    assert!(e.contains("--> itch50.rlt:11:10"), "{e}");
}
