//! The canonical JSON form of a message (conformance/README.md), read and written by walking
//! a generated field table: any protocol's, given its [`Protocol`] and `MESSAGE_TYPES`.

use std::collections::HashMap;

use crate::json_read::{canonical_decimal, range};
use crate::{Field, FieldKind, MessageType, Protocol};
use serde_json::{Map, Value};

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of a hex string; the error names the first bad character.
pub fn from_hex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err(format!("hex string of odd length {}", s.len()));
    }
    (0..s.len() / 2)
        .map(|i| {
            u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("not hex at character {}", 2 * i))
        })
        .collect()
}

/// One step of a field path such as `bids[3].price`.
#[derive(Debug, Clone, PartialEq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn steps(path: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        out.push(Step::Key(name));
        while let Some((idx, after)) = rest.split_once(']') {
            out.push(Step::Index(idx.parse().unwrap_or(0)));
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    out
}

/// The top-level field and, when it is an array, the element a path lies in.
fn top_and_index<'a>(steps: &[Step<'a>]) -> (&'a str, Option<usize>) {
    let top = match steps.first() {
        Some(Step::Key(k)) => k,
        _ => "",
    };
    let index = match steps.get(1) {
        Some(Step::Index(i)) => Some(*i),
        _ => None,
    };
    (top, index)
}

