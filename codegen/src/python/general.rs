//! The Python backend for protocols not of RLTOP's shape (ITCH, OUCH, a venue's own feed): a
//! package named after the protocol, standard library only, with a dataclass per message
//! (`decode`, `encode`, `to_json`), an `IntEnum` per enumeration, `decode` dispatching on the
//! type code and, for MoldUDP64 framing, `packet`. Its checks come in the Rust crate's order
//! and its errors carry the same kind, offset, field and value; its JSON is the Rust crate's,
//! byte for byte. Records with nested structs or arrays are not emitted by this version.

use std::fmt::Write as _;

use crate::banner::Banner;
use crate::case::screaming;
use crate::layout::{LeafKind, RecordLayout, Shape};
use crate::model::{ByteOrder, Enum, Framing, Padding, Prim, Record, Schema, Ty};
use crate::Laid;

const RUNTIME: &str = include_str!("../../templates/python_general/_runtime.py");
const BULK: &str = include_str!("../../templates/python_general/bulk.py");

/// The package's files, relative to its directory, or why this version cannot write it.
pub fn package(laid: &Laid, banner: &Banner) -> Result<Vec<(String, String)>, String> {
    let s = &laid.schema;
    let p = &s.protocol;
    laid.flat_first_byte("the Python package")?;
    let name = p.name.to_ascii_lowercase();
    let py_banner = format!("# {}\n", banner.line());
    let mut messages = format!("{py_banner}{}", header(s));
    for a in s.aliases.iter().filter(|a| a.scale.is_some()) {
        let _ = writeln!(
            messages,
            "#: Implied decimal places of {}.\n{}_SCALE = {}\n",
            a.name,
            screaming(&a.name),
            a.scale.unwrap_or(0)
        );
    }
    for e in s.enums.iter() {
        enumeration(&mut messages, e);
    }
    for (r, l) in s.messages.iter().zip(laid.layout.messages.iter()) {
        message(&mut messages, s, r, l)?;
    }
    dispatch(&mut messages, s);
    let init = format!(
        "{py_banner}\"\"\"{}\"\"\"\n\nfrom ._runtime import DecodeError, FrameError\nfrom .messages import *  # noqa: F401,F403\n",
        p.doc.first().map_or(p.name.as_str(), String::as_str)
    );
    let pyproject = format!(
        "{py_banner}[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
         [project]\nname = \"{name}\"\nversion = \"0.1.0\"\ndescription = \"{} codecs, generated from {}\"\n\
         requires-python = \">=3.9\"\ndependencies = []\n\n[tool.setuptools]\npackages = [\"{name}\"]\n",
        p.name, banner.schema
    );
    Ok(vec![
        ("pyproject.toml".into(), pyproject),
        (format!("{name}/__init__.py"), init),
        (
            format!("{name}/_runtime.py"),
            format!("{py_banner}{RUNTIME}"),
        ),
        (format!("{name}/messages.py"), messages),
        (format!("{name}/bulk.py"), format!("{py_banner}{BULK}")),
    ])
}

fn header(s: &Schema) -> String {
    format!(
        "\"\"\"The messages of {}, generated from the schema: {} types, {}-endian, framing {}.\"\"\"\n\n\
         from __future__ import annotations\n\nimport enum\nfrom dataclasses import dataclass\nfrom typing import ClassVar, Iterator, Tuple, Union\n\n\
         from ._runtime import (DecodeError, decimal, get_int, get_text, json_char, json_decimal, json_enum,\n    json_int, json_object, json_string, json_text, json_type_code, mold_blocks, put_int, put_text,\n    soup_login_sequence, soup_split, text_valid, SOUP_DATA_TYPES)\n\n\n",
        s.protocol.name,
        s.messages.len(),
        s.protocol.byte_order.name(),
        s.protocol.framing.name()
    )
}

/// A value of `p` as Python source: `0x42  # 'B'` is written as `0x42` with the character in
/// a comment by the caller; here the number.
fn number(v: i64) -> String {
    if v >= 0 {
        format!("{v:#04x}")
    } else {
        v.to_string()
    }
}

fn enumeration(out: &mut String, e: &Enum) {
    let _ = writeln!(out, "class {}(enum.IntEnum):", e.name);
    let doc = e.doc.join(" ");
    if !doc.is_empty() {
        let _ = writeln!(out, "    \"\"\"{}\"\"\"\n", doc.replace('"', "'"));
    }
    for v in &e.variants {
        let shown = match u8::try_from(v.value) {
            Ok(c) if e.repr == Prim::Char => format!("  # {:?}", char::from(c)),
            _ => String::new(),
        };
        let _ = writeln!(out, "    {} = {}{shown}", v.name, number(v.value));
    }
    out.push_str("\n\n");
}

