//! Each rule of `compat`, fired by the smallest change that should fire it, and a near miss
//! (a change that looks alike and must not). Every case is one edit of `BASE`; its findings
//! are compared whole, so a case also proves that nothing else fires.

use rltop_codegen::compat::{compare, failing, Class, Mode, RuleId, RULES};
use rltop_codegen::{check, Laid};

const BASE: &str = "\
protocol T {
    version 2;
    min_version 1;
    byte_order little;
    magic 0x54534554;
    checksum crc32c over message;
    reserved types 0x21;
    header Header { magic = magic; length = length; type = msg_type; version = version; session = session; sequence = seq; timestamp = time; checksum = crc; }
}
type Price4 = i64 scale 4;
type Id = u32;
channel Orders = 1 types 0x10..=0x17;
channel Stats = 2 types 0x20..=0x27;
channel Spare = 3 types 0x30..=0x37;
enum Side: u8 {
    Buy = 1,
    Sell = 2,
    reserved 3;
}
flags Opts: u8 {
    Hidden = 0,
    PostOnly = 1,
}
struct Header size 32 { magic: u32, length: u16, msg_type: u8, version: u8, session: u32, seq: u64, time: u64, crc: u32 }
struct Level size 16 {
    price: Price4,
    qty: u32,
    _r: reserved[4],
}
message Order type 0x10 size 64 channel Orders {
    header: Header,
    id: Id,
    side: Side,
    _r0: reserved[1],
    opts: Opts,
    _r1: reserved[1],
    price: Price4,
    symbol: text[8],
    venue: u16 since 2,
    _r2: reserved[6],
}
message Book type 0x11 size 72 channel Orders {
    header: Header,
    n: u8 count(levels),
    _r1: reserved[7],
    levels: [Level; 2],
}
message Stat type 0x20 size 40 channel Stats {
    header: Header,
    volume: u64,
}
";

fn laid(text: &str) -> Laid {
    let c = check("t.rlt", text);
    let report = c.render();
    c.laid
        .unwrap_or_else(|| panic!("rejected:\n{report}\n{text}"))
}

/// `BASE` with each `(from, to)` replaced once (each `from` must occur exactly once).
fn edit(edits: &[(&str, &str)]) -> String {
    let mut s = BASE.to_string();
    for (from, to) in edits {
        assert_eq!(s.matches(from).count(), 1, "`{from}` must occur once");
        s = s.replacen(from, to, 1);
    }
    s
}

/// The rule ids (sorted) that comparing `BASE` with the edited schema gives. The version
/// is bumped as well, unless the case is about the version.
fn rules_of(edits: &[(&str, &str)], bump: bool) -> Vec<&'static str> {
    let mut all = edits.to_vec();
    if bump {
        all.push(("\n    version 2;", "\n    version 3;"));
    }
    let mut ids: Vec<_> = compare(&laid(BASE), &laid(&edit(&all)))
        .iter()
        .map(|f| f.rule.name())
        .collect();
    ids.sort();
    ids
}

