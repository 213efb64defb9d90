//! Structs, their layout assertions and accessors, the per-message validators, typed
//! decode/encode helpers and the field tables, all from the layout pass.

use std::fmt::Write as _;

use super::{ctype, doc, has_enum_type, Names};
use crate::layout::{Leaf, LeafKind, RecordLayout, Shape};
use crate::model::{Prim, Record, Schema, Ty};
use crate::Model;

/// The member declaration of a field: `int64_t price`, `rltop_price_level bids[10]`.
fn member(schema: &Schema, names: &Names, ty: &Ty, shape: &Shape, name: &str) -> String {
    match (ty, shape) {
        (Ty::Struct(i), _) => format!("{} {name}", names.ty(&schema.structs[*i].name)),
        (Ty::Array(element_ty, len), Shape::Array { element, .. }) => member(
            schema,
            names,
            element_ty,
            element,
            &format!("{name}[{len}]"),
        ),
        (Ty::Text(len), _) => format!("char {name}[{len}]"),
        (Ty::Reserved(len), _) => format!("uint8_t {name}[{len}]"),
        (_, Shape::Scalar(prim)) => format!("{} {name}", ctype(*prim)),
        (ty, shape) => unreachable!("the layout pass gave {ty:?} the shape {shape:?}"),
    }
}

/// "1 byte", "8 bytes".
fn bytes(count: usize) -> String {
    if count == 1 {
        "1 byte".into()
    } else {
        format!("{count} bytes")
    }
}

/// "a Trade", "an AddOrder".
fn article(name: &str) -> &'static str {
    if name.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// The C type an accessor of a scalar of schema type `ty` (wire integer `prim`) takes and
/// returns: the enumeration's type when the header declares one, else the integer type.
fn value_type(schema: &Schema, names: &Names, ty: &Ty, prim: Prim) -> String {
    match ty {
        Ty::Enum(e) if has_enum_type(&schema.enums[*e]) => names.ty(&schema.enums[*e].name),
        Ty::Array(element, _) => value_type(schema, names, element, prim),
        _ => ctype(prim).to_string(),
    }
}

fn declaration(
    out: &mut String,
    schema: &Schema,
    names: &Names,
    record: &Record,
    layout: &RecordLayout,
) {
    let ty = names.ty(&record.name);
    doc(out, "", &record.doc);
    let _ = writeln!(out, "struct {ty} {{");
    for (f, fl) in record.fields.iter().zip(&layout.fields) {
        doc(out, "    ", &f.doc);
        let _ = writeln!(
            out,
            "    {}; /* offset {}, {} */",
            member(schema, names, &f.ty, &fl.shape, &f.name),
            fl.offset,
            bytes(fl.size)
        );
    }
    let _ = writeln!(out, "}};");
}

fn asserts(out: &mut String, names: &Names, record: &Record, layout: &RecordLayout) {
    let ty = names.ty(&record.name);
    let up = &names.upper;
    let _ = writeln!(
        out,
        "{up}_STATIC_ASSERT(sizeof({ty}) == {}, \"{} is {} bytes\");",
        layout.size, record.name, layout.size
    );
    for (f, fl) in record.fields.iter().zip(&layout.fields) {
        let _ = writeln!(
            out,
            "{up}_STATIC_ASSERT(offsetof({ty}, {}) == {}, \"{}.{} is at offset {}\");",
            f.name, fl.offset, record.name, f.name, fl.offset
        );
    }
}

