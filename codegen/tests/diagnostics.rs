//! Every diagnostic the checker gives, with its location. A schema is built from a valid
//! base plus one broken line, so each test shows exactly what triggers what.

use rltop_codegen::{check, Checked, Severity};

const BASE: &str = "\
protocol T {
    version 2;
    byte_order little;
    magic 0x11223344;
    checksum crc32c over message;
    header H { magic = magic; length = length; type = kind; version = version; session = session; sequence = seq; timestamp = ts; checksum = crc; }
}
channel Main = 1 types 0x10..=0x1F;
channel Side2 = 2 types 0x20..=0x2F;
struct H size 40 { magic: u32, length: u16, kind: u8, version: u8, session: u64, seq: u64, ts: u64, crc: u32, _r: reserved[4] }
enum E: u8 { A = 1, B = 2 }
";

fn with(extra: &str) -> Checked {
    check("t.rlt", &format!("{BASE}{extra}"))
}

/// The rendered errors, so assertions see `file:line:col` exactly as a user would.
fn errors(extra: &str) -> Vec<String> {
    let c = with(extra);
    assert!(
        c.model.is_none(),
        "expected the schema to be rejected:\n{extra}"
    );
    c.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| c.file.render(d))
        .collect()
}

fn one_error(extra: &str) -> String {
    let e = errors(extra);
    assert_eq!(e.len(), 1, "expected one error, got:\n{}", e.join("\n"));
    e.into_iter().next().unwrap()
}

#[test]
fn base_is_valid() {
    let c = with("message M type 0x10 size 48 channel Main { header: H, x: u64 }\n");
    assert!(c.model.is_some(), "{}", c.render());
    assert!(c.diagnostics.is_empty());
}

#[test]
fn size_mismatch_names_the_difference_and_the_fields() {
    let e = one_error("message M type 0x10 size 50 channel Main { header: H, x: u64 }\n");
    assert_eq!(
        e,
        "error: message `M` declares 50 bytes but its fields sum to 48 (2 bytes short of the declared size)\n  \
--> t.rlt:12:26\n   |\n12 | message M type 0x10 size 50 channel Main { header: H, x: u64 }\n   |                          ^^ declared 50, fields sum to 48\n   \
= note: fields: header 40 + x 8 = 48\n"
    );
    let e = one_error("message M type 0x10 size 44 channel Main { header: H, x: u64 }\n");
    assert!(
        e.contains("fields sum to 48 (4 bytes over the declared size)"),
        "{e}"
    );
}

#[test]
fn syntax_errors_are_all_reported_with_positions() {
    let e = errors("struct S {\n    a: u8\n    b: u16,\n    c: [u8 4],\n}\nmessage M type size 48 channel Main { header: H }\n");
    assert_eq!(e.len(), 3, "{e:#?}");
    assert!(
        e[0].starts_with("error: expected `,` or `}` after the field, found `b`\n  --> t.rlt:14:5"),
        "{}",
        e[0]
    );
    assert!(
        e[1].starts_with(
            "error: expected `;` between element type and length, found `4`\n  --> t.rlt:15:12"
        ),
        "{}",
        e[1]
    );
    assert!(
        e[2].starts_with("error: expected the type code, found `size`\n  --> t.rlt:17:16"),
        "{}",
        e[2]
    );
}

#[test]
fn duplicate_names_and_type_codes() {
    let e = one_error("struct E { a: u8 }\n");
    assert!(
        e.starts_with("error: the name `E` is defined twice\n  --> t.rlt:12:8"),
        "{e}"
    );
    let e = one_error("struct S { a: u8, a: u16 }\n");
    assert!(
        e.starts_with("error: struct `S` has two fields named `a`\n  --> t.rlt:12:19"),
        "{e}"
    );
    let e = one_error("message M type 0x10 size 40 channel Main { header: H }\nmessage N type 0x10 size 40 channel Main { header: H }\n");
    assert!(
        e.starts_with("error: message `N` reuses type code 0x10 of message `M`\n  --> t.rlt:13:16"),
        "{e}"
    );
    let e = one_error("enum F: u8 { A = 1, B = 1 }\n");
    assert!(
        e.starts_with("error: enum `F`: variants `A` and `B` share the value 1"),
        "{e}"
    );
}

