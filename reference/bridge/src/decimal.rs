//! Numbers as Binance spot writes them: decimal strings with 8 places, in every stream and
//! REST body (`"0.01000000"`, `"180.04000000"`, `"0.00000000"`).
//!
//! Clients rely on the form, not only on the value: python-binance's depth cache removes a
//! level only when its quantity is the string `"0.00000000"`, and exchangeInfo's
//! `baseAssetPrecision`/`quotePrecision` say 8. A feed's value is a scaled integer and the
//! instrument's exponent (SPEC.md §1), so the text is exact: the point is placed among the
//! integer's digits, never computed in floating point, and nothing is rounded.
//!
//! * Prices and quantities: exactly 8 places. An instrument whose price or quantity exponent
//!   is finer than 8 places ([`FINEST_EXPONENT`]) cannot be written so without rounding, and
//!   the market refuses its definition (as it refuses a symbol outside the alphabet).
//! * Quote volumes (Σ price × quantity, exponent = the sum of the two): 8 places, more only
//!   when the exact value has digits past the eighth (the two exponents add up to less than
//!   −8). Binance rounds such a figure to 8 places; a bridge that says it never rounds
//!   writes the digits.
//! * Averages (`weightedAvgPrice`, `/api/v3/avgPrice`) are quotients: 8 places, truncated,
//!   as an average has no exact decimal in general.
//! * Positive exponents are written out in full (`42` at exponent 3 is `"42000.00000000"`),
//!   however large: the digits are text, so nothing overflows.

/// Places Binance spot writes after the point.
pub const PLACES: usize = 8;

/// The finest price or quantity exponent that 8 places can hold.
pub const FINEST_EXPONENT: i8 = -(PLACES as i8);

/// Appends `value × 10^exponent` with 8 places (more only where the value has digits
/// past the eighth).
pub fn write(out: &mut String, value: i128, exponent: i8) {
    let mut buf = [0u8; 40];
    let digits = digits_of(value.unsigned_abs(), &mut buf);
    write_digits(out, value < 0, digits, i32::from(exponent));
}

/// [`write()`] between double quotes: a JSON string.
pub fn quoted(out: &mut String, value: i128, exponent: i8) {
    out.push('"');
    write(out, value, exponent);
    out.push('"');
}

/// [`write()`] of an unsigned 128-bit value (turnover sums).
pub fn write_unsigned(out: &mut String, value: u128, exponent: i8) {
    let mut buf = [0u8; 40];
    let digits = digits_of(value, &mut buf);
    write_digits(out, false, digits, i32::from(exponent));
}

/// [`write()`] as a new string.
pub fn string(value: i128, exponent: i8) -> String {
    let mut out = String::with_capacity(24);
    write(&mut out, value, exponent);
    out
}

/// Appends `numerator / denominator × 10^exponent` truncated to 8 places (0 when the
/// denominator is 0): a volume-weighted average price is turnover / volume at the price
/// exponent.
pub fn write_ratio(out: &mut String, numerator: u128, denominator: u64, exponent: i8) {
    if denominator == 0 {
        write(out, 0, FINEST_EXPONENT);
        return;
    }
    let d = u128::from(denominator);
    let mut digits = (numerator / d).to_string().into_bytes();
    let mut rest = numerator % d;
    // Fraction digits down to the eighth place: rest < d <= u64::MAX, so rest × 10 fits.
    let extra = i32::from(exponent) + PLACES as i32;
    for _ in 0..extra.max(0) {
        rest *= 10;
        digits.push(b'0' + (rest / d) as u8);
        rest %= d;
    }
    if extra < 0 {
        // Finer than 8 places: truncate.
        let keep = digits.len().saturating_sub((-extra) as usize);
        digits.truncate(keep);
    }
    let start = digits
        .iter()
        .position(|&b| b != b'0')
        .unwrap_or(digits.len().saturating_sub(1));
    let digits = if digits.is_empty() {
        &b"0"[..]
    } else {
        &digits[start..]
    };
    write_digits(out, false, digits, -(PLACES as i32));
}

/// The decimal digits of `value`, most significant first (`"0"` for zero).
fn digits_of(mut value: u128, buf: &mut [u8; 40]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    &buf[at..]
}

