//! Conformance vectors for protocols not of RLTOP's shape (ITCH, OUCH, a venue's own feed):
//! the same files and JSON format as RLTOP's (`conformance/README.md`), written from the
//! layout pass's offsets and the schema's byte orders, through no emitter.
//!
//! Policy:
//! * The schemas taken are those the C and Python backends take (flat records, the type code
//!   in the first byte), without a checksum, framed `packed` or `moldudp64`. Anything else is
//!   refused with the reason, and nothing is written.
//! * A decode request's bytes are one datagram in the schema's framing: a MoldUDP64 packet,
//!   or messages back to back. Each message case carries its message alone (`hex`, what an
//!   encoder writes) and framed (`datagram`), with the results expected (`expect`).
//! * Under MoldUDP64 every result carries its block's `sequence` (a decimal string), and a
//!   framing fault is the error kind `BadFrame` at the byte where the framing goes wrong.
//!   A message that does not decode skips its block; a framing fault ends the packet.
//! * Packed framing ends the walk at the first error: an unknown type's length is unknown.
//! * The expected results follow the decoding order of the generated decoders: type code,
//!   length (`Truncated` short, `BadLength` long, at the message's first byte), then each
//!   field in declaration order (`BadEnum`, `BadText` at the field's first byte).

use serde_json::{json, Map, Value};

use super::{hex, pretty, seed_of, Rng};
use crate::layout::{RecordLayout, Shape};
use crate::model::{ByteOrder, Checksum, Enum, Framing, Padding, Prim, Record, Schema, Ty};
use crate::Laid;

/// The session every MoldUDP64 vector is sent on.
const SESSION: &[u8; 10] = b"VECTORS   ";

/// Every vector file, as (path under the vectors directory, pretty JSON text), or why this
/// version cannot write them for `laid`.
pub fn build(laid: &Laid) -> Result<Vec<(String, String)>, String> {
    takes(laid)?;
    let s = &laid.schema;
    let v = Vectors {
        s,
        messages: s.messages.iter().zip(laid.layout.messages.iter()).collect(),
    };
    let mut files = Vec::new();
    for (mi, (r, _)) in v.messages.iter().enumerate() {
        files.push((
            format!("messages/{}.json", r.name),
            pretty(&v.message_file(mi)),
        ));
    }
    files.push(("datagrams.json".into(), pretty(&v.datagram_file())));
    files.push(("errors.json".into(), pretty(&v.error_file())));
    files.push(("encode_errors.json".into(), pretty(&v.encode_error_file())));
    files.push(("layout.json".into(), pretty(&v.layout_file())));
    Ok(files)
}

/// Whether this version writes vectors for `laid`.
fn takes(laid: &Laid) -> Result<(), String> {
    laid.flat_first_byte("the conformance vectors")?;
    let p = &laid.schema.protocol;
    let refuse = |why: String| Err(format!("the conformance vectors of `{}`: {why}", p.name));
    if p.checksum != Checksum::None {
        return refuse(
            "this version writes them for protocols without a checksum, or of RLTOP's shape".into(),
        );
    }
    if p.framing == Framing::SoupBinTcp {
        return refuse(
            "this version writes them for packed and MoldUDP64 framing, not SoupBinTCP".into(),
        );
    }
    for r in laid.schema.messages.iter() {
        if let Some(f) = r.fields.iter().find(|f| matches!(f.ty, Ty::Array(..))) {
            return refuse(format!(
                "this version emits no arrays (`{}.{}`)",
                r.name, f.name
            ));
        }
    }
    Ok(())
}

/// How a case fills its fields.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fill {
    Typical,
    /// Integers at their minimum, empty text, a space for a character, the first variant.
    Min,
    /// Integers at their maximum, full text of `~`, `~` for a character, the last variant.
    Max,
    /// Typical, with every enumeration at its variant `k` (modulo its length).
    Variant(usize),
}

/// A built message: its bytes and its canonical JSON.
struct Built {
    bytes: Vec<u8>,
    json: Value,
}

/// `v` into `size` bytes at `at`, in `order` (two's complement for negative values).
fn put(buf: &mut [u8], at: usize, size: usize, order: ByteOrder, v: i128) {
    let le = (v as u128).to_le_bytes();
    for (k, b) in le[..size].iter().enumerate() {
        let i = if order == ByteOrder::Big {
            size - 1 - k
        } else {
            k
        };
        buf[at + i] = *b;
    }
}

