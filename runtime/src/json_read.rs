//! Reading the canonical JSON of messages of protocols not of RLTOP's shape: what the
//! generated `from_json` calls, field by field.
//!
//! Policy: the form is conformance/README.md's and nothing looser. Every field is present and
//! no other key; a 64-bit integer is a canonical decimal string and a narrower one a JSON
//! integer; a scaled integer is a decimal string of exactly its scale's places; an
//! enumeration is its variant's name; a character is a one-character string; text is
//! printable ASCII no longer than its field. Every refusal names the field as
//! `Message.field`.

use core::fmt;

use serde_json::{Map, Value};

/// Why a JSON value is not a message: the field at fault (`AddOrder.price`, or the message's
/// name for the object itself) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// `Message.field`, or `Message`.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for JsonError {}

/// A 64-bit value's decimal string in the canonical form: `0`, or an optional `-` and
/// digits not starting with 0 (so no `+`, leading zeros, `-0`, spaces or exponent).
pub(crate) fn canonical_decimal(s: &str) -> Option<i128> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let canonical = match digits.as_bytes() {
        [b'0'] => digits.len() == s.len(),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    // At most 20 digits: parsing cannot overflow an i128.
    if !canonical || digits.len() > 20 {
        return None;
    }
    s.parse().ok()
}

/// The smallest and largest value of a `bits`-wide integer.
pub(crate) fn range(bits: u32, signed: bool) -> (i128, i128) {
    if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

/// One message's JSON object, checked for its keys, read field by field.
pub struct Object<'v> {
    message: &'static str,
    map: &'v Map<String, Value>,
}

impl<'v> Object<'v> {
    /// `v` as the object of message `message`, whose fields (reserved ones aside) are
    /// `fields`: `"type"` names the message, and every other key is one of `fields`.
    pub fn new(v: &'v Value, message: &'static str, fields: &[&str]) -> Result<Self, JsonError> {
        let fail = |reason: String| JsonError {
            field: message.to_string(),
            reason,
        };
        let map = v
            .as_object()
            .ok_or_else(|| fail(format!("a message is a JSON object, got {v}")))?;
        match map.get("type") {
            Some(Value::String(t)) if t == message => {}
            other => {
                return Err(fail(format!(
                    "\"type\" must be {message:?}, got {}",
                    other.map_or("nothing".to_string(), Value::to_string)
                )))
            }
        }
        if let Some(k) = map
            .keys()
            .find(|k| *k != "type" && !fields.contains(&k.as_str()))
        {
            return Err(fail(format!("no field named {k:?}")));
        }
        Ok(Self { message, map })
    }

    fn fail(&self, field: &str, reason: String) -> JsonError {
        JsonError {
            field: format!("{}.{field}", self.message),
            reason,
        }
    }

