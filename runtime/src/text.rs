//! Fixed-width ASCII text fields: printable ASCII, left aligned, padded with NUL (RLTOP's
//! `text`) or with spaces (ITCH's `Alpha`, a schema's `text[N] pad space`).

use crate::TextError;

/// Whether `field` is printable ASCII followed only by NUL padding.
pub fn valid_ascii(field: &[u8]) -> bool {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    field[..end].iter().all(|b| (0x20..0x7F).contains(b)) && field[end..].iter().all(|&b| b == 0)
}

/// The text of a field up to its padding. An invalid field (see [`valid_ascii`]) yields its
/// longest valid prefix rather than a panic; decoders reject such fields before this is used.
pub fn ascii_str(field: &[u8]) -> &str {
    let end = field
        .iter()
        .position(|b| !(0x20..0x7F).contains(b))
        .unwrap_or(field.len());
    // Printable ASCII is valid UTF-8, so this cannot fail; the fallback keeps it panic-free.
    core::str::from_utf8(&field[..end]).unwrap_or("")
}

/// Writes `text` into `field`, padding with NUL.
pub fn set_ascii(field: &mut [u8], text: &str) -> Result<(), TextError> {
    if text.len() > field.len() {
        return Err(TextError::TooLong {
            len: text.len(),
            max: field.len(),
        });
    }
    if let Some(at) = text.bytes().position(|b| !(0x20..0x7F).contains(&b)) {
        return Err(TextError::NotAscii { at });
    }
    field[..text.len()].copy_from_slice(text.as_bytes());
    field[text.len()..].fill(0);
    Ok(())
}

/// Whether `field` is printable ASCII (spaces included: they are the padding, and may
/// also sit inside the text).
///
/// Every byte is tested, without an early exit: valid text is the common case, and a loop
/// without a branch per byte compiles to a few vector compares for a field of 4 or 8.
#[inline]
pub fn valid_alpha(field: &[u8]) -> bool {
    field
        .iter()
        .fold(true, |ok, b| ok & (b.wrapping_sub(0x20) < 0x7F - 0x20))
}

/// The text of a space-padded field: the field without its trailing spaces. An invalid
/// field (see [`valid_alpha`]) yields its longest valid prefix rather than a panic.
pub fn alpha_str(field: &[u8]) -> &str {
    let text = ascii_str(field);
    text.trim_end_matches(' ')
}

/// Writes `text` into `field`, left aligned, padding with spaces. Trailing spaces of `text`
/// are indistinguishable from the padding: [`alpha_str`] reads the text without them.
pub fn set_alpha(field: &mut [u8], text: &str) -> Result<(), TextError> {
    set_ascii(field, text)?;
    field[text.len()..].fill(b' ');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rules() {
        let mut f = [0xAAu8; 8];
        set_ascii(&mut f, "BTCUSDT").unwrap();
        assert_eq!(&f, b"BTCUSDT\0");
        assert!(valid_ascii(&f));
        assert_eq!(ascii_str(&f), "BTCUSDT");
        assert_eq!(
            set_ascii(&mut f, "BTCUSDT12"),
            Err(TextError::TooLong { len: 9, max: 8 })
        );
        assert_eq!(
            set_ascii(&mut f, "BT\u{e9}"),
            Err(TextError::NotAscii { at: 2 })
        );
        assert!(!valid_ascii(b"AB\0C"), "text after padding");
        assert!(!valid_ascii(b"A\x01"), "control byte");
        assert_eq!(ascii_str(b"AB\xFFC"), "AB");
        assert!(valid_ascii(&[0; 4]));
    }

    #[test]
    fn space_padded_text() {
        let mut f = [0u8; 8];
        set_alpha(&mut f, "AAPL").unwrap();
        assert_eq!(&f, b"AAPL    ");
        assert!(valid_alpha(&f));
        assert_eq!(alpha_str(&f), "AAPL");
        assert_eq!(alpha_str(b"BRK A   "), "BRK A", "inner spaces are text");
        assert_eq!(alpha_str(b"        "), "");
        assert!(!valid_alpha(b"AAPL\0\0\0\0"), "NUL is not ITCH padding");
        assert!(
            valid_alpha(b" ~"),
            "space and tilde are the ends of the range"
        );
        for bad in [0x1F, 0x7F, 0x80, 0xFF] {
            assert!(
                !valid_alpha(&[b'A', bad, b' ']),
                "{bad:#x} is not printable ASCII"
            );
        }
        assert_eq!(
            set_alpha(&mut f, "TOOLONGXX"),
            Err(TextError::TooLong { len: 9, max: 8 })
        );
        assert_eq!(&f, b"AAPL    ", "a refused text leaves the field as it was");
    }
}
