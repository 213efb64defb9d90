//! The C backend: one self-contained C11 header (`generated/c/rltop.h`), usable from C++.
//!
//! Packed structs document the layout and are checked against the layout pass with
//! `_Static_assert` on every `sizeof` and `offsetof`; every read and write goes through
//! byte-offset accessors that use `memcpy` (no unaligned dereference, no aliasing
//! violation, correct on big-endian hosts). The fixed part (byte order, CRC-32C, framing,
//! iterator, finalize) is `codegen/templates/c/` (`crc.h`, `runtime.h`); everything schema-specific is
//! emitted here from the [`Model`]'s layout.

pub mod general;
mod records;
mod tables;

use std::fmt::Write as _;

use crate::banner::Banner;
use crate::case::{screaming, snake};
use crate::model::{Enum, Prim};
use crate::Model;

/// Byte order and CRC-32C: also the core of the Python package's C accelerator.
const CRC: &str = include_str!("../../templates/c/crc.h");
/// Text fields, errors, framing, the datagram iterator, finalize.
const RUNTIME: &str = include_str!("../../templates/c/runtime.h");

/// Names in the header: `rltop_…` functions and types, `RLTOP_…` constants.
pub(crate) struct Names {
    pub lower: String,
    pub upper: String,
}

impl Names {
    fn new(model: &Model) -> Self {
        let lower = model.schema.protocol.name.to_ascii_lowercase();
        Self {
            upper: lower.to_ascii_uppercase(),
            lower,
        }
    }

    /// `rltop_add_order`
    pub fn ty(&self, schema_name: &str) -> String {
        format!("{}_{}", self.lower, snake(schema_name))
    }

    /// `RLTOP_ADD_ORDER`
    pub fn constant(&self, schema_name: &str) -> String {
        format!("{}_{}", self.upper, screaming(schema_name))
    }
}

pub(crate) fn ctype(p: Prim) -> &'static str {
    match p {
        Prim::U8 => "uint8_t",
        Prim::U16 => "uint16_t",
        Prim::U32 => "uint32_t",
        Prim::U64 => "uint64_t",
        Prim::I8 => "int8_t",
        Prim::I16 => "int16_t",
        Prim::I32 => "int32_t",
        Prim::I64 => "int64_t",
        // Read into the next native width (not emitted yet: see `Schema::framed`).
        Prim::U24 => "uint32_t",
        Prim::U48 => "uint64_t",
        Prim::I24 => "int32_t",
        Prim::I48 => "int64_t",
        Prim::Char => "char",
    }
}

/// A `/** … */` comment from schema doc lines (nothing when there are none).
pub(crate) fn doc(out: &mut String, indent: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let clean: Vec<String> = lines.iter().map(|l| l.replace("*/", "* /")).collect();
    if clean.len() == 1 {
        let _ = writeln!(out, "{indent}/** {} */", clean[0].trim());
        return;
    }
    let _ = writeln!(out, "{indent}/**");
    for l in clean {
        let _ = writeln!(
            out,
            "{indent} *{}{}",
            if l.is_empty() { "" } else { " " },
            l.trim_end()
        );
    }
    let _ = writeln!(out, "{indent} */");
}

/// A C integer constant of `p`'s type holding `v`.
pub(crate) fn literal(p: Prim, v: i128) -> String {
    match p {
        Prim::I64 if v == i128::from(i64::MIN) => "INT64_MIN".into(),
        Prim::I64 => format!("INT64_C({v})"),
        Prim::U64 => format!("UINT64_C({v})"),
        _ if p.signed() => format!("{v}"),
        _ => format!("{v}u"),
    }
}

/// CRC-32C slicing-by-8 tables: `t[0]` is the byte-wise table, `t[k]` advances it k bytes.
fn crc_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    for i in 0..256u32 {
        let mut c = i;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
        }
        t[0][i as usize] = c;
    }
    for k in 1..8 {
        for i in 0..256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
        }
    }
    t
}

