//! The Wireshark backend: a Lua dissector (Wireshark 4.0 and later, Lua 5.2) generated from
//! the schema, so a capture shows every field where the codecs read it.
//!
//! Policy:
//! * One `ProtoField` per field, named after the schema: `rltop.add_order.price`, the header's
//!   as `rltop.header.seq_num`, the type code as `rltop.type`, an array's entries under one
//!   name without their index (`rltop.order_book_snapshot.bids.price`). Enumerations get a
//!   value_string, flag sets a masked bool per flag, text a string, `Timestamp` absolute time.
//! * The offsets, sizes, kinds and checks come from the layout pass: this module writes tables
//!   of them, and the engine in `templates/lua/` (the same for every protocol of a shape)
//!   walks the tables.
//!   Nothing here re-derives an offset.
//! * Every check of SPEC.md §4 is an expert item at its byte, in that order, with the error's
//!   name first in its text (`BadChecksum: stored …, computed …`); a sequence gap within a
//!   session, across packets, is a warning.
//! * Registration: a strict heuristic on UDP (magic, version, length and checksum of the
//!   first message), Decode As, and a preference of UDP ports, `ports` by default.
//!
//! Protocols of RLTOP's shape are written here; others (ITCH over MoldUDP64) by
//! [`general`], over the same tables and the engine's common part.

use std::fmt::Write as _;

use crate::banner::Banner;
use crate::case::snake;
use crate::layout::{Leaf, LeafKind, RecordLayout};
use crate::model::{ByteOrder, Padding, Prim, Record, Schema};
use crate::Model;

pub mod general;

/// The engine: the common part, then the protocol shape's, then the port registration.
const COMMON: &str = include_str!("../../templates/lua/common.lua");
const RLTOP_SHAPE: &str = include_str!("../../templates/lua/rltop.lua");
const PORTS: &str = include_str!("../../templates/lua/ports.lua");

