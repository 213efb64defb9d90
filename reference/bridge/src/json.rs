//! The crate's one JSON writer for text.
//!
//! Every string the bridge writes into a frame or a body — symbols and assets that came off
//! the wire, stream names, messages that echo a request — goes through [`string`], or is a
//! [`Quoted`] made by it once and pasted many times. The streams assemble their events by
//! hand for speed; numbers and fixed keys are written directly, and nothing else is. A
//! symbol such as `EV"L\X` therefore stays one JSON string: it cannot end its string early
//! and add keys to another client's event.
//!
//! The escaping is serde_json's (RFC 8259: `"`, `\` and every control character escaped), so
//! the bodies built with `serde_json::json!` escape exactly as the hand-built events do.
//! `<` and `/` need no escape in JSON; the page writes text with `textContent`, never as
//! markup.

use std::fmt;

/// Appends `text` as a JSON string literal, quotes included.
pub fn string(out: &mut String, text: &str) {
    // Serialising a str cannot fail: it has no map keys to refuse and no I/O.
    out.push_str(&serde_json::to_string(text).expect("a str always serialises"));
}

/// A JSON string literal (quotes included), escaped once: for text written into many
/// frames, such as an instrument's symbol.
#[derive(Clone, PartialEq, Eq)]
pub struct Quoted(Box<str>);

impl Quoted {
    pub fn new(text: &str) -> Quoted {
        let mut out = String::with_capacity(text.len() + 2);
        string(&mut out, text);
        Quoted(out.into_boxed_str())
    }

    /// Appends the literal.
    pub fn write(&self, out: &mut String) {
        out.push_str(&self.0);
    }

    /// The literal, quotes included.
    pub fn as_json(&self) -> &str {
        &self.0
    }
}

/// Formats as the literal, so `write!(s, "{{\"s\":{q}}}")` writes a JSON member.
impl fmt::Display for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_stays_one_string() {
        for text in [
            "EV\"L\\X",
            "\",\"x\":\"",
            "</script><b>",
            "a/b",
            "\u{0}\u{1f}\u{7f}",
            "é\u{2028}",
        ] {
            let q = Quoted::new(text);
            let back: String = serde_json::from_str(q.as_json()).unwrap();
            assert_eq!(back, text);
            let mut object = String::from("{\"s\":");
            q.write(&mut object);
            object.push('}');
            let v: serde_json::Value = serde_json::from_str(&object).unwrap();
            assert_eq!(v.as_object().unwrap().len(), 1, "{object}");
            assert_eq!(v["s"], text);
        }
        assert_eq!(Quoted::new("EV\"L\\X").as_json(), r#""EV\"L\\X""#);
        assert_eq!(Quoted::new("\u{1}").as_json(), r#""\u0001""#);
    }
}