/// A rule, the edits of `BASE` that make its case, and every finding the case must give.
type Case = (RuleId, Vec<(&'static str, &'static str)>, Vec<&'static str>);

/// Cases that fire a rule, each with every finding it must give.
fn fires() -> Vec<Case> {
    use RuleId::*;
    let side = "    Buy = 1,\n    Sell = 2,\n";
    vec![
        (MAGIC_CHANGED, vec![("0x54534554", "0x54534555")], vec!["MAGIC_CHANGED"]),
        (BYTE_ORDER_CHANGED, vec![("little", "big")], vec!["BYTE_ORDER_CHANGED"]),
        (CHECKSUM_CHANGED, vec![("crc32c", "crc32")], vec!["CHECKSUM_CHANGED"]),
        (FRAMING_CHANGED, vec![("    reserved types", "    framing soupbintcp;\n    reserved types")], vec!["FRAMING_CHANGED"]),
        (
            TYPE_CODE_POSITION_CHANGED,
            vec![(" type = msg_type;", ""), ("    reserved types", "    type_code u8;\n    reserved types")],
            vec!["TYPE_CODE_POSITION_CHANGED"],
        ),
        (
            HEADER_ROLE_MOVED,
            vec![("sequence = seq; timestamp = time;", "sequence = time; timestamp = seq;")],
            vec!["HEADER_ROLE_MOVED", "HEADER_ROLE_MOVED"],
        ),
        (MIN_VERSION_RAISED, vec![("min_version 1;", "min_version 2;")], vec!["MIN_VERSION_RAISED"]),
        (
            MESSAGE_ADDED,
            vec![("message Stat ", "message Other type 0x22 size 32 channel Stats { header: Header }\nmessage Stat ")],
            vec!["MESSAGE_ADDED"],
        ),
        (
            MESSAGE_REMOVED,
            vec![("message Stat type 0x20 size 40 channel Stats {\n    header: Header,\n    volume: u64,\n}\n", "")],
            vec!["MESSAGE_REMOVED"],
        ),
        (MESSAGE_RENAMED, vec![("message Stat ", "message Volume ")], vec!["MESSAGE_RENAMED"]),
        (TYPE_CODE_CHANGED, vec![("type 0x20", "type 0x22")], vec!["TYPE_CODE_CHANGED"]),
        (
            TYPE_CODE_REUSED,
            vec![("message Stat type 0x20 size 40 channel Stats {\n    header: Header,\n    volume: u64,", "message Turnover type 0x20 size 40 channel Stats {\n    header: Header,\n    turnover: u64,")],
            vec!["TYPE_CODE_REUSED"],
        ),
        (MESSAGE_SIZE_CHANGED, vec![("size 40", "size 48"), ("    volume: u64,\n", "    volume: u64,\n    _r: reserved[8],\n")], vec!["MESSAGE_SIZE_CHANGED"]),
        (
            MESSAGE_CHANNEL_CHANGED,
            vec![("message Stat type 0x20 size 40 channel Stats", "message Stat type 0x30 size 40 channel Spare")],
            vec!["MESSAGE_CHANNEL_CHANGED", "TYPE_CODE_CHANGED"],
        ),
        (CHANNEL_ADDED, vec![("channel Spare", "channel Extra = 4 types 0x40..=0x47;\nchannel Spare")], vec!["CHANNEL_ADDED"]),
        (CHANNEL_REMOVED, vec![("channel Spare = 3 types 0x30..=0x37;\n", "")], vec!["CHANNEL_REMOVED"]),
        (CHANNEL_ID_CHANGED, vec![("Spare = 3", "Spare = 4")], vec!["CHANNEL_ID_CHANGED"]),
        (CHANNEL_RANGE_NARROWED, vec![("0x30..=0x37", "0x30..=0x33")], vec!["CHANNEL_RANGE_NARROWED"]),
        (FIELD_MOVED, vec![("    side: Side,\n    _r0: reserved[1],\n    opts: Opts,", "    opts: Opts,\n    _r0: reserved[1],\n    side: Side,")], vec!["FIELD_MOVED", "FIELD_MOVED"]),
        (FIELD_RESIZED, vec![("volume: u64,", "volume: u32,\n    _v: reserved[4],")], vec!["FIELD_RESIZED"]),
        (FIELD_SIGN_CHANGED, vec![("volume: u64,", "volume: i64,")], vec!["FIELD_SIGN_CHANGED"]),
        (FIELD_TYPE_CHANGED, vec![("side: Side,", "side: u8,")], vec!["FIELD_TYPE_CHANGED"]),
        (FIELD_BYTE_ORDER_CHANGED, vec![("volume: u64,", "volume: u64be,")], vec!["FIELD_BYTE_ORDER_CHANGED"]),
        (SCALE_CHANGED, vec![("scale 4", "scale 3")], vec!["SCALE_CHANGED", "SCALE_CHANGED"]),
        (TEXT_PADDING_CHANGED, vec![("symbol: text[8],", "symbol: text[8] pad space,")], vec!["TEXT_PADDING_CHANGED"]),
        (ARRAY_LENGTH_CHANGED, vec![("levels: [Level; 2],", "levels: [Level; 1],\n    _r2: reserved[16],")], vec!["ARRAY_LENGTH_CHANGED"]),
        (COUNT_CHANGED, vec![("n: u8 count(levels),", "n: u8,")], vec!["COUNT_CHANGED"]),
        (FIELD_SINCE_CHANGED, vec![("since 2", "since 3")], vec!["FIELD_SINCE_CHANGED"]),
        (FIELD_REMOVED, vec![("    venue: u16 since 2,\n    _r2: reserved[6],", "    _r2: reserved[8],")], vec!["FIELD_REMOVED"]),
        (FIELD_REPLACED, vec![("    id: Id,", "    lo: u16,\n    hi: u16,")], vec!["FIELD_REPLACED"]),
        (FIELD_RENAMED, vec![("    id: Id,", "    order_id: Id,")], vec!["FIELD_RENAMED"]),
        (TYPE_RENAMED, vec![("    id: Id,", "    id: u32,")], vec!["TYPE_RENAMED"]),
        (RESERVED_CARVED, vec![("_r2: reserved[6],", "extra: u16 since 3,\n    _r2: reserved[4],")], vec!["RESERVED_CARVED"]),
        (FIELD_CARVED_WITHOUT_SINCE, vec![("_r2: reserved[6],", "extra: u16,\n    _r2: reserved[4],")], vec!["FIELD_CARVED_WITHOUT_SINCE"]),
        (ENUM_VALUE_ADDED, vec![(side, "    Buy = 1,\n    Sell = 2,\n    Cross = 4,\n")], vec!["ENUM_VALUE_ADDED"]),
        (ENUM_VALUE_REMOVED, vec![(side, "    Buy = 1,\n")], vec!["ENUM_VALUE_REMOVED"]),
        (ENUM_VALUE_RENUMBERED, vec![("Sell = 2", "Sell = 4")], vec!["ENUM_VALUE_RENUMBERED"]),
        (ENUM_VALUE_RENAMED, vec![("Sell = 2", "Ask = 2")], vec!["ENUM_VALUE_RENAMED"]),
        (ENUM_VALUE_REUSED, vec![("    reserved 3;\n", "    Cross = 3,\n")], vec!["ENUM_VALUE_REUSED"]),
        (
            ENUM_WIDTH_CHANGED,
            vec![("enum Side: u8", "enum Side: u16"), ("    side: Side,\n    _r0: reserved[1],", "    side: Side,")],
            vec!["ENUM_WIDTH_CHANGED"],
        ),
        (FLAGS_BIT_ADDED, vec![("    PostOnly = 1,\n", "    PostOnly = 1,\n    Iceberg = 2,\n")], vec!["FLAGS_BIT_ADDED"]),
        (FLAGS_BIT_REMOVED, vec![("    PostOnly = 1,\n", "")], vec!["FLAGS_BIT_REMOVED"]),
    ]
}

/// Near misses: changes that look like a rule's and must give exactly these findings.
fn near_misses() -> Vec<Case> {
    use RuleId::*;
    vec![
        (MAGIC_CHANGED, vec![("0x54534554", "1414743380")], vec![]),
        (
            BYTE_ORDER_CHANGED,
            vec![
                ("    byte_order little;\n", ""),
                ("    checksum", "    byte_order little;\n    checksum"),
            ],
            vec![],
        ),
        (
            CHECKSUM_CHANGED,
            vec![
                ("    checksum crc32c over message;\n", ""),
                (
                    "    byte_order",
                    "    checksum crc32c over message;\n    byte_order",
                ),
            ],
            vec![],
        ),
        (
            FRAMING_CHANGED,
            vec![(
                "    reserved types",
                "    framing packed;\n    reserved types",
            )],
            vec![],
        ),
        (
            TYPE_CODE_POSITION_CHANGED,
            vec![
                ("type = msg_type;", "type = kind;"),
                ("msg_type: u8", "kind: u8"),
            ],
            vec!["FIELD_RENAMED"],
        ),
        (
            HEADER_ROLE_MOVED,
            vec![
                ("sequence = seq;", "sequence = sequence;"),
                ("seq: u64", "sequence: u64"),
            ],
            vec!["FIELD_RENAMED"],
        ),
        (
            MIN_VERSION_RAISED,
            vec![("    min_version 1;\n", "")],
            vec![],
        ),
        (
            MESSAGE_ADDED,
            vec![(
                "message Stat ",
                "struct Spread size 8 { bid: u32, ask: u32 }\nmessage Stat ",
            )],
            vec![],
        ),
        (
            MESSAGE_REMOVED,
            vec![("message Stat ", "message Volume ")],
            vec!["MESSAGE_RENAMED"],
        ),
        (
            MESSAGE_RENAMED,
            vec![(
                "channel Stats {",
                "channel Stats {\n    /// Documented now.",
            )],
            vec![],
        ),
        (TYPE_CODE_CHANGED, vec![("type 0x20", "type 32")], vec![]),
        (
            TYPE_CODE_REUSED,
            vec![(
                "message Stat ",
                "message Other type 0x22 size 32 channel Stats { header: Header }\nmessage Stat ",
            )],
            vec!["MESSAGE_ADDED"],
        ),
        (
            MESSAGE_SIZE_CHANGED,
            vec![(
                "_r2: reserved[6],",
                "_r2: reserved[2],\n    _r3: reserved[4],",
            )],
            vec![],
        ),
        (
            MESSAGE_CHANNEL_CHANGED,
            vec![(
                "channel Spare = 3",
                "/// Documented now.\nchannel Spare = 3",
            )],
            vec![],
        ),
        (
            CHANNEL_ADDED,
            vec![
                ("channel Spare = 3 types 0x30..=0x37;\n", ""),
                (
                    "struct Header",
                    "channel Spare = 3 types 0x30..=0x37;\nstruct Header",
                ),
            ],
            vec![],
        ),
        (CHANNEL_REMOVED, vec![("Spare = 3", "Spare = 0x3")], vec![]),
        (
            CHANNEL_ID_CHANGED,
            vec![
                ("channel Stats = 2 types 0x20..=0x27;\n", ""),
                (
                    "channel Spare = 3 types 0x30..=0x37;\n",
                    "channel Spare = 3 types 0x30..=0x37;\nchannel Stats = 2 types 0x20..=0x27;\n",
                ),
            ],
            vec![],
        ),
        (
            CHANNEL_RANGE_NARROWED,
            vec![("0x30..=0x37", "0x30..=0x3F")],
            vec![],
        ),
        (
            FIELD_MOVED,
            vec![("_r0: reserved[1]", "_pad: reserved[1]")],
            vec![],
        ),
        (
            FIELD_RESIZED,
            vec![("symbol: text[8],", "symbol: text[8] pad nul,")],
            vec![],
        ),
        (
            FIELD_SIGN_CHANGED,
            vec![
                ("volume: u64,", "volume: Vol,"),
                ("type Id", "type Vol = u64;\ntype Id"),
            ],
            vec!["TYPE_RENAMED"],
        ),
        (
            FIELD_TYPE_CHANGED,
            vec![
                ("enum Side: u8", "enum OrderSide: u8"),
                ("side: Side,", "side: OrderSide,"),
            ],
            vec!["TYPE_RENAMED"],
        ),
        (
            FIELD_BYTE_ORDER_CHANGED,
            vec![("little", "big")],
            vec!["BYTE_ORDER_CHANGED"],
        ),
        (
            SCALE_CHANGED,
            vec![
                ("type Price4 = i64 scale 4;", "type Px = i64 scale 4;"),
                ("    price: Price4,\n    qty", "    price: Px,\n    qty"),
                (
                    "    price: Price4,\n    symbol",
                    "    price: Px,\n    symbol",
                ),
            ],
            vec!["TYPE_RENAMED", "TYPE_RENAMED"],
        ),
        (
            TEXT_PADDING_CHANGED,
            vec![("symbol: text[8],", "symbol: text[8] pad nul,")],
            vec![],
        ),
        (
            ARRAY_LENGTH_CHANGED,
            vec![
                ("struct Level size", "struct Entry size"),
                ("[Level; 2]", "[Entry; 2]"),
            ],
            vec!["TYPE_RENAMED"],
        ),
        (
            COUNT_CHANGED,
            vec![("n: u8 count(levels),", "num_levels: u8 count(levels),")],
            vec!["FIELD_RENAMED"],
        ),
        (FIELD_SINCE_CHANGED, vec![], vec![]),
        (
            FIELD_REMOVED,
            vec![("    venue: u16 since 2,", "    place: u16 since 2,")],
            vec!["FIELD_RENAMED"],
        ),
        (
            FIELD_REPLACED,
            vec![(
                "    venue: u16 since 2,\n    _r2: reserved[6],",
                "    _r2: reserved[8],",
            )],
            vec!["FIELD_REMOVED"],
        ),
        (
            FIELD_RENAMED,
            vec![("    id: Id,", "    order_id: i32,")],
            vec!["FIELD_REPLACED"],
        ),
        (
            TYPE_RENAMED,
            vec![
                ("enum Side: u8", "enum OrderSide: u8"),
                ("side: Side,", "side: OrderSide,"),
                ("Sell = 2", "Sell = 4"),
            ],
            vec!["FIELD_TYPE_CHANGED"],
        ),
        (
            RESERVED_CARVED,
            vec![(
                "_r2: reserved[6],",
                "extra: u16 since 2,\n    _r2: reserved[4],",
            )],
            vec!["FIELD_CARVED_WITHOUT_SINCE"],
        ),
        (
            FIELD_CARVED_WITHOUT_SINCE,
            vec![(
                "_r2: reserved[6],",
                "extra: u16 since 3,\n    _r2: reserved[4],",
            )],
            vec!["RESERVED_CARVED"],
        ),
        (
            ENUM_VALUE_ADDED,
            vec![(
                "    PostOnly = 1,\n",
                "    PostOnly = 1,\n    Iceberg = 2,\n",
            )],
            vec!["FLAGS_BIT_ADDED"],
        ),
        (
            ENUM_VALUE_REMOVED,
            vec![("Sell = 2", "Ask = 2")],
            vec!["ENUM_VALUE_RENAMED"],
        ),
        (
            ENUM_VALUE_RENUMBERED,
            vec![(
                "    Buy = 1,\n    Sell = 2,\n",
                "    Sell = 2,\n    Buy = 1,\n",
            )],
            vec![],
        ),
        (ENUM_VALUE_RENAMED, vec![("Sell = 2", "Sell = 0x2")], vec![]),
        (
            ENUM_VALUE_REUSED,
            vec![("    reserved 3;\n", "    reserved 3;\n    Cross = 4,\n")],
            vec!["ENUM_VALUE_ADDED"],
        ),
        (
            ENUM_WIDTH_CHANGED,
            vec![("flags Opts", "enum Unused: u16 { X = 1 }\nflags Opts")],
            vec![],
        ),
        (
            FLAGS_BIT_ADDED,
            vec![("    Sell = 2,\n", "    Sell = 2,\n    Cross = 4,\n")],
            vec!["ENUM_VALUE_ADDED"],
        ),
        (
            FLAGS_BIT_REMOVED,
            vec![("PostOnly = 1", "PostOnlyOrder = 1")],
            vec!["ENUM_VALUE_RENAMED"],
        ),
    ]
}

#[test]
fn each_rule_fires_on_its_change_and_only_it() {
    let mut failures = Vec::new();
    for (rule, edits, want) in fires() {
        let got = rules_of(&edits, true);
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", rule.name()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn each_rule_holds_still_on_its_near_miss() {
    let mut failures = Vec::new();
    for (rule, edits, want) in near_misses() {
        let got = rules_of(&edits, true);
        if got.contains(&rule.name()) || got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", rule.name()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_both_cases() {
    let (fire, near): (Vec<_>, Vec<_>) = (fires(), near_misses());
    for r in RULES.iter().filter(|r| r.id != RuleId::VERSION_NOT_BUMPED) {
        assert!(
            fire.iter().any(|(id, ..)| *id == r.id),
            "{} never fires",
            r.id.name()
        );
        assert!(
            near.iter().any(|(id, ..)| *id == r.id),
            "{} has no near miss",
            r.id.name()
        );
    }
}

#[test]
fn the_version_must_go_up_with_the_bytes() {
    let add = [("    Sell = 2,\n", "    Sell = 2,\n    Cross = 4,\n")];
    assert_eq!(
        rules_of(&add, false),
        ["ENUM_VALUE_ADDED", "VERSION_NOT_BUMPED"]
    );
    assert_eq!(rules_of(&add, true), ["ENUM_VALUE_ADDED"]);
    // A rename changes no byte: no version needed.
    assert_eq!(
        rules_of(&[("    id: Id,", "    order_id: Id,")], false),
        ["FIELD_RENAMED"]
    );
    // A version that goes down is no bump either.
    let down = [
        ("\n    version 2;", "\n    version 1;"),
        ("venue: u16 since 2", "venue: u16"),
        ("    Sell = 2,\n", "    Sell = 2,\n    Cross = 4,\n"),
    ];
    assert_eq!(
        rules_of(&down, false),
        [
            "ENUM_VALUE_ADDED",
            "FIELD_SINCE_CHANGED",
            "VERSION_NOT_BUMPED"
        ]
    );
}

#[test]
fn modes_fail_on_the_classes_they_name() {
    use Class::*;
    for (mode, fails) in [
        (Mode::Backward, [Wire, NewReaders]),
        (Mode::Forward, [Wire, OldReaders]),
        (Mode::Full, [Wire, OldReaders]),
    ] {
        for class in [Wire, OldReaders, NewReaders, Source, Safe] {
            let expected = fails.contains(&class) || (mode == Mode::Full && class == NewReaders);
            assert_eq!(mode.fails(class), expected, "{mode:?} {class:?}");
        }
    }
}

#[test]
fn rltop_version_2_is_backward_compatible_and_says_what_breaks_forward() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let read = |p: &str| laid(&std::fs::read_to_string(format!("{root}/{p}")).unwrap());
    let (v1, v2) = (
        read("schema/rltop.rlt"),
        read("schema/examples/rltop-v2.rlt"),
    );
    let findings = compare(&v1, &v2);
    let got: Vec<_> = findings
        .iter()
        .map(|f| (f.rule.name(), f.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("ENUM_VALUE_ADDED", "enum `TradingStatus`: `Auction` is a new value, 5"),
            ("RESERVED_CARVED", "message `AddOrder`: field `time_in_force` (1 byte at 92, since 2) is carved from reserved bytes"),
            ("RESERVED_CARVED", "message `AddOrder`: field `expire_time` (8 bytes at 96, since 2) is carved from reserved bytes"),
            ("MESSAGE_ADDED", "message `TradeBust` (type code 0x7d) is new"),
        ]
    );
    assert_eq!(failing(&findings, Mode::Backward), 0);
    assert_eq!(failing(&findings, Mode::Forward), 2);
    assert_eq!(failing(&findings, Mode::Full), 2);
    // And nothing when a schema is compared with itself.
    assert!(compare(&v2, &v2).is_empty());
}
