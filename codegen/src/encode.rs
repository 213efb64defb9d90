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

use crate::layout::{RecordLayout, Shape};
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
    let h = model.layout.header(&model.framed);
    bytes[h.at.magic..h.at.magic + 4].copy_from_slice(&model.framed.magic.to_le_bytes());
    bytes[h.at.length..h.at.length + 2].copy_from_slice(&(lay.size as u16).to_le_bytes());
    bytes[h.at.msg_type] = rec.message.map_or(0, |m| m.type_code);
    bytes[h.at.version] = p.version;
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
        let derived = self.model.framed.roles.derived();
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
            let shape = &lay.fields[i].shape;
            let fpath = format!("{path}.{}", f.name);
            if let (Some(array), Shape::Scalar(prim)) = (f.count_of, shape) {
                // The count is the length of the array it counts.
                let n = obj
                    .get(&rec.fields[array].name)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                put_int(buf, at, prim.size(), n as i128);
                continue;
            }
            let Some(v) = obj.get(&f.name) else { continue };
            match (&f.ty, shape.array()) {
                (Ty::Array(element_ty, _), Some((element, max, stride))) => {
                    let items = v
                        .as_array()
                        .ok_or_else(|| format!("{fpath}: expected an array"))?;
                    let full = !rec.is_counted(i) && items.len() != max;
                    if items.len() > max || full {
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
                    for (k, item) in items.iter().enumerate() {
                        let item_path = format!("{fpath}[{k}]");
                        self.value(element_ty, element, at + k * stride, item, buf, &item_path)?;
                    }
                }
                _ => self.value(&f.ty, shape, at, v, buf, &fpath)?,
            }
        }
        Ok(())
    }

    fn value(
        &self,
        ty: &Ty,
        shape: &Shape,
        at: usize,
        v: &Value,
        buf: &mut [u8],
        path: &str,
    ) -> Result<(), String> {
        let schema = &self.model.schema;
        match (ty, shape) {
            (Ty::Struct(s), _) => {
                let obj = v
                    .as_object()
                    .ok_or_else(|| format!("{path}: expected an object"))?;
                let lay = &self.model.layout.structs[*s];
                let is_header = *s == self.model.framed.header;
                self.record(&schema.structs[*s], lay, at, obj, buf, path, is_header)
            }
            (
                Ty::Array(element_ty, _),
                Shape::Array {
                    element,
                    len,
                    stride,
                },
            ) => {
                let items = v
                    .as_array()
                    .filter(|a| a.len() == *len)
                    .ok_or_else(|| format!("{path}: expected an array of {len}"))?;
                for (k, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{k}]");
                    self.value(element_ty, element, at + k * stride, item, buf, &item_path)?;
                }
                Ok(())
            }
            (Ty::Text(n), _) => {
                let t = v
                    .as_str()
                    .ok_or_else(|| format!("{path}: expected a string"))?;
                if t.len() > *n {
                    return Err(format!("{path}: {} bytes, the field holds {n}", t.len()));
                }
                buf[at..at + t.len()].copy_from_slice(t.as_bytes());
                Ok(())
            }
            (Ty::Enum(e), Shape::Scalar(prim)) => {
                let en = &schema.enums[*e];
                let name = v
                    .as_str()
                    .ok_or_else(|| format!("{path}: expected a variant name of {}", en.name))?;
                let var = en.variants.iter().find(|x| x.name == name).ok_or_else(|| {
                    let names: Vec<&str> = en.variants.iter().map(|x| x.name.as_str()).collect();
                    format!("{path}: {name} is not one of {}", names.join(", "))
                })?;
                put_int(buf, at, prim.size(), var.value.into());
                Ok(())
            }
            (_, Shape::Scalar(prim)) => {
                put_int(buf, at, prim.size(), int_of(v, *prim, path)?);
                Ok(())
            }
            (Ty::Reserved(_), _) => Ok(()),
            (ty, shape) => unreachable!("the layout pass gave {ty:?} the shape {shape:?}"),
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