/// The Python expression reading a scalar of `p` at `at` of `b`.
fn read(p: Prim, o: ByteOrder, at: usize) -> String {
    match p {
        Prim::Char => format!("chr(b[{at}])"),
        _ if p.size() == 1 && !p.signed() => format!("b[{at}]"),
        _ => format!(
            "get_int(b, {at}, {}, {}, {})",
            p.size(),
            if o == ByteOrder::Big { "True" } else { "False" },
            if p.signed() { "True" } else { "False" }
        ),
    }
}

fn message(out: &mut String, s: &Schema, r: &Record, l: &RecordLayout) -> Result<(), String> {
    let m = r.message.expect("a message");
    let _ = writeln!(out, "@dataclass\nclass {}:", r.name);
    let mut doc = r.doc.join(" ").replace('"', "'");
    let _ = write!(
        doc,
        "{}Type {:?}, {} bytes.",
        if doc.is_empty() { "" } else { " " },
        char::from(m.type_code),
        l.size
    );
    let _ = writeln!(
        out,
        "    \"\"\"{doc}\"\"\"\n\n    TYPE_CODE: ClassVar[int] = {}\n    SIZE: ClassVar[int] = {}\n",
        number(m.type_code.into()),
        l.size
    );
    layout_table(out, s, r, l);
    let (mut decoded, mut encode, mut json) = (Vec::new(), Vec::new(), Vec::new());
    let mut reads = Vec::new();
    for (f, fl) in r.fields.iter().zip(&l.fields) {
        if f.is_reserved() {
            continue;
        }
        let big = if f.order == ByteOrder::Big {
            "True"
        } else {
            "False"
        };
        let at = fl.offset;
        let (ty, default, get, put, value) = match (&f.ty, &fl.shape) {
            (Ty::Enum(e), Shape::Scalar(p)) => {
                let en = &s.enums[*e];
                (
                    format!("Union[{}, int]", en.name),
                    format!("{}.{}", en.name, en.variants[0].name),
                    format!("{}({})", en.name, read_int(*p, f.order, at)),
                    format!("put_int(b, {at}, {}, {big}, {}, int(self.{}), {:?})", p.size(), py_bool(p.signed()), f.name, f.name),
                    format!("json_string({}(self.{}).name)", en.name, f.name),
                )
            }
            (_, Shape::Scalar(Prim::Char)) => {
                let dflt = if fl.offset == 0 { format!("{:?}", char::from(m.type_code)) } else { "' '".into() };
                (
                    "str".into(),
                    dflt,
                    read(Prim::Char, f.order, at),
                    format!("put_text(b, {at}, 1, True, self.{0}, {0:?})", f.name),
                    format!("json_string(self.{})", f.name),
                )
            }
            (ty, Shape::Scalar(p)) => {
                let scale = match ty {
                    Ty::Alias(a) => s.aliases[*a].scale,
                    _ => None,
                };
                let value = match (scale, p) {
                    (Some(k), _) => format!("decimal(self.{}, {k})", f.name),
                    (None, Prim::U64 | Prim::I64) => format!("'\"' + str(self.{}) + '\"'", f.name),
                    (None, _) => format!("str(self.{})", f.name),
                };
                (
                    "int".into(),
                    "0".into(),
                    read(*p, f.order, at),
                    format!("put_int(b, {at}, {}, {big}, {}, self.{}, {:?})", p.size(), py_bool(p.signed()), f.name, f.name),
                    value,
                )
            }
            (Ty::Text(_), Shape::Text(n)) => {
                let space = py_bool(f.pad == Padding::Space);
                (
                    "str".into(),
                    "\"\"".into(),
                    format!("get_text(b, {at}, {n}, {space})"),
                    format!("put_text(b, {at}, {n}, {space}, self.{0}, {0:?})", f.name),
                    format!("json_string(self.{})", f.name),
                )
            }
            _ => {
                return Err(format!(
                    "the Python package: `{}.{}` is a nested record or array, which this version does not emit",
                    r.name, f.name
                ))
            }
        };
        let _ = writeln!(out, "    {}: {ty} = {default}", f.name);
        reads.push(format!("{}={}", f.name, json_read(s, r, f, fl)));
        decoded.push(format!("{}={get}", f.name));
        encode.push(put);
        json.push(format!("'\"{}\":' + {value}", f.name));
    }
    checks(out, s, r, l);
    let _ = writeln!(
        out,
        "        return cls({})\n\n    def encode(self) -> bytes:\n        \"\"\"The message's bytes; ValueError names a field whose value does not fit.\"\"\"\n        b = bytearray({})",
        decoded.join(", "),
        l.size
    );
    for line in &encode {
        let _ = writeln!(out, "        {line}");
    }
    let _ = writeln!(
        out,
        "        return bytes(b)\n\n    def to_json(self) -> str:\n        \"\"\"The canonical JSON line (the Rust crate's to_json).\"\"\"\n        return '{{' + ','.join(['\"type\":\"{}\"', {}]) + '}}'\n",
        r.name,
        json.join(", ")
    );
    let keys: Vec<String> = r
        .fields
        .iter()
        .filter(|f| !f.is_reserved())
        .map(|f| format!("{:?}", f.name))
        .collect();
    let _ = writeln!(
        out,
        "    @classmethod\n    def from_json(cls, obj) -> \"{0}\":\n        \"\"\"The message from its canonical JSON (a dict, as json.loads gives it); ValueError\n        names the field at fault.\"\"\"\n        \
         json_object(obj, {0:?}, ({1},))\n        return cls({2})\n\n",
        r.name,
        keys.join(", "),
        reads.join(", ")
    );
    Ok(())
}

