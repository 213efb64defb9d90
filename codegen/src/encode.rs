//! Canonical JSON → wire bytes, at the layout pass's offsets, for hand-written vectors (the
//! stream scenarios). Like [`crate::vectors`], it goes through no emitter and seals with the
//! independent `crc32c` crate, so the bindings' decoders are checked against it, not against
//! themselves.
//!
//! It reads the canonical form (`conformance/README.md`) with two allowances for people
//! writing vectors by hand: a field left out is zero, and a 64-bit integer may be a JSON
//! number as well as a decimal string. The header's derived fields (magic, length, type,
//! version, checksum) are filled in.

use serde_json::{Map, Value};

use crate::layout::RecordLayout;
use crate::model::{Prim, Record, Ty};
use crate::vectors::{put_int, seal};
use crate::Model;

/// Encodes one message given in canonical JSON. Errors name the field (`AddOrder.side`).
pub fn message(model: &Model, json: &Value) -> Result<Vec<u8>, String> {
    let obj = json.as_object().ok_or("a message must be a JSON object")?;
    let name = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or("a message needs \"type\": the message's name")?;
    let schema = &model.schema;
    let mi = schema
        .messages
        .iter()
        .position(|m| m.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = schema.messages.iter().map(|m| m.name.as_str()).collect();
            format!("no message named {name} (there are {})", names.join(", "))
        })?;
    let rec = &schema.messages[mi];
    let lay = &model.layout.messages[mi];
    let mut bytes = vec![0u8; lay.size];
    let mut rest = obj.clone();
    rest.remove("type");
    Writer { model }.record(rec, lay, 0, &rest, &mut bytes, name, false)?;
    let p = &schema.protocol;
    let h = model.layout.header(schema);
    bytes[h.magic..h.magic + 4].copy_from_slice(&p.magic.to_le_bytes());
    bytes[h.length..h.length + 2].copy_from_slice(&(lay.size as u16).to_le_bytes());
    bytes[h.msg_type] = rec.message.map_or(0, |m| m.type_code);
    bytes[h.version] = p.version;
    seal(&mut bytes, &h);
    Ok(bytes)
}

struct Writer<'m> {
    model: &'m Model,
}

fn int_of(v: &Value, p: Prim, path: &str) -> Result<i128, String> {
    let n: Option<i128> = match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    let n = n.ok_or_else(|| format!("{path}: expected an integer, got {v}"))?;
    if n < p.min() || n > p.max() {
        return Err(format!("{path}: {n} does not fit {}", p.name()));
    }
    Ok(n)
}