/// An integer as canonical JSON: 64-bit as a decimal string, narrower as a number, and a
/// scaled one as a decimal string of exactly `scale` places.
fn int_json(p: Prim, scale: Option<u8>, v: i128) -> Value {
    match scale {
        Some(k) => Value::String(decimal(v, k)),
        None if p.size() == 8 => Value::String(v.to_string()),
        None => json!(v as i64),
    }
}

/// `v` × 10^-scale, with exactly `scale` places.
fn decimal(v: i128, scale: u8) -> String {
    let (sign, a) = if v < 0 { ("-", -v) } else { ("", v) };
    if scale == 0 {
        return format!("{sign}{a}");
    }
    let unit = 10i128.pow(u32::from(scale));
    format!(
        "{sign}{}.{:0width$}",
        a / unit,
        a % unit,
        width = usize::from(scale)
    )
}

struct Gen<'s> {
    s: &'s Schema,
    fill: Fill,
    rng: Rng,
}

impl Gen<'_> {
    fn int(&mut self, p: Prim) -> i128 {
        match self.fill {
            Fill::Min => p.min(),
            Fill::Max => p.max(),
            _ if self.rng.below(3) == 0 => i128::from(self.rng.below(1_000)).min(p.max()),
            _ => {
                let bits = p.size() * 8;
                let raw = i128::from(self.rng.next()) & ((1i128 << bits) - 1);
                if p.signed() {
                    let shift = 128 - bits;
                    (raw << shift) >> shift
                } else {
                    raw
                }
            }
        }
    }

    fn printable(&mut self) -> u8 {
        0x20 + self.rng.below(0x5F) as u8
    }

    fn text(&mut self, n: usize, pad: Padding) -> String {
        let t: String = match self.fill {
            Fill::Min => String::new(),
            Fill::Max => "~".repeat(n),
            _ => {
                let len = self.rng.below(n as u64 + 1) as usize;
                (0..len).map(|_| char::from(self.printable())).collect()
            }
        };
        // Trailing spaces are a space-padded field's padding, not its text.
        match pad {
            Padding::Space => t.trim_end_matches(' ').to_string(),
            Padding::Nul => t,
        }
    }

    fn variant<'e>(&mut self, e: &'e Enum) -> &'e crate::model::Variant {
        let n = e.variants.len();
        let k = match self.fill {
            Fill::Min => 0,
            Fill::Max => n - 1,
            Fill::Variant(k) => k % n,
            Fill::Typical => self.rng.below(n as u64) as usize,
        };
        &e.variants[k]
    }

    /// A message of `r`, every field filled as `self.fill` says.
    fn message(&mut self, r: &Record, l: &RecordLayout) -> Built {
        let code = r.message.map_or(0, |m| m.type_code);
        let mut bytes = vec![0u8; l.size];
        let mut map = Map::new();
        map.insert("type".into(), Value::String(r.name.clone()));
        for (f, fl) in r.fields.iter().zip(&l.fields) {
            let at = fl.offset;
            let v = match (&f.ty, &fl.shape) {
                (Ty::Reserved(_), _) => continue,
                (Ty::Text(n), _) => {
                    let t = self.text(*n, f.pad);
                    let fill = if f.pad == Padding::Space { b' ' } else { 0 };
                    bytes[at..at + n].fill(fill);
                    bytes[at..at + t.len()].copy_from_slice(t.as_bytes());
                    Value::String(t)
                }
                (Ty::Enum(e), Shape::Scalar(p)) => {
                    let v = self.variant(&self.s.enums[*e]);
                    put(&mut bytes, at, p.size(), f.order, v.value.into());
                    Value::String(v.name.clone())
                }
                (Ty::Flags(_), Shape::Scalar(p)) => {
                    let v = self.int(*p);
                    put(&mut bytes, at, p.size(), f.order, v);
                    json!(v as i64)
                }
                (_, Shape::Scalar(Prim::Char)) => {
                    let c = match self.fill {
                        _ if at == 0 => code,
                        Fill::Min => b' ',
                        Fill::Max => b'~',
                        _ => self.printable(),
                    };
                    bytes[at] = c;
                    Value::String(char::from(c).to_string())
                }
                (ty, Shape::Scalar(p)) => {
                    let v = if at == 0 {
                        i128::from(code)
                    } else {
                        self.int(*p)
                    };
                    put(&mut bytes, at, p.size(), f.order, v);
                    int_json(*p, scale_of(self.s, ty), v)
                }
                (ty, shape) => unreachable!("`takes` refuses {ty:?} laid out as {shape:?}"),
            };
            map.insert(f.name.clone(), v);
        }
        Built {
            bytes,
            json: Value::Object(map),
        }
    }
}