#[test]
fn type_code_outside_its_channel() {
    let e = one_error("message M type 0x21 size 40 channel Main { header: H }\n");
    assert!(e.starts_with("error: message `M`: type code 0x21 is outside channel `Main` (0x10..=0x1f)\n  --> t.rlt:12:16"), "{e}");
    let e = one_error("message M type 0x11 size 40 channel Nowhere { header: H }\n");
    assert!(
        e.starts_with("error: message `M`: unknown channel `Nowhere`"),
        "{e}"
    );
    let e = one_error("channel Over = 3 types 0x1E..=0x1F;\n");
    assert!(e.starts_with("error: type codes 0x1e..=0x1f of channel `Over` overlap 0x10..=0x1f of channel `Main`\n  --> t.rlt:12:24"), "{e}");
}

#[test]
fn enum_values_must_fit() {
    let e = one_error("enum F: u8 { A = 256 }\n");
    assert!(
        e.starts_with(
            "error: enum `F`, variant `A`: value 256 does not fit 0..=255\n  --> t.rlt:12:18"
        ),
        "{e}"
    );
    let e = one_error("enum F: i8 { A = -129 }\n");
    assert!(e.contains("value -129 does not fit -128..=127"), "{e}");
    let e = one_error("flags F: u8 { A = 8 }\n");
    assert!(
        e.contains("flags `F`, variant `A`: bit number 8 does not fit 0..=7"),
        "{e}"
    );
    let e = one_error("flags F: i16 { A = 0 }\n");
    assert!(e.contains("flags `F` need an unsigned integer type"), "{e}");
}

#[test]
fn retired_values_and_type_codes_are_never_taken_again() {
    let e = one_error("enum F: u8 {\n    A = 1,\n    reserved 2, 3;\n    B = 3,\n}\n");
    assert!(
        e.starts_with("error: enum `F`: variant `B` takes the value 3, which is reserved (retired)\n  --> t.rlt:15:5"),
        "{e}"
    );
    let e = one_error("flags F: u8 { A = 0, reserved 8; }\n");
    assert!(
        e.contains("flags `F`: reserved bit number 8 does not fit 0..=7"),
        "{e}"
    );
    let e = one_error("enum F: u8 { A = 1, reserved 2, 2; }\n");
    assert!(e.contains("enum `F`: 2 is reserved twice"), "{e}");
    // A variant may still be called `reserved`.
    assert!(with("enum F: u8 { reserved = 1, reserved 2; }\n")
        .laid
        .is_some());
    let c = check(
        "t.rlt",
        &BASE.replace(
            "    version 2;\n",
            "    version 2;\n    reserved types 0x11, 0x12;\n",
        ),
    );
    assert!(c.laid.is_some(), "{}", c.render());
    let text = BASE.replace(
        "    version 2;\n",
        "    version 2;\n    reserved types 0x11;\n",
    ) + "message M type 0x11 size 48 channel Main { header: H, x: u64 }\n";
    let c = check("t.rlt", &text);
    let e: Vec<_> = c.errors().map(|d| c.file.render(d)).collect();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("error: message `M` takes type code 0x11, which is reserved (retired)\n  --> t.rlt:13:16"),
        "{}",
        e[0]
    );
}

#[test]
fn zero_length_arrays() {
    for ty in ["[u8; 0]", "text[0]", "reserved[0]"] {
        let e = one_error(&format!("struct S {{ a: {ty} }}\n"));
        assert!(
            e.contains("struct `S`, field `a`") && e.contains("of zero length"),
            "{e}"
        );
    }
}

#[test]
fn unknown_types_suggest_close_names() {
    let e = errors("struct S { a: u33, b: e }\n");
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e[0].starts_with("error: struct `S`, field `a`: unknown type `u33`\n  --> t.rlt:12:15"),
        "{}",
        e[0]
    );
    assert!(e[0].ends_with("= note: did you mean `u32`?\n"), "{}", e[0]);
    assert!(
        e[1].starts_with("error: struct `S`, field `b`: unknown type `e`\n  --> t.rlt:12:23"),
        "{}",
        e[1]
    );
    assert!(e[1].ends_with("= note: did you mean `E`?\n"), "{}", e[1]);
}

