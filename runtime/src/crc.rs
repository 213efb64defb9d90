//! CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI, ext4 and SCTP.
//!
//! The protocol checksums a whole message with its 4-byte checksum field taken as zero.
//! [`checksum_with_hole`] computes exactly that without copying the message, which is why
//! this module exists instead of calling a CRC crate over a scratch copy: on a 128-byte
//! message the copy would cost as much as the CRC itself.
//!
//! On x86-64 with SSE4.2 the `crc32` instruction is used (runtime detected), in three lanes
//! joined by carry-less multiplication where PCLMULQDQ is there too; elsewhere
//! a slicing-by-8 table. Both paths are checked against each other and against the
//! independent `crc32c` crate in the tests.

/// Reflected CRC-32C polynomial.
const POLY: u32 = 0x82F6_3B78;

/// Slicing-by-8 tables, computed at compile time.
static TABLES: [[u32; 256]; 8] = make_tables();

const fn make_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut s = 1;
    while s < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            i += 1;
        }
        s += 1;
    }
    t
}

/// Continues a CRC-32C over `bytes` in software. `state` is the raw (non-inverted) register.
fn update_table(mut state: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let lo = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) ^ state;
        let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        state = TABLES[7][(lo & 0xFF) as usize]
            ^ TABLES[6][((lo >> 8) & 0xFF) as usize]
            ^ TABLES[5][((lo >> 16) & 0xFF) as usize]
            ^ TABLES[4][(lo >> 24) as usize]
            ^ TABLES[3][(hi & 0xFF) as usize]
            ^ TABLES[2][((hi >> 8) & 0xFF) as usize]
            ^ TABLES[1][((hi >> 16) & 0xFF) as usize]
            ^ TABLES[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        state = (state >> 8) ^ TABLES[0][((state ^ b as u32) & 0xFF) as usize];
    }
    state
}

#[cfg(target_arch = "x86_64")]
mod hw {
    use core::arch::x86_64::{
        _mm_clmulepi64_si128, _mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8, _mm_cvtsi128_si64,
        _mm_cvtsi64_si128,
    };

    /// Continues a CRC-32C over `bytes` with the SSE4.2 `crc32` instruction.
    #[target_feature(enable = "sse4.2")]
    pub(super) fn update(mut state: u32, bytes: &[u8]) -> u32 {
        let mut words = bytes.chunks_exact(8);
        let mut s = state as u64;
        for w in &mut words {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            s = _mm_crc32_u64(s, u64::from_le_bytes(a));
        }
        state = s as u32;
        let mut rest = words.remainder();
        if rest.len() >= 4 {
            state = _mm_crc32_u32(
                state,
                u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]),
            );
            rest = &rest[4..];
        }
        for &b in rest {
            state = _mm_crc32_u8(state, b);
        }
        state
    }

    /// The whole-message checksum with a 4-byte hole, one chain (short messages, or a hole
    /// outside the first lane).
    #[target_feature(enable = "sse4.2")]
    pub(super) fn with_hole(bytes: &[u8], hole: usize) -> u32 {
        let (head, tail) = bytes.split_at(hole);
        let state = update(!0, head);
        let state = _mm_crc32_u32(state, 0);
        !update(state, &tail[4..])
    }

    /// Bytes per lane and round of [`interleaved`].
    pub(super) const LANE: usize = 40;
    const W: usize = LANE / 8;

    /// `x^(8·n − 33) mod P`, bit-reflected: the factor that, carry-less multiplied with a
    /// state and reduced by one `crc32` of the product, advances the state over `n` zero
    /// bytes. (The carry-less product of two reflected 32-bit values is their reflected
    /// 64-bit product times x, and `crc32` of a 64-bit word multiplies it by x³² mod P:
    /// 1 + 32 = 33.)
    const fn fold_factor(n: usize) -> u64 {
        let mut v = 0x8000_0000u32; // the polynomial 1
        let mut k = 0;
        while k < 8 * n - 33 {
            v = if v & 1 != 0 {
                (v >> 1) ^ super::POLY
            } else {
                v >> 1
            };
            k += 1;
        }
        v as u64
    }
    const OVER_LANE: u64 = fold_factor(LANE);
    const OVER_2LANES: u64 = fold_factor(2 * LANE);

    /// Carry-less product of a 32-bit state and a fold factor (at most 63 bits).
    #[target_feature(enable = "pclmulqdq")]
    fn clmul(a: u32, k: u64) -> u64 {
        let p = _mm_clmulepi64_si128(
            _mm_cvtsi64_si128(i64::from(a)),
            _mm_cvtsi64_si128(k as i64),
            0,
        );
        _mm_cvtsi128_si64(p) as u64
    }

    #[inline(always)]
    fn words(lane: &[u8]) -> [u64; W] {
        core::array::from_fn(|k| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&lane[k * 8..k * 8 + 8]);
            u64::from_le_bytes(a)
        })
    }

    /// The raw CRC (from `!0`) of `bytes` with the 4 bytes at `hole` (inside the first lane)
    /// read as zero, three lanes at a time. The `crc32` instruction has a latency of 3
    /// cycles and a throughput of 1: one dependent chain leaves two thirds of the unit idle.
    /// Each round runs three independent chains over consecutive 40-byte lanes (a 128-byte
    /// message is one round and one word) and joins them with the CRC's linearity:
    /// crc(s, A‖B‖C) = shift₈₀(crc(s, A)) ⊕ shift₄₀(crc(0, B)) ⊕ crc(0, C), both shifts
    /// done by carry-less multiplication and reduced together by one `crc32`. The hole is
    /// masked out of the first lane's words, so no chain branches around it.
    #[target_feature(enable = "sse4.2,pclmulqdq")]
    pub(super) fn interleaved(bytes: &[u8], hole: usize) -> u32 {
        // Its callers (`checksum_with_hole`, the lane test) check this before calling.
        debug_assert!(hole + 4 <= LANE && bytes.len() >= 3 * LANE);
        let mut rounds = bytes.chunks_exact(3 * LANE);
        // The hole's 32 bits, over the word it starts in and the next.
        let bits = 0xFFFF_FFFFu128 << (hole % 8 * 8);
        let mut hole_mask = [0u64; W + 1];
        hole_mask[hole / 8] = bits as u64;
        hole_mask[hole / 8 + 1] = (bits >> 64) as u64;
        let mut s = !0u32;
        for round in &mut rounds {
            let la = words(&round[..LANE]);
            let lb = words(&round[LANE..2 * LANE]);
            let lc = words(&round[2 * LANE..]);
            let (mut a, mut b, mut c) = (u64::from(s), 0u64, 0u64);
            for k in 0..W {
                a = _mm_crc32_u64(a, la[k] & !hole_mask[k]);
                b = _mm_crc32_u64(b, lb[k]);
                c = _mm_crc32_u64(c, lc[k]);
            }
            hole_mask = [0; W + 1];
            let folded = clmul(a as u32, OVER_2LANES) ^ clmul(b as u32, OVER_LANE);
            s = _mm_crc32_u64(0, folded) as u32 ^ c as u32;
        }
        update(s, rounds.remainder())
    }
}

