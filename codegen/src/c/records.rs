//! Structs, their layout assertions and accessors, the per-message validators, typed
//! decode/encode helpers and the field tables, all from the layout pass.

use std::fmt::Write as _;

use super::{ctype, doc, Names};
use crate::layout::{Leaf, LeafKind, RecordLayout, Shape};
use crate::model::{Prim, Record, Schema, Ty};
use crate::Model;

/// The member declaration of a field: `int64_t price`, `rltop_price_level bids[10]`.
fn member(s: &Schema, n: &Names, ty: &Ty, shape: &Shape, name: &str) -> String {
    match (ty, shape) {
        (Ty::Struct(i), _) => format!("{} {name}", n.ty(&s.structs[*i].name)),
        (Ty::Array(element_ty, len), Shape::Array { element, .. }) => {
            member(s, n, element_ty, element, &format!("{name}[{len}]"))
        }
        (Ty::Text(len), _) => format!("char {name}[{len}]"),
        (Ty::Reserved(len), _) => format!("uint8_t {name}[{len}]"),
        (_, Shape::Scalar(prim)) => format!("{} {name}", ctype(*prim)),
        (ty, shape) => unreachable!("the layout pass gave {ty:?} the shape {shape:?}"),
    }
}

fn declaration(out: &mut String, s: &Schema, n: &Names, r: &Record, l: &RecordLayout) {
    let ty = n.ty(&r.name);
    doc(out, "", &r.doc);
    let _ = writeln!(out, "struct {ty} {{");
    for (f, fl) in r.fields.iter().zip(&l.fields) {
        doc(out, "    ", &f.doc);
        let _ = writeln!(
            out,
            "    {}; /* offset {}, {} bytes */",
            member(s, n, &f.ty, &fl.shape, &f.name),
            fl.offset,
            fl.size
        );
    }
    let _ = writeln!(out, "}};");
}

fn asserts(out: &mut String, n: &Names, r: &Record, l: &RecordLayout) {
    let ty = n.ty(&r.name);
    let up = &n.upper;
    let _ = writeln!(
        out,
        "{up}_STATIC_ASSERT(sizeof({ty}) == {}, \"{} is {} bytes\");",
        l.size, r.name, l.size
    );
    for (f, fl) in r.fields.iter().zip(&l.fields) {
        let _ = writeln!(
            out,
            "{up}_STATIC_ASSERT(offsetof({ty}, {}) == {}, \"{}.{} is at offset {}\");",
            f.name, fl.offset, r.name, f.name, fl.offset
        );
    }
}

/// Getters and setters of one record's top-level fields, at the layout's offsets.
fn accessors(out: &mut String, s: &Schema, n: &Names, r: &Record, l: &RecordLayout) {
    let rec = n.ty(&r.name);
    let lo = &n.lower;
    for (f, fl) in r.fields.iter().zip(&l.fields) {
        if f.is_reserved() {
            continue;
        }
        let name = format!("{rec}_{}", f.name);
        let setter = format!("{rec}_set_{}", f.name);
        let at = fl.offset;
        let cb = "(const unsigned char *)m";
        let mb = "(unsigned char *)m";
        doc(out, "", &f.doc);
        match &f.ty {
            Ty::Struct(i) => {
                let st = n.ty(&s.structs[*i].name);
                let _ = writeln!(out, "static inline const {st} *{name}(const {rec} *m) {{ return (const {st} *)(const void *)({cb} + {at}); }}");
                let _ = writeln!(out, "static inline {st} *{name}_mut({rec} *m) {{ return ({st} *)(void *)({mb} + {at}); }}");
            }
            Ty::Array(e, len) => {
                let Some((element, _, step)) = fl.shape.array() else {
                    unreachable!("the layout pass gave the array {} the shape {:?}", f.name, fl.shape)
                };
                let _ = writeln!(out, "/* `i` must be below {len}. */");
                match (&**e, element.scalar()) {
                    (Ty::Struct(i), _) => {
                        let st = n.ty(&s.structs[*i].name);
                        let _ = writeln!(out, "static inline const {st} *{name}(const {rec} *m, size_t i) {{ return (const {st} *)(const void *)({cb} + {at} + i * {step}); }}");
                        let _ = writeln!(out, "static inline {st} *{name}_mut({rec} *m, size_t i) {{ return ({st} *)(void *)({mb} + {at} + i * {step}); }}");
                    }
                    (_, Some(p)) => {
                        let (t, pn) = (ctype(p), p.name());
                        let _ = writeln!(out, "static inline {t} {name}(const {rec} *m, size_t i) {{ return {lo}_load_{pn}({cb} + {at} + i * {step}); }}");
                        let _ = writeln!(out, "static inline void {setter}({rec} *m, size_t i, {t} v) {{ {lo}_store_{pn}({mb} + {at} + i * {step}, v); }}");
                    }
                    // Arrays of text or of arrays: the element's bytes.
                    _ => {
                        let _ = writeln!(out, "static inline const unsigned char *{name}(const {rec} *m, size_t i) {{ return {cb} + {at} + i * {step}; }}");
                        let _ = writeln!(out, "static inline unsigned char *{name}_mut({rec} *m, size_t i) {{ return {mb} + {at} + i * {step}; }}");
                    }
                }
            }
            Ty::Text(len) => {
                let _ = writeln!(out, "/* Copies the text into `out` ({} bytes with the terminating NUL); returns its length. */", len + 1);
                let _ = writeln!(out, "static inline size_t {name}(const {rec} *m, char out[{}]) {{ return {lo}_text_get({cb} + {at}, {len}, out); }}", len + 1);
                let _ = writeln!(out, "/* 0, or -1 (unchanged) if `s` is longer than {len} or not printable ASCII. */");
                let _ = writeln!(out, "static inline int {setter}({rec} *m, const char *s) {{ return {lo}_text_set({mb} + {at}, {len}, s); }}");
            }
            _ => {
                let Some(p) = fl.shape.scalar() else {
                    unreachable!("the layout pass gave the scalar {} the shape {:?}", f.name, fl.shape)
                };
                let (t, pn) = (ctype(p), p.name());
                let _ = writeln!(out, "static inline {t} {name}(const {rec} *m) {{ return {lo}_load_{pn}({cb} + {at}); }}");
                let _ = writeln!(out, "static inline void {setter}({rec} *m, {t} v) {{ {lo}_store_{pn}({mb} + {at}, v); }}");
            }
        }
    }
    out.push('\n');
}

