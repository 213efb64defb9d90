//! The field tables of the C header for protocols not of RLTOP's shape: `<p>_message_infos()`
//! lists every message with each field's offset, size, kind, byte order, padding, scale and
//! enumeration variants, from the layout pass. Generic C code (the conformance testee's JSON
//! reader, a dissector) walks them instead of being generated per message.
//!
//! The tables are function-local statics, so a translation unit that includes the header
//! without calling the function carries no unused data and no warning.

use std::fmt::Write as _;

use super::general::code;
use crate::case::snake;
use crate::layout::{RecordLayout, Shape};
use crate::model::{ByteOrder, Padding, Prim, Record, Schema, Ty};

/// `<lo>_message_infos()`.
pub fn message_infos(
    out: &mut String,
    s: &Schema,
    lo: &str,
    up: &str,
    messages: &[(&Record, &RecordLayout)],
) {
    let _ = writeln!(
        out,
        "/** Every message's field table, in schema order; `*count` is set to how many. */\n\
         static inline const {lo}_message_info *{lo}_message_infos(size_t *count) {{"
    );
    // Only the enumerations some field uses: an unused local static is a warning.
    let used = |e: &crate::model::Enum| {
        messages.iter().any(|(r, _)| {
            r.fields
                .iter()
                .any(|f| matches!(f.ty, Ty::Enum(id) if std::ptr::eq(&s.enums[id], e)))
        })
    };
    for e in s.enums.iter().filter(|e| used(e)) {
        let variants: Vec<String> = e
            .variants
            .iter()
            .map(|v| format!("{{\"{}\", {}}}", v.name, code(e.repr, v.value)))
            .collect();
        let _ = writeln!(
            out,
            "    static const {lo}_variant {}_variants[] = {{{}}};",
            snake(&e.name),
            variants.join(", ")
        );
    }
    for (r, l) in messages {
        let rows: Vec<String> = r
            .fields
            .iter()
            .zip(&l.fields)
            .filter_map(|(f, fl)| {
                let p = fl.shape.scalar();
                let (kind, variants) = match (&f.ty, &fl.shape) {
                    (Ty::Reserved(_), _) => return None,
                    (Ty::Enum(e), _) => ("ENUM", Some(snake(&s.enums[*e].name))),
                    (Ty::Flags(_), _) => ("FLAGS", None),
                    (_, Shape::Scalar(Prim::Char)) if fl.offset == 0 => ("TYPE_CODE", None),
                    (_, Shape::Scalar(Prim::Char)) => ("CHAR", None),
                    (_, Shape::Scalar(_)) => ("INT", None),
                    _ => ("TEXT", None),
                };
                let scale = match &f.ty {
                    Ty::Alias(a) => s.aliases[*a].scale.unwrap_or(0),
                    _ => 0,
                };
                let variants = variants.map_or("NULL, 0".to_string(), |v| {
                    format!("{v}_variants, sizeof {v}_variants / sizeof {v}_variants[0]")
                });
                Some(format!(
                    "        {{\"{}\", {}, {}, {up}_FIELD_{kind}, {}, {}, {}, {scale}, {variants}}},",
                    f.name,
                    fl.offset,
                    fl.size,
                    u8::from(p.is_some_and(Prim::signed)),
                    u8::from(f.order == ByteOrder::Big),
                    u8::from(f.pad == Padding::Space),
                ))
            })
            .collect();
        let _ = writeln!(
            out,
            "    static const {lo}_field_info {}_fields[] = {{\n{}\n    }};",
            snake(&r.name),
            rows.join("\n")
        );
    }
    let infos: Vec<String> = messages
        .iter()
        .map(|(r, _)| {
            let (n, u) = (snake(&r.name), crate::case::screaming(&r.name));
            format!(
                "        {{\"{}\", {up}_{u}_TYPE, {up}_{u}_SIZE, {n}_fields, sizeof {n}_fields / sizeof {n}_fields[0]}},",
                r.name
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "    static const {lo}_message_info infos[] = {{\n{}\n    }};\n    \
         *count = sizeof infos / sizeof infos[0];\n    return infos;\n}}\n",
        infos.join("\n")
    );
}
