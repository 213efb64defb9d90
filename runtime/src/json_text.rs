//! The canonical JSON of messages of protocols not of RLTOP's shape (the generated
//! `write_json`): the one writer of their strings and scaled decimals. Strings from the
//! wire are escaped whatever they hold (`"`, `\`, every control byte), so a line stays one
//! valid JSON value.

use core::fmt::Write as _;

/// Appends `text` as a JSON string, quotes included.
pub fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `value × 10^-scale` as a JSON string of exactly `scale` decimal places
/// (`1500000`, 4 → `"150.0000"`): a price's digits as the wire carries them, never a float.
pub fn push_decimal(out: &mut String, value: i128, scale: u32) {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    let Some(unit) = 10u128.checked_pow(scale) else {
        let _ = write!(out, "\"{value}e-{scale}\"");
        return;
    };
    if scale == 0 {
        let _ = write!(out, "\"{sign}{abs}\"");
    } else {
        let width = scale as usize;
        let _ = write!(out, "\"{sign}{}.{:0width$}\"", abs / unit, abs % unit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_stays_one_json_string() {
        let mut out = String::new();
        push_json_string(&mut out, "EV\"L\\X\n\u{1}\u{7f}</");
        assert_eq!(out, r#""EV\"L\\X\n\u0001\u007f</""#);
    }

    #[test]
    fn decimals_keep_every_place() {
        let cases = [
            (1_500_000, 4, "\"150.0000\""),
            (1, 4, "\"0.0001\""),
            (-1, 4, "\"-0.0001\""),
            (-12_345, 2, "\"-123.45\""),
            (7, 0, "\"7\""),
            (u64::MAX.into(), 8, "\"184467440737.09551615\""),
        ];
        for (value, scale, want) in cases {
            let mut out = String::new();
            push_decimal(&mut out, value, scale);
            assert_eq!(out, want, "{value} scale {scale}");
        }
    }
}