/// Getters and setters of one record's top-level fields, at the layout's offsets.
fn accessors(
    out: &mut String,
    schema: &Schema,
    names: &Names,
    record: &Record,
    layout: &RecordLayout,
) {
    let rec = names.ty(&record.name);
    let lo = &names.lower;
    for (f, fl) in record.fields.iter().zip(&layout.fields) {
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
                let st = names.ty(&schema.structs[*i].name);
                let _ = writeln!(out, "static inline const {st} *{name}(const {rec} *m) {{ return (const {st} *)(const void *)({cb} + {at}); }}");
                let _ = writeln!(out, "static inline {st} *{name}_mut({rec} *m) {{ return ({st} *)(void *)({mb} + {at}); }}");
            }
            Ty::Array(e, len) => {
                let Some((element, _, step)) = fl.shape.array() else {
                    unreachable!(
                        "the layout pass gave the array {} the shape {:?}",
                        f.name, fl.shape
                    )
                };
                let _ = writeln!(out, "/* `i` must be below {len}. */");
                match (&**e, element.scalar()) {
                    (Ty::Struct(i), _) => {
                        let st = names.ty(&schema.structs[*i].name);
                        let _ = writeln!(out, "static inline const {st} *{name}(const {rec} *m, size_t i) {{ return (const {st} *)(const void *)({cb} + {at} + i * {step}); }}");
                        let _ = writeln!(out, "static inline {st} *{name}_mut({rec} *m, size_t i) {{ return ({st} *)(void *)({mb} + {at} + i * {step}); }}");
                    }
                    (_, Some(p)) => {
                        let (t, wire, pn) = (value_type(schema, names, e, p), ctype(p), p.name());
                        let _ = writeln!(out, "static inline {t} {name}(const {rec} *m, size_t i) {{ return ({t}){lo}_load_{pn}({cb} + {at} + i * {step}); }}");
                        let _ = writeln!(out, "static inline void {setter}({rec} *m, size_t i, {t} v) {{ {lo}_store_{pn}({mb} + {at} + i * {step}, ({wire})v); }}");
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
                    unreachable!(
                        "the layout pass gave the scalar {} the shape {:?}",
                        f.name, fl.shape
                    )
                };
                let (t, wire, pn) = (value_type(schema, names, &f.ty, p), ctype(p), p.name());
                if t == wire {
                    let _ = writeln!(out, "static inline {t} {name}(const {rec} *m) {{ return {lo}_load_{pn}({cb} + {at}); }}");
                    let _ = writeln!(out, "static inline void {setter}({rec} *m, {t} v) {{ {lo}_store_{pn}({mb} + {at}, v); }}");
                } else {
                    // An enumeration: any wire value converts (the C++ enum has the repr as its
                    // base); whether it is a defined one is the validator's question.
                    let _ = writeln!(out, "static inline {t} {name}(const {rec} *m) {{ return ({t}){lo}_load_{pn}({cb} + {at}); }}");
                    let _ = writeln!(out, "static inline void {setter}({rec} *m, {t} v) {{ {lo}_store_{pn}({mb} + {at}, ({wire})v); }}");
                }
            }
        }
    }
    out.push('\n');
}

/// The condition under which a leaf is checked: present in this version, inside its count.
fn guard(
    names: &Names,
    record: &Record,
    layout: &RecordLayout,
    leaf: &Leaf,
    version_at: usize,
) -> String {
    let mut g = String::new();
    if leaf.since > 1 {
        let _ = write!(g, "b[{version_at}] >= {} && ", leaf.since);
    }
    if let Some((count, index)) = layout.counted_by(record, leaf) {
        if let LeafKind::Count { prim, .. } = count.kind {
            let _ = write!(
                g,
                "{}_load_{}(b + {}) > {index} && ",
                names.lower,
                prim.name(),
                count.offset
            );
        }
    }
    g
}

fn validator(
    out: &mut String,
    schema: &Schema,
    names: &Names,
    record: &Record,
    layout: &RecordLayout,
    version_at: usize,
) {
    let lo = &names.lower;
    let up = &names.upper;
    let _ = writeln!(
        out,
        "/** Checks {}'s enumerations, counts and text (SPEC.md §4, check 8). */",
        record.name
    );
    let _ = writeln!(out, "static inline {lo}_error {}_validate(const unsigned char *b, size_t base, {lo}_decode_error *err) {{", names.ty(&record.name));
    // The checks first: a record without any has nothing to say about its parameters.
    let mut checks = String::new();
    for leaf in &layout.leaves {
        let g = guard(names, record, layout, leaf, version_at);
        let path = format!("{}.{}", record.name, leaf.path);
        let at = leaf.offset;
        match leaf.kind {
            LeafKind::Enum(e) => {
                let en = &schema.enums[e];
                let pn = en.repr.name();
                let cond: Vec<String> = en
                    .variants
                    .iter()
                    .map(|v| format!("v != {}", super::literal(Prim::I64, v.value.into())))
                    .collect();
                let _ = writeln!(
                    checks,
                    "    {{\n        int64_t v = (int64_t){lo}_load_{pn}(b + {at});"
                );
                let _ = writeln!(checks, "        if ({g}{}) return {lo}_fail(err, {up}_ERR_BAD_ENUM, base + {at}, \"{path}\", (uint64_t)v, 0);\n    }}", cond.join(" && "));
            }
            LeafKind::Count { prim, max } => {
                let _ = writeln!(
                    checks,
                    "    {{\n        uint64_t v = (uint64_t){lo}_load_{}(b + {at});",
                    prim.name()
                );
                let _ = writeln!(checks, "        if ({g}v > {max}u) return {lo}_fail(err, {up}_ERR_BAD_COUNT, base + {at}, \"{path}\", v, {max}u);\n    }}");
            }
            LeafKind::Text => {
                let _ = writeln!(checks, "    if ({g}!{lo}_text_valid(b + {at}, {})) return {lo}_fail(err, {up}_ERR_BAD_TEXT, base + {at}, \"{path}\", 0, 0);", leaf.size);
            }
            LeafKind::Int(_) | LeafKind::Flags(_) | LeafKind::Reserved => {}
        }
    }
    if checks.is_empty() {
        let _ = writeln!(
            out,
            "    /* {} has no enumeration, count or text field: nothing to check. */\n    (void)b;\n    (void)base;\n    (void)err;",
            record.name
        );
    } else {
        out.push_str(&checks);
    }
    let _ = writeln!(out, "    return {up}_OK;\n}}\n");
}

