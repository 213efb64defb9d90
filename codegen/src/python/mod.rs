//! The Python backend: a pure-Python package (`generated/python/`, importable as `rltop`).
//!
//! `messages.py` is emitted from the layout pass: enums (`IntEnum`), flag sets (`IntFlag`),
//! one dataclass per struct and message, and per record a decoder over one precompiled
//! `struct.Struct` (whose format is the layout's leaves, reserved runs as pad bytes) and an
//! encoder that checks every value before packing. The fixed parts (errors, CRC, framing,
//! canonical JSON, numpy bulk path, pcap, the book builder and the `dump` command, and the
//! optional C accelerator) are the files in `codegen/templates/python/`, copied with a banner.

pub mod general;

use std::fmt::Write as _;

use crate::banner::Banner;
use crate::case::snake;
use crate::layout::{LeafKind, RecordLayout, Shape};
use crate::model::{Enum, Field, Prim, Record, Schema, StructId, Ty};
use crate::Model;

/// Builds the optional C accelerator; a failed build (no compiler, no Python headers)
/// leaves a working pure-Python package.
const SETUP_PY: &str = "from setuptools import Extension, setup\n\n\
# rltop._crc: the C header's CRC-32C for the bulk decoder. Optional: a failed build (no C\n\
# compiler or Python headers) leaves the pure-Python package, which checks one message per call.\n\
setup(ext_modules=[Extension(\"rltop._crc\", sources=[\"rltop/_crc.c\"], depends=[\"rltop/_crc.h\"], optional=True)])\n";

/// Every file of the package, as (path under `generated/python/`, text).
pub fn package(model: &Model, banner: &Banner) -> Vec<(String, String)> {
    let s = &model.schema;
    let (line, schema) = (banner.line(), &banner.schema);
    let (py_banner, c_banner) = (format!("# {line}\n"), format!("/* {line} */\n"));
    let static_file =
        |name: &str, text: &str| (format!("rltop/{name}"), format!("{py_banner}{text}"));
    vec![
        ("pyproject.toml".into(), pyproject(s, &py_banner, schema)),
        ("README.md".into(), readme(s, &line)),
        static_file("__init__.py", include_str!("../../templates/python/__init__.py")),
        static_file("__main__.py", include_str!("../../templates/python/__main__.py")),
        static_file("_runtime.py", include_str!("../../templates/python/_runtime.py")),
        static_file("canonical.py", include_str!("../../templates/python/canonical.py")),
        static_file("bulk.py", include_str!("../../templates/python/bulk.py")),
        static_file("pcap.py", include_str!("../../templates/python/pcap.py")),
        static_file("book.py", include_str!("../../templates/python/book.py")),
        static_file("gateway.py", include_str!("../../templates/python/gateway.py")),
        ("rltop/messages.py".into(), messages(model, &py_banner)),
        ("setup.py".into(), format!("{py_banner}{SETUP_PY}")),
        ("rltop/_crc.c".into(), format!("{c_banner}{}", include_str!("../../templates/python/_crc.c"))),
        (
            "rltop/_crc.h".into(),
            format!(
                "{c_banner}/* The C header's byte-order loads and CRC-32C (as in generated/c/rltop.h). */\n\
                 #ifndef RLTOP_CRC_H\n#define RLTOP_CRC_H\n\n{}\n#endif\n",
                crate::c::crc_source(model)
            ),
        ),
        ("rltop/py.typed".into(), String::new()),
    ]
}

fn pyproject(s: &Schema, banner: &str, schema: &str) -> String {
    format!(
        "{banner}[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
         [project]\nname = \"rltop\"\nversion = \"0.1.{}\"\ndescription = \"{} market-data codecs, generated from {schema}\"\n\
         readme = \"README.md\"\nrequires-python = \">=3.9\"\nlicense = {{ text = \"MIT OR Apache-2.0\" }}\ndependencies = []\n\n\
         [project.optional-dependencies]\n# The bulk decoder (rltop.bulk) needs numpy; the C CRC-32C is only faster.\nnumpy = [\"numpy>=1.22\"]\nfast = [\"crc32c>=2.3\"]\n\n\
         [tool.setuptools]\npackages = [\"rltop\"]\n\n[tool.setuptools.package-data]\nrltop = [\"py.typed\", \"_crc.c\", \"_crc.h\"]\n",
        s.protocol.version, s.protocol.name
    )
}