/// The dissector of `model`'s protocol; `ports` is the UDP port preference's default (a
/// Wireshark range such as `9001-9004`, or empty for the heuristic and Decode As alone).
pub fn dissector(model: &Model, banner: &Banner, ports: &str) -> String {
    let s = &model.schema;
    let p = &s.protocol;
    let lo = p.name.to_ascii_lowercase();
    let h = model.layout.header(&model.framed);
    let mut out = preamble(p, banner, "");
    let _ = writeln!(
        out,
        "local PROTO = Proto(\"{lo}\", {:?})\nlocal PROTO_NAME = {:?}\nlocal BIG_ENDIAN = {}\n\
         local MAGIC = {:#010x}\nlocal MIN_VERSION = {}\nlocal HEADER_SIZE = {}\nlocal DEFAULT_PORTS = {ports:?}\n\
         local AT = {{ magic = {}, length = {}, type = {}, version = {}, session = {}, sequence = {}, checksum = {} }}\n",
        format!("{} market data", p.name),
        p.name,
        p.byte_order == ByteOrder::Big,
        model.framed.magic,
        p.min_version,
        h.size,
        h.at.magic,
        h.at.length,
        h.at.msg_type,
        h.at.version,
        h.at.session,
        h.at.sequence,
        h.at.checksum,
    );
    value_strings(&mut out, s);
    let mut fields = Fields::default();
    let header_leaves = &model.layout.structs[model.framed.header].leaves;
    let roles = model.framed.roles;
    let role_of = |field: usize| {
        [
            (roles.magic, "magic"),
            (roles.length, "length"),
            (roles.msg_type, "type"),
            (roles.version, "version"),
            (roles.session, "session"),
            (roles.sequence, "sequence"),
            (roles.timestamp, "timestamp"),
            (roles.checksum, "checksum"),
        ]
        .into_iter()
        .find(|(f, _)| *f == field)
        .map(|(_, r)| r)
    };
    let mut header_rows = Vec::new();
    for leaf in header_leaves
        .iter()
        .filter(|l| l.kind != LeafKind::Reserved)
    {
        let role = role_of(leaf.field);
        let abbr = match role {
            Some("type") => format!("{lo}.type"),
            _ => format!("{lo}.header.{}", leaf.path),
        };
        let var = fields.declare(s, &lo, &abbr, leaf);
        let role = role.map_or(String::new(), |r| format!(", role = \"{r}\""));
        header_rows.push(format!("    {}{role} }},", leaf_row(s, &var, leaf, "")));
    }
    let header_fields = ["magic", "length"]
        .iter()
        .map(|r| {
            let leaf = header_leaves
                .iter()
                .find(|l| role_of(l.field) == Some(r))
                .expect("the header has every role");
            format!(
                "{r} = {}",
                fields.var(&format!("{lo}.header.{}", leaf.path))
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let def = definition(s, model);
    let scaled: Vec<&str> = def
        .iter()
        .flat_map(|(_, _, e)| e.iter().map(|(n, _)| n.as_str()))
        .collect();
    let mut messages = String::new();
    for (r, l) in s.messages.iter().zip(model.layout.messages.iter()) {
        message_table(&mut messages, s, &lo, (r, l), &scaled, &mut fields);
    }
    out.push_str("local F = {}\n");
    out.push_str(&fields.declarations);
    out.push_str("PROTO.fields = F\n\n");
    let _ = writeln!(
        out,
        "local HEADER_FIELDS = {{ {header_fields} }}\nlocal HEADER_LAYOUT = {{\n{}\n}}\n",
        header_rows.join("\n")
    );
    experts(&mut out, &lo, &RLTOP_EXPERTS);
    definition_table(&mut out, &def);
    let _ = writeln!(out, "local MESSAGES = {{\n{messages}}}\n");
    for part in [COMMON, RLTOP_SHAPE, PORTS] {
        out.push_str(part);
        out.push('\n');
    }
    out
}

/// The file's head: the banner, the protocol's doc, how to install it (`found`: how tshark
/// finds the protocol's traffic, when it needs telling).
fn preamble(p: &crate::model::Protocol, banner: &Banner, found: &str) -> String {
    let lo = p.name.to_ascii_lowercase();
    let mut out = String::new();
    let _ = writeln!(out, "-- {}", banner.line());
    for line in &p.doc {
        let _ = writeln!(out, "-- {line}");
    }
    let _ = writeln!(
        out,
        "--\n-- Wireshark 4.0 or later. Install: copy this file into your personal Lua plugins folder\n\
         -- (Help > About Wireshark > Folders; ~/.local/lib/wireshark/plugins on Linux), or run\n\
         -- `tshark -X lua_script:{lo}.lua`{found}.\n"
    );
    out
}

/// A value_string table per enumeration: `local side_names = { [1] = "Buy", … }`.
fn value_strings(out: &mut String, s: &Schema) {
    for e in s.enums.iter() {
        let items: Vec<String> = e
            .variants
            .iter()
            .map(|v| format!("[{}] = {:?}", v.value, v.name))
            .collect();
        let _ = writeln!(
            out,
            "local {}_names = {{ {} }}",
            snake(&e.name),
            items.join(", ")
        );
    }
    let names: Vec<String> = s
        .messages
        .iter()
        .filter_map(|m| Some(format!("[{:#04x}] = {:?}", m.message?.type_code, m.name)))
        .collect();
    let _ = writeln!(out, "local MESSAGE_NAMES = {{ {} }}\n", names.join(", "));
}

/// The ProtoFields declared so far: one per abbreviation, each an entry of the Lua table `F`
/// (a local each would pass Lua's limit of 200 locals).
#[derive(Default)]
struct Fields {
    declarations: String,
    names: Vec<String>,
}

impl Fields {
    fn var(&self, abbr: &str) -> String {
        let k = self.names.iter().position(|n| n == abbr).expect("declared");
        format!("F[{}]", k + 1)
    }

    /// The variable holding the ProtoField for `abbr`, declared on first use.
    fn declare(&mut self, s: &Schema, lo: &str, abbr: &str, leaf: &Leaf) -> String {
        if self.names.iter().any(|n| n == abbr) {
            return self.var(abbr);
        }
        self.names.push(abbr.to_string());
        let var = self.var(abbr);
        let label = leaf.path.rsplit('.').next().unwrap_or(&leaf.path);
        let label = label.split('[').next().unwrap_or(label);
        let ctor = match leaf.kind {
            LeafKind::Text | LeafKind::Int(Prim::Char) => {
                format!("ProtoField.string({abbr:?}, {label:?})")
            }
            _ if is_time(s, leaf) => {
                format!("ProtoField.absolute_time({abbr:?}, {label:?}, base.UTC)")
            }
            LeafKind::Enum(e) => format!(
                "ProtoField.{}({abbr:?}, {label:?}, base.DEC, {}_names)",
                int_type(s.enums[e].repr),
                snake(&s.enums[e].name)
            ),
            LeafKind::Flags(_) => {
                format!(
                    "ProtoField.{}({abbr:?}, {label:?}, base.HEX)",
                    int_type(prim_of(s, leaf))
                )
            }
            _ if abbr == format!("{lo}.type") => {
                format!("ProtoField.uint8({abbr:?}, \"msg_type\", base.HEX, message_names)")
            }
            _ => format!(
                "ProtoField.{}({abbr:?}, {label:?}, {})",
                int_type(prim_of(s, leaf)),
                if abbr.ends_with(".header.magic") || abbr.ends_with(".header.checksum") {
                    "base.HEX"
                } else {
                    "base.DEC"
                }
            ),
        };
        let _ = writeln!(self.declarations, "{var} = {ctor}");
        if let LeafKind::Flags(fl) = leaf.kind {
            let bits = leaf.size * 8;
            for v in &s.flags[fl].variants {
                let bit_abbr = format!("{abbr}.{}", snake(&v.name));
                self.names.push(bit_abbr.clone());
                let bv = self.var(&bit_abbr);
                let _ = writeln!(
                    self.declarations,
                    "{bv} = ProtoField.bool({bit_abbr:?}, {:?}, {bits}, nil, {:#x})",
                    v.name,
                    1u64 << v.value
                );
            }
        }
        var
    }

    /// The bit fields of a flags leaf, as a Lua list.
    fn bits(&self, s: &Schema, abbr: &str, leaf: &Leaf) -> String {
        let LeafKind::Flags(fl) = leaf.kind else {
            return String::new();
        };
        let vars: Vec<String> = s.flags[fl]
            .variants
            .iter()
            .map(|v| self.var(&format!("{abbr}.{}", snake(&v.name))))
            .collect();
        format!(", bits = {{ {} }}", vars.join(", "))
    }
}

fn prim_of(s: &Schema, leaf: &Leaf) -> Prim {
    match leaf.kind {
        LeafKind::Int(p) | LeafKind::Count { prim: p, .. } => p,
        LeafKind::Enum(e) => s.enums[e].repr,
        LeafKind::Flags(f) => s.flags[f].repr,
        _ => Prim::U8,
    }
}

/// A `Timestamp` (nanoseconds since the Unix epoch, 8 bytes) shows as absolute time.
fn is_time(s: &Schema, leaf: &Leaf) -> bool {
    leaf.size == 8 && leaf.alias.is_some_and(|a| s.aliases[a].name == "Timestamp")
}

fn int_type(p: Prim) -> &'static str {
    match p {
        Prim::U8 | Prim::Char => "uint8",
        Prim::U16 => "uint16",
        Prim::U24 => "uint24",
        Prim::U32 => "uint32",
        Prim::U48 | Prim::U64 => "uint64",
        Prim::I8 => "int8",
        Prim::I16 => "int16",
        Prim::I24 => "int24",
        Prim::I32 => "int32",
        Prim::I48 | Prim::I64 => "int64",
    }
}

/// One leaf's row: `{ f = f3, off = 56, size = 1, kind = "enum", names = side_names, … `
/// (the caller closes it).
fn leaf_row(s: &Schema, var: &str, leaf: &Leaf, parent: &str) -> String {
    let kind = match leaf.kind {
        LeafKind::Text => "text",
        // A character in the first byte is the type code (protocols of another shape).
        LeafKind::Int(Prim::Char) if leaf.offset == 0 => "type",
        LeafKind::Int(Prim::Char) => "char",
        LeafKind::Enum(_) => "enum",
        LeafKind::Flags(_) => "flags",
        LeafKind::Count { .. } => "count",
        _ if is_time(s, leaf) => "time",
        _ => "int",
    };
    let mut row = format!(
        "{{ f = {var}, off = {}, size = {}, kind = \"{kind}\", since = {}, path = {:?}, parent = {parent:?}",
        leaf.offset, leaf.size, leaf.since, leaf.path
    );
    match leaf.kind {
        LeafKind::Enum(e) => {
            let _ = write!(row, ", names = {}_names", snake(&s.enums[e].name));
        }
        LeafKind::Count { max, .. } => {
            let _ = write!(row, ", max = {max}");
        }
        LeafKind::Text => {
            let _ = write!(row, ", space = {}", leaf.pad == Padding::Space);
        }
        LeafKind::Int(p) if p.signed() => row.push_str(", signed = true"),
        _ => {}
    }
    // A type of fixed implied decimals (`type Price4 = u32 scale 4`).
    if let Some(k) = leaf.alias.and_then(|a| s.aliases[a].scale) {
        let _ = write!(row, ", places = {k}");
    }
    row
}

/// One message's table: its name, size, leaves (past the header), counts and array entries.
fn message_table(
    out: &mut String,
    s: &Schema,
    lo: &str,
    (r, l): (&Record, &RecordLayout),
    scaled: &[&str],
    fields: &mut Fields,
) {
    message_rows(out, s, lo, (r, l), scaled, fields, Some(0));
}

/// [`message_table`]'s work: `header_field`, the message's header (RLTOP's first field), is
/// left to the header table; without one, a character in the first byte is the type code,
/// filtered as `<protocol>.type`.
fn message_rows(
    out: &mut String,
    s: &Schema,
    lo: &str,
    (r, l): (&Record, &RecordLayout),
    scaled: &[&str],
    fields: &mut Fields,
    header_field: Option<usize>,
) {
    let Some(m) = r.message else { return };
    let mn = snake(&r.name);
    let mut rows = Vec::new();
    let mut counts = Vec::new();
    let mut parents: Vec<(String, usize, usize)> = Vec::new();
    for leaf in l
        .leaves
        .iter()
        .filter(|x| Some(x.field) != header_field && x.kind != LeafKind::Reserved)
    {
        let bare: String = strip_indexes(&leaf.path);
        let abbr = match leaf.kind {
            LeafKind::Int(Prim::Char) if header_field.is_none() && leaf.offset == 0 => {
                format!("{lo}.type")
            }
            _ => format!("{lo}.{mn}.{bare}"),
        };
        let var = fields.declare(s, lo, &abbr, leaf);
        let bits = fields.bits(s, &abbr, leaf);
        let (parent, array) = match leaf.index {
            Some(k) => {
                let top = &r.fields[leaf.field].name;
                let entry = format!("{top}[{k}]");
                let fl = &l.fields[leaf.field];
                if let Some((_, _, stride)) = fl.shape.array() {
                    if !parents.iter().any(|(e, ..)| *e == entry) {
                        parents.push((entry.clone(), fl.offset + k * stride, stride));
                    }
                }
                (entry, Some((top.clone(), k)))
            }
            None => (String::new(), None),
        };
        let mut row = leaf_row(s, &var, leaf, &parent);
        row.push_str(&bits);
        // A scaled type's exponent, by the alias's name (see `definition`).
        if let Some(name) = leaf.alias.map(|a| snake(&s.aliases[a].name)) {
            if scaled.contains(&name.as_str()) && matches!(leaf.kind, LeafKind::Int(_)) {
                let _ = write!(row, ", scale = {name:?}");
            }
        }
        if let Some((top, k)) = &array {
            let counted = r
                .fields
                .iter()
                .any(|f| f.count_of.is_some_and(|t| r.fields[t].name == *top));
            if counted {
                let _ = write!(row, ", array = {top:?}, index = {k}");
            }
        }
        if let LeafKind::Count { .. } = leaf.kind {
            let counted = r.fields[leaf.field]
                .count_of
                .map(|t| r.fields[t].name.clone())
                .unwrap_or_default();
            let _ = write!(row, ", counts = {counted:?}");
            counts.push(format!(
                "{{ array = {counted:?}, off = {}, size = {} }}",
                leaf.offset, leaf.size
            ));
        }
        rows.push(format!("            {row} }},"));
    }
    let parents: Vec<String> = parents
        .iter()
        .map(|(e, off, size)| format!("[{e:?}] = {{ {off}, {size} }}"))
        .collect();
    let symbol =
        top_level(r, l, "symbol_id").map_or(String::new(), |at| format!("symbol = {at}, "));
    let _ = writeln!(
        out,
        "    [{:#04x}] = {{ name = {:?}, size = {}, {symbol}counts = {{ {} }}, parents = {{ {} }}, leaves = {{\n{}\n    }} }},",
        m.type_code,
        r.name,
        l.size,
        counts.join(", "),
        parents.join(", "),
        rows.join("\n")
    );
}

/// The message whose fields `<alias>_exponent` (i8) give an instrument's `symbol_id` the
/// exponents of its scaled types (RLTOP's InstrumentDefinition: real price = `Price` ×
/// 10^price_exponent): its type code, the symbol's offset, and each alias (snake case) with
/// its exponent's offset. Without one, fields of those aliases show their integer alone.
type Definition = (u8, usize, Vec<(String, usize)>);

fn definition(s: &Schema, model: &Model) -> Option<Definition> {
    s.messages
        .iter()
        .zip(model.layout.messages.iter())
        .find_map(|(r, l)| {
            let symbol = top_level(r, l, "symbol_id")?;
            let code = r.message?.type_code;
            let exponents: Vec<(String, usize)> = s
                .aliases
                .iter()
                .filter_map(|a| {
                    let name = snake(&a.name);
                    let at = top_level(r, l, &format!("{name}_exponent"))?;
                    Some((name, at))
                })
                .collect();
            (!exponents.is_empty()).then_some((code, symbol, exponents))
        })
}

fn definition_table(out: &mut String, found: &Option<Definition>) {
    match found {
        Some((code, symbol, exponents)) => {
            let list: Vec<String> = exponents
                .iter()
                .map(|(n, at)| format!("{n} = {at}"))
                .collect();
            let _ = writeln!(
                out,
                "local DEFINITION = {{ type = {code:#04x}, symbol = {symbol}, exponents = {{ {} }} }}\n",
                list.join(", ")
            );
        }
        None => out.push_str("local DEFINITION = nil\n\n"),
    }
}

/// The offset of a top-level field of `r` named `name`.
fn top_level(r: &Record, l: &RecordLayout, name: &str) -> Option<usize> {
    let k = r.fields.iter().position(|f| f.name == name)?;
    Some(l.fields[k].offset)
}

/// `bids[3].price` → `bids.price`.
fn strip_indexes(path: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for c in path.chars() {
        match c {
            '[' => skipping = true,
            ']' => skipping = false,
            _ if !skipping => out.push(c),
            _ => {}
        }
    }
    out
}

/// RLTOP's expert items: one per error kind of SPEC.md §4, and the sequence gap.
const RLTOP_EXPERTS: [Expert; 10] = [
    ("truncated", "Truncated", "MALFORMED", "ERROR"),
    ("bad_magic", "BadMagic", "MALFORMED", "ERROR"),
    ("bad_length", "BadLength", "MALFORMED", "ERROR"),
    (
        "unsupported_version",
        "UnsupportedVersion",
        "PROTOCOL",
        "ERROR",
    ),
    ("unknown_type", "UnknownType", "UNDECODED", "WARN"),
    ("bad_checksum", "BadChecksum", "CHECKSUM", "ERROR"),
    ("bad_enum", "BadEnum", "MALFORMED", "ERROR"),
    ("bad_count", "BadCount", "MALFORMED", "ERROR"),
    ("bad_text", "BadText", "MALFORMED", "ERROR"),
    ("sequence_gap", "Sequence gap", "SEQUENCE", "WARN"),
];

/// An expert item: its key (and filter name under the protocol), title, group and severity.
type Expert = (&'static str, &'static str, &'static str, &'static str);

/// The expert items of `kinds`, as `EXPERT.<key>`.
fn experts(out: &mut String, lo: &str, kinds: &[Expert]) {
    let _ = writeln!(out, "local EXPERT = {{");
    for &(key, name, group, severity) in kinds {
        let _ = writeln!(
            out,
            "    {key} = ProtoExpert.new(\"{lo}.{key}\", {name:?}, expert.group.{group}, expert.severity.{severity}),"
        );
    }
    let _ = writeln!(out, "}}");
    let list: Vec<String> = kinds.iter().map(|(k, ..)| format!("EXPERT.{k}")).collect();
    let _ = writeln!(out, "PROTO.experts = {{ {} }}\n", list.join(", "));
}