#[test]
fn unknown_type_typo() {
    let c = with("struct S { b: EE }\n");
    let r = c.render();
    assert!(
        r.contains("unknown type `EE`") && r.contains("did you mean `E`?"),
        "{r}"
    );
}

#[test]
fn misaligned_fields_are_warnings_not_errors() {
    let c = with("message M type 0x10 size 49 channel Main { header: H, a: u8, b: u64 }\n");
    assert!(c.model.is_some());
    let r = c.render();
    assert!(r.contains("warning: message `M`, field `b`: 8-byte value at offset 41 is not naturally aligned\n  --> t.rlt:12:62"), "{r}");
}

#[test]
fn message_rules() {
    let e = one_error("message M type 0x10 size 8 channel Main { x: u64 }\n");
    assert!(
        e.contains("message `M`: the first field must be the header `H`"),
        "{e}"
    );
    let e = one_error("message M type 0x10 channel Main { header: H }\n");
    assert!(e.contains("message `M` does not declare its size"), "{e}");
    let e = one_error("message M type 0x10 size 48 channel Main { header: H, x: u64 since 3 }\n");
    assert!(e.contains("`since` version 3 does not fit 1..=2"), "{e}");
    let e = one_error("struct S { x: u64 since 2 }\n");
    assert!(e.contains("`since` applies to message fields only"), "{e}");
    let e = one_error("struct S { n: u8 count(xs), xs: [u8; 300] }\n");
    assert!(e.contains("`u8` cannot count up to 300"), "{e}");
    let e = one_error("struct S { n: u8 count(y) }\n");
    assert!(
        e.contains("counts `y`, which is not a field of struct `S`"),
        "{e}"
    );
    let e = one_error("struct S { a: S2 }\nstruct S2 { b: S }\n");
    assert!(e.contains("contains itself"), "{e}");
}

#[test]
fn keywords_are_refused_as_names() {
    let e = one_error("struct S { type: u8 }\n");
    assert!(e.starts_with("error: struct `S`: the field name `type` is a keyword in a target language (Rust, C or Python)\n  --> t.rlt:12:12"), "{e}");
    let e = one_error("struct match { a: u8 }\n");
    assert!(e.starts_with("error: the name `match` is a keyword"), "{e}");
    let e = one_error("enum F: u8 { None = 0 }\n");
    assert!(
        e.starts_with("error: enum `F`: the variant name `None` is a keyword"),
        "{e}"
    );
}

#[test]
fn protocol_rules() {
    let c = check(
        "p.rlt",
        "protocol P { version 1; byte_order middle; magic 1; checksum crc64 over message; }\n",
    );
    let r = c.render();
    for want in [
        "byte order `middle`: use `little` or `big`",
        "checksum `crc64`: use `none`, `crc32c` (Castagnoli) or `crc32` (IEEE)",
        "the protocol declares a `magic` but no header field plays the `magic` role",
        "protocol `P` does not say where a message's type code is",
    ] {
        assert!(r.contains(want), "missing {want:?} in:\n{r}");
    }
    assert!(r.contains("rejected: 4 errors"), "{r}");
    for (settings, want) in [
        (
            "checksum crc32c over body; type_code u8;",
            "a checksum over `body` is not supported",
        ),
        (
            "checksum none over message; type_code u8;",
            "`checksum none` covers nothing",
        ),
        (
            "checksum crc32; type_code u8;",
            "checksum `crc32` needs `over message`",
        ),
        (
            "checksum crc32 over message; type_code u8;",
            "the checksum needs a header field in the `checksum` role",
        ),
        (
            "checksum none; type_code u16;",
            "type_code `u16`: the first byte of each message",
        ),
        (
            "checksum none; type_code u8; framing ring;",
            "framing `ring`: use `packed`, `moldudp64` or `soupbintcp`",
        ),
        (
            "checksum none; type_code char;",
            "does not declare its `byte_order`",
        ),
    ] {
        let order = if want.contains("byte_order") {
            ""
        } else {
            "byte_order big; "
        };
        let c = check("p.rlt", &format!("protocol P {{ {order}{settings} }}\n"));
        let r = c.render();
        assert!(r.contains(want), "missing {want:?} in:\n{r}");
        assert!(c.laid.is_none(), "{r}");
    }
}