fn slot<'v>(mut at: &'v mut Value, steps: &[Step<'_>]) -> &'v mut Value {
    for s in steps {
        at = match s {
            Step::Key(k) => {
                if !at.is_object() {
                    *at = Value::Object(Map::new());
                }
                at.as_object_mut()
                    .map(|o| o.entry(k.to_string()).or_insert(Value::Null))
                    .expect("made an object above")
            }
            Step::Index(i) => {
                if !at.is_array() {
                    *at = Value::Array(Vec::new());
                }
                let a = at.as_array_mut().expect("made an array above");
                if a.len() <= *i {
                    a.resize(i + 1, Value::Null);
                }
                &mut a[*i]
            }
        };
    }
    at
}

fn get<'v>(mut at: &'v Value, steps: &[Step<'_>]) -> Option<&'v Value> {
    for s in steps {
        at = match s {
            Step::Key(k) => at.get(*k)?,
            Step::Index(i) => at.get(*i)?,
        };
    }
    Some(at)
}

/// Header fields the encoder derives, left out of the canonical form.
fn derived(p: &Protocol, f: &Field) -> bool {
    f.offset < p.header_size
        && [
            p.magic_offset,
            p.length_offset,
            p.type_offset,
            p.version_offset,
            p.checksum_offset,
        ]
        .contains(&f.offset)
}

fn read_uint(bytes: &[u8], f: &Field) -> u64 {
    let mut v = [0u8; 8];
    v[..f.size].copy_from_slice(&bytes[f.offset..f.offset + f.size]);
    u64::from_le_bytes(v)
}

fn read_int(bytes: &[u8], f: &Field, signed: bool) -> i128 {
    let raw = read_uint(bytes, f);
    if signed {
        let shift = 64 - 8 * f.size as u32;
        i128::from(((raw << shift) as i64) >> shift)
    } else {
        i128::from(raw)
    }
}

fn int_json(v: i128, size: usize) -> Value {
    if size == 8 {
        Value::String(v.to_string())
    } else {
        Value::from(v as i64)
    }
}

/// Counted arrays' valid lengths, by array name.
fn counts(mt: &MessageType, bytes: &[u8]) -> HashMap<&'static str, u64> {
    mt.fields
        .iter()
        .filter_map(|f| match f.kind {
            FieldKind::Count { array, .. } => Some((array, read_uint(bytes, f))),
            _ => None,
        })
        .collect()
}

/// The canonical JSON of one field the form carries; `None` for reserved and count fields.
fn leaf_json(f: &Field, bytes: &[u8]) -> Option<Value> {
    Some(match f.kind {
        FieldKind::Reserved | FieldKind::Count { .. } => return None,
        FieldKind::Int { signed } => int_json(read_int(bytes, f, signed), f.size),
        FieldKind::Flags { .. } => int_json(read_int(bytes, f, false), f.size),
        FieldKind::Enum {
            values,
            names,
            signed,
            ..
        } => {
            let v = read_int(bytes, f, signed);
            match values.iter().position(|x| i128::from(*x) == v) {
                Some(k) => Value::String(names[k].to_string()),
                None => int_json(v, f.size),
            }
        }
        FieldKind::Text => {
            Value::String(crate::ascii_str(&bytes[f.offset..f.offset + f.size]).to_string())
        }
    })
}

/// The canonical JSON of a decoded (already validated) message of protocol `p`: `"type"`,
/// then the fields in the field table's order, which is the schema's declaration order.
pub fn to_json(p: &Protocol, mt: &MessageType, bytes: &[u8]) -> Value {
    let version = bytes[p.version_offset];
    let counts = counts(mt, bytes);
    let mut root = Value::Object(Map::new());
    *slot(&mut root, &[Step::Key("type")]) = Value::String(mt.name.to_string());
    for f in mt.fields {
        if derived(p, f) || f.since > version {
            continue;
        }
        let st = steps(f.name);
        let (top, index) = top_and_index(&st);
        if let Some(&count) = counts.get(top) {
            // A counted array is present even when empty, where its first entry is declared.
            let array = slot(&mut root, &[Step::Key(top)]);
            if array.is_null() {
                *array = Value::Array(Vec::new());
            }
            if index.is_some_and(|i| i as u64 >= count) {
                continue;
            }
        }
        if let Some(v) = leaf_json(f, bytes) {
            *slot(&mut root, &st) = v;
        }
    }
    root
}

fn write(buf: &mut [u8], f: &Field, v: i128) {
    buf[f.offset..f.offset + f.size].copy_from_slice(&(v as u128).to_le_bytes()[..f.size]);
}

fn int_from_json(v: &Value, f: &Field, signed: bool) -> Result<i128, String> {
    let n: i128 = if f.size == 8 {
        let s = v.as_str().ok_or_else(|| {
            format!(
                "{}: a 64-bit integer must be a decimal string, got {v}",
                f.name
            )
        })?;
        canonical_decimal(s).ok_or_else(|| {
            format!(
                "{}: not a canonical decimal integer (0, or an optional - and digits without a leading zero): {s:?}",
                f.name
            )
        })?
    } else {
        v.as_i64()
            .map(i128::from)
            .ok_or_else(|| format!("{}: expected an integer number, got {v}", f.name))?
    };
    let (min, max) = range(8 * f.size as u32, signed);
    if n < min || n > max {
        return Err(format!("{}: {n} is outside {min}..={max}", f.name));
    }
    Ok(n)
}

/// The first key of `json` (nested objects and array entries included) that names no field
/// the canonical form carries, as its path (`bids[0].prise`).
fn unknown_key(p: &Protocol, mt: &MessageType, json: &Value) -> Option<String> {
    // Every carried field's path with the indexes left out, and each of its prefixes:
    // `bids.price` and `bids` for `bids[3].price`.
    let mut known: Vec<String> = Vec::new();
    for f in mt.fields {
        if derived(p, f) || matches!(f.kind, FieldKind::Reserved | FieldKind::Count { .. }) {
            continue;
        }
        let mut path = String::new();
        for step in steps(f.name) {
            if let Step::Key(k) = step {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                known.push(path.clone());
            }
        }
    }
    fn walk(v: &Value, at: &str, shown: &str, known: &[String]) -> Option<String> {
        match v {
            Value::Object(m) => m.iter().find_map(|(k, v)| {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                let here = if shown.is_empty() {
                    k.clone()
                } else {
                    format!("{shown}.{k}")
                };
                if !known.contains(&path) {
                    return Some(here);
                }
                walk(v, &path, &here, known)
            }),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, at, &format!("{shown}[{i}]"), known)),
            _ => None,
        }
    }
    let mut top = json.clone();
    top.as_object_mut()?.remove("type");
    walk(&top, "", "", &known)
}

