//! Conformance vectors: language-neutral decode and encode cases derived from the schema.
//!
//! The bytes of each case are written here, field by field, at the offsets of the layout
//! pass, and sealed with the `crc32c` crate (not rltop-runtime's CRC). The canonical JSON
//! beside them is built from the same values while walking the schema's type tree. Neither
//! goes through an emitter: every binding's decoder must turn the bytes into the JSON and its
//! encoder the JSON into the bytes, so a bug in one emitter cannot bless itself.
//!
//! The canonical JSON form (also stated in `conformance/README.md`):
//! * a message is an object: `"type"` (the schema's message name), then its fields in schema
//!   order under their schema names;
//! * the header is an object without the fields the encoder derives (magic, length, type,
//!   version, checksum);
//! * 64-bit integers are decimal strings (as protobuf's JSON mapping has it); narrower ones
//!   are numbers;
//! * an enumeration is its variant's name; a flag set is its integer (unknown bits included);
//! * text is the string without its NUL padding;
//! * reserved fields and count fields are left out: a counted array lists only its valid
//!   entries, and its length is the count.

use serde_json::{json, Map, Value};

use crate::layout::{HeaderOffsets, Leaf, LeafKind, RecordLayout, Shape};
use crate::model::{Enum, MessageId, Prim, Record, Schema, Ty};
use crate::Model;

pub mod cross;
pub mod general;

/// Every vector file, as (path under `conformance/vectors/`, pretty JSON text).
pub fn build(model: &Model) -> Vec<(String, String)> {
    let v = Vectors::new(model);
    let mut files = Vec::new();
    for (mi, m) in model.schema.messages.enumerate() {
        files.push((
            format!("messages/{}.json", m.name),
            pretty(&v.message_file(mi)),
        ));
    }
    files.push(("datagrams.json".to_string(), pretty(&v.datagram_file())));
    files.push(("errors.json".to_string(), pretty(&v.error_file())));
    files.push((
        "encode_errors.json".to_string(),
        pretty(&v.encode_error_file()),
    ));
    files.push(("layout.json".to_string(), pretty(&layout_file(model))));
    files
}

/// Where each byte of each message lies, from the layout pass: a conformance runner names
/// the field an encode difference falls in, and tells a checksum that differs over an equal
/// body apart, from this file alone (without the schema or this library).
fn layout_file(model: &Model) -> Value {
    let header = model.layout.header(&model.framed);
    let roles = model.framed.roles;
    let checksum_size = model.layout.structs[model.framed.header].fields[roles.checksum].size;
    let messages: Vec<Value> = model
        .schema
        .messages
        .iter()
        .zip(&model.layout.messages)
        .filter_map(|(record, layout)| {
            let fields: Vec<Value> = layout
                .leaves
                .iter()
                .map(|l| json!({ "offset": l.offset, "size": l.size, "path": l.path }))
                .collect();
            Some(json!({
                "type_code": record.message?.type_code,
                "name": record.name,
                "size": layout.size,
                "fields": fields,
            }))
        })
        .collect();
    json!({
        "about": "Each message's fields by byte range (leaves: array entries and composite \
                  members each their own), the type code's offset and the checksum's range, \
                  from the schema's layout pass.",
        "type_code_offset": header.at.msg_type,
        "checksum": { "offset": header.at.checksum, "size": checksum_size },
        "messages": messages,
    })
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values always serialize");
    s.push('\n');
    s
}

/// SplitMix64: a tiny, well-known generator, so vectors are the same on every machine.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

fn seed_of(name: &str) -> u64 {
    // FNV-1a: a stable seed per case name.
    name.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    })
}

/// How a case fills its fields.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// Random values of every kind, sign and width.
    Typical,
    /// Every integer at its minimum, empty text, counts zero, first enum variant.
    Min,
    /// Every integer at its maximum, full text, full arrays, last enum variant, all flag bits.
    Max,
    /// Typical, with every enumeration at its variant number `k` (modulo its length).
    Variant(usize),
    /// Typical, with every count at zero.
    Empty,
    /// Typical, with every count at its array's length.
    Full,
}

struct Gen<'m> {
    schema: &'m Schema,
    model: &'m Model,
    fill: Fill,
    rng: Rng,
}

/// A built message: its wire bytes and its canonical JSON.
#[derive(Clone)]
struct Built {
    bytes: Vec<u8>,
    json: Value,
}

pub(crate) fn put_int(buf: &mut [u8], at: usize, size: usize, v: i128) {
    buf[at..at + size].copy_from_slice(&(v as u128).to_le_bytes()[..size]);
}

fn int_json(p: Prim, v: i128) -> Value {
    if p.size() == 8 {
        Value::String(v.to_string())
    } else {
        json!(v as i64)
    }
}

