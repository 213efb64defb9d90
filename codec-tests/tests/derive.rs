//! The proc-macro front ends: a hand-written message with `#[derive(Message)]`, and a whole
//! schema through `include_schema!`, both decoded by the same runtime.

use rltop::MessageHeader;
use rltop_runtime::le::{I32, I64, U32};
use rltop_runtime::{bytemuck, decode, finalize, DecodeError, Message as Wire};

/// A venue-specific message a third party adds in a free code of the statistics range.
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable, rltop_runtime::Message)]
#[bytemuck(crate = "rltop_runtime::bytemuck")]
#[repr(C, packed)]
#[rltop(type_code = 0x86, size = 64)]
struct VenueStatus {
    header: MessageHeader,
    symbol_id: U32,
    status: u8,
    _reserved1: [u8; 3],
    reference_price: I64,
    last_prices: [I32; 2],
}

#[test]
fn derived_message_encodes_and_decodes_like_generated_ones() {
    assert_eq!(VenueStatus::SIZE, 64);
    assert_eq!(<VenueStatus as Wire>::TYPE_CODE, 0x86);
    let mut m = VenueStatus::new();
    m.set_symbol_id(7);
    m.set_status(2);
    m.set_reference_price(-12);
    m.set_last_prices([5, -6]);
    let bytes = finalize(&mut m, 1, 2, 3).to_vec();
    let d: &VenueStatus = decode(&bytes).unwrap();
    assert_eq!(
        (
            d.symbol_id(),
            d.status(),
            d.reference_price(),
            d.last_prices()
        ),
        (7, 2, -12, [5, -6])
    );
    assert_eq!(d.header().msg_type(), 0x86);
    let shown = format!("{d:?}");
    assert!(
        shown.starts_with("VenueStatus { header: MessageHeader {"),
        "{shown}"
    );
    assert!(shown.contains("last_prices: [5, -6]"), "{shown}");
    // The generated dispatcher does not know this type: it reports and skips it.
    assert_eq!(
        rltop::Message::decode(&bytes).unwrap_err(),
        DecodeError::UnknownType {
            offset: 6,
            msg_type: 0x86,
            length: 64
        }
    );
    // The layout table is the layout pass's, as for generated messages.
    let f = VenueStatus::FIELDS
        .iter()
        .find(|f| f.name == "reference_price")
        .unwrap();
    assert_eq!((f.offset, f.size), (48, 8));
}

mod evo {
    rltop_runtime::include_schema!("schemas/evolution.rlt");
}

#[test]
fn include_schema_expands_a_whole_schema() {
    assert_eq!(evo::PROTOCOL.version, 2);
    assert_eq!(evo::Quote::SIZE, 64);
    assert_eq!(evo::Color::try_from(-1), Ok(evo::Color::Red));
}

#[test]
fn since_fields_are_absent_in_older_messages_and_present_in_newer() {
    let mut q = evo::Quote::new();
    q.set_a(1);
    q.set_b(2);
    q.set_color(evo::Color::Red);
    let v2 = q.encode(0, 0, 0).to_vec();
    let d = evo::Quote::decode(&v2).unwrap();
    assert_eq!(
        (d.a(), d.b(), d.color()),
        (1, Some(2), Some(Ok(evo::Color::Red)))
    );
    let shown = format!("{d:?}");
    assert!(
        shown.contains("a: 1, b: Some(2), color: Some(Red)"),
        "{shown}"
    );

    // A version-1 encoder wrote zeros where v2 has `b` and `color`; zero is not a valid
    // Color, but a v1 message is not checked for fields it predates.
    let mut v1 = evo::Quote::new();
    v1.set_a(1);
    let mut bytes = v1.encode(0, 0, 0).to_vec();
    bytes[7] = 1;
    rltop_runtime::seal(&mut bytes, &evo::PROTOCOL);
    let d = evo::Quote::decode(&bytes).unwrap();
    assert_eq!((d.a(), d.b(), d.color()), (1, None, None));
    let shown = format!("{d:?}");
    assert!(shown.contains("b: None, color: None"), "{shown}");

    // In a v2 message the same zero is an invalid Color, reported at its offset.
    bytes[7] = 2;
    rltop_runtime::seal(&mut bytes, &evo::PROTOCOL);
    assert_eq!(
        evo::Quote::decode(&bytes).unwrap_err(),
        DecodeError::BadEnum {
            offset: 56,
            field: "Quote.color",
            value: 0
        }
    );
}