/// Encodes a message from its canonical JSON: fields, then the derived header fields, then
/// the checksum. A key that names no field is refused, not ignored.
pub fn encode(p: &Protocol, types: &[MessageType], json: &Value) -> Result<Vec<u8>, String> {
    let name = json["type"].as_str().ok_or("message without a \"type\"")?;
    let mt = types
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| format!("unknown message type {name:?}"))?;
    if let Some(key) = unknown_key(p, mt, json) {
        return Err(format!("{key}: no such field"));
    }
    let mut buf = vec![0u8; mt.size];
    for f in mt.fields {
        let st = steps(f.name);
        let (top, index) = top_and_index(&st);
        if derived(p, f) || f.since > p.version || matches!(f.kind, FieldKind::Reserved) {
            continue;
        }
        if let FieldKind::Count { array, max } = f.kind {
            let n = json
                .get(array)
                .and_then(Value::as_array)
                .ok_or_else(|| format!("{array}: missing, or not an array"))?
                .len();
            if n as u64 > max {
                return Err(format!("{array}: {n} entries, at most {max}"));
            }
            write(&mut buf, f, n as i128);
            continue;
        }
        let counted = mt
            .fields
            .iter()
            .any(|c| matches!(c.kind, FieldKind::Count { array, .. } if array == top));
        let present = get(json, &st);
        let v = match (present, counted, index) {
            (Some(v), _, _) => v,
            // Entries past a counted array's length stay zero.
            (None, true, Some(_)) => continue,
            (None, _, _) => return Err(format!("{}: missing", f.name)),
        };
        let n = match f.kind {
            FieldKind::Int { signed } => int_from_json(v, f, signed)?,
            FieldKind::Flags { .. } => int_from_json(v, f, false)?,
            FieldKind::Enum { names, values, .. } => {
                let s = v
                    .as_str()
                    .ok_or_else(|| format!("{}: expected a variant name, got {v}", f.name))?;
                let k = names
                    .iter()
                    .position(|n| *n == s)
                    .ok_or_else(|| format!("{}: no variant named {s:?}", f.name))?;
                i128::from(values[k])
            }
            FieldKind::Text => {
                let s = v
                    .as_str()
                    .ok_or_else(|| format!("{}: expected a string, got {v}", f.name))?;
                crate::set_ascii(&mut buf[f.offset..f.offset + f.size], s)
                    .map_err(|e| format!("{}: {e}", f.name))?;
                continue;
            }
            FieldKind::Reserved | FieldKind::Count { .. } => continue,
        };
        write(&mut buf, f, n);
    }
    buf[p.magic_offset..p.magic_offset + 4].copy_from_slice(&p.magic.to_le_bytes());
    buf[p.length_offset..p.length_offset + 2].copy_from_slice(&(mt.size as u16).to_le_bytes());
    buf[p.type_offset] = mt.type_code;
    buf[p.version_offset] = p.version;
    crate::seal(&mut buf, p);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_steps() {
        assert_eq!(
            steps("bids[3].price"),
            vec![Step::Key("bids"), Step::Index(3), Step::Key("price")]
        );
        assert_eq!(
            steps("m[1][2]"),
            vec![Step::Key("m"), Step::Index(1), Step::Index(2)]
        );
        assert_eq!(
            steps("header.seq_num"),
            vec![Step::Key("header"), Step::Key("seq_num")]
        );
    }

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(from_hex("00ff7a").unwrap(), vec![0, 255, 0x7a]);
        assert_eq!(to_hex(&[0, 255, 0x7a]), "00ff7a");
        assert!(from_hex("0").is_err());
        assert!(from_hex("zz").is_err());
    }
}