/// The condition under which a leaf is checked: present in this version, inside its count.
fn guard(n: &Names, r: &Record, l: &RecordLayout, leaf: &Leaf, version_at: usize) -> String {
    let mut g = String::new();
    if leaf.since > 1 {
        let _ = write!(g, "b[{version_at}] >= {} && ", leaf.since);
    }
    if let Some((count, index)) = l.counted_by(r, leaf) {
        if let LeafKind::Count { prim, .. } = count.kind {
            let _ = write!(
                g,
                "{}_load_{}(b + {}) > {index} && ",
                n.lower,
                prim.name(),
                count.offset
            );
        }
    }
    g
}

fn validator(
    out: &mut String,
    s: &Schema,
    n: &Names,
    r: &Record,
    l: &RecordLayout,
    version_at: usize,
) {
    let lo = &n.lower;
    let up = &n.upper;
    let _ = writeln!(
        out,
        "/** Checks {}'s enumerations, counts and text (SPEC.md §4, check 8). */",
        r.name
    );
    let _ = writeln!(out, "static inline {lo}_error {}_validate(const unsigned char *b, size_t base, {lo}_decode_error *err) {{", n.ty(&r.name));
    let _ = writeln!(out, "    (void)b;\n    (void)base;\n    (void)err;");
    for leaf in &l.leaves {
        let g = guard(n, r, l, leaf, version_at);
        let path = format!("{}.{}", r.name, leaf.path);
        let at = leaf.offset;
        match leaf.kind {
            LeafKind::Enum(e) => {
                let en = &s.enums[e];
                let pn = en.repr.name();
                let cond: Vec<String> = en
                    .variants
                    .iter()
                    .map(|v| format!("v != {}", super::literal(Prim::I64, v.value.into())))
                    .collect();
                let _ = writeln!(
                    out,
                    "    {{\n        int64_t v = (int64_t){lo}_load_{pn}(b + {at});"
                );
                let _ = writeln!(out, "        if ({g}{}) return {lo}_fail(err, {up}_ERR_BAD_ENUM, base + {at}, \"{path}\", (uint64_t)v, 0);\n    }}", cond.join(" && "));
            }
            LeafKind::Count { prim, max } => {
                let _ = writeln!(
                    out,
                    "    {{\n        uint64_t v = (uint64_t){lo}_load_{}(b + {at});",
                    prim.name()
                );
                let _ = writeln!(out, "        if ({g}v > {max}u) return {lo}_fail(err, {up}_ERR_BAD_COUNT, base + {at}, \"{path}\", v, {max}u);\n    }}");
            }
            LeafKind::Text => {
                let _ = writeln!(out, "    if ({g}!{lo}_text_valid(b + {at}, {})) return {lo}_fail(err, {up}_ERR_BAD_TEXT, base + {at}, \"{path}\", 0, 0);", leaf.size);
            }
            LeafKind::Int(_) | LeafKind::Flags(_) | LeafKind::Reserved => {}
        }
    }
    let _ = writeln!(out, "    return {up}_OK;\n}}\n");
}

