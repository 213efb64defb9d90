//! Scaled integers as decimal text: a price or quantity on the wire is an integer `value`,
//! and the real number is `value × 10^exponent` with the exponent from the instrument's
//! definition (SPEC.md §1). Presentation layers (the `rltop listen` table, the WebSocket
//! bridge's Binance-style strings) all print them here, so they agree to the digit.
//!
//! Exponents come from the network: one too large to scale by prints as `value e exponent`
//! rather than overflowing.

use std::fmt::Write;

/// `value × 10^exponent` as a decimal string, with exactly `-exponent` places when the
/// exponent is negative (`decimal(17996, -2)` is `"179.96"`, `decimal(5, -3)` is `"0.005"`).
pub fn decimal(value: i128, exponent: i8) -> String {
    let mut out = String::new();
    write_decimal(&mut out, value, exponent);
    out
}

/// [`decimal`], appended to `out` (no allocation beyond `out`'s growth).
pub fn write_decimal(out: &mut String, value: i128, exponent: i8) {
    if exponent >= 0 {
        match 10i128
            .checked_pow(u32::from(exponent.unsigned_abs()))
            .and_then(|scale| value.checked_mul(scale))
        {
            Some(v) => {
                let _ = write!(out, "{v}");
            }
            None => {
                let _ = write!(out, "{value}e{exponent}");
            }
        }
        return;
    }
    let places = usize::from(exponent.unsigned_abs());
    let mut digits = [0u8; 40];
    let mut len = 0;
    let mut rest = value.unsigned_abs();
    // Digits, least significant first; at least `places + 1` so there is a whole part.
    while rest > 0 || len <= places {
        if len == digits.len() {
            // An i128 has at most 39 digits: past them only leading zeros remain, which
            // the loop below writes.
            break;
        }
        digits[len] = b'0' + (rest % 10) as u8;
        rest /= 10;
        len += 1;
    }
    if value < 0 {
        out.push('-');
    }
    let total = len.max(places + 1);
    for i in (0..total).rev() {
        let d = if i < len { digits[i] } else { b'0' };
        out.push(char::from(d));
        if i == places && places > 0 {
            out.push('.');
        }
    }
}

/// Parses a decimal string with at most `-exponent` places (or an integer multiple of
/// `10^exponent` when the exponent is positive) back to the scaled integer; `None` when the
/// text is not a plain decimal or does not fit the scale exactly.
pub fn parse_decimal(text: &str, exponent: i8) -> Option<i128> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let places = i32::from(exponent).checked_neg()?;
    let frac = frac.trim_end_matches('0');
    if frac.len() as i32 > places.max(0) {
        return None;
    }
    let mut value: i128 = 0;
    for b in whole.bytes().chain(frac.bytes()) {
        value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    let shift = places - frac.len() as i32;
    if shift >= 0 {
        value = value.checked_mul(10i128.checked_pow(shift as u32)?)?;
    } else {
        let scale = 10i128.checked_pow((-shift) as u32)?;
        if value % scale != 0 {
            return None;
        }
        value /= scale;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(decimal(17996, -2), "179.96");
        assert_eq!(decimal(5, -3), "0.005");
        assert_eq!(decimal(0, -3), "0.000");
        assert_eq!(decimal(-120, -2), "-1.20");
        assert_eq!(decimal(-5, -2), "-0.05");
        assert_eq!(decimal(42, 0), "42");
        assert_eq!(decimal(42, 2), "4200");
        assert_eq!(
            decimal(i128::from(i64::MAX), 127),
            format!("{}e127", i64::MAX)
        );
        assert_eq!(decimal(7, -30), format!("0.{}7", "0".repeat(29)));
    }

    #[test]
    fn parse_round_trips() {
        for (v, e) in [(17996, -2), (5, -3), (-120, -2), (0, -8), (42, 0), (42, 2)] {
            assert_eq!(parse_decimal(&decimal(v, e), e), Some(v), "{v}e{e}");
        }
        assert_eq!(parse_decimal("1.5", -2), Some(150));
        assert_eq!(parse_decimal("1.505", -2), None);
        assert_eq!(parse_decimal("1e5", -2), None);
        assert_eq!(parse_decimal("", -2), None);
        assert_eq!(parse_decimal("4200", 2), Some(42));
        assert_eq!(parse_decimal("4250", 2), None);
        assert_eq!(parse_decimal("4201", 2), None);
    }
}
