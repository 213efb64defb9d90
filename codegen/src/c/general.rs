//! The C backend for protocols not of RLTOP's shape (ITCH, OUCH, a venue's own feed): one
//! self-contained C11 header, usable from C++, with no dependency beyond libc.
//!
//! Messages are byte buffers; every field is read and written through an accessor that
//! knows its offset (from the layout pass), width and byte order, one byte at a time, so it
//! is correct on any host and never dereferences unaligned memory. 24- and 48-bit integers
//! read as the next native width, and their setters refuse what does not fit. The header
//! also has each message's `validate`, a `decode` dispatching on the type code, the
//! canonical JSON line of a message (the same text as the Rust crate's `to_json`), and the
//! framing's iterator. Records with nested structs or arrays are not emitted by this version.

use std::fmt::Write as _;

use super::doc;
use crate::banner::Banner;
use crate::case::{screaming, snake};
use crate::layout::{RecordLayout, Shape};
use crate::model::{ByteOrder, Enum, Framing, Padding, Prim, Record, Schema, Ty};
use crate::Laid;

/// The fixed part: byte order, errors, the JSON buffer. `itch_` and `ITCH_` stand for the
/// protocol's prefix.
const RUNTIME: &str = include_str!("../../templates/c/general.h");
/// MoldUDP64's iterator, for `framing moldudp64`.
const MOLDUDP64: &str = include_str!("../../templates/c/moldudp64.h");
/// SoupBinTCP's packet reader, for `framing soupbintcp`.
const SOUPBINTCP: &str = include_str!("../../templates/c/soupbintcp.h");

/// The header for `laid`, or why this version cannot write it.
pub fn header(laid: &Laid, banner: &Banner) -> Result<String, String> {
    let s = &laid.schema;
    let p = &s.protocol;
    laid.flat_first_byte("the C header")?;
    let lo = p.name.to_ascii_lowercase();
    let up = lo.to_ascii_uppercase();
    let mut out = String::new();
    let _ = writeln!(out, "/* {} */", banner.line());
    let mut lines = p.doc.clone();
    lines.push(String::new());
    lines.push(format!(
        "C11 header, no dependency beyond libc; usable from C++ (extern \"C\"). {}-endian, framing {}.",
        p.byte_order.name(),
        p.framing.name()
    ));
    lines.push(format!(
        "Decode: {lo}_decode on one message (after the framing: {lo}_mold_open/_next for MoldUDP64, {lo}_soup_next for SoupBinTCP), then the accessors {lo}_<message>_<field>."
    ));
    lines.push(format!(
        "Encode: memset a buffer of {up}_<MESSAGE>_SIZE, {lo}_<message>_init, the setters."
    ));
    doc(&mut out, "", &lines);
    let _ = write!(
        out,
        "#ifndef {up}_H\n#define {up}_H\n\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n\
         #ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n"
    );
    out.push_str(&prefixed(RUNTIME, &lo, &up));
    for a in s.aliases.iter().filter(|a| a.scale.is_some()) {
        let _ = writeln!(
            out,
            "/** Implied decimal places of {}. */\n#define {up}_{}_SCALE {}\n",
            a.name,
            screaming(&a.name),
            a.scale.unwrap_or(0)
        );
    }
    for e in s.enums.iter() {
        enumeration(&mut out, &lo, &up, e);
    }
    for (r, l) in s.messages.iter().zip(laid.layout.messages.iter()) {
        message(&mut out, s, &lo, &up, r, l)?;
    }
    dispatch(&mut out, s, &lo, &up);
    let messages: Vec<_> = s.messages.iter().zip(laid.layout.messages.iter()).collect();
    super::tables::message_infos(&mut out, s, &lo, &up, &messages);
    match p.framing {
        Framing::MoldUdp64 => out.push_str(&prefixed(MOLDUDP64, &lo, &up)),
        Framing::SoupBinTcp => out.push_str(&prefixed(SOUPBINTCP, &lo, &up)),
        Framing::Packed => {}
    }
    let _ = write!(
        out,
        "#ifdef __cplusplus\n}} /* extern \"C\" */\n#endif\n\n#endif /* {up}_H */\n"
    );
    Ok(out)
}

/// A template with the protocol's prefixes.
fn prefixed(template: &str, lo: &str, up: &str) -> String {
    template
        .replace("itch_", &format!("{lo}_"))
        .replace("ITCH_", &format!("{up}_"))
}

/// `'B'` for a printable character code, the number otherwise.
pub(super) fn code(p: Prim, v: i64) -> String {
    match u8::try_from(v) {
        Ok(c) if p == Prim::Char && (0x20..0x7f).contains(&c) && c != b'\'' && c != b'\\' => {
            format!("'{}'", char::from(c))
        }
        _ => v.to_string(),
    }
}