impl Writer<'_> {
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        rec: &Record,
        lay: &RecordLayout,
        base: usize,
        obj: &Map<String, Value>,
        buf: &mut [u8],
        path: &str,
        is_header: bool,
    ) -> Result<(), String> {
        let schema = &self.model.schema;
        let r = schema.protocol.roles;
        let derived = [r.magic, r.length, r.msg_type, r.version, r.checksum];
        for key in obj.keys() {
            let known = rec.fields.iter().enumerate().any(|(i, f)| {
                &f.name == key
                    && !f.is_reserved()
                    && f.count_of.is_none()
                    && !(is_header && derived.contains(&i))
            });
            if !known {
                return Err(format!(
                    "{path}.{key}: no such field (or one the encoder derives)"
                ));
            }
        }
        for (i, f) in rec.fields.iter().enumerate() {
            let at = base + lay.fields[i].offset;
            let size = lay.fields[i].size;
            let fpath = format!("{path}.{}", f.name);
            if let Some(array) = f.count_of {
                // The count is the length of the array it counts.
                let n = obj
                    .get(&rec.fields[array].name)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                let p = schema.scalar_prim(&f.ty).unwrap_or(Prim::U8);
                put_int(buf, at, p.size(), n as i128);
                continue;
            }
            let Some(v) = obj.get(&f.name) else { continue };
            let counted = rec.fields.iter().any(|c| c.count_of == Some(i));
            match &f.ty {
                Ty::Array(e, max) => {
                    let items = v
                        .as_array()
                        .ok_or_else(|| format!("{fpath}: expected an array"))?;
                    let full = !counted && items.len() != *max;
                    if items.len() > *max || full {
                        return Err(format!(
                            "{fpath}: {} entries, the array holds {max}{}",
                            items.len(),
                            if full {
                                " (all of them are needed)"
                            } else {
                                ""
                            }
                        ));
                    }
                    let step = size / max;
                    for (k, item) in items.iter().enumerate() {
                        self.value(e, step, at + k * step, item, buf, &format!("{fpath}[{k}]"))?;
                    }
                }
                ty => self.value(ty, size, at, v, buf, &fpath)?,
            }
        }
        Ok(())
    }

    fn value(
        &self,
        ty: &Ty,
        size: usize,
        at: usize,
        v: &Value,
        buf: &mut [u8],
        path: &str,
    ) -> Result<(), String> {
        let schema = &self.model.schema;
        match ty {
            Ty::Struct(s) => {
                let obj = v
                    .as_object()
                    .ok_or_else(|| format!("{path}: expected an object"))?;
                let lay = &self.model.layout.structs[*s];
                let is_header = *s == schema.protocol.header;
                self.record(&schema.structs[*s], lay, at, obj, buf, path, is_header)
            }
            Ty::Array(e, n) => {
                let items = v
                    .as_array()
                    .filter(|a| a.len() == *n)
                    .ok_or_else(|| format!("{path}: expected an array of {n}"))?;
                let step = size / n;
                for (k, item) in items.iter().enumerate() {
                    self.value(e, step, at + k * step, item, buf, &format!("{path}[{k}]"))?;
                }
                Ok(())
            }
            Ty::Text(n) => {
                let t = v
                    .as_str()
                    .ok_or_else(|| format!("{path}: expected a string"))?;
                if t.len() > *n {
                    return Err(format!("{path}: {} bytes, the field holds {n}", t.len()));
                }
                buf[at..at + t.len()].copy_from_slice(t.as_bytes());
                Ok(())
            }
            Ty::Enum(e) => {
                let en = &schema.enums[*e];
                let name = v
                    .as_str()
                    .ok_or_else(|| format!("{path}: expected a variant name of {}", en.name))?;
                let var = en.variants.iter().find(|x| x.name == name).ok_or_else(|| {
                    let names: Vec<&str> = en.variants.iter().map(|x| x.name.as_str()).collect();
                    format!("{path}: {name} is not one of {}", names.join(", "))
                })?;
                put_int(buf, at, en.repr.size(), var.value.into());
                Ok(())
            }
            Ty::Flags(f) => {
                let p = schema.flags[*f].repr;
                put_int(buf, at, p.size(), int_of(v, p, path)?);
                Ok(())
            }
            Ty::Prim(_) | Ty::Alias(_) => {
                let p = schema.scalar_prim(ty).unwrap_or(Prim::U8);
                put_int(buf, at, p.size(), int_of(v, p, path)?);
                Ok(())
            }
            Ty::Reserved(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model() -> Model {
        let text = include_str!("../../schema/rltop.rlt");
        crate::check("rltop.rlt", text)
            .into_model()
            .expect("the schema checks")
    }

    /// The encoder reproduces a generated vector from its canonical JSON: two independent
    /// writers of the same layout agree.
    #[test]
    fn reproduces_the_generated_vectors() {
        let m = model();
        for (name, text) in crate::vectors::build(&m) {
            if !name.starts_with("messages/") {
                continue;
            }
            let file: Value = serde_json::from_str(&text).unwrap();
            for case in file["cases"].as_array().unwrap() {
                let bytes = message(&m, &case["json"]).unwrap();
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(hex, case["hex"].as_str().unwrap(), "{}", case["name"]);
            }
        }
    }

    #[test]
    fn errors_name_the_field() {
        let m = model();
        let bad = |j: Value| message(&m, &j).unwrap_err();
        assert_eq!(
            bad(json!({"type": "AddOrder", "side": "Up"})),
            "AddOrder.side: Up is not one of Buy, Sell"
        );
        assert_eq!(
            bad(json!({"type": "AddOrder", "level_order_count": -1})),
            "AddOrder.level_order_count: -1 does not fit u32"
        );
        assert_eq!(
            bad(json!({"type": "AddOrder", "sid": 1})),
            "AddOrder.sid: no such field (or one the encoder derives)"
        );
        assert_eq!(
            bad(json!({"type": "AddOrder", "header": {"checksum": 1}})),
            "AddOrder.header.checksum: no such field (or one the encoder derives)"
        );
        assert!(bad(json!({"type": "Nope"})).starts_with("no message named Nope (there are "));
    }
}