/// The implied decimal places of a field's type, if it has any.
fn scale_of(s: &Schema, ty: &Ty) -> Option<u8> {
    match ty {
        Ty::Alias(a) => s.aliases[*a].scale,
        _ => None,
    }
}

/// One item of a datagram: a message's bytes as sent (possibly damaged) and what decoding
/// its block gives.
struct Item {
    bytes: Vec<u8>,
    result: Result<Value, (String, usize, Option<String>)>,
}

fn ok(b: &Built) -> Item {
    Item {
        bytes: b.bytes.clone(),
        result: Ok(b.json.clone()),
    }
}

/// An item whose decoding fails with `kind` at `offset` (from the message's start).
fn bad(bytes: Vec<u8>, kind: &str, offset: usize, field: Option<String>) -> Item {
    Item {
        bytes,
        result: Err((kind.into(), offset, field)),
    }
}

fn error(kind: &str, offset: usize, field: Option<&str>) -> Value {
    let mut e = json!({ "kind": kind, "offset": offset });
    if let Some(f) = field {
        e["field"] = json!(f);
    }
    json!({ "error": e })
}

struct Vectors<'l> {
    s: &'l Schema,
    /// Each message and its layout, in schema order.
    messages: Vec<(&'l Record, &'l RecordLayout)>,
}