/// init / encode / as / decode for one message type.
fn typed(out: &mut String, n: &Names, r: &Record) {
    let lo = &n.lower;
    let up = &n.upper;
    let ty = n.ty(&r.name);
    let c = n.constant(&r.name);
    let short = crate::case::snake(&r.name);
    let _ = write!(
        out,
        "/** Zeroes a {name} (all reserved bytes zero, as the protocol wants). */\n\
         static inline void {ty}_init({ty} *m) {{ memset(m, 0, sizeof *m); }}\n\n\
         /** Fills the header (magic, length, type, version, session, sequence, timestamp) and the\n \
         * checksum; returns the message size. The bytes to send are the {size} bytes at `m`. */\n\
         static inline size_t {ty}_encode({ty} *m, uint64_t session_id, uint64_t seq_num, uint64_t timestamp_ns) {{\n    \
         return {lo}_finalize(m, {c}_SIZE, {c}_TYPE, session_id, seq_num, timestamp_ns);\n}}\n\n\
         /** The {name} a decoded message is, or NULL if it is of another type. */\n\
         static inline const {ty} *{lo}_as_{short}(const {lo}_message *m) {{\n    \
         return m->type == {c}_TYPE ? (const {ty} *)(const void *)m->bytes : NULL;\n}}\n\n\
         /** Decodes a {name} at the start of buf[0..len), checking every rule (another type is\n \
         * UnexpectedType). On success *out points into buf. */\n\
         static inline {lo}_error {ty}_decode(const void *buf, size_t len, const {ty} **out, {lo}_decode_error *err) {{\n    \
         {lo}_message m;\n    \
         {lo}_error e = {lo}_split_frame_as((const unsigned char *)buf, len, 0, {c}_TYPE, &m, err);\n    \
         if (e != {up}_OK) return e;\n    \
         if (m.type != {c}_TYPE) return {lo}_fail(err, {up}_ERR_UNEXPECTED_TYPE, {up}_TYPE_OFFSET, NULL, m.type, {c}_TYPE);\n    \
         e = {lo}_check_frame(&m, err);\n    \
         if (e == {up}_OK) e = {ty}_validate(m.bytes, 0, err);\n    \
         if (e == {up}_OK) *out = {lo}_as_{short}(&m);\n    \
         return e;\n}}\n\n",
        name = r.name,
        size = c.clone() + "_SIZE"
    );
}

fn kind_name(n: &Names, k: LeafKind) -> String {
    let k = match k {
        LeafKind::Int(_) => "INT",
        LeafKind::Enum(_) => "ENUM",
        LeafKind::Flags(_) => "FLAGS",
        LeafKind::Count { .. } => "COUNT",
        LeafKind::Text => "TEXT",
        LeafKind::Reserved => "RESERVED",
    };
    format!("{}_FIELD_{k}", n.upper)
}