/// Whether the C header declares a C enumeration for `e` (its values fit an `int`; otherwise
/// they are `#define`d constants and accessors use the repr's integer type).
pub(crate) fn has_enum_type(e: &Enum) -> bool {
    e.variants.iter().all(|v| i32::try_from(v.value).is_ok())
}

fn enumeration(out: &mut String, names: &Names, e: &Enum) {
    let ty = names.ty(&e.name);
    let up = names.constant(&e.name);
    doc(out, "", &e.doc);
    if has_enum_type(e) {
        // C++ gets the repr as the fixed underlying type, so any wire value converts
        // without leaving the enumeration's range.
        let _ = writeln!(
            out,
            "typedef enum {ty} {}_ENUM_BASE({}) {{",
            names.upper,
            ctype(e.repr)
        );
        for (i, v) in e.variants.iter().enumerate() {
            doc(out, "    ", &v.doc);
            let comma = if i + 1 < e.variants.len() { "," } else { "" };
            let _ = writeln!(out, "    {up}_{} = {}{comma}", screaming(&v.name), v.value);
        }
        let _ = writeln!(out, "}} {ty};");
    } else {
        for v in &e.variants {
            doc(out, "", &v.doc);
            let _ = writeln!(
                out,
                "#define {up}_{} {}",
                screaming(&v.name),
                literal(e.repr, v.value.into())
            );
        }
    }
    let _ = writeln!(
        out,
        "\n/** The name of a `{}` value, or NULL if the value is not defined. */",
        e.name
    );
    let _ = writeln!(out, "static inline const char *{ty}_name(int64_t v) {{");
    let _ = writeln!(out, "    switch (v) {{");
    for v in &e.variants {
        let _ = writeln!(
            out,
            "    case {}: return \"{}\";",
            literal(Prim::I64, v.value.into()),
            v.name
        );
    }
    let _ = writeln!(out, "    default: return NULL;\n    }}\n}}\n");
    let _ = writeln!(
        out,
        "/** The value of the `{}` variant named `s`: 0 and *v set, or -1. */",
        e.name
    );
    let _ = writeln!(
        out,
        "static inline int {ty}_from_name(const char *s, int64_t *v) {{"
    );
    for v in &e.variants {
        let _ = writeln!(
            out,
            "    if (strcmp(s, \"{}\") == 0) {{ *v = {}; return 0; }}",
            v.name,
            literal(Prim::I64, v.value.into())
        );
    }
    let _ = writeln!(out, "    return -1;\n}}\n");
}

fn flags(out: &mut String, names: &Names, f: &Enum) {
    let up = names.constant(&f.name);
    doc(out, "", &f.doc);
    let mut all = 0u64;
    for v in &f.variants {
        doc(out, "", &v.doc);
        let bit = 1u64 << v.value;
        all |= bit;
        let _ = writeln!(out, "#define {up}_{} {:#x}u", screaming(&v.name), bit);
    }
    let _ = writeln!(
        out,
        "/** Every defined bit of `{}`; other bits are reserved (written 0, carried when read). */",
        f.name
    );
    let _ = writeln!(out, "#define {up}_ALL {all:#x}u\n");
}

/// The whole header.
/// The hand-written runtime text with the protocol's prefixes (`rltop_` → `{lower}_`).
impl Names {
    fn runtime(&self, text: &str) -> String {
        text.replace("rltop_", &format!("{}_", self.lower))
            .replace("RLTOP_", &format!("{}_", self.upper))
    }
}

