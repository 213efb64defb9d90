//! The Wireshark dissector of a protocol not of RLTOP's shape (ITCH over MoldUDP64): the same
//! field tables as RLTOP's, walked by `templates/lua/fixed.lua`.
//!
//! Policy: the schemas taken are those the C and Python backends take (flat records, the type
//! code a byte in front), without a checksum, framed packed or MoldUDP64. The type code's own
//! field is `<protocol>.type` (the character); a type of fixed implied decimals shows its
//! integer and the decimal; MoldUDP64's header is `<protocol>.moldudp64.*`. The checks and
//! their order are the generated decoders' (see `vectors::general`), each an expert item at
//! its byte, framing faults as `BadFrame`; a MoldUDP64 sequence gap across packets is a
//! warning.

use std::fmt::Write as _;

use super::{experts, message_rows, preamble, value_strings, Expert, Fields, COMMON, PORTS};
use crate::banner::Banner;
use crate::model::{ByteOrder, Checksum, Framing, Ty};
use crate::Laid;

const FIXED_SHAPE: &str = include_str!("../../templates/lua/fixed.lua");

const EXPERTS: [Expert; 7] = [
    ("truncated", "Truncated", "MALFORMED", "ERROR"),
    ("bad_length", "BadLength", "MALFORMED", "ERROR"),
    ("unknown_type", "UnknownType", "UNDECODED", "WARN"),
    ("bad_enum", "BadEnum", "MALFORMED", "ERROR"),
    ("bad_text", "BadText", "MALFORMED", "ERROR"),
    ("bad_frame", "BadFrame", "MALFORMED", "ERROR"),
    ("sequence_gap", "Sequence gap", "SEQUENCE", "WARN"),
];

/// The dissector of `laid`'s protocol, or why this version cannot write it.
pub fn dissector(laid: &Laid, banner: &Banner, ports: &str) -> Result<String, String> {
    let s = &laid.schema;
    let p = &s.protocol;
    laid.flat_first_byte("the Wireshark dissector")?;
    let refuse = |why: &str| Err(format!("the Wireshark dissector of `{}`: {why}", p.name));
    if p.checksum != Checksum::None {
        return refuse(
            "this version writes them for protocols without a checksum, or of RLTOP's shape",
        );
    }
    let framing = match p.framing {
        Framing::MoldUdp64 => "moldudp64",
        Framing::Packed => "packed",
        Framing::SoupBinTcp => {
            return refuse("this version reads packed and MoldUDP64 framing, not SoupBinTCP")
        }
    };
    for r in s.messages.iter() {
        if let Some(f) = r.fields.iter().find(|f| matches!(f.ty, Ty::Array(..))) {
            return refuse(&format!(
                "this version emits no arrays (`{}.{}`)",
                r.name, f.name
            ));
        }
    }
    let lo = p.name.to_ascii_lowercase();
    let mut out = preamble(
        p,
        banner,
        " and Decode As (or a port preference) on its UDP port",
    );
    let _ = writeln!(
        out,
        "local PROTO = Proto(\"{lo}\", {:?})\nlocal PROTO_NAME = {:?}\nlocal BIG_ENDIAN = {}\n\
         local FRAMING = \"{framing}\"\nlocal DEFAULT_PORTS = {ports:?}\nlocal DEFINITION = nil\n",
        format!("{} market data", p.name),
        p.name,
        p.byte_order == ByteOrder::Big,
    );
    value_strings(&mut out, s);
    let mut fields = Fields::default();
    let mut messages = String::new();
    for (r, l) in s.messages.iter().zip(laid.layout.messages.iter()) {
        message_rows(&mut messages, s, &lo, (r, l), &[], &mut fields, None);
    }
    out.push_str("local F = {}\n");
    out.push_str(&fields.declarations);
    if p.framing == Framing::MoldUdp64 {
        out.push_str("local MOLD = {\n");
        for (key, ctor, args) in [
            ("session", "ProtoField.string", "\"session\""),
            ("sequence", "ProtoField.uint64", "\"sequence\", base.DEC"),
            ("count", "ProtoField.uint16", "\"count\", base.DEC"),
            (
                "length",
                "ProtoField.uint16",
                "\"message length\", base.DEC",
            ),
        ] {
            let _ = writeln!(out, "    {key} = {ctor}(\"{lo}.moldudp64.{key}\", {args}),");
        }
        out.push_str("}\nfor _, f in pairs(MOLD) do F[#F + 1] = f end\n");
    }
    out.push_str("PROTO.fields = F\n");
    out.push('\n');
    experts(&mut out, &lo, &EXPERTS);
    let _ = writeln!(out, "local MESSAGES = {{\n{messages}}}\n");
    for part in [COMMON, FIXED_SHAPE, PORTS] {
        out.push_str(part);
        out.push('\n');
    }
    Ok(out)
}