/// The `from_json` reader of one field: its form checked by the runtime's `json_*`.
fn json_read(
    s: &Schema,
    r: &Record,
    f: &crate::model::Field,
    fl: &crate::layout::FieldLayout,
) -> String {
    let (m, name) = (&r.name, &f.name);
    match (&f.ty, &fl.shape) {
        (Ty::Enum(e), _) => format!("json_enum(obj, {m:?}, {name:?}, {})", s.enums[*e].name),
        (_, Shape::Scalar(p)) if fl.offset == 0 => {
            let code = r.message.map_or(0, |m| m.type_code);
            format!(
                "json_type_code(obj, {m:?}, {name:?}, {}, {})",
                number(code.into()),
                py_bool(*p == Prim::Char)
            )
        }
        (_, Shape::Scalar(Prim::Char)) => format!("json_char(obj, {m:?}, {name:?})"),
        (ty, Shape::Scalar(p)) => match ty {
            Ty::Alias(a) if s.aliases[*a].scale.is_some() => format!(
                "json_decimal(obj, {m:?}, {name:?}, {}, {}, {})",
                p.size(),
                py_bool(p.signed()),
                s.aliases[*a].scale.unwrap_or(0)
            ),
            _ => format!(
                "json_int(obj, {m:?}, {name:?}, {}, {})",
                p.size(),
                py_bool(p.signed())
            ),
        },
        (_, Shape::Text(n)) => format!("json_text(obj, {m:?}, {name:?}, {n})"),
        _ => "None".into(),
    }
}

