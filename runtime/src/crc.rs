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

    /// The CRC-32Cs of `N` messages at once, each with the 4 bytes at `hole`
    /// read as zero. One message's `crc32` chain is latency-bound (3 cycles per word, one
    /// word issued per cycle): `N` independent chains in lockstep keep the unit busy without
    /// the lane joins of [`interleaved`]. The chains run together over the words every
    /// message has (the two words the hole touches masked); each finishes its own tail
    /// alone. `hole + 4` must not exceed the shortest message (the caller checks).
    ///
    /// No closures in here: a closure does not inherit the function's target feature, and
    /// `crc32` would become a call.
    #[target_feature(enable = "sse4.2")]
    pub(super) fn lockstep<const N: usize>(messages: [&[u8]; N], hole: usize) -> [u32; N] {
        let mut shortest = usize::MAX;
        for m in &messages {
            shortest = shortest.min(m.len());
        }
        debug_assert!(hole + 4 <= shortest);
        let words = shortest / 8;
        // Each message's first `words` words, as 8-byte arrays: the loops below index them
        // below `words`, so they need no bounds check per word.
        let mut bodies: [&[[u8; 8]]; N] = [&[]; N];
        for (body, m) in bodies.iter_mut().zip(&messages) {
            *body = bytemuck::cast_slice(&m[..words * 8]);
        }
        // The hole's 32 bits, over the word it starts in and the next.
        let bits = 0xFFFF_FFFFu128 << (hole % 8 * 8);
        let hole_bits = [bits as u64, (bits >> 64) as u64];
        let first = (hole / 8).min(words);
        let masked_end = (first + 2).min(words);
        let mut state = [u64::from(!0u32); N];
        for k in 0..first {
            round(&mut state, &bodies, k, 0);
        }
        for k in first..masked_end {
            round(&mut state, &bodies, k, hole_bits[k - first]);
        }
        for k in masked_end..words {
            round(&mut state, &bodies, k, 0);
        }
        let tail_start = words * 8;
        let mut sums = [0u32; N];
        for ((sum, m), s) in sums.iter_mut().zip(&messages).zip(state) {
            *sum = if hole + 4 > tail_start {
                // The hole reaches past the lockstep words (a message barely longer than
                // the hole): the single chain, which knows about it.
                let (head, rest) = m.split_at(hole);
                let s = update(!0, head);
                let s = _mm_crc32_u32(s, 0);
                !update(s, &rest[4..])
            } else {
                !update(s as u32, &m[tail_start..])
            };
        }
        sums
    }

    /// One word `k` of every chain of [`lockstep`], with `hole_bits` read as zero.
    #[target_feature(enable = "sse4.2")]
    #[inline]
    fn round<const N: usize>(
        state: &mut [u64; N],
        bodies: &[&[[u8; 8]]; N],
        k: usize,
        hole_bits: u64,
    ) {
        for (s, body) in state.iter_mut().zip(bodies) {
            *s = _mm_crc32_u64(*s, u64::from_le_bytes(body[k]) & !hole_bits);
        }
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

/// Messages checksummed together by [`checksums_with_hole`] in a datagram decoder: enough
/// independent `crc32` chains to cover the instruction's latency, few enough to stay in
/// registers.
pub const BATCH: usize = 4;

/// [`checksum_with_hole`] of `N` messages at once (messages of one datagram, the protocol's
/// checksum field as the hole): element `i` is the checksum of `messages[i]`. With SSE4.2
/// the messages' `crc32` chains run interleaved, one word of each in turn; [`BATCH`] is the
/// count to use.
///
/// Returns `None` if a message does not hold the hole.
#[inline]
pub fn checksums_with_hole<const N: usize>(messages: [&[u8]; N], hole: usize) -> Option<[u32; N]> {
    let needed = hole.checked_add(4)?;
    if messages.iter().any(|m| m.len() < needed) {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    if N > 1 && have_sse42() {
        // SAFETY: `hw::lockstep` only needs SSE4.2, detected just above, and every message
        // holds the hole (checked above), as it asks.
        return Some(unsafe { hw::lockstep(messages, hole) });
    }
    let mut sums = [0; N];
    for (sum, m) in sums.iter_mut().zip(messages) {
        *sum = checksum_with_hole(m, hole)?;
    }
    Some(sums)
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

    proptest! {
        /// Any number of messages of any lengths (one to three batches, ragged, some barely
        /// longer than the hole), each checksummed alone by the independent crate.
        #[test]
        fn batch_equals_one_by_one(
            lens in proptest::collection::vec(0usize..300, 1..10),
            hole in 0usize..48,
            seed in any::<u64>(),
        ) {
            let messages: Vec<Vec<u8>> = lens
                .iter()
                .enumerate()
                .map(|(i, &len)| {
                    (0..hole + 4 + len)
                        .map(|j| (seed.wrapping_mul(31 + i as u64) >> (j % 57)) as u8 ^ j as u8)
                        .collect()
                })
                .collect();
            let views: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            // Four at a time, then what is left one, two or three at a time.
            let mut sums = Vec::new();
            let mut groups = views.chunks_exact(4);
            for g in &mut groups {
                sums.extend(checksums_with_hole([g[0], g[1], g[2], g[3]], hole).unwrap());
            }
            match *groups.remainder() {
                [a, b, c] => sums.extend(checksums_with_hole([a, b, c], hole).unwrap()),
                [a, b] => sums.extend(checksums_with_hole([a, b], hole).unwrap()),
                [a] => sums.extend(checksums_with_hole([a], hole).unwrap()),
                _ => {}
            }
            for (m, sum) in messages.iter().zip(&sums) {
                let mut copy = m.clone();
                copy[hole..hole + 4].fill(0);
                prop_assert_eq!(*sum, ::crc32c::crc32c(&copy));
            }
        }
    }

    #[test]
    fn batch_refuses_a_message_too_short_for_the_hole() {
        let (long, short) = ([7u8; 64], [7u8; 35]);
        assert_eq!(checksums_with_hole([&long[..], &long, &short], 32), None);
        assert_eq!(checksums_with_hole([&long[..]], usize::MAX), None);
        assert!(checksums_with_hole([&long[..], &short], 31).is_some());
    }

    #[test]
    fn hole_out_of_bounds_is_none() {
        assert_eq!(checksum_with_hole(&[0; 8], 5), None);
        assert_eq!(checksum_with_hole(&[0; 8], usize::MAX), None);
        assert!(checksum_with_hole(&[0; 8], 4).is_some());
    }
}