fn enumeration(out: &mut String, lo: &str, up: &str, e: &Enum) {
    doc(out, "", &e.doc);
    let en = screaming(&e.name);
    for v in &e.variants {
        doc(out, "", &v.doc);
        let _ = writeln!(
            out,
            "#define {up}_{en}_{} {}",
            screaming(&v.name),
            code(e.repr, v.value)
        );
    }
    let _ = writeln!(
        out,
        "\n/** The name of {} value `v` in the schema, or NULL for a value it does not define. */\n\
         static inline const char *{lo}_{}_name(int64_t v) {{\n    switch (v) {{",
        e.name,
        snake(&e.name)
    );
    for v in &e.variants {
        let _ = writeln!(
            out,
            "    case {}: return \"{}\";",
            code(e.repr, v.value),
            v.name
        );
    }
    out.push_str("    default: return NULL;\n    }\n}\n\n");
}

/// The C type a scalar reads as.
fn ctype(p: Prim) -> &'static str {
    match p {
        Prim::Char => "uint8_t",
        other => super::ctype(other),
    }
}

fn order(o: ByteOrder) -> &'static str {
    match o {
        ByteOrder::Big => "be",
        ByteOrder::Little => "le",
    }
}

/// The read of a scalar of `p` at `m + at`, as the C type of `p`.
fn read(lo: &str, p: Prim, o: ByteOrder, at: usize) -> String {
    let (n, bits) = (p.size(), p.size() * 8);
    let raw = format!("{lo}_get_{}(m + {at}, {n})", order(o));
    match p {
        _ if p.signed() && n < 8 => format!("({})({lo}_sign_extend({raw}, {bits}))", ctype(p)),
        Prim::I64 => format!("(int64_t){raw}"),
        _ => format!("({}){raw}", ctype(p)),
    }
}

fn message(
    out: &mut String,
    s: &Schema,
    lo: &str,
    up: &str,
    r: &Record,
    l: &RecordLayout,
) -> Result<(), String> {
    let m = r.message.expect("a message");
    let (mn, mu) = (
        format!("{lo}_{}", snake(&r.name)),
        format!("{up}_{}", screaming(&r.name)),
    );
    doc(out, "", &r.doc);
    let _ = writeln!(
        out,
        "#define {mu}_TYPE {}\n#define {mu}_SIZE {}",
        code(
            if m.char_code { Prim::Char } else { Prim::U8 },
            m.type_code.into()
        ),
        l.size
    );
    for (f, fl) in r.fields.iter().zip(&l.fields) {
        let _ = writeln!(
            out,
            "#define {mu}_{}_OFFSET {}",
            screaming(&f.name),
            fl.offset
        );
    }
    out.push('\n');
    for (f, fl) in r.fields.iter().zip(&l.fields) {
        if f.is_reserved() {
            continue;
        }
        match &fl.shape {
            Shape::Scalar(p) => scalar_accessors(out, lo, &mn, f, *p, fl.offset),
            Shape::Text(n) => text_accessors(out, lo, &mn, f, *n, fl.offset),
            _ => {
                return Err(format!(
                    "the C header: `{}.{}` is a nested record or array, which this version does not emit",
                    r.name, f.name
                ))
            }
        }
    }
    init(out, &mn, &mu, l);
    validate(out, s, lo, &mn, r, l);
    json(out, s, lo, &mn, r, l);
    Ok(())
}

fn scalar_accessors(
    out: &mut String,
    lo: &str,
    mn: &str,
    f: &crate::model::Field,
    p: Prim,
    at: usize,
) {
    let (fname, t, n) = (&f.name, ctype(p), p.size());
    doc(out, "", &f.doc);
    let _ = writeln!(
        out,
        "static inline {t} {mn}_{fname}(const uint8_t *m) {{ return {}; }}",
        read(lo, p, f.order, at)
    );
    let put = format!("{lo}_put_{}(m + {at}, {n}, (uint64_t)v)", order(f.order));
    if p.is_native() {
        let _ = writeln!(
            out,
            "static inline void {mn}_set_{fname}(uint8_t *m, {t} v) {{ {put}; }}"
        );
    } else {
        let bits = n * 8;
        let range = if p.signed() {
            format!(
                "v < -(INT64_C(1) << {}) || v >= (INT64_C(1) << {})",
                bits - 1,
                bits - 1
            )
        } else {
            format!("v >> {bits} != 0")
        };
        let _ = writeln!(
            out,
            "/** Refuses (-1, field unchanged) a value a {bits}-bit field cannot hold. */\n\
             static inline int {mn}_set_{fname}(uint8_t *m, {t} v) {{ if ({range}) return -1; {put}; return 0; }}"
        );
    }
}