/// Byte-order loads and stores, the CRC-32C tables and the CRC-32C functions (one message,
/// four at once), as in the header.
fn crc_section(names: &Names) -> String {
    let lo = &names.lower;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/** CRC-32C slicing-by-8 tables (t[0] is the byte-wise table). */"
    );
    let _ = writeln!(out, "static inline const uint32_t (*{lo}_crc32c_tables(void))[256] {{\n    static const uint32_t t[8][256] = {{");
    for row in crc_tables() {
        let _ = writeln!(out, "        {{");
        for chunk in row.chunks(8) {
            let cells: Vec<String> = chunk.iter().map(|v| format!("{v:#010x}")).collect();
            let _ = writeln!(out, "            {},", cells.join(", "));
        }
        let _ = writeln!(out, "        }},");
    }
    let _ = writeln!(out, "    }};\n    return t;\n}}\n");
    out.push_str(&names.runtime(CRC));
    out
}

/// The header's CRC-32C code alone (with its byte-order loads), for other backends' native
/// accelerators: a C file that includes it needs only `<stdint.h>` and `<string.h>`.
pub fn crc_source(model: &Model) -> String {
    crc_section(&Names::new(model))
}

pub fn header(model: &Model, banner: &Banner) -> String {
    let names = Names::new(model);
    let lo = &names.lower;
    let mut out = String::new();
    let _ = writeln!(out, "/* {} */", banner.line());
    let guard = preamble(&mut out, model, &names);
    protocol_defines(&mut out, model, &names);
    enumerations(&mut out, model, &names);
    message_types(&mut out, model, &names);
    out.push_str(&crc_section(&names));
    let _ = writeln!(out, "typedef struct {lo}_message {lo}_message;\ntypedef struct {lo}_decode_error {lo}_decode_error;");
    out.push('\n');
    out.push_str(&names.runtime(RUNTIME));
    out.push('\n');

    records::emit(&mut out, model, &names);

    let _ = write!(out, "\n#if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC diagnostic pop\n#endif\n\n#ifdef __cplusplus\n}} /* extern \"C\" */\n#endif\n\n#endif /* {guard} */\n");
    out
}

/// The protocol's documentation, the include guard (returned), the includes and the
/// portability macros.
fn preamble(out: &mut String, model: &Model, names: &Names) -> String {
    let s = &model.schema;
    let up = &names.upper;
    let mut pdoc = s.protocol.doc.clone();
    pdoc.push(String::new());
    pdoc.extend(
        [
            "C11 header, no dependency beyond libc; usable from C++ (extern \"C\").",
            "Decode: rltop_iter_init / rltop_iter_next over a datagram, or rltop_decode for one",
            "message; read fields with the accessors (rltop_as_<message>, rltop_<message>_<field>).",
            "Encode: rltop_<message>_init, the setters, then rltop_<message>_encode, which fills",
            "the header's magic, length, type, version, session, sequence, timestamp and checksum.",
            "Wire rules: schema/SPEC.md.",
        ]
        .map(String::from),
    );
    doc(out, "", &pdoc);
    let guard = format!("{up}_H");
    let _ = write!(
        out,
        "#ifndef {guard}\n#define {guard}\n\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n\
         #ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n\
         /* GCC inlines the validators of every type into a caller's datagram loop and then warns\n \
         * that a small buffer \"may be used uninitialized\" on paths the type check rules out. */\n\
         #if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC diagnostic push\n#pragma GCC diagnostic ignored \"-Wmaybe-uninitialized\"\n#endif\n\n\
         #ifdef __cplusplus\n#define {up}_STATIC_ASSERT(c, m) static_assert(c, m)\n#define {up}_ENUM_BASE(t) : t\n#else\n#define {up}_STATIC_ASSERT(c, m) _Static_assert(c, m)\n#define {up}_ENUM_BASE(t)\n#endif\n\n\
         /* File-scope tables a translation unit may not use (GCC warns about unused static const in C). */\n\
         #if defined(__GNUC__) || defined(__clang__)\n#define {up}_MAYBE_UNUSED __attribute__((unused))\n#else\n#define {up}_MAYBE_UNUSED\n#endif\n\n"
    );
    guard
}