/// Field tables, for tools that handle every message generically (dumpers, testees).
fn reflection(out: &mut String, model: &Model, n: &Names) {
    let s = &model.schema;
    let lo = &n.lower;
    let up = &n.upper;
    let _ = write!(
        out,
        "/* ---- Field tables ------------------------------------------------------------------- */\n\n\
         typedef enum {lo}_field_kind {{\n    {up}_FIELD_INT,\n    {up}_FIELD_ENUM,\n    {up}_FIELD_FLAGS,\n    {up}_FIELD_COUNT,\n    {up}_FIELD_TEXT,\n    {up}_FIELD_RESERVED\n}} {lo}_field_kind;\n\n\
         /** One leaf field of a message at its absolute offset (composites and arrays flattened). */\n\
         typedef struct {lo}_field_info {{\n    \
         /** Path from the message: \"bids[3].price\". */\n    const char *path;\n    \
         uint16_t offset;\n    uint16_t size;\n    {lo}_field_kind kind;\n    uint8_t is_signed;\n    \
         /** Protocol version from which the field exists. */\n    uint8_t since;\n    \
         /** COUNT: the top-level array it counts, and that array's length. */\n    const char *counted_array;\n    uint16_t count_max;\n    \
         /** ENUM: the defined values and their names. */\n    uint8_t variant_count;\n    const int64_t *variant_values;\n    const char *const *variant_names;\n}} {lo}_field_info;\n\n\
         typedef struct {lo}_message_info {{\n    const char *name;\n    uint8_t type;\n    uint16_t size;\n    const {lo}_field_info *fields;\n    size_t field_count;\n}} {lo}_message_info;\n\n\
         /** Every message type, in schema order; *count is set to how many. */\n\
         static inline const {lo}_message_info *{lo}_message_infos(size_t *count) {{\n"
    );
    for e in &s.enums {
        let en = crate::case::snake(&e.name);
        let vals: Vec<String> = e
            .variants
            .iter()
            .map(|v| super::literal(Prim::I64, v.value.into()))
            .collect();
        let names: Vec<String> = e
            .variants
            .iter()
            .map(|v| format!("\"{}\"", v.name))
            .collect();
        let _ = writeln!(
            out,
            "    static const int64_t {en}_values[] = {{{}}};",
            vals.join(", ")
        );
        let _ = writeln!(
            out,
            "    static const char *const {en}_names[] = {{{}}};",
            names.join(", ")
        );
    }
    for (m, l) in s.messages.iter().zip(&model.layout.messages) {
        let _ = writeln!(
            out,
            "    static const {lo}_field_info {}_fields[] = {{",
            crate::case::snake(&m.name)
        );
        for leaf in &l.leaves {
            let (signed, counted, max, enum_ref) = match leaf.kind {
                LeafKind::Int(p) => (p.signed(), None, 0, None),
                LeafKind::Enum(e) => (s.enums[e].repr.signed(), None, 0, Some(e)),
                LeafKind::Count { max, .. } => {
                    let array = m.fields[leaf.field]
                        .count_of
                        .map(|t| m.fields[t].name.clone());
                    (false, array, max, None)
                }
                _ => (false, None, 0, None),
            };
            let counted = counted.map_or("NULL".to_string(), |a| format!("\"{a}\""));
            let (vc, vv, vn) = match enum_ref {
                Some(e) => {
                    let en = crate::case::snake(&s.enums[e].name);
                    (
                        s.enums[e].variants.len(),
                        format!("{en}_values"),
                        format!("{en}_names"),
                    )
                }
                None => (0, "NULL".into(), "NULL".into()),
            };
            let _ = writeln!(
                out,
                "        {{\"{}\", {}, {}, {}, {}, {}, {counted}, {max}, {vc}, {vv}, {vn}}},",
                leaf.path,
                leaf.offset,
                leaf.size,
                kind_name(n, leaf.kind),
                u8::from(signed),
                leaf.since
            );
        }
        let _ = writeln!(out, "    }};");
    }
    let _ = writeln!(out, "    static const {lo}_message_info infos[] = {{");
    for m in &s.messages {
        let c = n.constant(&m.name);
        let sn = crate::case::snake(&m.name);
        let _ = writeln!(out, "        {{\"{}\", {c}_TYPE, {c}_SIZE, {sn}_fields, sizeof {sn}_fields / sizeof {sn}_fields[0]}},", m.name);
    }
    let _ = writeln!(
        out,
        "    }};\n    *count = sizeof infos / sizeof infos[0];\n    return infos;\n}}\n"
    );
}

pub(super) fn emit(out: &mut String, model: &Model, n: &Names) {
    let s = &model.schema;
    let lo = &n.lower;
    let up = &n.upper;
    let version_at = model.layout.header(s).at.version;

    let _ = writeln!(out, "/* ---- Layouts --------------------------------------------------------------------------\n * Packed structs with the wire layout, checked against the schema's layout pass. Access\n * fields through the accessors below, which read little-endian bytes at fixed offsets. */\n");
    for r in s.structs.iter().chain(&s.messages) {
        let _ = writeln!(out, "typedef struct {0} {0};", n.ty(&r.name));
    }
    let _ = writeln!(out, "\n#pragma pack(push, 1)\n");
    for (r, l) in s
        .structs
        .iter()
        .zip(&model.layout.structs)
        .chain(s.messages.iter().zip(&model.layout.messages))
    {
        declaration(out, s, n, r, l);
        out.push('\n');
    }
    let _ = writeln!(out, "#pragma pack(pop)\n");
    for (r, l) in s
        .structs
        .iter()
        .zip(&model.layout.structs)
        .chain(s.messages.iter().zip(&model.layout.messages))
    {
        asserts(out, n, r, l);
    }
    let _ = writeln!(out, "\n/* ---- Accessors ------------------------------------------------------------------------ */\n");
    for (r, l) in s
        .structs
        .iter()
        .zip(&model.layout.structs)
        .chain(s.messages.iter().zip(&model.layout.messages))
    {
        let _ = writeln!(out, "/* {} */", r.name);
        accessors(out, s, n, r, l);
    }
    let _ = writeln!(out, "/* ---- Validation, decoding and encoding per message ------------------------------------ */\n");
    for (r, l) in s.messages.iter().zip(&model.layout.messages) {
        validator(out, s, n, r, l, version_at);
        typed(out, n, r);
    }
    let _ = writeln!(out, "static inline {lo}_error {lo}_validate_fields(const {lo}_message *m, {lo}_decode_error *err) {{\n    switch (m->type) {{");
    for m in &s.messages {
        let _ = writeln!(
            out,
            "    case {}_TYPE: return {}_validate(m->bytes, m->offset, err);",
            n.constant(&m.name),
            n.ty(&m.name)
        );
    }
    let _ = writeln!(out, "    default: return {up}_OK;\n    }}\n}}\n");
    reflection(out, model, n);
}