fn text_accessors(
    out: &mut String,
    lo: &str,
    mn: &str,
    f: &crate::model::Field,
    n: usize,
    at: usize,
) {
    let fname = &f.name;
    let space = f.pad == Padding::Space;
    doc(out, "", &f.doc);
    let _ = writeln!(
        out,
        "/** Copies the text up to its padding into `out` (NUL-terminated); returns its length. */\n\
         static inline size_t {mn}_{fname}(const uint8_t *m, char out[{}]) {{ return {lo}_text_get(m + {at}, {n}, {}, out); }}\n\
         /** Writes `text` and its padding; -1 (field unchanged) if too long or not printable ASCII. */\n\
         static inline int {mn}_set_{fname}(uint8_t *m, const char *text) {{ return {lo}_text_set(m + {at}, {n}, {}, text); }}",
        n + 1,
        u8::from(space),
        u8::from(space)
    );
}

/// `_init`: the type code, and spaces in characters and space-padded text.
fn init(out: &mut String, mn: &str, mu: &str, l: &RecordLayout) {
    let _ = writeln!(
        out,
        "/** Writes the type code and fills characters and space-padded text with spaces, in a buffer of {mu}_SIZE zero bytes. */\n\
         static inline void {mn}_init(uint8_t *m) {{"
    );
    for leaf in &l.leaves {
        let blank = matches!(leaf.kind, crate::layout::LeafKind::Int(Prim::Char))
            || (leaf.kind == crate::layout::LeafKind::Text && leaf.pad == Padding::Space);
        if blank {
            let _ = writeln!(out, "    memset(m + {}, ' ', {});", leaf.offset, leaf.size);
        }
    }
    let _ = writeln!(out, "    m[0] = {mu}_TYPE;\n}}\n");
}

/// `_validate`: enumerations and text, each error at its byte, in leaf order.
fn validate(out: &mut String, s: &Schema, lo: &str, mn: &str, r: &Record, l: &RecordLayout) {
    use crate::layout::LeafKind;
    let up = lo.to_ascii_uppercase();
    let _ = writeln!(
        out,
        "/** Checks every field's value; `base` is the message's offset, for the error. 0 if valid. */\n\
         static inline int {mn}_validate(const uint8_t *m, size_t base, {lo}_error *err) {{"
    );
    for leaf in &l.leaves {
        let path = format!("{}.{}", r.name, leaf.path);
        let at = leaf.offset;
        match leaf.kind {
            LeafKind::Enum(e) => {
                let en = &s.enums[e];
                let _ = writeln!(
                    out,
                    "    {{ int64_t v = (int64_t){}; if (!{lo}_{}_name(v)) return {lo}_fail(err, {up}_BAD_ENUM, base + {at}, \"{path}\", v); }}",
                    read(lo, en.repr, leaf.order, at),
                    snake(&en.name)
                );
            }
            LeafKind::Text | LeafKind::Int(Prim::Char) => {
                let space = leaf.kind != LeafKind::Text || leaf.pad == Padding::Space;
                let _ = writeln!(
                    out,
                    "    if (!{lo}_text_valid(m + {at}, {}, {})) return {lo}_fail(err, {up}_BAD_TEXT, base + {at}, \"{path}\", 0);",
                    leaf.size,
                    u8::from(space)
                );
            }
            _ => {}
        }
    }
    let _ = writeln!(
        out,
        "    (void)m; (void)base; (void)err;\n    return 0;\n}}\n"
    );
}