#[test]
fn header_roles_must_exist_and_have_the_right_width() {
    let c = check(
        "h.rlt",
        &BASE.replace("length: u16", "length: u8, _p: reserved[1]"),
    );
    assert!(
        c.render()
            .contains("header field `length` plays `length` and must be a `u16` or `u32`"),
        "{}",
        c.render()
    );
    let c = check("h.rlt", &BASE.replace(" checksum = crc;", ""));
    assert!(
        c.render()
            .contains("the checksum needs a header field in the `checksum` role"),
        "{}",
        c.render()
    );
    let c = check("h.rlt", &BASE.replace(" magic = magic;", ""));
    assert!(
        c.render()
            .contains("the protocol declares a `magic` but no header field plays the `magic` role"),
        "{}",
        c.render()
    );
}

/// The seed draft as written must be rejected with one error per wrong size.
#[test]
fn seed_draft_transcription_is_rejected_for_every_wrong_size() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schema/examples/seed-draft.rlt"
    );
    let c = rltop_codegen::check_file(std::path::Path::new(path), "seed-draft.rlt").unwrap();
    assert!(c.model.is_none());
    let errors: Vec<&str> = c.errors().map(|d| d.message.as_str()).collect();
    // Sums by hand from the draft: the header's eight fields are 36 bytes, and each
    // message's fields after it as listed in the draft.
    let expected = [
        "struct `MessageHeader` declares 40 bytes but its fields sum to 36 (4 bytes short of the declared size)",
        "message `OrderBookSnapshot` declares 576 bytes but its fields sum to 564 (12 bytes short of the declared size)",
        "message `TopOfBookSnapshot` declares 128 bytes but its fields sum to 124 (4 bytes short of the declared size)",
        "message `AddOrder` declares 128 bytes but its fields sum to 116 (12 bytes short of the declared size)",
        "message `ModifyOrder` declares 128 bytes but its fields sum to 124 (4 bytes short of the declared size)",
        "message `DeleteOrder` declares 128 bytes but its fields sum to 124 (4 bytes short of the declared size)",
        "message `Trade` declares 128 bytes but its fields sum to 116 (12 bytes short of the declared size)",
        "message `DailyStatistics` declares 128 bytes but its fields sum to 116 (12 bytes short of the declared size)",
    ];
    assert_eq!(errors, expected);
    assert!(
        c.render().contains("seed-draft.rlt:30:27"),
        "{}",
        c.render()
    );
}

#[test]
fn canonical_schema_is_clean() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/rltop.rlt");
    let c = rltop_codegen::check_file(std::path::Path::new(path), "rltop.rlt").unwrap();
    assert!(c.diagnostics.is_empty(), "{}", c.render());
    let m = c.model.unwrap();
    let sizes: Vec<(String, usize)> = m
        .schema
        .messages
        .iter()
        .zip(&m.layout.messages)
        .map(|(r, l)| (r.name.clone(), l.size))
        .collect();
    for (name, size) in sizes {
        let want = match name.as_str() {
            "OrderBookSnapshot" => 576,
            "TradeSnapshot" => 256,
            "Heartbeat" | "LoginAccepted" | "ReplayRequest" | "ReplayComplete" => 64,
            "ChannelStatus" => 80,
            "SessionHeartbeat" | "Logout" => 48,
            _ => 128,
        };
        assert_eq!(size, want, "{name}");
    }
}

/// A big-endian protocol with character type codes and no header, for the new constructs.
const VENUE: &str = "\
protocol V {
    byte_order big;
    checksum none;
    type_code char;
}
enum Side: char { Buy = 'B', Sell = 'S' }
type P4 = u32 scale 4;
";

fn venue(extra: &str) -> Checked {
    check("v.rlt", &format!("{VENUE}{extra}"))
}