fn readme(s: &Schema, banner: &str) -> String {
    format!(
        "<!-- {banner} -->\n# rltop (Python)\n\n\
         Pure-Python codecs for the {} market-data protocol, version {}, generated from the schema.\n\n\
         ```python\nimport rltop\nfor item in rltop.iter_datagram(payload):\n    if isinstance(item, rltop.DecodeError):\n        print(\"bad message:\", item.kind, item.offset)\n    else:\n        print(item)\n\n\
         data = rltop.encode(rltop.Heartbeat(channel=rltop.Channel.Statistics, interval_ms=1000))\n```\n\n\
         `python -m rltop dump FILE` prints a pcap capture or a raw file of messages.\n\
         `rltop.bulk.decode_array(buf, rltop.AddOrder)` turns a buffer of one message type into a numpy\n\
         structured array (`pip install rltop[numpy]`). Wire rules: schema/SPEC.md in the repository.\n",
        s.protocol.name, s.protocol.version
    )
}

fn struct_char(p: Prim) -> char {
    match p {
        Prim::U8 => 'B',
        Prim::U16 => 'H',
        Prim::U32 => 'I',
        Prim::U64 => 'Q',
        Prim::I8 => 'b',
        Prim::I16 => 'h',
        Prim::I32 => 'i',
        Prim::I64 => 'q',
        Prim::Char => 'B',
        Prim::U24 | Prim::I24 | Prim::U48 | Prim::I48 => {
            unreachable!("a Model holds no 24- or 48-bit integers (Schema::framed)")
        }
    }
}

/// The `struct` format of a record: its leaves in order, reserved runs as pad bytes.
fn format_of(layout: &RecordLayout) -> String {
    let mut f = String::from("<");
    for leaf in &layout.leaves {
        match leaf.kind {
            LeafKind::Int(p) | LeafKind::Count { prim: p, .. } => f.push(struct_char(p)),
            LeafKind::Enum(_) | LeafKind::Flags(_) => {
                // Resolved by the caller: enums and flags carry their repr size.
                f.push(match leaf.size {
                    1 => 'B',
                    2 => 'H',
                    4 => 'I',
                    _ => 'Q',
                });
            }
            LeafKind::Text => {
                let _ = write!(f, "{}s", leaf.size);
            }
            LeafKind::Reserved => {
                let _ = write!(f, "{}x", leaf.size);
            }
        }
    }
    f
}

/// Index in the unpacked tuple of each top-level field's first leaf, and how many values
/// each field contributes.
fn value_slots(record: &Record, layout: &RecordLayout) -> Vec<(usize, usize)> {
    let mut slots = vec![(0, 0); record.fields.len()];
    let mut k = 0;
    let mut seen = vec![false; record.fields.len()];
    for leaf in &layout.leaves {
        if leaf.kind == LeafKind::Reserved {
            continue;
        }
        if !seen[leaf.field] {
            seen[leaf.field] = true;
            slots[leaf.field].0 = k;
        }
        slots[leaf.field].1 += 1;
        k += 1;
    }
    slots
}

/// The bounds of `enc_int` for a value stored as `prim`, by name (`0, U64_MAX`).
fn int_range(prim: Prim) -> String {
    let name = prim.name().to_uppercase();
    if prim.signed() {
        format!("{name}_MIN, {name}_MAX")
    } else {
        format!("0, {name}_MAX")
    }
}

struct Py<'m> {
    model: &'m Model,
    s: &'m Schema,
}