impl Vectors<'_> {
    fn framing(&self) -> Framing {
        self.s.protocol.framing
    }

    fn gen(&self, case: &str, fill: Fill) -> Gen<'_> {
        Gen {
            s: self.s,
            fill,
            rng: Rng(seed_of(case)),
        }
    }

    fn built(&self, mi: usize, case: &str, fill: Fill) -> Built {
        let (r, l) = self.messages[mi];
        self.gen(case, fill).message(r, l)
    }

    /// The datagram carrying `items` in the schema's framing, and the results expected.
    /// MoldUDP64 numbers the blocks from `sequence`; packed framing stops at the first error.
    fn datagram(&self, sequence: u64, items: &[Item]) -> (Vec<u8>, Vec<Value>) {
        let mut out = Vec::new();
        let mut results = Vec::new();
        let mold = self.framing() == Framing::MoldUdp64;
        if mold {
            out.extend_from_slice(SESSION);
            out.extend_from_slice(&sequence.to_be_bytes());
            out.extend_from_slice(&(items.len() as u16).to_be_bytes());
        }
        for (k, item) in items.iter().enumerate() {
            if mold {
                out.extend_from_slice(&(item.bytes.len() as u16).to_be_bytes());
            }
            let start = out.len();
            out.extend_from_slice(&item.bytes);
            let mut r = match &item.result {
                Ok(m) => json!({ "message": m }),
                Err((kind, at, field)) => error(kind, start + at, field.as_deref()),
            };
            if mold {
                r["sequence"] = json!((sequence + k as u64).to_string());
            }
            let stop = !mold && item.result.is_err();
            results.push(r);
            if stop {
                break;
            }
        }
        (out, results)
    }

    fn message_file(&self, mi: usize) -> Value {
        let (r, l) = self.messages[mi];
        let variants = r
            .fields
            .iter()
            .filter_map(|f| match f.ty {
                Ty::Enum(e) => Some(self.s.enums[e].variants.len()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let mut fills: Vec<(String, Fill)> = (0..4)
            .map(|k| (format!("typical-{k}"), Fill::Typical))
            .collect();
        fills.push(("min".into(), Fill::Min));
        fills.push(("max".into(), Fill::Max));
        fills.extend((0..variants).map(|k| (format!("variant-{k}"), Fill::Variant(k))));
        let cases: Vec<Value> = fills
            .iter()
            .enumerate()
            .map(|(k, (suffix, fill))| {
                let name = format!("{}/{suffix}", r.name);
                let b = self.built(mi, &name, *fill);
                // Sequence numbers across the whole u64 range, the largest on the max case.
                let sequence = match fill {
                    Fill::Max => u64::MAX - 1,
                    _ => 1 + (k as u64) * 0x0101_0101_0101,
                };
                let (datagram, expect) = self.datagram(sequence, &[ok(&b)]);
                json!({ "name": name, "hex": hex(&b.bytes), "json": b.json,
                        "datagram": hex(&datagram), "expect": expect })
            })
            .collect();
        json!({
            "message": r.name,
            "type_code": r.message.map(|m| m.type_code),
            "size": l.size,
            "cases": cases,
        })
    }

    fn case(&self, name: &str, sequence: u64, items: &[Item]) -> Value {
        let (bytes, expect) = self.datagram(sequence, items);
        json!({ "name": name, "hex": hex(&bytes), "expect": expect })
    }

    fn datagram_file(&self) -> Value {
        let all: Vec<Item> = (0..self.messages.len())
            .map(|mi| ok(&self.built(mi, &format!("datagrams/{mi}"), Fill::Typical)))
            .collect();
        let mut cases = vec![self.case("datagrams/one-of-each-type", 7, &all)];
        match self.framing() {
            Framing::MoldUdp64 => {
                let mut heartbeat = SESSION.to_vec();
                heartbeat.extend_from_slice(&42u64.to_be_bytes());
                heartbeat.extend_from_slice(&0u16.to_be_bytes());
                cases.push(
                    json!({ "name": "datagrams/heartbeat", "hex": hex(&heartbeat), "expect": [] }),
                );
                let mut end = heartbeat.clone();
                end[18..20].copy_from_slice(&0xFFFFu16.to_be_bytes());
                cases.push(
                    json!({ "name": "datagrams/end-of-session", "hex": hex(&end), "expect": [] }),
                );
            }
            _ => cases.push(json!({ "name": "datagrams/empty", "hex": "", "expect": [] })),
        }
        json!({ "cases": cases })
    }

    fn error_file(&self) -> Value {
        let mut cases = Vec::new();
        for (mi, &(r, l)) in self.messages.iter().enumerate() {
            for (name, item) in self.damaged(mi, r, l) {
                let first = ok(&self.built(mi, &format!("{name}/before"), Fill::Typical));
                let after = ok(&self.built(mi, &format!("{name}/after"), Fill::Typical));
                cases.push(self.case(
                    &format!("errors/{}/{name}", r.name),
                    100,
                    &[first, item, after],
                ));
            }
        }
        cases.push(self.unknown_type());
        if self.framing() == Framing::MoldUdp64 {
            cases.extend(self.frame_errors());
        }
        json!({ "cases": cases })
    }

    /// One damaged copy of a typical message of `r` per way it can be refused.
    fn damaged(&self, mi: usize, r: &Record, l: &RecordLayout) -> Vec<(String, Item)> {
        let good = self
            .built(mi, &format!("errors/{}", r.name), Fill::Typical)
            .bytes;
        let mut out = Vec::new();
        let mold = self.framing() == Framing::MoldUdp64;
        // Cut at every field boundary (under packed framing the cut message is the last).
        for fl in l.fields.iter().filter(|fl| mold || fl.offset > 0) {
            let name = format!("truncated-at-{}", fl.offset);
            out.push((name, bad(good[..fl.offset].to_vec(), "Truncated", 0, None)));
        }
        if mold {
            let mut long = good.clone();
            long.push(b' ');
            out.push(("one-byte-long".into(), bad(long, "BadLength", 0, None)));
        }
        for (f, fl) in r
            .fields
            .iter()
            .zip(&l.fields)
            .filter(|(_, fl)| fl.offset > 0)
        {
            let field = Some(format!("{}.{}", r.name, f.name));
            let (at, size) = (fl.offset, fl.size);
            // (case, byte within the field, the byte written there)
            let mut spoils: Vec<(&str, usize, u8)> = Vec::new();
            let kind = match &f.ty {
                Ty::Enum(e) => {
                    if let Some(v) = outside(&self.s.enums[*e]) {
                        let mut b = good.clone();
                        put(&mut b, at, size, f.order, v.into());
                        out.push((
                            format!("{}-bad-enum", f.name),
                            bad(b, "BadEnum", at, field.clone()),
                        ));
                    }
                    "BadEnum"
                }
                Ty::Text(_) | Ty::Prim(Prim::Char) => {
                    spoils.extend([
                        ("control-byte", 0, 0x01),
                        ("del", size - 1, 0x7F),
                        ("high-byte", 0, 0xC3),
                    ]);
                    if f.pad == Padding::Space && size > 1 {
                        spoils.push(("nul", size - 1, 0));
                    }
                    "BadText"
                }
                _ => continue,
            };
            for (name, k, byte) in spoils {
                let mut b = good.clone();
                b[at + k] = byte;
                out.push((
                    format!("{}-{name}", f.name),
                    bad(b, kind, at, field.clone()),
                ));
            }
        }
        out
    }

    /// A message of a type code no message has, between two valid ones.
    fn unknown_type(&self) -> Value {
        let used: Vec<u8> = self
            .s
            .messages
            .iter()
            .filter_map(|r| r.message.map(|m| m.type_code))
            .collect();
        let code = (b'a'..=b'z')
            .chain(0..=255)
            .find(|c| !used.contains(c))
            .unwrap_or(0);
        let mut unknown = vec![b' '; 12];
        unknown[0] = code;
        let items = [
            ok(&self.built(0, "errors/unknown-type/before", Fill::Typical)),
            bad(unknown, "UnknownType", 0, None),
            ok(&self.built(0, "errors/unknown-type/after", Fill::Typical)),
        ];
        self.case("errors/unknown-type", 300, &items)
    }

    /// MoldUDP64's own faults, each at the byte where the framing goes wrong.
    fn frame_errors(&self) -> Vec<Value> {
        let m = ok(&self.built(0, "errors/frame", Fill::Typical));
        let (good, results) = self.datagram(500, &[m]);
        let frame = |at: usize| error("BadFrame", at, None);
        let mut cases = Vec::new();
        let mut push = |name: &str, bytes: Vec<u8>, expect: Vec<Value>| {
            cases.push(json!({ "name": format!("errors/frame/{name}"), "hex": hex(&bytes), "expect": expect }));
        };
        push("empty-datagram", Vec::new(), vec![frame(0)]);
        push("short-header", good[..19].to_vec(), vec![frame(0)]);
        let mut two = good.clone();
        two[18..20].copy_from_slice(&2u16.to_be_bytes());
        let mut expect = results.clone();
        expect.push(frame(good.len()));
        push("count-beyond-the-blocks", two.clone(), expect.clone());
        two.push(0);
        push("length-prefix-cut", two, expect);
        let mut long = good.clone();
        long[20..22].copy_from_slice(&((good.len() - 21) as u16).to_be_bytes());
        push("block-beyond-the-datagram", long, vec![frame(20)]);
        let mut trailing = good.clone();
        trailing.extend_from_slice(b"xyz");
        let mut expect = results.clone();
        expect.push(frame(good.len()));
        push("trailing-bytes", trailing, expect);
        let mut beat = good[..20].to_vec();
        beat[18..20].copy_from_slice(&0u16.to_be_bytes());
        beat.push(0);
        push("heartbeat-with-trailing-byte", beat, vec![frame(20)]);
        cases
    }

    fn encode_error_file(&self) -> Value {
        let mut cases = Vec::new();
        for (mi, &(r, l)) in self.messages.iter().enumerate() {
            let base = self
                .built(mi, &format!("encode_errors/{}", r.name), Fill::Typical)
                .json;
            for (name, json) in self.refusals(r, l, &base) {
                cases.push(
                    json!({ "name": format!("encode_errors/{}/{name}", r.name), "json": json }),
                );
            }
        }
        cases.push(
            json!({ "name": "encode_errors/no-such-message", "json": { "type": "NoSuchMessage" } }),
        );
        json!({ "cases": cases })
    }

    /// `base` spoilt one way at a time: each a message an encoder must refuse.
    fn refusals(&self, r: &Record, l: &RecordLayout, base: &Value) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let mut with = |name: String, key: &str, v: Option<Value>| {
            let mut j = base.clone();
            match v {
                Some(v) => j[key] = v,
                None => {
                    j.as_object_mut().map(|o| o.remove(key));
                }
            }
            out.push((name, j));
        };
        with("unknown-key".into(), "no_such_field", Some(json!(1)));
        for (f, fl) in r.fields.iter().zip(&l.fields) {
            let n = &f.name;
            if f.is_reserved() {
                with(format!("{n}-reserved-given"), n, Some(json!(0)));
                continue;
            }
            with(format!("{n}-missing"), n, None);
            match (&f.ty, &fl.shape) {
                (Ty::Enum(_), _) => {
                    with(
                        format!("{n}-unknown-variant"),
                        n,
                        Some(json!("NoSuchVariant")),
                    );
                    with(format!("{n}-as-number"), n, Some(json!(66)));
                }
                (_, Shape::Scalar(Prim::Char)) if fl.offset == 0 => {
                    let code = r.message.map_or(0, |m| m.type_code);
                    let other = if code == b'Z' { "Y" } else { "Z" };
                    with(format!("{n}-not-the-type-code"), n, Some(json!(other)));
                }
                (_, Shape::Scalar(Prim::Char)) => {
                    with(format!("{n}-empty"), n, Some(json!("")));
                    with(format!("{n}-two-characters"), n, Some(json!("AB")));
                    with(format!("{n}-control"), n, Some(json!("\u{1}")));
                    with(format!("{n}-not-ascii"), n, Some(json!("é")));
                }
                (Ty::Text(size), _) => {
                    with(
                        format!("{n}-too-long"),
                        n,
                        Some(json!("A".repeat(size + 1))),
                    );
                    with(format!("{n}-control"), n, Some(json!("A\u{1}")));
                    with(format!("{n}-del"), n, Some(json!("A\u{7f}")));
                    with(format!("{n}-not-ascii"), n, Some(json!("é")));
                    with(format!("{n}-number"), n, Some(json!(5)));
                }
                (ty, Shape::Scalar(p)) if fl.offset > 0 => {
                    for (name, v) in int_refusals(*p, scale_of(self.s, ty)) {
                        with(format!("{n}-{name}"), n, Some(v));
                    }
                }
                _ => {}
            }
        }
        out
    }

    fn layout_file(&self) -> Value {
        let messages: Vec<Value> = self
            .messages
            .iter()
            .map(|(r, l)| {
                let fields: Vec<Value> = l
                    .leaves
                    .iter()
                    .map(|f| json!({ "offset": f.offset, "size": f.size, "path": f.path }))
                    .collect();
                json!({ "type_code": r.message.map(|m| m.type_code), "name": r.name, "size": l.size, "fields": fields })
            })
            .collect();
        json!({
            "about": "Each message's fields by byte range and the type code's offset, from the \
                      schema's layout pass. The protocol has no checksum.",
            "type_code_offset": 0,
            "checksum": null,
            "messages": messages,
        })
    }
}

/// A value of `e`'s width that names no variant: `?` first for a character enumeration.
fn outside(e: &Enum) -> Option<i64> {
    let taken = |v: i64| e.variants.iter().any(|x| x.value == v);
    let first = if e.repr == Prim::Char {
        i64::from(b'?')
    } else {
        0
    };
    std::iter::once(first)
        .chain(0..=e.repr.max().min(0xFFFF) as i64)
        .find(|v| !taken(*v))
}

/// The values an integer field of `p` (scaled by `scale`, if any) must refuse.
fn int_refusals(p: Prim, scale: Option<u8>) -> Vec<(&'static str, Value)> {
    let above = p.max() + 1;
    let below = p.min() - 1;
    match scale {
        Some(k) => {
            let mut v = vec![
                ("above-max", json!(decimal(above, k))),
                ("below-min", json!(decimal(below, k))),
                ("as-number", json!(1)),
            ];
            if k > 0 {
                v.push((
                    "too-few-places",
                    json!(format!("1.{}", "0".repeat(usize::from(k) - 1))),
                ));
                v.push((
                    "too-many-places",
                    json!(format!("1.{}", "0".repeat(usize::from(k) + 1))),
                ));
                v.push(("no-places", json!("1")));
            }
            v
        }
        None if p.size() == 8 => vec![
            ("above-max", json!(above.to_string())),
            ("below-min", json!(below.to_string())),
            ("as-number", json!(5)),
            ("leading-zero", json!("007")),
            ("plus-sign", json!("+5")),
            ("exponent", json!("1e3")),
        ],
        None => vec![
            ("above-max", json!(above as i64)),
            ("below-min", json!(below as i64)),
            ("as-string", json!("5")),
            ("fraction", json!(1.5)),
        ],
    }
}