/// The protocol's constants: magic, versions, header size and the offsets the runtime needs.
fn protocol_defines(out: &mut String, model: &Model, names: &Names) {
    let (s, up) = (&model.schema, &names.upper);
    let h = model.layout.header(&model.framed);
    let _ = writeln!(out, "/* ---- Protocol ---------------------------------------------------------------------- */\n");
    let p = &s.protocol;
    let mut defines = vec![
        (
            "MAGIC".to_string(),
            format!("{:#010X}u", model.framed.magic).replace("0X", "0x"),
            "The magic number every header starts with.",
        ),
        (
            "VERSION".to_string(),
            p.version.to_string(),
            "The protocol version this header encodes.",
        ),
        (
            "MIN_VERSION".to_string(),
            p.min_version.to_string(),
            "The oldest version it decodes.",
        ),
        (
            "HEADER_SIZE".to_string(),
            h.size.to_string(),
            "Header size in bytes.",
        ),
    ];
    for (i, (role, at)) in h.at.named().into_iter().enumerate() {
        let comment = if i == 0 {
            "Offsets of the header fields the runtime needs."
        } else {
            ""
        };
        defines.push((format!("{role}_OFFSET"), at.to_string(), comment));
    }
    for (name, value, comment) in defines {
        if !comment.is_empty() {
            let _ = writeln!(out, "/** {comment} */");
        }
        let _ = writeln!(out, "#define {up}_{name} {value}");
    }
    out.push('\n');
}

/// The enumerations and flags, and the channel of a type code.
fn enumerations(out: &mut String, model: &Model, names: &Names) {
    let (s, lo) = (&model.schema, &names.lower);
    let _ = writeln!(out, "/* ---- Enumerations and flags -------------------------------------------------------- */\n");
    for e in &s.enums {
        enumeration(out, names, e);
    }
    for f in &s.flags {
        flags(out, names, f);
    }
    if let Some(ce) = s.channel_enum {
        let cty = names.ty(&s.enums[ce].name);
        let _ = writeln!(
            out,
            "/** The channel a type code belongs to, or 0 if none. */"
        );
        let _ = writeln!(
            out,
            "static inline int {lo}_channel_of_type(uint8_t type) {{"
        );
        for c in &s.channels {
            let cond = if c.first == c.last {
                format!("type == {:#04x}", c.first)
            } else {
                format!("type >= {:#04x} && type <= {:#04x}", c.first, c.last)
            };
            let _ = writeln!(out, "    if ({cond}) return ({cty}){};", c.id);
        }
        let _ = writeln!(out, "    return 0;\n}}\n");
    }
}

/// Each message type's code and size, and the size of a type code.
fn message_types(out: &mut String, model: &Model, names: &Names) {
    let (s, lo) = (&model.schema, &names.lower);
    let _ = writeln!(out, "/* ---- Message types ------------------------------------------------------------------ */\n");
    for (m, l) in s.messages.iter().zip(&model.layout.messages) {
        let c = names.constant(&m.name);
        let code = m.message.map_or(0, |i| i.type_code);
        let _ = writeln!(
            out,
            "#define {c}_TYPE {code:#04x}\n#define {c}_SIZE {}",
            l.size
        );
    }
    let _ = writeln!(
        out,
        "\n/** The size of a known type code's messages, or 0 for an unknown code. */"
    );
    let _ = writeln!(
        out,
        "static inline size_t {lo}_size_of_type(uint8_t type) {{\n    \
         /* A table, not a switch: every message's framing asks it (row k: codes 16k..16k+15). */\n    \
         static const uint16_t sizes[256] = {{"
    );
    let mut sizes = [0usize; 256];
    for (m, l) in s.messages.iter().zip(&model.layout.messages) {
        if let Some(info) = m.message {
            sizes[usize::from(info.type_code)] = l.size;
        }
    }
    for row in sizes.chunks(16) {
        let cells: Vec<String> = row.iter().map(usize::to_string).collect();
        let _ = writeln!(out, "        {},", cells.join(", "));
    }
    let _ = writeln!(out, "    }};\n    return sizes[type];\n}}\n");
}