fn doc_string(out: &mut String, indent: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let text = lines
        .join("\n")
        .replace('\\', "\\\\")
        .replace("\"\"\"", "\\\"\\\"\\\"");
    if lines.len() == 1 {
        let _ = writeln!(out, "{indent}\"\"\"{}\"\"\"", text.trim());
    } else {
        let body = text
            .lines()
            .map(|line| {
                if line.is_empty() {
                    String::new()
                } else {
                    format!("{indent}{line}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let _ = writeln!(out, "{indent}\"\"\"\n{body}\n{indent}\"\"\"");
    }
}

impl Py<'_> {
    fn struct_layout(&self, i: StructId) -> &RecordLayout {
        &self.model.layout.structs[i]
    }

    /// Number of non-reserved leaves (tuple values) of one value of `ty`.
    fn values_of(&self, ty: &Ty) -> usize {
        match ty {
            Ty::Reserved(_) => 0,
            Ty::Struct(i) => self
                .struct_layout(*i)
                .leaves
                .iter()
                .filter(|layout| layout.kind != LeafKind::Reserved)
                .count(),
            Ty::Array(e, n) => self.values_of(e) * n,
            _ => 1,
        }
    }

    fn annotation(&self, ty: &Ty) -> String {
        match ty {
            Ty::Enum(i) => self.s.enums[*i].name.clone(),
            Ty::Flags(i) => self.s.flags[*i].name.clone(),
            Ty::Struct(i) => self.s.structs[*i].name.clone(),
            Ty::Array(e, _) => format!("List[{}]", self.annotation(e)),
            Ty::Text(_) => "str".into(),
            _ => "int".into(),
        }
    }

    fn default(&self, ty: &Ty, counted: bool) -> String {
        match ty {
            Ty::Enum(i) => {
                let e = &self.s.enums[*i];
                format!("{}.{}", e.name, e.variants[0].name)
            }
            Ty::Flags(i) => format!("{}(0)", self.s.flags[*i].name),
            Ty::Struct(i) => format!("field(default_factory={})", self.s.structs[*i].name),
            Ty::Array(..) if counted => "field(default_factory=list)".into(),
            Ty::Array(e, n) => format!(
                "field(default_factory=lambda: [{} for _ in range({n})])",
                self.element_default(e)
            ),
            Ty::Text(_) => "\"\"".into(),
            _ => "0".into(),
        }
    }

    fn element_default(&self, ty: &Ty) -> String {
        match ty {
            Ty::Struct(i) => format!("{}()", self.s.structs[*i].name),
            Ty::Array(e, n) => format!("[{} for _ in range({n})]", self.element_default(e)),
            other => self.default(other, false),
        }
    }

    /// The type description canonical.py and bulk.py walk.
    fn spec(&self, ty: &Ty, shape: &Shape) -> String {
        match (ty, shape) {
            (Ty::Struct(i), _) => format!("(\"struct\", {})", self.s.structs[*i].name),
            (Ty::Array(element_ty, _), Shape::Array { element, len, .. }) => {
                format!("(\"array\", {}, {len})", self.spec(element_ty, element))
            }
            (Ty::Text(n), _) => format!("(\"text\", {n})"),
            (Ty::Enum(i), Shape::Scalar(prim)) => {
                format!("(\"enum\", {}, {})", self.s.enums[*i].name, prim.size())
            }
            (Ty::Flags(_), Shape::Scalar(prim)) => format!("(\"flags\", {})", prim.size()),
            (_, Shape::Scalar(prim)) => format!(
                "(\"int\", {}, {})",
                prim.size(),
                if prim.signed() { "True" } else { "False" }
            ),
            (ty, shape) => unreachable!("the layout pass gave {ty:?} the shape {shape:?}"),
        }
    }

    /// The expression turning `raw`, the unpacked value of a scalar or text field of type
    /// `ty`, into the field's value; `None` when the raw value is the value (integers).
    fn scalar_expr(&self, ty: &Ty, raw: &str, off: &str, path: &str) -> Option<String> {
        match ty {
            Ty::Enum(i) => Some(format!(
                "_dec_enum(_{}, {raw}, {off}, {path})",
                snake(&self.s.enums[*i].name).to_uppercase()
            )),
            Ty::Flags(i) => {
                let f = &self.s.flags[*i];
                Some(if f.repr.size() == 1 {
                    format!("_{}[{raw}]", snake(&f.name).to_uppercase())
                } else {
                    format!("{}({raw})", f.name)
                })
            }
            Ty::Text(_) => Some(format!("text({raw}, {off}, {path})")),
            _ => None,
        }
    }

    /// An expression decoding one value of `ty` (laid out as `shape`) from tuple `v` at
    /// index `vi`.
    #[allow(clippy::too_many_arguments)]
    fn dec_expr(
        &self,
        ty: &Ty,
        shape: &Shape,
        vi: &str,
        off: &str,
        path: &str,
        count: Option<&str>,
        depth: usize,
    ) -> String {
        match ty {
            Ty::Enum(_) | Ty::Flags(_) | Ty::Text(_) => self
                .scalar_expr(ty, &format!("v[{vi}]"), off, path)
                .unwrap_or_else(|| format!("v[{vi}]")),
            Ty::Struct(i) => format!(
                "_dec_{}(v, {vi}, {off}, ver, {path})",
                snake(&self.s.structs[*i].name)
            ),
            Ty::Array(e, n) => {
                let j = format!("j{depth}");
                let per = self.values_of(e);
                let upto = count.map_or(n.to_string(), String::from);
                if matches!(**e, Ty::Prim(_) | Ty::Alias(_)) {
                    return format!("list(v[{vi}:{vi} + {upto}])");
                }
                let Some((element, _, step)) = shape.array() else {
                    unreachable!("the layout pass gave the array {ty:?} the shape {shape:?}")
                };
                let epath = format!("{path} + \"[\" + str({j}) + \"]\"");
                let inner = self.dec_expr(
                    e,
                    element,
                    &format!("{vi} + {per} * {j}"),
                    &format!("{off} + {step} * {j}"),
                    &epath,
                    None,
                    depth + 1,
                );
                format!("[{inner} for {j} in range({upto})]")
            }
            _ => format!("v[{vi}]"),
        }
    }

    /// Statements encoding `value` (of `ty`, laid out as `shape`) into list `out`.
    #[allow(clippy::too_many_arguments)]
    fn enc_stmts(
        &self,
        out: &mut String,
        ty: &Ty,
        shape: &Shape,
        value: &str,
        path: &str,
        indent: &str,
        depth: usize,
    ) {
        match ty {
            Ty::Enum(i) => {
                let _ = writeln!(
                    out,
                    "{indent}out.append(enc_enum({value}, _{}_VALUES, {path}))",
                    snake(&self.s.enums[*i].name).to_uppercase()
                );
            }

            Ty::Text(n) => {
                let _ = writeln!(out, "{indent}out.append(enc_text({value}, {n}, {path}))");
            }
            Ty::Struct(i) => {
                let _ = writeln!(
                    out,
                    "{indent}_enc_{}({value}, out, {path})",
                    snake(&self.s.structs[*i].name)
                );
            }
            Ty::Array(e, _) => {
                let Some((element, ..)) = shape.array() else {
                    unreachable!("the layout pass gave the array {ty:?} the shape {shape:?}")
                };
                let j = format!("j{depth}");
                let x = format!("x{depth}");
                let _ = writeln!(out, "{indent}for {j}, {x} in enumerate({value}):");
                self.enc_stmts(
                    out,
                    e,
                    element,
                    &x,
                    &format!("{path} + \"[\" + str({j}) + \"]\""),
                    &format!("{indent}    "),
                    depth + 1,
                );
            }
            Ty::Reserved(_) => {}
            // Integers, aliases and flag sets: any value of the integer they are stored as.
            _ => {
                let Some(prim) = shape.scalar() else {
                    unreachable!("the layout pass gave the scalar {ty:?} the shape {shape:?}")
                };
                let _ = writeln!(
                    out,
                    "{indent}out.append(enc_int({value}, {}, {path}))",
                    int_range(prim)
                );
            }
        }
    }

    /// Zero values of one `ty`, as the tuple's entries (pad for unused array entries).
    fn zeros(&self, ty: &Ty) -> Vec<&'static str> {
        match ty {
            Ty::Reserved(_) => vec![],
            Ty::Text(_) => vec!["b\"\""],
            Ty::Struct(i) => self
                .struct_layout(*i)
                .leaves
                .iter()
                .filter(|layout| layout.kind != LeafKind::Reserved)
                .map(|layout| {
                    if layout.kind == LeafKind::Text {
                        "b\"\""
                    } else {
                        "0"
                    }
                })
                .collect(),
            Ty::Array(e, n) => self.zeros(e).repeat(*n),
            _ => vec!["0"],
        }
    }

    fn record(&self, out: &mut String, record: &Record, layout: &RecordLayout, is_header: bool) {
        self.dataclass(out, record, layout);
        self.descriptor(out, record, layout, is_header);
        self.decoder(out, record, layout);
        self.encoder(out, record, layout);
    }

    /// The dataclass: one attribute per field the user sets, documented from the schema.
    fn dataclass(&self, out: &mut String, record: &Record, layout: &RecordLayout) {
        let cls = &record.name;
        let _ = writeln!(out, "\n@dataclass\nclass {cls}:");
        doc_string(out, "    ", &record.doc);
        if let Some(m) = record.message {
            let _ = writeln!(
                out,
                "    TYPE_CODE: ClassVar[int] = {:#04x}\n    SIZE: ClassVar[int] = {}",
                m.type_code, layout.size
            );
        }
        for (fi, f) in record.fields.iter().enumerate() {
            if f.is_reserved() || f.count_of.is_some() {
                continue;
            }
            let counted = record.is_counted(fi);
            let (ann, def) = if f.since > 1 {
                (
                    format!("Optional[{}]", self.annotation(&f.ty)),
                    "None".to_string(),
                )
            } else {
                (self.annotation(&f.ty), self.default(&f.ty, counted))
            };
            let _ = writeln!(out, "    {}: {ann} = {def}", f.name);
            doc_string(out, "    ", &f.doc);
        }
    }

    /// The record's description for generic tools: size, field specs, derived header
    /// fields, counts.
    fn descriptor(
        &self,
        out: &mut String,
        record: &Record,
        layout: &RecordLayout,
        is_header: bool,
    ) {
        let cls = &record.name;
        let _ = writeln!(out, "\n\n{cls}._size = {}", layout.size);
        let _ = writeln!(out, "{cls}._spec = (");
        for (fi, (f, fl)) in record.fields.iter().zip(&layout.fields).enumerate() {
            if f.is_reserved() || f.count_of.is_some() {
                continue;
            }
            let spec = match (&f.ty, fl.shape.array()) {
                (Ty::Array(element_ty, _), Some((element, len, _))) => format!(
                    "(\"array\", {}, {len}, {})",
                    self.spec(element_ty, element),
                    if record.is_counted(fi) {
                        "True"
                    } else {
                        "False"
                    }
                ),
                (ty, _) => self.spec(ty, &fl.shape),
            };
            let _ = writeln!(
                out,
                "    (\"{}\", {spec}, {}, {}),",
                f.name, f.since, fl.offset
            );
        }
        let _ = writeln!(out, ")");
        let derived = if is_header {
            self.model
                .framed
                .roles
                .derived()
                .iter()
                .map(|&i| format!("\"{}\"", record.fields[i].name))
                .collect::<Vec<_>>()
                .join(", ")
                + ","
        } else {
            String::new()
        };
        let _ = writeln!(out, "{cls}._derived = ({derived})");
        let counts: Vec<String> = record
            .fields
            .iter()
            .filter_map(|f| {
                f.count_of
                    .map(|t| format!("\"{}\": \"{}\"", record.fields[t].name, f.name))
            })
            .collect();
        let _ = writeln!(out, "{cls}._counts = {{{}}}", counts.join(", "));
        let count_fields: Vec<String> = record
            .fields
            .iter()
            .zip(&layout.fields)
            .filter(|(f, _)| f.count_of.is_some())
            .map(|(f, fl)| format!("\"{}\": ({}, {})", f.name, fl.offset, fl.size))
            .collect();
        let _ = writeln!(out, "{cls}._count_fields = {{{}}}", count_fields.join(", "));
    }

    /// The decoder `_dec_<record>`: values of the unpacked tuple from index `i`, offsets
    /// from `off`. Every field that is one value of the tuple is unpacked by name, a run of
    /// neighbours at a time; arrays and structs decode their own part of the tuple.
    fn decoder(&self, out: &mut String, record: &Record, layout: &RecordLayout) {
        let (cls, sn) = (&record.name, snake(&record.name));
        let slots = value_slots(record, layout);
        let _ = writeln!(out, "\n\ndef _dec_{sn}(v, i, off, ver, path):");
        let single = |fi: usize| {
            slots[fi].1 == 1
                && matches!(
                    record.fields[fi].ty,
                    Ty::Prim(_) | Ty::Alias(_) | Ty::Enum(_) | Ty::Flags(_) | Ty::Text(_)
                )
        };
        unpack_runs(out, record, &slots, &single);
        // Counts before the arrays: an array may come before the field that counts it.
        for f in &record.fields {
            if let Some(t) = f.count_of {
                let _ = writeln!(out, "    c_{} = f_{}", record.fields[t].name, f.name);
            }
        }
        let mut args = Vec::new();
        for (fi, (f, fl)) in record.fields.iter().zip(&layout.fields).enumerate() {
            if f.is_reserved() {
                continue;
            }
            let vi = format!("i + {}", slots[fi].0);
            let off = format!("off + {}", fl.offset);
            let path = format!("path + \".{}\"", f.name);
            let mut body = String::new();
            if let Some(t) = f.count_of {
                let Ty::Array(_, max) = record.fields[t].ty else {
                    continue;
                };
                let _ = writeln!(body, "if c_{0} > {max}:\n    raise BadCount({off}, f\"count {{c_{0}}} above the array's {max}\", {path})", record.fields[t].name);
            } else {
                // Entries past the count are not decoded (nor checked); a count after its
                // array is checked later, so bound it here.
                let count = record.counter_of(fi).map(|ci| match &f.ty {
                    Ty::Array(_, n) if ci > fi => format!("min(c_{}, {n})", f.name),
                    _ => format!("c_{}", f.name),
                });
                let value = if single(fi) {
                    self.scalar_expr(&f.ty, &format!("f_{}", f.name), &off, &path)
                } else {
                    Some(self.dec_expr(&f.ty, &fl.shape, &vi, &off, &path, count.as_deref(), 0))
                };
                if let Some(value) = value {
                    let _ = writeln!(body, "f_{} = {value}", f.name);
                }
                args.push(format!("f_{}", f.name));
            }
            let counted = f.count_of.map(|t| record.fields[t].name.as_str());
            versioned(out, f, counted, &body);
        }
        let _ = writeln!(out, "    return {cls}({})", args.join(", "));
    }

    /// The encoder `_enc_<record>`: appends the tuple's values, checked, to `out`.
    fn encoder(&self, out: &mut String, record: &Record, layout: &RecordLayout) {
        let sn = snake(&record.name);
        let _ = writeln!(out, "\n\ndef _enc_{sn}(o, out, path):");
        let mut any = false;
        for (fi, (f, fl)) in record.fields.iter().zip(&layout.fields).enumerate() {
            if f.is_reserved() {
                continue;
            }
            any = true;
            let value = format!("o.{}", f.name);
            let path = format!("path + \".{}\"", f.name);
            if let Some(t) = f.count_of {
                let Ty::Array(_, max) = record.fields[t].ty else {
                    continue;
                };
                let a = &record.fields[t].name;
                let _ = writeln!(out, "    n_{a} = len(_seq(o.{a}, path + \".{a}\"))\n    if n_{a} > {max}:\n        raise EncodeError(path + \".{a}\", f\"{{n_{a}}} entries, at most {max}\")\n    out.append(n_{a})");
                continue;
            }
            let mut indent = "    ".to_string();
            let zeros = self.zeros(&f.ty);
            if f.since > 1 {
                let _ = writeln!(
                    out,
                    "    if o.{} is None:\n        out.extend(({},))\n    else:",
                    f.name,
                    zeros.join(", ")
                );
                indent.push_str("    ");
            }
            match &f.ty {
                Ty::Array(e, n) if record.is_counted(fi) => {
                    self.enc_stmts(out, &f.ty, &fl.shape, &value, &path, &indent, 0);
                    let ez = self.zeros(e);
                    let _ = writeln!(
                        out,
                        "{indent}out.extend(({},) * ({n} - len(o.{})))",
                        ez.join(", "),
                        f.name
                    );
                }
                Ty::Array(_, n) => {
                    let _ = writeln!(out, "{indent}if len(_seq(o.{0}, {path})) != {n}:\n{indent}    raise EncodeError({path}, f\"{{len(o.{0})}} entries, exactly {n} needed\")", f.name);
                    self.enc_stmts(out, &f.ty, &fl.shape, &value, &path, &indent, 0);
                }
                ty => self.enc_stmts(out, ty, &fl.shape, &value, &path, &indent, 0),
            }
        }
        if !any {
            let _ = writeln!(out, "    pass");
        }
    }

    fn enumeration(&self, out: &mut String, e: &Enum) {
        let _ = writeln!(out, "\n\nclass {}(IntEnum):", e.name);
        doc_string(out, "    ", &e.doc);
        for v in &e.variants {
            let _ = writeln!(out, "    {} = {}", v.name, v.value);
            doc_string(out, "    ", &v.doc);
        }
        let up = snake(&e.name).to_uppercase();
        let pairs: Vec<String> = e
            .variants
            .iter()
            .map(|v| format!("{}: {}.{}", v.value, e.name, v.name))
            .collect();
        let _ = writeln!(out, "\n\n_{up} = {{{}}}", pairs.join(", "));
        let vals: Vec<String> = e
            .variants
            .iter()
            .map(|v| format!("{0}: {0}", v.value))
            .collect();
        let _ = writeln!(out, "_{up}_VALUES = {{{}}}", vals.join(", "));
    }

    fn flags(&self, out: &mut String, f: &Enum) {
        let _ = writeln!(out, "\n\nclass {}(IntFlag):", f.name);
        doc_string(out, "    ", &f.doc);
        for v in &f.variants {
            let _ = writeln!(out, "    {} = {}", v.name, 1u64 << v.value);
            doc_string(out, "    ", &v.doc);
        }
        if f.repr.size() == 1 {
            let _ = writeln!(
                out,
                "\n\n_{} = [{}(x) for x in range(256)]",
                snake(&f.name).to_uppercase(),
                f.name
            );
        }
    }
}

fn messages(model: &Model, banner: &str) -> String {
    let s = &model.schema;
    let py = Py { model, s };
    let h = model.layout.header(&model.framed);
    let mut out = String::from(banner);
    let mut mdoc = s.protocol.doc.clone();
    mdoc.push(String::new());
    mdoc.push("Message types, enumerations and flag sets of the protocol, with their decoders and encoders.".into());
    doc_string(&mut out, "", &mdoc);
    out.push_str(
        "\nimport struct\nfrom dataclasses import dataclass, field\nfrom enum import IntEnum, IntFlag\nfrom typing import ClassVar, List, Optional, Union\n\n\
         from ._runtime import (BadCount, BadEnum, EncodeError, crc_with_hole, enc_enum, enc_int, enc_text, text)\n\
         from ._runtime import (I8_MIN, I8_MAX, I16_MIN, I16_MAX, I32_MIN, I32_MAX, I64_MIN, I64_MAX, U8_MAX, U16_MAX, U32_MAX, U64_MAX)  # noqa: F401\n",
    );
    let p = &s.protocol;
    let _ = write!(
        out,
        "\nPROTOCOL = \"{}\"\nMAGIC = {:#010x}\nVERSION = {}\nMIN_VERSION = {}\nHEADER_SIZE = {}\n",
        p.name, model.framed.magic, p.version, p.min_version, h.size,
    );
    for (role, at) in h.at.named() {
        let _ = writeln!(out, "{role}_OFFSET = {at}");
    }
    out.push_str(
        "\n\ndef _dec_enum(table, x, off, path):\n    e = table.get(x)\n    if e is None:\n        raise BadEnum(off, f\"invalid value {x}\", path)\n    return e\n\n\n\
         def _seq(x, path):\n    if not isinstance(x, (list, tuple)):\n        raise EncodeError(path, f\"expected a list, got {type(x).__name__}\")\n    return x\n",
    );
    for e in &s.enums {
        py.enumeration(&mut out, e);
    }
    for f in &s.flags {
        py.flags(&mut out, f);
    }
    for ((id, record), layout) in s.structs.enumerate().zip(&model.layout.structs) {
        out.push('\n');
        py.record(&mut out, record, layout, id == model.framed.header);
    }
    // Messages: the record, its Struct, and whole-message decode/encode.
    let mut table = Vec::new();
    for (record, layout) in s.messages.iter().zip(&model.layout.messages) {
        out.push('\n');
        py.record(&mut out, record, layout, false);
        let sn = snake(&record.name);
        let up = sn.to_uppercase();
        let slot_at = |offset: usize| {
            let mut k = 0;
            for leaf in &layout.leaves {
                if leaf.kind == LeafKind::Reserved {
                    continue;
                }
                if leaf.offset == offset {
                    return k;
                }
                k += 1;
            }
            0
        };
        let code = record.message.map_or(0, |m| m.type_code);
        let _ = write!(
            out,
            "\n\n_S_{up} = struct.Struct(\"{fmt}\")\nassert _S_{up}.size == {size}\n\n\n\
             def _decode_{sn}(buf, off):\n    v = _S_{up}.unpack_from(buf, off)\n    return _dec_{sn}(v, 0, off, v[{ver}], \"{name}\")\n\n\n\
             def _encode_{sn}(m):\n    out = []\n    _enc_{sn}(m, out, \"{name}\")\n    \
             out[{mi}] = MAGIC\n    out[{li}] = {size}\n    out[{ti}] = {code:#04x}\n    out[{vi}] = VERSION\n    out[{ci}] = 0\n    \
             b = bytearray({size})\n    _S_{up}.pack_into(b, 0, *out)\n    \
             struct.pack_into(\"<I\", b, CHECKSUM_OFFSET, crc_with_hole(b, 0, {size}, CHECKSUM_OFFSET))\n    return bytes(b)\n",
            fmt = format_of(layout),
            size = layout.size,
            ver = slot_at(h.at.version),
            name = record.name,
            mi = slot_at(h.at.magic),
            li = slot_at(h.at.length),
            ti = slot_at(h.at.msg_type),
            vi = slot_at(h.at.version),
            ci = slot_at(h.at.checksum),
        );
        table.push((code, record.name.clone(), sn, layout.size));
    }
    let names = table
        .iter()
        .map(|t| t.1.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        out,
        "\n\n#: Every message type, in schema order.\nMESSAGE_TYPES = ({names},)"
    );
    let _ = writeln!(
        out,
        "\n#: Any message of the protocol.\nMessage = Union[{names}]"
    );
    let _ = writeln!(out, "\n#: type code -> (size, decoder)\n_DECODERS = {{");
    for (code, _, sn, size) in &table {
        let _ = writeln!(out, "    {code:#04x}: ({size}, _decode_{sn}),");
    }
    let _ = writeln!(out, "}}\n\n#: message class -> encoder\n_ENCODERS = {{");
    for (_, name, sn, _) in &table {
        let _ = writeln!(out, "    {name}: _encode_{sn},");
    }
    let _ = writeln!(out, "}}");
    out.push_str(include_str!("../../templates/python/codec_tail.py"));
    out
}

/// The tuple's single-value fields unpacked by name, a run of neighbours at a time.
fn unpack_runs(
    out: &mut String,
    record: &Record,
    slots: &[(usize, usize)],
    single: &dyn Fn(usize) -> bool,
) {
    for run in single_runs(record, slots, single) {
        let names: Vec<String> = run
            .iter()
            .map(|&fi| format!("f_{}", record.fields[fi].name))
            .collect();
        let first = slots[run[0]].0;
        let at = |k: usize| {
            if k == 0 {
                "i".to_string()
            } else {
                format!("i + {k}")
            }
        };
        if run.len() == 1 {
            let _ = writeln!(out, "    {} = v[{}]", names[0], at(first));
        } else {
            let _ = writeln!(
                out,
                "    {} = v[{}:{}]",
                names.join(", "),
                at(first),
                at(first + run.len())
            );
        }
    }
}

/// A field's decoding statements (`body`), guarded by the version when the field is
/// `since` a later one: absent (None, or a count of 0 for `counted`'s array) before it.
fn versioned(out: &mut String, f: &Field, counted: Option<&str>, body: &str) {
    if f.since > 1 {
        if body.is_empty() {
            let _ = writeln!(
                out,
                "    if ver < {}:\n        f_{} = None",
                f.since, f.name
            );
            return;
        }
        let _ = writeln!(out, "    if ver >= {}:", f.since);
        for line in body.lines() {
            let _ = writeln!(out, "        {line}");
        }
        let _ = writeln!(out, "    else:");
        if let Some(array) = counted {
            let _ = writeln!(out, "        c_{array} = 0");
        } else {
            let _ = writeln!(out, "        f_{} = None", f.name);
        }
    } else {
        for line in body.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
}

/// Runs of neighbouring fields that are one value each of the unpacked tuple (`single`),
/// unpacked together by the decoder.
fn single_runs(
    record: &Record,
    slots: &[(usize, usize)],
    single: &dyn Fn(usize) -> bool,
) -> Vec<Vec<usize>> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for fi in (0..record.fields.len()).filter(|&fi| single(fi)) {
        match runs.last_mut() {
            Some(run)
                if run
                    .last()
                    .is_some_and(|&last| slots[last].0 + 1 == slots[fi].0) =>
            {
                run.push(fi)
            }
            _ => runs.push(vec![fi]),
        }
    }
    runs
}
