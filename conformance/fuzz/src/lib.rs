//! The Rust side of the differential fuzzers (`cargo xtask fuzz`, conformance/harness/src/bin/fuzz.rs).
//!
//! libFuzzer drives C harnesses (`decode.c`, `feed.c` beside this crate) built with clang's
//! `-fsanitize=fuzzer,address,undefined`; this crate, built as a static library with
//! sanitizer-coverage instrumentation (stable `-C passes=sancov-module`), is linked into
//! them, so coverage guides the fuzzer through both the C header and the Rust code.
//!
//! * [`decode_json`] is what the Rust binding makes of a datagram, in the conformance form
//!   (`{"results": …}` without the free-text `detail`): the decode harness compares it byte
//!   for byte with the C header's answer for the same input, so the two must agree on the
//!   verdict, the error kind, offset and field, and every decoded value.
//! * [`feed`] runs a sequence of datagrams through the feed handler and checks what must
//!   hold whatever the input: no panic, and every live book sorted, positive and uncrossed.
//!
//! A panic in an `extern "C"` function aborts the process, which libFuzzer reports as a crash
//! with the input that caused it.

use rltop_book::{Side, TopLevel};
use rltop_feed::{Config, FeedHandler, Line};
use rltop_runtime::canonical;
use serde_json::{json, Value};

/// The results of decoding `datagram`, as the conformance suite writes them: a message as its
/// canonical JSON, an error as its kind, offset and (for value errors) field.
pub fn decode_json(datagram: &[u8]) -> String {
    let results: Vec<Value> = rltop::messages(datagram)
        .map(|item| match item {
            Ok(m) => json!({
                "message": canonical::to_json(&rltop::PROTOCOL, m.message_type(), m.as_bytes())
            }),
            Err(e) => {
                let mut err = json!({ "kind": e.name(), "offset": e.offset() });
                if let rltop_runtime::DecodeError::BadEnum { field, .. }
                | rltop_runtime::DecodeError::BadCount { field, .. }
                | rltop_runtime::DecodeError::BadText { field, .. } = e
                {
                    err["field"] = json!(field);
                }
                json!({ "error": err })
            }
        })
        .collect();
    Value::Array(results).to_string()
}

/// Recomputes the checksum of every message that frames in `datagram` (magic and a length
/// that fits): random bytes almost never carry a right CRC, and without this the fuzzer
/// would spend itself on `BadChecksum` and never reach the checks after it.
pub fn reseal(datagram: &mut [u8]) {
    let p = &rltop::PROTOCOL;
    let mut at = 0;
    while datagram.len() - at >= p.header_size {
        let rest = &mut datagram[at..];
        let magic = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let len = usize::from(u16::from_le_bytes([
            rest[p.length_offset],
            rest[p.length_offset + 1],
        ]));
        if magic != p.magic || len < p.header_size || len > rest.len() {
            break;
        }
        rltop_runtime::seal(&mut rest[..len], p);
        at += len;
    }
}

/// Splits fuzzer input into datagrams: each is a flags byte (bit 0: line B, else A; bit 1:
/// keep the checksums as they are, else [`reseal`]), a 2-byte little-endian length and that
/// many bytes (fewer if the input ends first).
pub fn datagrams(mut input: &[u8]) -> Vec<(Line, Vec<u8>)> {
    let mut out = Vec::new();
    while input.len() >= 3 {
        let line = if input[0] & 1 == 1 { Line::B } else { Line::A };
        let keep = input[0] & 2 == 2;
        let len = usize::from(u16::from_le_bytes([input[1], input[2]]));
        let rest = &input[3..];
        let (datagram, next) = rest.split_at(len.min(rest.len()));
        let mut datagram = datagram.to_vec();
        if !keep {
            reseal(&mut datagram);
        }
        out.push((line, datagram));
        input = next;
    }
    out
}

/// Why a live book breaks what must always hold, if it does.
fn broken(levels_bid: &[TopLevel], levels_ask: &[TopLevel]) -> Option<String> {
    let empty = |l: &&TopLevel| l.qty == 0 || l.count == 0;
    if let Some(l) = levels_bid.iter().chain(levels_ask).find(empty) {
        return Some(format!("a visible level without quantity or orders: {l:?}"));
    }
    if levels_bid.windows(2).any(|w| w[0].price <= w[1].price) {
        return Some("bids not strictly best first".into());
    }
    if levels_ask.windows(2).any(|w| w[0].price >= w[1].price) {
        return Some("asks not strictly best first".into());
    }
    match (levels_bid.first(), levels_ask.first()) {
        (Some(b), Some(a)) if b.price >= a.price => Some(format!(
            "crossed: best bid {} ≥ best ask {}",
            b.price, a.price
        )),
        _ => None,
    }
}

