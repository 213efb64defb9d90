//! Cross-version vectors: what one version of a schema writes, and what a decoder of
//! another version must make of it (SPEC.md §5), e.g. RLTOP version 2's messages read by a
//! version-1 decoder and the reverse.
//!
//! The bytes are the writer's, built as its own vectors are. The expected results are the
//! reader's view of those bytes, derived from the reader's layout, again through no
//! emitter: a type the reader does not know is `UnknownType` (skipped by its length); an
//! enumeration value it does not list is `BadEnum` at that field; a field is present only
//! when the message's version reaches its `since` (else it is left out of the JSON, whatever
//! its bytes hold); everything else is the writer's value under the reader's name.
//!
//! Only versions that [`crate::compat`] finds free of wire and source changes can be paired:
//! then a field both have means the same bytes and the same JSON key, and each value can be
//! taken from the writer's JSON. A pair where the reader has a field the writer did not
//! write (a field removed and reserved again) is refused, for the same reason.

use serde_json::{json, Map, Value};

use super::{err, field_err, hex, pretty, seal, Built, Fill, Vectors};
use crate::compat::{self, Class};
use crate::layout::LeafKind;
use crate::model::{MessageId, Prim};
use crate::Model;

/// The vector files (paths relative to the output directory) of messages `writer` writes
/// as `reader` decodes them: `datagrams.json` holds every case, the other files are empty.
/// `name` labels the cases (`v2-read-by-v1`).
pub fn build(writer: &Model, reader: &Model, name: &str) -> Result<Vec<(String, String)>, String> {
    let (old, new) = if writer.schema.protocol.version < reader.schema.protocol.version {
        (writer, reader)
    } else {
        (reader, writer)
    };
    let findings = compat::compare(&old.laid(), &new.laid());
    if let Some(f) = findings
        .iter()
        .find(|f| matches!(f.class(), Class::Wire | Class::Source))
    {
        return Err(format!(
            "cross-version vectors of `{}`: the versions differ by {} ({}), so a field of one is not the same field of the other",
            writer.schema.protocol.name,
            f.rule.name(),
            f.message
        ));
    }
    let w = Vectors::new(writer);
    let mut cases = Vec::new();
    for mi in writer.schema.messages.ids() {
        let msg = &writer.schema.messages[mi].name;
        for (case, fill) in w.fills(mi) {
            let id = format!("{name}/{msg}/{case}");
            let b = w.build(mi, fill, &id);
            cases.push(one(reader, &id, &b)?);
        }
        let id = format!("{name}/{msg}/reserved-bytes-set");
        let b = reserved_set(&w, mi, &id);
        cases.push(one(reader, &id, &b)?);
    }
    cases.extend(datagrams(&w, reader, name)?);
    let empty = pretty(&json!({ "cases": [] }));
    let about = format!(
        "{} version {} messages, as a version {} decoder must read them",
        writer.schema.protocol.name, writer.schema.protocol.version, reader.schema.protocol.version
    );
    Ok(vec![
        (
            "datagrams.json".into(),
            pretty(&json!({ "about": about, "cases": cases })),
        ),
        ("errors.json".into(), empty.clone()),
        ("encode_errors.json".into(), empty),
    ])
}

fn one(reader: &Model, id: &str, b: &Built) -> Result<Value, String> {
    let expect = read_as(reader, &b.bytes, &b.json, 0)?;
    Ok(json!({ "name": id, "hex": hex(&b.bytes), "expect": [expect] }))
}

/// A typical message with every reserved byte of the writer's layout set (0xA5), resealed:
/// writers zero them, but readers must ignore them whatever they hold, and a reader whose
/// version carved fields from them must still take those as absent in an older message.
fn reserved_set(w: &Vectors, mi: MessageId, id: &str) -> Built {
    let mut b = w.build(mi, Fill::Typical, id);
    let lay = &w.model.layout.messages[mi];
    for leaf in lay.leaves.iter().filter(|l| l.kind == LeafKind::Reserved) {
        // The header's reserved run is a header field like the others: left as it is.
        if leaf.offset >= w.h.size {
            b.bytes[leaf.offset..leaf.offset + leaf.size].fill(0xA5);
        }
    }
    seal(&mut b.bytes, &w.h);
    b
}