/// `LAYOUT`: each field's offset, size and kind, for the numpy bulk decoder (bulk.py): kind
/// "int" (with byte order and sign), "enum" (with its values), "char" or "text" (with its
/// padding).
fn layout_table(out: &mut String, s: &Schema, r: &Record, l: &RecordLayout) {
    let mut rows = Vec::new();
    for (f, fl) in r.fields.iter().zip(&l.fields) {
        let row = match (&f.ty, &fl.shape) {
            (Ty::Reserved(_), _) => continue,
            (Ty::Enum(e), Shape::Scalar(p)) => {
                let values: Vec<String> = s.enums[*e]
                    .variants
                    .iter()
                    .map(|v| number(v.value))
                    .collect();
                format!(
                    "({:?}, {}, {}, \"enum\", {}, {}, ({},))",
                    f.name,
                    fl.offset,
                    p.size(),
                    py_bool(f.order == ByteOrder::Big),
                    py_bool(p.signed()),
                    values.join(", ")
                )
            }
            (_, Shape::Scalar(Prim::Char)) => format!(
                "({:?}, {}, 1, \"char\", True, False, None)",
                f.name, fl.offset
            ),
            (_, Shape::Scalar(p)) => format!(
                "({:?}, {}, {}, \"int\", {}, {}, None)",
                f.name,
                fl.offset,
                p.size(),
                py_bool(f.order == ByteOrder::Big),
                py_bool(p.signed())
            ),
            (_, Shape::Text(n)) => format!(
                "({:?}, {}, {n}, \"text\", {}, False, None)",
                f.name,
                fl.offset,
                py_bool(f.pad == Padding::Space)
            ),
            _ => continue,
        };
        rows.push(row);
    }
    let _ = writeln!(
        out,
        "    #: (field, offset, size, kind, big-endian (text: space-padded), signed, enumeration values)
    LAYOUT: ClassVar[tuple] = (
        {},
    )
",
        rows.join(",\n        ")
    );
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// `decode`: the type, the length, then every field value in leaf order, as the Rust crate.
fn checks(out: &mut String, s: &Schema, r: &Record, l: &RecordLayout) {
    let _ = writeln!(
        out,
        "\n    @classmethod\n    def decode(cls, b, base: int = 0) -> \"{0}\":\n        \"\"\"`b` as exactly one {0}; DecodeError names what is wrong and where (offsets from `base`).\"\"\"\n        \
         if len(b) < 1:\n            raise DecodeError(\"Truncated\", base, None, 1)\n        \
         if b[0] != cls.TYPE_CODE:\n            raise DecodeError(\"UnexpectedType\", base, None, b[0])\n        \
         if len(b) < cls.SIZE:\n            raise DecodeError(\"Truncated\", base, None, cls.SIZE)\n        \
         if len(b) > cls.SIZE:\n            raise DecodeError(\"BadLength\", base, None, len(b))",
        r.name
    );
    for leaf in &l.leaves {
        let path = format!("{}.{}", r.name, leaf.path);
        let at = leaf.offset;
        match leaf.kind {
            LeafKind::Enum(e) => {
                let en = &s.enums[e];
                let values: Vec<String> = en.variants.iter().map(|v| number(v.value)).collect();
                let _ = writeln!(
                    out,
                    "        v = {}\n        if v not in ({},):\n            raise DecodeError(\"BadEnum\", base + {at}, {path:?}, v)",
                    read_int(en.repr, leaf.order, at),
                    values.join(", ")
                );
            }
            LeafKind::Text | LeafKind::Int(Prim::Char) => {
                let space = py_bool(leaf.kind != LeafKind::Text || leaf.pad == Padding::Space);
                let _ = writeln!(
                    out,
                    "        if not text_valid(b, {at}, {}, {space}):\n            raise DecodeError(\"BadText\", base + {at}, {path:?})",
                    leaf.size
                );
            }
            _ => {}
        }
    }
}

/// An enumeration's stored value as an int (a character's code, not the character).
fn read_int(p: Prim, o: ByteOrder, at: usize) -> String {
    if p == Prim::Char {
        format!("b[{at}]")
    } else {
        read(p, o, at)
    }
}

fn dispatch(out: &mut String, s: &Schema) {
    let names: Vec<&str> = s.messages.iter().map(|m| m.name.as_str()).collect();
    let _ = writeln!(
        out,
        "#: Every message class, by type code.\nTYPES = {{cls.TYPE_CODE: cls for cls in ({},)}}\n\n\
         #: Every message class, by name.\nBY_NAME = {{cls.__name__: cls for cls in TYPES.values()}}\n\n\
         Message = Union[{}]\n\n\n\
         def decode(b, base: int = 0) -> Message:\n    \"\"\"`b` as exactly one message of any type.\"\"\"\n    \
         if len(b) < 1:\n        raise DecodeError(\"Truncated\", base, None, 1)\n    \
         cls = TYPES.get(b[0])\n    if cls is None:\n        raise DecodeError(\"UnknownType\", base, None, b[0])\n    \
         return cls.decode(b, base)\n\n\n\
         def from_json(obj) -> Message:\n    \"\"\"Any message from its canonical JSON, chosen by its \"type\"; ValueError names what is wrong.\"\"\"\n    \
         cls = BY_NAME.get(obj.get(\"type\")) if isinstance(obj, dict) else None\n    if cls is None:\n        \
         raise ValueError(f\"no message named {{obj.get('type') if isinstance(obj, dict) else obj!r}}\")\n    \
         return cls.from_json(obj)\n",
        names.join(", "),
        names.join(", ")
    );
    if s.protocol.framing == Framing::MoldUdp64 {
        out.push_str(
            "\n\ndef packet(datagram) -> Tuple[Tuple[bytes, int, int], Iterator[Tuple[int, Union[Message, DecodeError]]]]:\n    \
             \"\"\"A MoldUDP64 packet: its header (session as sent, sequence, count) and its messages as\n    \
             (sequence, message), or (sequence, DecodeError) for a block that does not decode (the walk\n    \
             goes on); FrameError for the framing (see mold_blocks).\"\"\"\n    \
             header, blocks = mold_blocks(datagram)\n\n    \
             def messages():\n        for seq, offset, data in blocks:\n            try:\n                \
             yield seq, decode(data, offset)\n            except DecodeError as e:\n                yield seq, e\n\n    \
             return header, messages()\n",
        );
    }
    if s.protocol.framing == Framing::SoupBinTcp {
        out.push_str(
            "\n\ndef soup_message(packet_type: str, payload, offset: int) -> Union[Message, None]:\n    \
             \"\"\"The message a SoupBinTCP data packet ('S' sequenced, 'U' unsequenced) carries, decoded\n    \
             with offsets from the stream's start (the packet's length prefix at `offset`); None for the\n    \
             session's other packets. DecodeError as decode. Packets come from soup_split.\"\"\"\n    \
             if packet_type not in SOUP_DATA_TYPES:\n        return None\n    \
             return decode(payload, offset + 3)\n",
        );
    }
}
