//! `cargo xtask layout`: each record's offset table, like pahole.

use std::fmt::Write as _;

use crate::layout::{Layout, RecordLayout};
use crate::model::{ByteOrder, Checksum, Framing, Padding, Record, Schema, Ty};

fn record_table(out: &mut String, s: &Schema, kind: &str, r: &Record, l: &RecordLayout) {
    let head = match r.message {
        Some(m) => {
            let code = if m.char_code {
                format!("'{}'", char::from(m.type_code))
            } else {
                format!("{:#04x}", m.type_code)
            };
            match m.channel {
                Some(c) => format!(
                    "{kind} {} (type {code}, channel {})",
                    r.name, s.channels[c].name
                ),
                None => format!("{kind} {} (type {code})", r.name),
            }
        }
        None => format!("{kind} {}", r.name),
    };
    let _ = writeln!(out, "{head} {{");
    let _ = writeln!(out, "    /* offset  size */");
    for (f, fl) in r.fields.iter().zip(&l.fields) {
        let mut ty = s.type_name(&f.ty);
        // What differs from the protocol's defaults: a byte order of its own, space padding.
        let wide = s.scalar_prim(&f.ty).is_some_and(|p| p.size() > 1);
        if wide && matches!(f.ty, Ty::Prim(_)) && f.order != s.protocol.byte_order {
            ty.push_str(if f.order == ByteOrder::Big {
                "be"
            } else {
                "le"
            });
        }
        if f.pad == Padding::Space {
            ty.push_str(" pad space");
        }
        if let Some(t) = f.count_of {
            ty.push_str(&format!(" count({})", r.fields[t].name));
        }
        if f.since > 1 {
            ty.push_str(&format!(" since {}", f.since));
        }
        let pad = if matches!(f.ty, Ty::Reserved(_)) {
            "  (reserved)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "    /* {:>6} {:>5} */ {:<28} {ty}{pad}",
            fl.offset, fl.size, f.name
        );
    }
    let _ = writeln!(out, "    /* size: {} bytes */", l.size);
    let _ = writeln!(out, "}}\n");
}

/// How the protocol differs from RLTOP's defaults, for the table's first line.
fn protocol_line(s: &Schema) -> String {
    let p = &s.protocol;
    let mut parts = vec![format!(
        "protocol {} v{} (decodes v{}+)",
        p.name, p.version, p.min_version
    )];
    if let Some(magic) = p.magic {
        parts.push(format!("magic {magic:#010x}"));
    }
    if p.byte_order == ByteOrder::Big {
        parts.push("big-endian".into());
    }
    match p.checksum {
        Checksum::Crc32c => {}
        Checksum::Crc32 => parts.push("CRC-32".into()),
        Checksum::None => parts.push("no checksum".into()),
    }
    if p.framing != Framing::Packed {
        parts.push(format!("framing {}", p.framing.name()));
    }
    parts.join(", ")
}

/// The header, every struct and every message, with offsets and sizes.
pub fn render(s: &Schema, layout: &Layout) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "/* {} */\n", protocol_line(s));
    for a in &s.aliases {
        let order = match a.order {
            Some(ByteOrder::Big) => "be",
            Some(ByteOrder::Little) => "le",
            None => "",
        };
        let scale = a.scale.map_or(String::new(), |n| format!(" scale {n}"));
        let _ = writeln!(out, "type {} = {}{order}{scale};", a.name, a.prim.name());
    }
    if !s.aliases.is_empty() {
        out.push('\n');
    }
    for (kind, list) in [("enum", s.enums.iter()), ("flags", s.flags.iter())] {
        for e in list {
            let values: Vec<String> = e
                .variants
                .iter()
                .map(|v| {
                    if kind == "flags" {
                        format!("{} = bit {}", v.name, v.value)
                    } else if e.repr == crate::model::Prim::Char {
                        format!("{} = '{}'", v.name, char::from(v.value as u8))
                    } else {
                        format!("{} = {}", v.name, v.value)
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "{kind} {}: {} {{ {} }}",
                e.name,
                e.repr.name(),
                values.join(", ")
            );
        }
    }
    out.push('\n');
    for (r, l) in s.structs.iter().zip(&layout.structs) {
        record_table(&mut out, s, "struct", r, l);
    }
    for (r, l) in s.messages.iter().zip(&layout.messages) {
        record_table(&mut out, s, "message", r, l);
    }
    out
}