/// Several of the writer's messages back to back: each result as the reader sees it, the
/// unknown types and refused values between them.
fn datagrams(w: &Vectors, reader: &Model, name: &str) -> Result<Vec<Value>, String> {
    let n = w.schema.messages.len();
    let mut out = Vec::new();
    for d in 0..4 {
        let (mut bytes, mut expect) = (Vec::new(), Vec::new());
        for k in 0..n {
            let mi = MessageId::new((d * 5 + k * (d + 1)) % n);
            let fill = if k % 3 == 2 {
                Fill::Max
            } else {
                Fill::Variant(k)
            };
            let b = w.build(mi, fill, &format!("{name}/datagram-{d}/{k}"));
            if bytes.len() + b.bytes.len() > 1472 {
                break;
            }
            expect.push(read_as(reader, &b.bytes, &b.json, bytes.len())?);
            bytes.extend_from_slice(&b.bytes);
        }
        out.push(
            json!({ "name": format!("{name}/datagram-{d}"), "hex": hex(&bytes), "expect": expect }),
        );
    }
    Ok(out)
}

/// What `reader` reports for one whole message at `start` of a datagram, the writer's JSON
/// of it being `json` (SPEC.md §4's checks 5 to 8; the writer's framing is valid).
fn read_as(reader: &Model, bytes: &[u8], json: &Value, start: usize) -> Result<Value, String> {
    let h = reader.layout.header(&reader.framed);
    let version = bytes[h.at.version];
    if version < reader.schema.protocol.min_version {
        return Ok(err("UnsupportedVersion", start + h.at.version));
    }
    let code = bytes[h.at.msg_type];
    let Some((mi, rec)) = reader
        .schema
        .messages
        .enumerate()
        .find(|(_, m)| m.message.is_some_and(|i| i.type_code == code))
    else {
        return Ok(err("UnknownType", start + h.at.msg_type));
    };
    let lay = &reader.layout.messages[mi];
    if lay.size != bytes.len() {
        return Err(format!(
            "message {code:#04x} is {} bytes for the writer and {} for the reader",
            bytes.len(),
            lay.size
        ));
    }
    for leaf in &lay.leaves {
        if leaf.since > version {
            continue;
        }
        if let Some((count, index)) = lay.counted_by(rec, leaf) {
            if index as u128 >= uint(bytes, count.offset, count.size) {
                continue;
            }
        }
        if let LeafKind::Enum(e) = leaf.kind {
            let en = &reader.schema.enums[e];
            let v = int(bytes, leaf.offset, en.repr);
            if !en.variants.iter().any(|x| i128::from(x.value) == v) {
                let field = format!("{}.{}", rec.name, leaf.path);
                return Ok(field_err("BadEnum", start + leaf.offset, &field));
            }
        }
    }
    let mut out = Map::new();
    out.insert("type".into(), Value::String(rec.name.clone()));
    for f in &rec.fields {
        if f.is_reserved() || f.count_of.is_some() || f.since > version {
            continue;
        }
        let v = json.get(&f.name).ok_or_else(|| {
            format!(
                "{}.{}: the reader has it, the writer's message does not",
                rec.name, f.name
            )
        })?;
        out.insert(f.name.clone(), v.clone());
    }
    Ok(json!({ "message": out }))
}

fn uint(bytes: &[u8], at: usize, size: usize) -> u128 {
    bytes[at..at + size]
        .iter()
        .rev()
        .fold(0, |acc, b| (acc << 8) | u128::from(*b))
}

/// A little-endian integer of the enumeration's width and sign (RLTOP's shape is
/// little-endian throughout).
fn int(bytes: &[u8], at: usize, prim: Prim) -> i128 {
    let u = uint(bytes, at, prim.size());
    let bits = prim.size() * 8;
    if prim.signed() && u >> (bits - 1) & 1 == 1 {
        u as i128 - (1i128 << bits)
    } else {
        u as i128
    }
}
