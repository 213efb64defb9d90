//! `cargo xtask layout`: each record's offset table, like pahole.

use std::fmt::Write as _;

use crate::model::{Record, Ty};
use crate::Model;

fn record_table(
    out: &mut String,
    model: &Model,
    kind: &str,
    r: &Record,
    l: &crate::layout::RecordLayout,
) {
    let s = &model.schema;
    let head = match r.message {
        Some(m) => format!(
            "{kind} {} (type {:#04x}, channel {})",
            r.name, m.type_code, s.channels[m.channel].name
        ),
        None => format!("{kind} {}", r.name),
    };
    let _ = writeln!(out, "{head} {{");
    let _ = writeln!(out, "    /* offset  size */");
    for (f, fl) in r.fields.iter().zip(&l.fields) {
        let mut ty = s.type_name(&f.ty);
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

/// The header, every struct and every message, with offsets and sizes.
pub fn render(model: &Model) -> String {
    let mut out = String::new();
    let s = &model.schema;
    let _ = writeln!(
        out,
        "/* protocol {} v{} (decodes v{}+), magic {:#010x} */\n",
        s.protocol.name, s.protocol.version, s.protocol.min_version, s.protocol.magic
    );
    for a in &s.aliases {
        let _ = writeln!(out, "type {} = {};", a.name, a.prim.name());
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
    for (r, l) in s.structs.iter().zip(&model.layout.structs) {
        record_table(&mut out, model, "struct", r, l);
    }
    for (r, l) in s.messages.iter().zip(&model.layout.messages) {
        record_table(&mut out, model, "message", r, l);
    }
    out
}