/// Writes `digits × 10^exponent` (digits without leading zeros, or `"0"`): the point placed
/// among the digits, the fraction padded to 8 places, zeros past the eighth dropped.
fn write_digits(out: &mut String, negative: bool, digits: &[u8], exponent: i32) {
    let zero = digits == b"0";
    if negative && !zero {
        out.push('-');
    }
    let push = |out: &mut String, bytes: &[u8]| {
        out.extend(bytes.iter().map(|&b| char::from(b)));
    };
    let zeros = |out: &mut String, n: usize| out.extend(std::iter::repeat_n('0', n));
    if exponent >= 0 {
        push(out, digits);
        if !zero {
            zeros(out, exponent as usize);
        }
        out.push('.');
        zeros(out, PLACES);
        return;
    }
    let places = (-exponent) as usize;
    let (whole, fraction_zeros, fraction) = if digits.len() > places {
        let (w, f) = digits.split_at(digits.len() - places);
        (w, 0, f)
    } else {
        (&b"0"[..], places - digits.len(), digits)
    };
    // Zeros past the eighth place carry nothing; the eighth and those before it stay.
    let significant = fraction
        .iter()
        .rposition(|&b| b != b'0')
        .map_or(0, |i| fraction_zeros + i + 1);
    let written = significant.max(PLACES);
    push(out, whole);
    out.push('.');
    for i in 0..written {
        let d = match i.checked_sub(fraction_zeros) {
            Some(j) if j < fraction.len() => fraction[j],
            _ => b'0',
        };
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(value: i128, exponent: i8) -> String {
        string(value, exponent)
    }

    #[test]
    fn eight_places() {
        assert_eq!(w(17996, -2), "179.96000000");
        assert_eq!(w(5, -3), "0.00500000");
        assert_eq!(w(0, -3), "0.00000000");
        assert_eq!(w(0, 0), "0.00000000");
        assert_eq!(w(0, 5), "0.00000000");
        assert_eq!(w(-120, -2), "-1.20000000");
        assert_eq!(w(-5, -2), "-0.05000000");
        assert_eq!(w(42, 0), "42.00000000");
        assert_eq!(w(42, 3), "42000.00000000");
        assert_eq!(w(1, -8), "0.00000001");
        assert_eq!(w(123_456_789, -8), "1.23456789");
        assert_eq!(w(100_000_000, -8), "1.00000000");
        assert_eq!(w(i128::from(i64::MAX), -2), "92233720368547758.07000000");
        assert_eq!(w(i128::from(i64::MIN), -8), "-92233720368.54775808");
        // Huge exponents: the digits are text.
        assert_eq!(w(7, 30), format!("7{}.00000000", "0".repeat(30)));
        assert_eq!(w(i128::MIN, 0), format!("{}.00000000", i128::MIN));
    }

    #[test]
    fn finer_than_eight_places_keeps_its_digits() {
        // Only where the exact value has them: a quote volume at exponent -10.
        assert_eq!(w(123, -10), "0.0000000123");
        assert_eq!(w(12300, -10), "0.00000123");
        assert_eq!(w(1_000_000_001, -10), "0.1000000001");
        assert_eq!(w(0, -10), "0.00000000");
        assert_eq!(w(-1, -12), "-0.000000000001");
        let mut s = String::new();
        write_unsigned(&mut s, u128::MAX, -40);
        assert_eq!(s, format!("0.0{}", u128::MAX));
    }

    #[test]
    fn every_string_parses_back_to_its_value() {
        use rltop_feed::decimal::parse_decimal;
        for exponent in -12i8..=4 {
            for value in [
                0i128,
                1,
                -1,
                7,
                10,
                99,
                100,
                12_345,
                -98_765,
                10_000_000_000,
            ] {
                let text = w(value, exponent);
                let places = text.split_once('.').unwrap().1.len();
                assert!(places >= PLACES, "{text}");
                assert!(places == PLACES || !text.ends_with('0'), "{text}");
                // Parsed at the finer of the two scales, the value is exact.
                let scale = exponent.min(-(PLACES as i8));
                let back = parse_decimal(&text, scale).unwrap();
                let want = value * 10i128.pow((exponent - scale) as u32);
                assert_eq!(back, want, "{value}e{exponent} -> {text}");
            }
        }
    }

    #[test]
    fn ratios_truncate_to_eight_places() {
        let r = |n: u128, d: u64, e: i8| {
            let mut s = String::new();
            write_ratio(&mut s, n, d, e);
            s
        };
        // Turnover 900.05 (exponent -5) over volume 5.000 (exponent -3) at price exponent -2.
        assert_eq!(r(90_005_000, 5_000, -2), "180.01000000");
        assert_eq!(r(1, 3, 0), "0.33333333");
        assert_eq!(r(2, 3, 0), "0.66666666");
        assert_eq!(r(10, 3, -2), "0.03333333");
        assert_eq!(r(7, 0, -2), "0.00000000");
        assert_eq!(r(0, 5, -2), "0.00000000");
        assert_eq!(r(5, 1, 2), "500.00000000");
        assert_eq!(r(123_456_789_123, 1, -10), "12.34567891");
        assert_eq!(r(1, 1, -10), "0.00000000");
        assert_eq!(r(u128::from(u64::MAX) * 3, u64::MAX, -8), "0.00000003");
    }
}