/// init / encode / as / decode for one message type.
fn typed(out: &mut String, names: &Names, record: &Record) {
    let lo = &names.lower;
    let up = &names.upper;
    let ty = names.ty(&record.name);
    let c = names.constant(&record.name);
    let short = crate::case::snake(&record.name);
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
         /** Decodes {a} {name} at the start of buf[0..len), checking every rule (another type is\n \
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
        name = record.name,
        a = article(&record.name),
        size = c.clone() + "_SIZE"
    );
}

fn kind_name(names: &Names, kind: LeafKind) -> String {
    let suffix = match kind {
        LeafKind::Int(_) => "INT",
        LeafKind::Enum(_) => "ENUM",
        LeafKind::Flags(_) => "FLAGS",
        LeafKind::Count { .. } => "COUNT",
        LeafKind::Text => "TEXT",
        LeafKind::Reserved => "RESERVED",
    };
    format!("{}_FIELD_{suffix}", names.upper)
}

/// The field-table types and each enumeration's values and names, before the records whose
/// tables point at them.
fn reflection_types(out: &mut String, model: &Model, names: &Names) {
    let schema = &model.schema;
    let lo = &names.lower;
    let up = &names.upper;
    let _ = write!(
        out,
        "/* ---- Field tables: types ------------------------------------------------------------\n \
         * Every message's leaf fields, for tools that handle every type generically (dumpers,\n \
         * testees): each message's table is with the message, {lo}_message_infos() lists them. */\n\n\
         typedef enum {lo}_field_kind {{\n    {up}_FIELD_INT,\n    {up}_FIELD_ENUM,\n    {up}_FIELD_FLAGS,\n    {up}_FIELD_COUNT,\n    {up}_FIELD_TEXT,\n    {up}_FIELD_RESERVED\n}} {lo}_field_kind;\n\n\
         /** One leaf field of a message at its absolute offset (composites and arrays flattened). */\n\
         typedef struct {lo}_field_info {{\n    \
         /** Path from the message: \"bids[3].price\". */\n    const char *path;\n    \
         uint16_t offset;\n    uint16_t size;\n    {lo}_field_kind kind;\n    uint8_t is_signed;\n    \
         /** Protocol version from which the field exists. */\n    uint8_t since;\n    \
         /** COUNT: the top-level array it counts, and that array's length. */\n    const char *counted_array;\n    uint16_t count_max;\n    \
         /** ENUM: the defined values and their names. */\n    uint8_t variant_count;\n    const int64_t *variant_values;\n    const char *const *variant_names;\n}} {lo}_field_info;\n\n\
         typedef struct {lo}_message_info {{\n    const char *name;\n    uint8_t type;\n    uint16_t size;\n    const {lo}_field_info *fields;\n    size_t field_count;\n}} {lo}_message_info;\n\n"
    );
    for e in &schema.enums {
        let en = names.ty(&e.name);
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
            "static const int64_t {en}_values[] {up}_MAYBE_UNUSED = {{{}}};",
            vals.join(", ")
        );
        let _ = writeln!(
            out,
            "static const char *const {en}_names[] {up}_MAYBE_UNUSED = {{{}}};",
            names.join(", ")
        );
    }
    out.push('\n');
}