/// The one error of `extra` on the venue protocol, rendered.
fn venue_error(extra: &str) -> String {
    let c = venue(extra);
    let errors: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| c.file.render(d))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "expected one error, got:\n{}",
        errors.join("\n")
    );
    errors.into_iter().next().unwrap()
}

#[test]
fn a_venue_protocol_checks_and_lays_out() {
    let c = venue(
        "message Add type 'A' size 24 { t: char, ts: u48, side: Side, px: P4, qty: u32le, sym: text[8] pad space }\n",
    );
    assert!(c.diagnostics.is_empty(), "{}", c.render());
    let laid = c.laid.unwrap();
    let leaves = &laid.layout.messages[rltop_codegen::model::MessageId::new(0)].leaves;
    let orders: Vec<_> = leaves
        .iter()
        .map(|l| (l.path.as_str(), l.offset, l.order))
        .collect();
    use rltop_codegen::model::ByteOrder::{Big, Little};
    assert_eq!(
        orders,
        [
            ("t", 0, Big),
            ("ts", 1, Big),
            ("side", 7, Big),
            ("px", 8, Big),
            ("qty", 12, Little),
            ("sym", 16, Big)
        ]
    );
    assert!(c.model.is_none(), "not RLTOP's shape: no generator model");
}

#[test]
fn the_new_constructs_say_what_is_wrong_and_where() {
    for (extra, want) in [
        (
            "message M type 65 size 1 { t: char }\n",
            "error: message `M`: this protocol's type codes are characters: write it as `'A'`\n --> v.rlt:8:16",
        ),
        (
            "message M type 'A' size 1 { t: u8 }\n",
            "error: message `M`: the first field holds the type code (`type_code char`) and must be a `char`\n --> v.rlt:8:32",
        ),
        (
            "message M type 'A' size 3 { t: char, x: u16 pad space }\n",
            "message `M`, field `x`: only text is padded (`pad` after `text[N]`)",
        ),
        (
            "message M type 'A' size 5 { t: char, x: text[4] pad zero }\n",
            "message `M`, field `x`: padding `zero`: use `space` or `nul`",
        ),
        ("type X = char scale 2;\n", "type `X`: a character has no decimal places"),
        ("type X = u32 scale 19;\n", "type `X`: scale 19 does not fit 0..=18"),
        (
            "enum E: char { A = 0x7f }\n",
            "enum `E`, variant `A`: character (printable ASCII) 127 does not fit 32..=126",
        ),
        (
            "enum E: u16be { A = 1 }\n",
            "the underlying type of enum `E` takes no byte order",
        ),
        ("message M type 'A' size 2 { t: char, x: u8be }\n", "unknown type `u8be`"),
        ("enum E: char {\n    A = 'AB',\n    B = 'B',\n}\n", "expected a character literal"),
        (
            "message M type 'A' size 1 { t: char }\nmessage N type 'A' size 1 { t: char }\n",
            "message `N` reuses type code 0x41 of message `M`",
        ),
        (
            "message M type 'A' size 1 channel X { t: char }\n",
            "message `M`: unknown channel `X`",
        ),
        ("flags F: char { A = 0 }\n", "flags `F` need an unsigned integer type"),
    ] {
        let e = venue_error(extra);
        assert!(e.contains(want), "{extra}: want {want:?} in\n{e}");
    }
}

#[test]
fn header_roles_and_settings_must_agree() {
    // A checksum role without a checksum; a magic role without a magic.
    let header = "struct H size 9 { t: char, len: u16, seq: u32, crc: u16 }\n";
    for (roles, want) in [
        (
            "type = t; checksum = crc;",
            "header field `crc` plays `checksum` and must be a `u32`",
        ),
        (
            "type = t; length = len;",
            "the type code is the header's `type` role already: drop `type_code`",
        ),
    ] {
        let text = format!(
            "protocol V {{ byte_order big; checksum none; type_code char; header H {{ {roles} }} }}\n{header}"
        );
        let c = check("v.rlt", &text);
        assert!(
            c.render().contains(want),
            "{roles}: want {want:?} in\n{}",
            c.render()
        );
    }
}