/// Runs `input`'s datagrams through a feed handler, checking every live book after each;
/// the first broken invariant, if any.
pub fn feed(input: &[u8]) -> Result<(), String> {
    let mut handler = FeedHandler::new(Config::default());
    for (k, (line, datagram)) in datagrams(input).into_iter().enumerate() {
        handler.on_datagram_from(line, &datagram, &mut |_| {});
        let symbols: Vec<u32> = handler.symbols().collect();
        for symbol in symbols {
            let Some(book) = handler.book(symbol).filter(|_| handler.is_live(symbol)) else {
                continue;
            };
            let (bids, asks) = (
                book.top(Side::Bid, usize::MAX),
                book.top(Side::Ask, usize::MAX),
            );
            if let Some(why) = broken(&bids, &asks) {
                return Err(format!("after datagram {k}, live book {symbol}: {why}"));
            }
        }
    }
    Ok(())
}

/// [`decode_json`] for C: writes at most `cap` bytes of it to `out` and returns its length
/// (call again with a larger buffer when that is more than `cap`).
///
/// # Safety
/// `data` must be valid for reads of `len` bytes (or `len` 0), `out` for writes of `cap`
/// bytes (or `cap` 0).
#[no_mangle]
pub unsafe extern "C" fn rltop_fuzz_rust_decode(
    data: *const u8,
    len: usize,
    out: *mut u8,
    cap: usize,
) -> usize {
    let input: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: the caller guarantees `data` is valid for `len` bytes, and len > 0 here so
        // the pointer is not the dangling one libFuzzer may pass for an empty input.
        unsafe { std::slice::from_raw_parts(data, len) }
    };
    let text = decode_json(input);
    let n = text.len().min(cap);
    if n > 0 {
        // SAFETY: the caller guarantees `out` is valid for `cap` ≥ n bytes; `text` is a
        // separate allocation, so the ranges cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), out, n) };
    }
    text.len()
}

/// [`feed`] for C: returns 0, or prints the broken invariant and aborts (a finding).
///
/// # Safety
/// `data` must be valid for reads of `len` bytes (or `len` 0).
#[no_mangle]
pub unsafe extern "C" fn rltop_fuzz_rust_feed(data: *const u8, len: usize) -> i32 {
    let input: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: as in `rltop_fuzz_rust_decode`.
        unsafe { std::slice::from_raw_parts(data, len) }
    };
    if let Err(why) = feed(input) {
        eprintln!("rltop-fuzz: feed handler invariant broken: {why}");
        std::process::abort();
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_are_split_by_their_prefixes_and_a_short_tail_is_kept() {
        let input = [0, 2, 0, 0xAA, 0xBB, 3, 5, 0, 0xCC];
        let got = datagrams(&input);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (Line::A, vec![0xAA, 0xBB]));
        assert_eq!(got[1], (Line::B, vec![0xCC]));
        assert!(datagrams(&[7, 1]).is_empty());
    }

    #[test]
    fn reseal_fixes_every_framed_message_and_stops_at_garbage() {
        let mut hb = rltop::SessionHeartbeat::new();
        let one = rltop_runtime::finalize(&mut hb, 1, 1, 0).to_vec();
        let mut datagram = [one.clone(), one.clone(), vec![0xEE; 5]].concat();
        datagram[32] ^= 0xFF;
        datagram[one.len() + 33] ^= 0xFF;
        reseal(&mut datagram);
        assert_eq!(
            &datagram[..2 * one.len()],
            &[one.clone(), one][..].concat()[..]
        );
        assert!(rltop::messages(&datagram).take(2).all(|m| m.is_ok()));
    }

    #[test]
    fn broken_books_are_told_apart() {
        let l = |price, qty, count| TopLevel { price, qty, count };
        assert_eq!(broken(&[l(100, 1, 1), l(99, 1, 1)], &[l(101, 1, 1)]), None);
        assert!(broken(&[l(100, 1, 1)], &[l(100, 1, 1)])
            .unwrap()
            .contains("crossed"));
        assert!(broken(&[l(99, 1, 1), l(100, 1, 1)], &[])
            .unwrap()
            .contains("bids"));
        assert!(broken(&[], &[l(101, 1, 1), l(101, 2, 1)])
            .unwrap()
            .contains("asks"));
        assert!(broken(&[l(100, 0, 1)], &[]).unwrap().contains("without"));
    }

    #[test]
    fn decode_json_is_the_conformance_form_without_detail() {
        // An empty datagram has no results; a lone byte is a truncated header at 0.
        assert_eq!(decode_json(&[]), "[]");
        assert_eq!(
            decode_json(&[0x4F]),
            r#"[{"error":{"kind":"Truncated","offset":0}}]"#
        );
    }
}