/// One message's field table.
fn field_table(
    out: &mut String,
    schema: &Schema,
    names: &Names,
    message: &Record,
    layout: &RecordLayout,
) {
    let lo = &names.lower;
    let up = &names.upper;
    let _ = writeln!(out, "/** {}'s leaf fields, in wire order. */", message.name);
    let _ = writeln!(
        out,
        "static const {lo}_field_info {}_fields[] {up}_MAYBE_UNUSED = {{",
        names.ty(&message.name)
    );
    for leaf in &layout.leaves {
        let (signed, counted, max, enum_ref) = match leaf.kind {
            LeafKind::Int(p) => (p.signed(), None, 0, None),
            LeafKind::Enum(e) => (schema.enums[e].repr.signed(), None, 0, Some(e)),
            LeafKind::Count { max, .. } => {
                let array = message.fields[leaf.field]
                    .count_of
                    .map(|t| message.fields[t].name.clone());
                (false, array, max, None)
            }
            _ => (false, None, 0, None),
        };
        let counted = counted.map_or("NULL".to_string(), |a| format!("\"{a}\""));
        let (variant_count, variant_values, variant_names) = match enum_ref {
            Some(e) => {
                let en = names.ty(&schema.enums[e].name);
                (
                    schema.enums[e].variants.len(),
                    format!("{en}_values"),
                    format!("{en}_names"),
                )
            }
            None => (0, "NULL".into(), "NULL".into()),
        };
        let _ = writeln!(
            out,
            "    {{\"{}\", {}, {}, {}, {}, {}, {counted}, {max}, {variant_count}, {variant_values}, {variant_names}}},",
            leaf.path,
            leaf.offset,
            leaf.size,
            kind_name(names, leaf.kind),
            u8::from(signed),
            leaf.since
        );
    }
    let _ = writeln!(out, "}};\n");
}

/// The list of every message's table.
fn message_infos(out: &mut String, model: &Model, names: &Names) {
    let lo = &names.lower;
    let _ = writeln!(
        out,
        "/* ---- Field tables: every message ----------------------------------------------------- */\n\n\
         /** Every message type, in schema order; *count is set to how many. */\n\
         static inline const {lo}_message_info *{lo}_message_infos(size_t *count) {{\n    \
         static const {lo}_message_info infos[] = {{"
    );
    for message in &model.schema.messages {
        let c = names.constant(&message.name);
        let fields = format!("{}_fields", names.ty(&message.name));
        let _ = writeln!(out, "        {{\"{}\", {c}_TYPE, {c}_SIZE, {fields}, sizeof {fields} / sizeof {fields}[0]}},", message.name);
    }
    let _ = writeln!(
        out,
        "    }};\n    *count = sizeof infos / sizeof infos[0];\n    return infos;\n}}\n"
    );
}

/// Everything about one record, together: its struct, the assertions on its layout, its
/// accessors and, for a message, its validator, typed helpers and field table.
fn record_section(
    out: &mut String,
    model: &Model,
    names: &Names,
    record: &Record,
    layout: &RecordLayout,
) {
    let schema = &model.schema;
    let title = format!("/* ---- {} ", record.name);
    let _ = writeln!(
        out,
        "{title}{} */\n",
        "-".repeat(88usize.saturating_sub(title.len()))
    );
    let _ = writeln!(out, "#pragma pack(push, 1)");
    declaration(out, schema, names, record, layout);
    let _ = writeln!(out, "#pragma pack(pop)");
    asserts(out, names, record, layout);
    out.push('\n');
    accessors(out, schema, names, record, layout);
    if record.message.is_some() {
        validator(
            out,
            schema,
            names,
            record,
            layout,
            model.layout.header(&model.framed).at.version,
        );
        typed(out, names, record);
        field_table(out, schema, names, record, layout);
    }
}

pub(super) fn emit(out: &mut String, model: &Model, names: &Names) {
    let schema = &model.schema;
    let lo = &names.lower;
    let up = &names.upper;

    let _ = writeln!(out, "/* ---- Layouts --------------------------------------------------------------------------\n * Packed structs with the wire layout, checked against the schema's layout pass. Access\n * fields through the accessors, which read little-endian bytes at fixed offsets. */\n");
    for record in schema.structs.iter().chain(&schema.messages) {
        let _ = writeln!(out, "typedef struct {0} {0};", names.ty(&record.name));
    }
    out.push('\n');
    reflection_types(out, model, names);
    for (record, layout) in schema
        .structs
        .iter()
        .zip(&model.layout.structs)
        .chain(schema.messages.iter().zip(&model.layout.messages))
    {
        record_section(out, model, names, record, layout);
    }
    let _ = writeln!(out, "/* ---- Any message ---------------------------------------------------------------------- */\n");
    let _ = writeln!(out, "static inline {lo}_error {lo}_validate_fields(const {lo}_message *m, {lo}_decode_error *err) {{\n    switch (m->type) {{");
    for message in &schema.messages {
        let _ = writeln!(
            out,
            "    case {}_TYPE: return {}_validate(m->bytes, m->offset, err);",
            names.constant(&message.name),
            names.ty(&message.name)
        );
    }
    let _ = writeln!(out, "    default: return {up}_OK;\n    }}\n}}\n");
    message_infos(out, model, names);
}