#[inline]
fn have_sse42() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // `is_x86_feature_detected!` caches its answer in an atomic: one load per call.
        std::is_x86_feature_detected!("sse4.2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Carry-less multiplication, which joins the lanes of [`hw::interleaved`] (every x86-64
/// CPU since 2010 has it; without it the single-chain path is used).
#[cfg(target_arch = "x86_64")]
#[inline]
fn have_pclmul() -> bool {
    std::is_x86_feature_detected!("pclmulqdq")
}

#[inline]
fn update(state: u32, bytes: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if have_sse42() {
        // SAFETY: `hw::update` only needs SSE4.2, which was detected on this CPU just above.
        return unsafe { hw::update(state, bytes) };
    }
    update_table(state, bytes)
}

/// CRC-32C of `bytes` (standard: initial value and final XOR `0xFFFF_FFFF`).
#[inline]
pub fn crc32c(bytes: &[u8]) -> u32 {
    !update(!0, bytes)
}

/// CRC-32C of `bytes` as if the four bytes at `hole..hole + 4` were zero.
///
/// Returns `None` when the hole does not lie inside `bytes`.
#[inline]
pub fn checksum_with_hole(bytes: &[u8], hole: usize) -> Option<u32> {
    if hole.checked_add(4)? > bytes.len() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    if have_sse42() {
        if hole + 4 <= hw::LANE && bytes.len() >= 3 * hw::LANE && have_pclmul() {
            // SAFETY: SSE4.2 and PCLMULQDQ were detected just above, and the hole lies in
            // the first lane of a message at least one round long, as `interleaved` asks.
            return Some(!unsafe { hw::interleaved(bytes, hole) });
        }
        // SAFETY: `hw::with_hole` only needs SSE4.2, detected just above; the bounds of
        // `hole` were checked above, so its slicing cannot fail.
        return Some(unsafe { hw::with_hole(bytes, hole) });
    }
    let state = update_table(!0, &bytes[..hole]);
    let state = update_table(state, &[0; 4]);
    Some(!update_table(state, &bytes[hole + 4..]))
}

/// The software path alone, exposed so tests can compare it with the hardware path.
#[doc(hidden)]
pub fn crc32c_table(bytes: &[u8]) -> u32 {
    !update_table(!0, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn standard_check_value() {
        // The CRC-32C catalogue check value (RFC 3720 B.4 uses the same polynomial).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c_table(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // RFC 3720 B.4: 32 bytes of zeros.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
    }

    proptest! {
        #[test]
        fn matches_independent_crate(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let reference = ::crc32c::crc32c(&bytes);
            prop_assert_eq!(crc32c(&bytes), reference);
            prop_assert_eq!(crc32c_table(&bytes), reference);
        }

        #[test]
        fn hole_equals_zeroed_copy(bytes in proptest::collection::vec(any::<u8>(), 4..600), at in any::<usize>()) {
            let hole = at % (bytes.len() - 3);
            let mut copy = bytes.clone();
            copy[hole..hole + 4].fill(0);
            prop_assert_eq!(checksum_with_hole(&bytes, hole), Some(::crc32c::crc32c(&copy)));
        }
    }

    /// The three-lane path against a zeroed copy, for every length from one round up (one
    /// or two rounds, remainders of every size) and every hole position it takes (inside
    /// the first lane).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn interleaved_lanes_equal_the_reference() {
        // Every x86-64 CPU since 2010 has both; the path cannot be tested without them.
        assert!(
            have_sse42() && have_pclmul(),
            "this test needs SSE4.2 and PCLMULQDQ"
        );
        let data: Vec<u8> = (0..300u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in 3 * hw::LANE..300 {
            for hole in 0..=hw::LANE - 4 {
                let mut copy = data[..len].to_vec();
                copy[hole..hole + 4].fill(0);
                // SAFETY: SSE4.2 and PCLMULQDQ were detected above.
                let got = !unsafe { hw::interleaved(&data[..len], hole) };
                assert_eq!(got, ::crc32c::crc32c(&copy), "len {len} hole {hole}");
            }
        }
    }

    #[test]
    fn hole_out_of_bounds_is_none() {
        assert_eq!(checksum_with_hole(&[0; 8], 5), None);
        assert_eq!(checksum_with_hole(&[0; 8], usize::MAX), None);
        assert!(checksum_with_hole(&[0; 8], 4).is_some());
    }
}