impl Gen<'_> {
    fn int(&mut self, p: Prim) -> i128 {
        match self.fill {
            Fill::Min => p.min(),
            Fill::Max => p.max(),
            _ => {
                let r = self.rng.next();
                let bits = p.size() * 8;
                let raw = if bits == 64 {
                    r
                } else {
                    r & ((1u64 << bits) - 1)
                };
                match self.rng.below(3) {
                    // Small magnitudes, as real prices and quantities mostly are.
                    0 => {
                        let m = p.max().min(1000);
                        let v = i128::from(self.rng.below(m as u64 + 1));
                        if p.signed() && self.rng.below(2) == 0 {
                            -v
                        } else {
                            v
                        }
                    }
                    // Anything the width holds, sign-extended.
                    _ if p.signed() => {
                        let shift = 128 - bits;
                        (i128::from(raw) << shift) >> shift
                    }
                    _ => i128::from(raw),
                }
            }
        }
    }

    fn variant(&mut self, e: &Enum) -> usize {
        let n = e.variants.len();
        match self.fill {
            Fill::Min => 0,
            Fill::Max => n - 1,
            Fill::Variant(k) => k % n,
            _ => self.rng.below(n as u64) as usize,
        }
    }

    fn flags(&mut self, f: &Enum) -> i128 {
        let defined = f.variants.iter().fold(0i128, |m, v| m | (1 << v.value));
        match self.fill {
            Fill::Min => 0,
            // Unknown bits are carried, not rejected: the maximum sets them all.
            Fill::Max => f.repr.max(),
            _ => i128::from(self.rng.next() as u8) & defined,
        }
    }

    fn count(&mut self, max: usize) -> usize {
        match self.fill {
            Fill::Min | Fill::Empty => 0,
            Fill::Max | Fill::Full => max,
            _ => self.rng.below(max as u64 + 1) as usize,
        }
    }

    fn text(&mut self, n: usize) -> String {
        match self.fill {
            Fill::Min => String::new(),
            Fill::Max => "~".repeat(n),
            _ => {
                let len = self.rng.below(n as u64 + 1) as usize;
                (0..len)
                    .map(|_| char::from(0x20 + self.rng.below(0x5F) as u8))
                    .collect()
            }
        }
    }

    fn is_derived_header_field(&self, field: usize) -> bool {
        self.model.framed.roles.derived().contains(&field)
    }

    fn record(
        &mut self,
        rec: &Record,
        lay: &RecordLayout,
        base: usize,
        buf: &mut [u8],
        is_header: bool,
    ) -> Map<String, Value> {
        // Counts first: they decide how many entries their arrays get.
        let mut counts = vec![None; rec.fields.len()];
        for (i, f) in rec.fields.iter().enumerate() {
            let Some(array) = f.count_of else { continue };
            let (Some(prim), Some((_, max, _))) = (
                lay.fields[i].shape.scalar(),
                lay.fields[array].shape.array(),
            ) else {
                continue;
            };
            let c = self.count(max);
            counts[array] = Some(c);
            put_int(buf, base + lay.fields[i].offset, prim.size(), c as i128);
        }
        let mut map = Map::new();
        for (i, f) in rec.fields.iter().enumerate() {
            if f.is_reserved()
                || f.count_of.is_some()
                || (is_header && self.is_derived_header_field(i))
            {
                continue;
            }
            let at = base + lay.fields[i].offset;
            let shape = &lay.fields[i].shape;
            let v = match (&f.ty, shape.array(), counts[i]) {
                (Ty::Array(element_ty, _), Some((element, _, stride)), Some(c)) => Value::Array(
                    (0..c)
                        .map(|k| self.value(element_ty, element, at + k * stride, buf))
                        .collect(),
                ),
                (ty, ..) => self.value(ty, shape, at, buf),
            };
            map.insert(f.name.clone(), v);
        }
        map
    }

    fn value(&mut self, ty: &Ty, shape: &Shape, at: usize, buf: &mut [u8]) -> Value {
        let schema = self.schema;
        match (ty, shape) {
            (Ty::Struct(s), _) => {
                let lay = &self.model.layout.structs[*s];
                Value::Object(self.record(
                    &schema.structs[*s],
                    lay,
                    at,
                    buf,
                    *s == self.model.framed.header,
                ))
            }
            (
                Ty::Array(element_ty, _),
                Shape::Array {
                    element,
                    len,
                    stride,
                },
            ) => Value::Array(
                (0..*len)
                    .map(|k| self.value(element_ty, element, at + k * stride, buf))
                    .collect(),
            ),
            (Ty::Text(n), _) => {
                let t = self.text(*n);
                buf[at..at + t.len()].copy_from_slice(t.as_bytes());
                Value::String(t)
            }
            (Ty::Enum(e), Shape::Scalar(prim)) => {
                let en = &schema.enums[*e];
                let v = &en.variants[self.variant(en)];
                put_int(buf, at, prim.size(), v.value.into());
                Value::String(v.name.clone())
            }
            (Ty::Flags(f), Shape::Scalar(prim)) => {
                let v = self.flags(&schema.flags[*f]);
                put_int(buf, at, prim.size(), v);
                json!(v as i64)
            }
            (_, Shape::Scalar(prim)) => {
                let v = self.int(*prim);
                put_int(buf, at, prim.size(), v);
                int_json(*prim, v)
            }
            (Ty::Reserved(_), _) => Value::Null,
            (ty, shape) => unreachable!("the layout pass gave {ty:?} the shape {shape:?}"),
        }
    }
}