/// `_json`: the canonical JSON line, as the Rust crate's `to_json` writes it.
fn json(out: &mut String, s: &Schema, lo: &str, mn: &str, r: &Record, l: &RecordLayout) {
    let _ = writeln!(
        out,
        "/** The message's canonical JSON (the Rust crate's to_json) into `out`, NUL-terminated and cut at `cap`; returns the full length. */\n\
         static inline size_t {mn}_json(const uint8_t *m, char *out, size_t cap) {{\n    {lo}_buf b = {{out, cap, 0}};\n    {lo}_put(&b, \"{{\\\"type\\\":\\\"{}\\\"\");",
        r.name
    );
    for (f, fl) in r.fields.iter().zip(&l.fields) {
        if f.is_reserved() {
            continue;
        }
        let _ = writeln!(out, "    {lo}_put(&b, \",\\\"{}\\\":\");", f.name);
        let get = format!("{mn}_{}(m)", f.name);
        let line = match (&f.ty, &fl.shape) {
            (Ty::Enum(e), Shape::Scalar(_)) => format!(
                "{{ int64_t v = (int64_t){get}; const char *n = {lo}_{}_name(v); if (n) {lo}_put_string(&b, n, strlen(n)); else {lo}_put_i64(&b, v); }}",
                snake(&s.enums[*e].name)
            ),
            (Ty::Alias(a), Shape::Scalar(p)) if s.aliases[*a].scale.is_some() => format!(
                "{lo}_put_decimal(&b, {}, (uint64_t){get}, {});",
                u8::from(p.signed()),
                s.aliases[*a].scale.unwrap_or(0)
            ),
            (_, Shape::Scalar(Prim::Char)) => format!("{{ char c = (char){get}; {lo}_put_string(&b, &c, 1); }}"),
            (_, Shape::Scalar(Prim::U64)) => format!("{lo}_put(&b, \"\\\"\"); {lo}_put_u64(&b, {get}); {lo}_put(&b, \"\\\"\");"),
            (_, Shape::Scalar(Prim::I64)) => format!("{lo}_put(&b, \"\\\"\"); {lo}_put_i64(&b, {get}); {lo}_put(&b, \"\\\"\");"),
            (_, Shape::Scalar(p)) if p.signed() => format!("{lo}_put_i64(&b, (int64_t){get});"),
            (_, Shape::Scalar(_)) => format!("{lo}_put_u64(&b, (uint64_t){get});"),
            (_, Shape::Text(n)) => format!(
                "{{ char t[{}]; size_t n = {mn}_{}(m, t); {lo}_put_string(&b, t, n); }}",
                n + 1,
                f.name
            ),
            _ => String::new(),
        };
        let _ = writeln!(out, "    {line}");
    }
    let _ = writeln!(
        out,
        "    {lo}_put(&b, \"}}\");\n    return {lo}_buf_end(&b);\n}}\n"
    );
}

fn dispatch(out: &mut String, s: &Schema, lo: &str, up: &str) {
    let each = |out: &mut String, f: &dyn Fn(&str, &str) -> String| {
        for r in s.messages.iter() {
            let (mn, mu) = (
                format!("{lo}_{}", snake(&r.name)),
                format!("{up}_{}", screaming(&r.name)),
            );
            let _ = writeln!(out, "    case {mu}_TYPE: {}", f(&mn, &mu));
        }
    };
    let _ = writeln!(out, "/** The size of messages of type `code`, or 0 for a type the protocol does not have. */\nstatic inline size_t {lo}_size_of_type(uint8_t code) {{\n    switch (code) {{");
    each(out, &|_, mu| format!("return {mu}_SIZE;"));
    out.push_str("    default: return 0;\n    }\n}\n\n");
    let _ = writeln!(out, "/** The schema's name of type `code`, or NULL. */\nstatic inline const char *{lo}_type_name(uint8_t code) {{\n    switch (code) {{");
    for r in s.messages.iter() {
        let _ = writeln!(
            out,
            "    case {up}_{}_TYPE: return \"{}\";",
            screaming(&r.name),
            r.name
        );
    }
    out.push_str("    default: return NULL;\n    }\n}\n\n");
    let _ = writeln!(
        out,
        "/** Checks `len` bytes at `buf` as one whole message: type, length, every field. 0 if valid;\n * else -1 with `err` (offsets from `base`). */\n\
         static inline int {lo}_decode(const uint8_t *buf, size_t len, size_t base, {lo}_error *err) {{\n    \
         size_t size;\n    if (len < 1) return {lo}_fail(err, {up}_TRUNCATED, base, NULL, 1);\n    \
         size = {lo}_size_of_type(buf[0]);\n    if (size == 0) return {lo}_fail(err, {up}_UNKNOWN_TYPE, base, NULL, buf[0]);\n    \
         if (len < size) return {lo}_fail(err, {up}_TRUNCATED, base, NULL, (int64_t)size);\n    \
         if (len > size) return {lo}_fail(err, {up}_BAD_LENGTH, base, NULL, (int64_t)len);\n    switch (buf[0]) {{"
    );
    each(out, &|mn, _| {
        format!("return {mn}_validate(buf, base, err);")
    });
    out.push_str("    default: return -1;\n    }\n}\n\n");
    let _ = writeln!(out, "/** The canonical JSON of a decoded message (see the types' _json). */\nstatic inline size_t {lo}_json(const uint8_t *m, char *out, size_t cap) {{\n    switch (m[0]) {{");
    each(out, &|mn, _| format!("return {mn}_json(m, out, cap);"));
    let _ = writeln!(
        out,
        "    default: if (cap) out[0] = 0; return 0;\n    }}\n}}\n"
    );
}