    fn get(&self, field: &str) -> Result<&'v Value, JsonError> {
        self.map
            .get(field)
            .ok_or_else(|| self.fail(field, "missing".into()))
    }

    fn in_range(&self, field: &str, n: i128, bits: u32, signed: bool) -> Result<i128, JsonError> {
        let (min, max) = range(bits, signed);
        if n < min || n > max {
            return Err(self.fail(field, format!("{n} is outside {min}..={max}")));
        }
        Ok(n)
    }

    /// An integer of `bits` (8 to 64): a decimal string when 64-bit, else a JSON integer.
    pub fn int(&self, field: &str, bits: u32, signed: bool) -> Result<i128, JsonError> {
        let v = self.get(field)?;
        let n = if bits == 64 {
            let s = v.as_str().ok_or_else(|| {
                self.fail(
                    field,
                    format!("a 64-bit integer is a decimal string, got {v}"),
                )
            })?;
            canonical_decimal(s).ok_or_else(|| {
                self.fail(
                    field,
                    format!("not a canonical decimal integer (0, or an optional - and digits without a leading zero): {s:?}"),
                )
            })?
        } else {
            v.as_i64()
                .map(i128::from)
                .or_else(|| v.as_u64().map(i128::from))
                .filter(|_| !v.is_string())
                .ok_or_else(|| self.fail(field, format!("expected a JSON integer, got {v}")))?
        };
        self.in_range(field, n, bits, signed)
    }

    /// A scaled integer of `bits`: a decimal string with exactly `scale` places
    /// (`"150.0000"` for 1 500 000 at scale 4), its integer within the width.
    pub fn decimal(
        &self,
        field: &str,
        bits: u32,
        signed: bool,
        scale: u32,
    ) -> Result<i128, JsonError> {
        let v = self.get(field)?;
        let bad = || {
            self.fail(
                field,
                format!("expected a decimal string with exactly {scale} places, got {v}"),
            )
        };
        let s = v.as_str().ok_or_else(bad)?;
        let (whole, places) = match s.split_once('.') {
            Some((w, p)) if scale > 0 => (w, p),
            None if scale == 0 => (s, ""),
            _ => return Err(bad()),
        };
        if places.len() != scale as usize || !places.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let (negative, digits) = match whole.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, whole),
        };
        let w = canonical_decimal(digits)
            .filter(|_| !digits.starts_with('-'))
            .ok_or_else(bad)?;
        let p: i128 = if places.is_empty() {
            0
        } else {
            places.parse().map_err(|_| bad())?
        };
        // "-0.0000" is not canonical: zero has no sign.
        if negative && w == 0 && p == 0 {
            return Err(bad());
        }
        let magnitude = w * 10i128.pow(scale) + p;
        let n = if negative { -magnitude } else { magnitude };
        self.in_range(field, n, bits, signed)
    }

    /// A character field: a string of one printable ASCII character.
    pub fn char(&self, field: &str) -> Result<u8, JsonError> {
        let v = self.get(field)?;
        match v.as_str().map(str::as_bytes) {
            Some(&[c]) if (0x20..0x7F).contains(&c) => Ok(c),
            _ => Err(self.fail(
                field,
                format!("expected one printable ASCII character, got {v}"),
            )),
        }
    }

    /// The type code's own field: present, and the message's code (a one-character string
    /// when `is_char`, else a number).
    pub fn type_code(&self, field: &str, code: u8, is_char: bool) -> Result<(), JsonError> {
        let v = self.get(field)?;
        let expected = if is_char {
            Value::String(char::from(code).to_string())
        } else {
            Value::from(code)
        };
        if *v != expected {
            return Err(self.fail(field, format!("must be the type code {expected}, got {v}")));
        }
        Ok(())
    }

    /// A text field of `size` bytes: a string (the setter checks its characters and length).
    pub fn text(&self, field: &str) -> Result<&'v str, JsonError> {
        let v = self.get(field)?;
        v.as_str()
            .ok_or_else(|| self.fail(field, format!("expected a string, got {v}")))
    }

    /// An enumeration's variant name (the caller matches it).
    pub fn name(&self, field: &str) -> Result<&'v str, JsonError> {
        let v = self.get(field)?;
        v.as_str()
            .ok_or_else(|| self.fail(field, format!("expected a variant's name, got {v}")))
    }

    /// The refusal of `found`, which names no variant of `enumeration`.
    pub fn not_a_variant(&self, field: &str, found: &str, enumeration: &str) -> JsonError {
        self.fail(
            field,
            format!("{found:?} is not a variant of {enumeration}"),
        )
    }

    /// A setter's refusal (text too long or not printable, an odd width's range) as this
    /// field's error.
    pub fn set<E: fmt::Display>(&self, field: &str, r: Result<(), E>) -> Result<(), JsonError> {
        r.map_err(|e| self.fail(field, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: &Value) -> Object<'_> {
        Object::new(v, "M", &["a", "b"]).unwrap()
    }

    #[test]
    fn keys_type_and_missing_fields_are_named() {
        let e = |v: Value| Object::new(&v, "M", &["a"]).err().unwrap().to_string();
        assert_eq!(e(json!([])), "M: a message is a JSON object, got []");
        assert_eq!(e(json!({"a": 1})), "M: \"type\" must be \"M\", got nothing");
        assert_eq!(
            e(json!({"type": "N"})),
            "M: \"type\" must be \"M\", got \"N\""
        );
        assert_eq!(e(json!({"type": "M", "z": 1})), "M: no field named \"z\"");
        let v = json!({"type": "M"});
        assert_eq!(
            obj(&v).int("a", 8, false).unwrap_err().to_string(),
            "M.a: missing"
        );
    }

    #[test]
    fn integers_by_width_and_form() {
        let v = json!({"type": "M", "a": "18446744073709551615", "b": 16777215});
        let o = obj(&v);
        assert_eq!(o.int("a", 64, false), Ok(u64::MAX.into()));
        assert_eq!(o.int("b", 24, false), Ok(0xFF_FFFF));
        assert!(o.int("b", 24, true).is_err(), "above an i24");
        assert!(o.int("a", 64, true).is_err(), "above an i64");
        for bad in [
            json!("007"),
            json!("+5"),
            json!("-0"),
            json!("1e3"),
            json!(5),
        ] {
            let v = json!({"type": "M", "a": bad});
            assert!(obj(&v).int("a", 64, false).is_err(), "{bad}");
        }
        for bad in [json!("5"), json!(1.5), json!(true), json!(-1)] {
            let v = json!({"type": "M", "b": bad});
            assert!(obj(&v).int("b", 16, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimals_have_exactly_their_places() {
        let read = |s: Value| {
            let v = json!({"type": "M", "a": s});
            obj(&v).decimal("a", 32, true, 4)
        };
        assert_eq!(read(json!("150.0000")), Ok(1_500_000));
        assert_eq!(read(json!("-0.0001")), Ok(-1));
        assert_eq!(read(json!("0.0000")), Ok(0));
        for bad in [
            "1.5", "1.00000", "1", "-0.0000", "01.0000", "1.0a00", "+1.0000", " 1.0000",
        ] {
            assert!(read(json!(bad)).is_err(), "{bad}");
        }
        assert!(read(json!(1)).is_err());
        assert!(read(json!("214748.3648")).is_err(), "above an i32");
    }

    #[test]
    fn characters_type_codes_and_variants() {
        let v = json!({"type": "M", "a": "A", "b": "AB"});
        let o = obj(&v);
        assert_eq!(o.char("a"), Ok(b'A'));
        assert!(o.char("b").is_err());
        assert_eq!(o.type_code("a", b'A', true), Ok(()));
        assert_eq!(
            o.type_code("a", b'B', true).unwrap_err().to_string(),
            "M.a: must be the type code \"B\", got \"A\""
        );
        assert_eq!(
            o.not_a_variant("a", "Nope", "Side").to_string(),
            "M.a: \"Nope\" is not a variant of Side"
        );
        for bad in ["", "\u{1}", "\u{7f}", "é"] {
            let v = json!({"type": "M", "a": bad});
            assert!(obj(&v).char("a").is_err(), "{bad:?}");
        }
    }
}