struct Vectors<'m> {
    model: &'m Model,
    schema: &'m Schema,
    h: HeaderOffsets,
}

/// CRC-32C of `bytes` with the checksum field taken as zero, stored in it.
pub(crate) fn seal(bytes: &mut [u8], h: &HeaderOffsets) {
    bytes[h.at.checksum..h.at.checksum + 4].fill(0);
    let crc = crc32c::crc32c(bytes);
    bytes[h.at.checksum..h.at.checksum + 4].copy_from_slice(&crc.to_le_bytes());
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn err(kind: &str, offset: usize) -> Value {
    json!({ "error": { "kind": kind, "offset": offset } })
}

fn field_err(kind: &str, offset: usize, field: &str) -> Value {
    json!({ "error": { "kind": kind, "offset": offset, "field": field } })
}

impl<'m> Vectors<'m> {
    fn new(model: &'m Model) -> Self {
        Self {
            model,
            schema: &model.schema,
            h: model.layout.header(&model.framed),
        }
    }

    /// Message `mi` filled as `fill`, with a seed taken from `case`.
    fn build(&self, mi: MessageId, fill: Fill, case: &str) -> Built {
        let rec = &self.schema.messages[mi];
        let lay = &self.model.layout.messages[mi];
        let mut gen = Gen {
            schema: self.schema,
            model: self.model,
            fill,
            rng: Rng(seed_of(case)),
        };
        let mut bytes = vec![0u8; lay.size];
        let fields = gen.record(rec, lay, 0, &mut bytes, false);
        let p = &self.schema.protocol;
        let h = self.h;
        bytes[h.at.magic..h.at.magic + 4].copy_from_slice(&self.model.framed.magic.to_le_bytes());
        bytes[h.at.length..h.at.length + 2].copy_from_slice(&(lay.size as u16).to_le_bytes());
        bytes[h.at.msg_type] = rec.message.map_or(0, |m| m.type_code);
        bytes[h.at.version] = p.version;
        seal(&mut bytes, &h);
        let mut json = Map::new();
        json.insert("type".into(), Value::String(rec.name.clone()));
        json.extend(fields);
        Built {
            bytes,
            json: Value::Object(json),
        }
    }

    fn typical(&self, mi: MessageId) -> Built {
        self.build(
            mi,
            Fill::Typical,
            &format!("{}/typical-0", self.schema.messages[mi].name),
        )
    }

    fn message_file(&self, mi: MessageId) -> Value {
        let rec = &self.schema.messages[mi];
        let lay = &self.model.layout.messages[mi];
        let name = &rec.name;
        let cases: Vec<Value> = self
            .fills(mi)
            .into_iter()
            .map(|(case, fill)| {
                let id = format!("{name}/{case}");
                let b = self.build(mi, fill, &id);
                json!({ "name": id, "hex": hex(&b.bytes), "json": b.json })
            })
            .collect();
        json!({
            "message": name,
            "type_code": rec.message.map_or(0, |m| m.type_code),
            "size": lay.size,
            "cases": cases,
        })
    }

    /// The cases of one message type: typical values, the extremes, each enumeration
    /// variant, and (with a counted array) empty and full.
    fn fills(&self, mi: MessageId) -> Vec<(String, Fill)> {
        let rec = &self.schema.messages[mi];
        let lay = &self.model.layout.messages[mi];
        let mut fills: Vec<(String, Fill)> = (0..4)
            .map(|k| (format!("typical-{k}"), Fill::Typical))
            .collect();
        fills.push(("min".into(), Fill::Min));
        fills.push(("max".into(), Fill::Max));
        let most_variants = lay
            .leaves
            .iter()
            .filter_map(|l| match l.kind {
                LeafKind::Enum(e) => Some(self.schema.enums[e].variants.len()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        fills.extend((0..most_variants).map(|k| (format!("enum-variant-{k}"), Fill::Variant(k))));
        if rec.fields.iter().any(|f| f.count_of.is_some()) {
            fills.push(("empty".into(), Fill::Empty));
            fills.push(("full".into(), Fill::Full));
        }
        fills
    }

    /// Several messages back to back, as a publisher packs them into one datagram.
    fn datagram_file(&self) -> Value {
        let n = self.schema.messages.len();
        let mut cases = Vec::new();
        for d in 0..4 {
            let mut bytes = Vec::new();
            let mut expect = Vec::new();
            // A different run of types per datagram, kept under a 1472-byte UDP payload.
            for k in 0..n {
                let mi = MessageId::new((d * 3 + k * (d + 1)) % n);
                let b = self.build(mi, Fill::Typical, &format!("datagram-{d}/{k}"));
                if bytes.len() + b.bytes.len() > 1472 {
                    break;
                }
                bytes.extend_from_slice(&b.bytes);
                expect.push(json!({ "message": b.json }));
            }
            cases.push(json!({ "name": format!("datagram/mixed-{d}"), "hex": hex(&bytes), "expect": expect }));
        }
        cases.push(json!({ "name": "datagram/empty", "hex": "", "expect": [] }));
        json!({ "cases": cases })
    }

    fn case(name: String, bytes: &[u8], expect: Vec<Value>) -> Value {
        json!({ "name": name, "hex": hex(bytes), "expect": expect })
    }

    fn error_file(&self) -> Value {
        let mut cases = Vec::new();
        for (mi, rec) in self.schema.messages.enumerate() {
            self.framing_error_cases(mi, &rec.name, &mut cases);
            self.field_error_cases(mi, &rec.name, &mut cases);
        }
        cases.extend(self.datagram_error_cases());
        json!({ "cases": cases })
    }

    /// Message `mi` broken in its frame: cut short at every field boundary, bad magic,
    /// length, version and checksum, and the reserved bytes and newer versions it accepts.
    fn framing_error_cases(&self, mi: MessageId, name: &str, cases: &mut Vec<Value>) {
        let h = self.h;
        let lay = &self.model.layout.messages[mi];
        let good = self.typical(mi);
        let ok = json!({ "message": good.json });
        // Cut short at every field boundary: inside the header, then inside the body.
        let mut cuts: Vec<usize> = lay
            .leaves
            .iter()
            .map(|l| l.offset)
            .filter(|&o| o > 0)
            .collect();
        cuts.dedup();
        for cut in cuts {
            cases.push(Self::case(
                format!("{name}/truncated-at-{cut}"),
                &good.bytes[..cut],
                vec![err("Truncated", 0)],
            ));
        }

        let mut b = good.bytes.clone();
        b[h.at.magic] ^= 0xFF;
        cases.push(Self::case(
            format!("{name}/bad-magic"),
            &b,
            vec![err("BadMagic", h.at.magic)],
        ));

        for (what, len) in [("smaller", lay.size - 1), ("larger", lay.size + 1)] {
            let mut b = good.bytes.clone();
            b.resize(lay.size + 1, 0);
            b[h.at.length..h.at.length + 2].copy_from_slice(&(len as u16).to_le_bytes());
            seal(&mut b[..lay.size], &h);
            cases.push(Self::case(
                format!("{name}/length-{what}-than-size"),
                &b,
                vec![err("BadLength", h.at.length)],
            ));
        }

        let min = self.schema.protocol.min_version;
        if min > 0 {
            let mut b = good.bytes.clone();
            b[h.at.version] = min - 1;
            seal(&mut b, &h);
            cases.push(Self::case(
                format!("{name}/unsupported-version"),
                &b,
                vec![err("UnsupportedVersion", h.at.version)],
            ));
            // The version is checked before the checksum (SPEC.md §4, 5 before 7).
            b[h.at.checksum] ^= 0x01;
            cases.push(Self::case(
                format!("{name}/unsupported-version-and-bad-checksum"),
                &b,
                vec![err("UnsupportedVersion", h.at.version)],
            ));
        }
        // A newer version is accepted: it may only add fields in reserved bytes, so its
        // message carries data there, which this version's decoder ignores. A message
        // of this version with reserved bytes set decodes the same (SPEC.md §1, §5).
        let mut in_reserved = good.bytes.clone();
        for leaf in lay.leaves.iter().filter(|l| l.kind == LeafKind::Reserved) {
            for (k, byte) in in_reserved[leaf.offset..leaf.offset + leaf.size]
                .iter_mut()
                .enumerate()
            {
                *byte = 0xA5 ^ k as u8;
            }
        }
        let mut b = in_reserved.clone();
        seal(&mut b, &h);
        cases.push(Self::case(
            format!("{name}/reserved-bytes-ignored"),
            &b,
            vec![ok.clone()],
        ));
        let mut b = in_reserved;
        b[h.at.version] = self.schema.protocol.version.saturating_add(1);
        seal(&mut b, &h);
        cases.push(Self::case(
            format!("{name}/newer-version-accepted"),
            &b,
            vec![ok.clone()],
        ));

        let mut b = good.bytes.clone();
        let last = b.len() - 1;
        b[last] ^= 0x01;
        cases.push(Self::case(
            format!("{name}/bad-checksum"),
            &b,
            vec![err("BadChecksum", h.at.checksum)],
        ));
    }

    /// Message `mi` with bad field values: the first enumeration, count and text leaf of
    /// each top-level field, text's own cases, and two bad values at once.
    fn field_error_cases(&self, mi: MessageId, name: &str, cases: &mut Vec<Value>) {
        let h = self.h;
        let lay = &self.model.layout.messages[mi];
        // Field values: first enumeration, count and text leaf of each top-level field.
        let full = self.build(mi, Fill::Full, &format!("{name}/full"));
        let mut seen = Vec::new();
        for leaf in &lay.leaves {
            if seen.contains(&leaf.field) {
                continue;
            }
            let path = format!("{name}.{}", leaf.path);
            let mut b = full.bytes.clone();
            let Some(kind) = self.spoil(leaf, &mut b) else {
                continue;
            };
            let first_of_message = seen.is_empty();
            seen.push(leaf.field);
            seal(&mut b, &h);
            let what = kind.trim_start_matches("Bad").to_lowercase();
            cases.push(Self::case(
                format!("{name}/bad-{what}-{}", leaf.path),
                &b,
                vec![field_err(kind, leaf.offset, &path)],
            ));
            if first_of_message {
                // The checksum is checked before any field value (SPEC.md §4, 7 before 8).
                let mut b = b.clone();
                b[h.at.checksum] ^= 0x01;
                cases.push(Self::case(
                    format!("{name}/bad-{what}-and-bad-checksum"),
                    &b,
                    vec![err("BadChecksum", h.at.checksum)],
                ));
            }
            if leaf.kind == LeafKind::Text {
                // DEL (0x7F) is not printable either.
                let mut b = full.bytes.clone();
                b[leaf.offset] = 0x7F;
                seal(&mut b, &h);
                cases.push(Self::case(
                    format!("{name}/bad-text-del-{}", leaf.path),
                    &b,
                    vec![field_err("BadText", leaf.offset, &path)],
                ));
            }
            if leaf.kind == LeafKind::Text && leaf.size >= 3 {
                // Text after the NUL padding.
                let mut b = full.bytes.clone();
                b[leaf.offset..leaf.offset + leaf.size].fill(0);
                b[leaf.offset] = b'A';
                b[leaf.offset + 2] = b'B';
                seal(&mut b, &h);
                cases.push(Self::case(
                    format!("{name}/text-after-padding-{}", leaf.path),
                    &b,
                    vec![field_err("BadText", leaf.offset, &path)],
                ));
            }
        }
        // Two bad values in one message: the one at the lower offset is reported,
        // whatever the kinds (SPEC.md §4, check 8 walks the fields in order).
        let checked: Vec<&Leaf> = lay
            .leaves
            .iter()
            .filter(|l| {
                matches!(
                    l.kind,
                    LeafKind::Enum(_) | LeafKind::Count { .. } | LeafKind::Text
                )
            })
            .collect();
        if let (Some(first), Some(last)) = (checked.first(), checked.last()) {
            if first.field != last.field {
                let mut b = full.bytes.clone();
                let kind = self.spoil(first, &mut b);
                self.spoil(last, &mut b);
                seal(&mut b, &h);
                if let Some(kind) = kind {
                    cases.push(Self::case(
                        format!("{name}/bad-{}-and-bad-{}", first.path, last.path),
                        &b,
                        vec![field_err(
                            kind,
                            first.offset,
                            &format!("{name}.{}", first.path),
                        )],
                    ));
                }
            }
        }
    }

    /// Puts an invalid value in `leaf` (an enumeration, count or text); the error it makes.
    fn spoil(&self, leaf: &Leaf, b: &mut [u8]) -> Option<&'static str> {
        match leaf.kind {
            LeafKind::Enum(e) => {
                let en = &self.schema.enums[e];
                let bad = (0..=en.repr.max())
                    .find(|v| !en.variants.iter().any(|x| i128::from(x.value) == *v))
                    .unwrap_or(0);
                put_int(b, leaf.offset, leaf.size, bad);
                Some("BadEnum")
            }
            LeafKind::Count { max, .. } => {
                put_int(b, leaf.offset, leaf.size, max as i128 + 1);
                Some("BadCount")
            }
            LeafKind::Text => {
                b[leaf.offset] = 0x01;
                Some("BadText")
            }
            _ => None,
        }
    }

    /// Errors that concern the datagram more than a message: unknown types, trailing bytes,
    /// and which errors end the datagram and which skip one message.
    fn datagram_error_cases(&self) -> Vec<Value> {
        let h = self.h;
        let mut ids = self.schema.messages.ids();
        let (first, last) = (ids.next(), ids.next_back());
        let (Some(first), Some(last)) = (first, last.or(first)) else {
            return Vec::new();
        };
        let a = self.typical(first);
        let b = self.typical(last);
        let used: Vec<u8> = self
            .schema
            .messages
            .iter()
            .filter_map(|m| m.message.map(|i| i.type_code))
            .collect();
        let unknown = (0..=255u8).rev().find(|c| !used.contains(c)).unwrap_or(0);
        let ok = |x: &Built| json!({ "message": x.json });
        let cat = |parts: &[&[u8]]| parts.concat();

        let mut u = vec![0u8; h.size + 8];
        u[h.at.magic..h.at.magic + 4].copy_from_slice(&self.model.framed.magic.to_le_bytes());
        let u_len = u.len() as u16;
        u[h.at.length..h.at.length + 2].copy_from_slice(&u_len.to_le_bytes());
        u[h.at.msg_type] = unknown;
        u[h.at.version] = self.schema.protocol.version;
        seal(&mut u, &h);
        let mut short = u[..h.size].to_vec();
        short[h.at.length..h.at.length + 2].copy_from_slice(&((h.size - 1) as u16).to_le_bytes());
        let mut bad_crc = a.bytes.clone();
        bad_crc[h.size] ^= 0x80;
        let mut bad_magic = a.bytes.clone();
        bad_magic[h.at.magic + 1] ^= 0x01;
        let a_len = a.bytes.len();
        // Unknown type and too old: the version is checked first (SPEC.md §4, 5 before 6).
        let mut u_old = u.clone();
        u_old[h.at.version] = self.schema.protocol.min_version.saturating_sub(1);
        seal(&mut u_old, &h);
        // Unknown type and a wrong checksum: the type is checked first (6 before 7).
        let mut u_bad_crc = u.clone();
        u_bad_crc[h.at.checksum] ^= 0x01;
        let mut b_bad_crc = b.bytes.clone();
        b_bad_crc[h.at.checksum] ^= 0x01;
        let mut b_old = b.bytes.clone();
        b_old[h.at.version] = self.schema.protocol.min_version.saturating_sub(1);
        seal(&mut b_old, &h);

        vec![
            Self::case(
                "datagram/unknown-type-skipped".into(),
                &cat(&[&u, &a.bytes]),
                vec![err("UnknownType", h.at.msg_type), ok(&a)],
            ),
            Self::case(
                "datagram/unknown-type-shorter-than-header".into(),
                &cat(&[&short, &a.bytes]),
                vec![err("BadLength", h.at.length)],
            ),
            Self::case(
                "datagram/bad-checksum-then-good".into(),
                &cat(&[&bad_crc, &b.bytes]),
                vec![err("BadChecksum", h.at.checksum), ok(&b)],
            ),
            Self::case(
                "datagram/good-then-bad-magic-stops".into(),
                &cat(&[&a.bytes, &bad_magic, &b.bytes]),
                vec![ok(&a), err("BadMagic", a_len + h.at.magic)],
            ),
            Self::case(
                "datagram/trailing-garbage-short".into(),
                &cat(&[&a.bytes, &[0xEE; 7]]),
                vec![ok(&a), err("Truncated", a_len)],
            ),
            Self::case(
                "datagram/trailing-garbage-header-sized".into(),
                &cat(&[&a.bytes, &[0xEE; 48]]),
                vec![ok(&a), err("BadMagic", a_len + h.at.magic)],
            ),
            Self::case(
                "datagram/unknown-type-and-unsupported-version".into(),
                &cat(&[&u_old, &a.bytes]),
                vec![err("UnsupportedVersion", h.at.version), ok(&a)],
            ),
            Self::case(
                "datagram/unknown-type-and-bad-checksum".into(),
                &cat(&[&u_bad_crc, &a.bytes]),
                vec![err("UnknownType", h.at.msg_type), ok(&a)],
            ),
            // Offsets count from the datagram's start, not the message's.
            Self::case(
                "datagram/good-then-bad-checksum".into(),
                &cat(&[&a.bytes, &b_bad_crc]),
                vec![ok(&a), err("BadChecksum", a_len + h.at.checksum)],
            ),
            Self::case(
                "datagram/good-then-unsupported-version".into(),
                &cat(&[&a.bytes, &b_old]),
                vec![ok(&a), err("UnsupportedVersion", a_len + h.at.version)],
            ),
            Self::case(
                "datagram/second-message-cut-short".into(),
                &cat(&[&a.bytes, &b.bytes[..b.bytes.len() - 1]]),
                vec![ok(&a), err("Truncated", a_len)],
            ),
        ]
    }

    /// Keys that name no field of the canonical form, each refused: the header fields the
    /// encoder fills and its reserved bytes, count and reserved fields, and unknown keys in
    /// the header and in a nested record.
    fn keys_outside_the_form(&self, rec: &Record, good: &Value) -> Vec<Value> {
        let mut cases = Vec::new();
        let mut case = |what: String, j: Value| {
            cases.push(json!({ "name": format!("{}/{what}", rec.name), "json": j }));
        };
        let header_key = &rec.fields[0].name;
        for (i, f) in self
            .schema
            .header(&self.model.framed)
            .fields
            .iter()
            .enumerate()
        {
            if self.model.framed.roles.derived().contains(&i) || f.is_reserved() {
                let mut j = good.clone();
                j[header_key][&f.name] = json!(0);
                case(format!("header-key-{}", f.name), j);
            }
        }
        let mut j = good.clone();
        j[header_key]["no_such_field"] = json!(0);
        case("header-unknown-key".into(), j);
        for f in rec.fields.iter().skip(1) {
            let kind = match (f.count_of, f.is_reserved()) {
                (Some(array), _) => {
                    let n = good[&rec.fields[array].name].as_array().map_or(0, Vec::len);
                    Some(("count", json!(n)))
                }
                (None, true) => Some(("reserved", json!(0))),
                (None, false) => None,
            };
            if let Some((what, value)) = kind {
                let mut j = good.clone();
                j[&f.name] = value;
                case(format!("key-of-a-{what}-field-{}", f.name), j);
            }
        }
        let nested = rec
            .fields
            .iter()
            .skip(1)
            .find_map(|f| match &good[&f.name] {
                Value::Object(_) => Some(format!("/{}", f.name)),
                Value::Array(a) if a.first().is_some_and(Value::is_object) => {
                    Some(format!("/{}/0", f.name))
                }
                _ => None,
            });
        if let Some(pointer) = nested {
            let mut j = good.clone();
            if let Some(Value::Object(o)) = j.pointer_mut(&pointer) {
                o.insert("no_such_field".into(), json!(0));
            }
            case(
                format!("nested-unknown-key{}", pointer.replace('/', "-")),
                j,
            );
        }
        cases
    }

    /// Values outside the canonical form, each refused: a 64-bit integer's decimal string
    /// with a sign, leading zeros, `-0`, spaces, an exponent, hex or nothing; text with a
    /// character outside ASCII.
    fn values_outside_the_form(
        &self,
        rec: &Record,
        lay: &RecordLayout,
        good: &Value,
    ) -> Vec<Value> {
        let mut cases = Vec::new();
        let top_level = |l: &&Leaf| l.field != 0 && l.path == rec.fields[l.field].name;
        let wide: Vec<(Prim, &str)> = lay
            .leaves
            .iter()
            .filter(top_level)
            .filter_map(|l| match l.kind {
                LeafKind::Int(p) if p.size() == 8 => Some((p, rec.fields[l.field].name.as_str())),
                _ => None,
            })
            .collect();
        // A signed field where there is one: there `-0` and `-5` are numbers of its range.
        if let Some(&(_, field)) = wide.iter().find(|(p, _)| p.signed()).or(wide.first()) {
            for (what, text) in [
                ("plus-sign", "+5"),
                ("leading-zero", "007"),
                ("minus-zero", "-0"),
                ("leading-space", " 5"),
                ("trailing-space", "5 "),
                ("empty", ""),
                ("exponent", "1e3"),
                ("hex", "0x10"),
                ("fraction", "5.0"),
                ("underscore", "1_000"),
            ] {
                let mut j = good.clone();
                j[field] = json!(text);
                cases.push(
                    json!({ "name": format!("{}/decimal-{what}-{field}", rec.name), "json": j }),
                );
            }
        }
        if let Some(leaf) = lay
            .leaves
            .iter()
            .filter(top_level)
            .find(|l| l.kind == LeafKind::Text)
        {
            let field = &rec.fields[leaf.field].name;
            let mut j = good.clone();
            j[field] = json!("A\u{e9}");
            cases
                .push(json!({ "name": format!("{}/text-non-ascii-{field}", rec.name), "json": j }));
        }
        cases
    }

    /// JSON an encoder must refuse, one rule broken per case.
    fn encode_error_file(&self) -> Value {
        let mut cases = Vec::new();
        for (mi, rec) in self.schema.messages.enumerate() {
            let good = self.build(mi, Fill::Full, &format!("{}/full", rec.name));
            let lay = &self.model.layout.messages[mi];
            let name = &rec.name;
            let mut seen = Vec::new();
            for leaf in &lay.leaves {
                let f = &rec.fields[leaf.field];
                if seen.contains(&leaf.field) || leaf.field == 0 || f.is_reserved() {
                    continue;
                }
                let mut j = good.json.clone();
                let (what, bad): (&str, Value) = match (&f.ty, leaf.kind) {
                    (Ty::Array(..), _)
                        if rec.fields.iter().any(|c| c.count_of == Some(leaf.field)) =>
                    {
                        let Some(arr) = j[&f.name].as_array().cloned() else {
                            continue;
                        };
                        let mut longer = arr.clone();
                        longer.push(arr.first().cloned().unwrap_or(Value::Null));
                        ("array-longer-than-its-capacity", Value::Array(longer))
                    }
                    (Ty::Array(..), _) | (Ty::Struct(_), _) => continue,
                    (_, LeafKind::Enum(_)) => ("unknown-enum-name", json!("NoSuchVariant")),
                    (_, LeafKind::Text) => {
                        ("text-too-long", Value::String("X".repeat(leaf.size + 1)))
                    }
                    (_, LeafKind::Int(p)) => ("integer-out-of-range", int_json(p, p.max() + 1)),
                    (_, LeafKind::Flags(fi)) => {
                        let p = self.schema.flags[fi].repr;
                        ("flags-out-of-range", int_json(p, p.max() + 1))
                    }
                    _ => continue,
                };
                seen.push(leaf.field);
                j[&f.name] = bad;
                cases.push(json!({ "name": format!("{name}/{what}-{}", f.name), "json": j }));
            }
            // Text an encoder must refuse although it fits: a control byte, DEL, a NUL.
            let top_level = |l: &&Leaf| l.field != 0 && l.path == rec.fields[l.field].name;
            if let Some(leaf) = lay
                .leaves
                .iter()
                .filter(top_level)
                .find(|l| l.kind == LeafKind::Text)
            {
                let f = &rec.fields[leaf.field];
                for (what, text) in [
                    ("control", "A\u{1}"),
                    ("del", "A\u{7f}"),
                    ("nul", "A\u{0}B"),
                ] {
                    if text.len() > leaf.size {
                        continue;
                    }
                    let mut j = good.json.clone();
                    j[&f.name] = json!(text);
                    cases.push(
                        json!({ "name": format!("{name}/text-{what}-{}", f.name), "json": j }),
                    );
                }
            }
            // The canonical form's integer types: 64-bit ones are decimal strings, narrower
            // ones numbers; the other form is refused, not guessed at.
            let ints = lay
                .leaves
                .iter()
                .filter(top_level)
                .filter_map(|l| match l.kind {
                    LeafKind::Int(p) => Some((p, &rec.fields[l.field].name)),
                    _ => None,
                });
            let wide = ints.clone().find(|(p, _)| p.size() == 8);
            let narrow = ints.clone().find(|(p, _)| p.size() < 8);
            if let Some((_, field)) = wide {
                let mut j = good.json.clone();
                j[field] = json!(1);
                cases.push(
                    json!({ "name": format!("{name}/wide-integer-as-number-{field}"), "json": j }),
                );
            }
            if let Some((_, field)) = narrow {
                let mut j = good.json.clone();
                j[field] = json!("1");
                cases.push(json!({ "name": format!("{name}/narrow-integer-as-string-{field}"), "json": j }));
            }
            let mut j = good.json.clone();
            j["no_such_field"] = json!(0);
            cases.push(json!({ "name": format!("{name}/unknown-key"), "json": j }));
            cases.extend(self.keys_outside_the_form(rec, &good.json));
            cases.extend(self.values_outside_the_form(rec, lay, &good.json));
            let mut j = good.json.clone();
            if let Some(obj) = j.as_object_mut() {
                // The first body field the JSON carries (reserved fields never appear in it);
                // a message with none (a bare heartbeat) has no field to leave out.
                let carried = rec.fields.iter().skip(1).find(|f| !f.is_reserved());
                if let Some(k) = carried.map(|f| f.name.clone()) {
                    obj.remove(&k);
                    cases.push(json!({ "name": format!("{name}/missing-field-{k}"), "json": j }));
                }
            }
        }
        json!({ "cases": cases })
    }
}
