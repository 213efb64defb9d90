//! The workload and the peers of `benches/codec.rs`.
//!
//! Every decoder here does the same work on the same bytes: frame length, magic, length
//! against the type, version, type, CRC-32C over the message with the checksum as zero (the
//! one CRC routine of `rltop_runtime`, so the comparison is of the decoders, not of CRC
//! code), and the enumeration values. Each returns the order id and price it read, so no
//! decoder can skip its work.

pub mod handwritten;
pub mod itch;
pub mod peers;
pub mod report;
pub mod seed_book;

use rltop::*;

/// One book or trade event: the plain values every encoder starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Add {
        seq: u64,
        id: u64,
        sym: u32,
        side: Side,
        price: i64,
        qty: u64,
    },
    Modify {
        seq: u64,
        id: u64,
        sym: u32,
        side: Side,
        old: i64,
        new: i64,
        qty: u64,
    },
    Delete {
        seq: u64,
        id: u64,
        sym: u32,
        side: Side,
        price: i64,
    },
    Execute {
        seq: u64,
        id: u64,
        sym: u32,
        side: Side,
        price: i64,
        qty: u64,
        trade: u64,
    },
    Trade {
        trade: u64,
        sym: u32,
        side: Side,
        price: i64,
        qty: u64,
        maker: u64,
        taker: u64,
    },
}

/// A realistic incremental-feed mix: 40 % adds, 10 % modifies, 34 % deletes, 8 %
/// executions, 8 % trades (cancels far outnumber trades, as on real venues). Deterministic.
pub fn events(n: usize) -> Vec<Event> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n as u64)
        .map(|i| {
            let r = next();
            let side = if r & 1 == 0 { Side::Buy } else { Side::Sell };
            let price = 5_000_000 + (r >> 8) as i64 % 2_000 - 1_000;
            let qty = 1 + (r >> 24) % 10_000;
            let (id, sym) = (r >> 16, (r % 16) as u32);
            match r % 100 {
                0..=39 => Event::Add {
                    seq: i,
                    id,
                    sym,
                    side,
                    price,
                    qty,
                },
                40..=49 => Event::Modify {
                    seq: i,
                    id,
                    sym,
                    side,
                    old: price,
                    new: price + 1,
                    qty,
                },
                50..=83 => Event::Delete {
                    seq: i,
                    id,
                    sym,
                    side,
                    price,
                },
                84..=91 => Event::Execute {
                    seq: i,
                    id,
                    sym,
                    side,
                    price,
                    qty,
                    trade: i,
                },
                _ => Event::Trade {
                    trade: i,
                    sym,
                    side,
                    price,
                    qty,
                    maker: id,
                    taker: id + 1,
                },
            }
        })
        .collect()
}

/// Encodes one event with the generated code, in place, into a 128-byte slot.
#[inline]
pub fn encode_generated(e: &Event, seq: u64, out: &mut [u8]) {
    use rltop_runtime::bytemuck::from_bytes_mut;
    match *e {
        Event::Add {
            seq: s,
            id,
            sym,
            side,
            price,
            qty,
        } => {
            let m: &mut AddOrder = from_bytes_mut(out);
            *m = AddOrder::new();
            m.set_order_book_seq(s);
            m.set_order_id(id);
            m.set_symbol_id(sym);
            m.set_side(side);
            m.set_price(price);
            m.set_quantity(qty);
            m.set_level_quantity(qty);
            m.set_level_order_count(1);
            m.encode(1, seq, seq);
        }
        Event::Modify {
            seq: s,
            id,
            sym,
            side,
            old,
            new,
            qty,
        } => {
            let m: &mut ModifyOrder = from_bytes_mut(out);
            *m = ModifyOrder::new();
            m.set_order_book_seq(s);
            m.set_order_id(id);
            m.set_symbol_id(sym);
            m.set_side(side);
            m.set_modify_type(ModifyType::PriceModify);
            m.set_old_price(old);
            m.set_new_price(new);
            m.set_new_quantity(qty);
            m.set_new_level_quantity(qty);
            m.set_new_level_order_count(1);
            m.encode(1, seq, seq);
        }
        Event::Delete {
            seq: s,
            id,
            sym,
            side,
            price,
        } => {
            let m: &mut DeleteOrder = from_bytes_mut(out);
            *m = DeleteOrder::new();
            m.set_order_book_seq(s);
            m.set_order_id(id);
            m.set_symbol_id(sym);
            m.set_side(side);
            m.set_delete_reason(DeleteReason::Canceled);
            m.set_price(price);
            m.encode(1, seq, seq);
        }
        Event::Execute {
            seq: s,
            id,
            sym,
            side,
            price,
            qty,
            trade,
        } => {
            let m: &mut ExecuteOrder = from_bytes_mut(out);
            *m = ExecuteOrder::new();
            m.set_order_book_seq(s);
            m.set_order_id(id);
            m.set_symbol_id(sym);
            m.set_side(side);
            m.set_price(price);
            m.set_executed_quantity(qty);
            m.set_trade_id(trade);
            m.encode(1, seq, seq);
        }
        Event::Trade {
            trade,
            sym,
            side,
            price,
            qty,
            maker,
            taker,
        } => {
            let m: &mut Trade = from_bytes_mut(out);
            *m = Trade::new();
            m.set_trade_id(trade);
            m.set_symbol_id(sym);
            m.set_taker_side(side);
            m.set_price(price);
            m.set_quantity(qty);
            m.set_maker_order_id(maker);
            m.set_taker_order_id(taker);
            m.encode(1, seq, seq);
        }
    }
}

/// The encoded stream of `events`, 128 bytes each.
pub fn encoded(events: &[Event]) -> Vec<u8> {
    let mut out = vec![0u8; events.len() * 128];
    for (i, (e, slot)) in events.iter().zip(out.chunks_exact_mut(128)).enumerate() {
        encode_generated(e, i as u64, slot);
    }
    out
}

/// What every decoder reports per message: (type, order or trade id, price).
pub type Digest = (u8, u64, i64);

#[inline]
fn digest(m: Message<'_>) -> Digest {
    match m {
        Message::AddOrder(m) => (0x78, m.order_id(), m.price()),
        Message::ModifyOrder(m) => (0x79, m.order_id(), m.new_price()),
        Message::DeleteOrder(m) => (0x7A, m.order_id(), m.price()),
        Message::ExecuteOrder(m) => (0x7B, m.order_id(), m.price()),
        Message::Trade(m) => (0x7C, m.trade_id(), m.price()),
        other => (other.type_code(), 0, 0),
    }
}

/// Decodes one message with the generated code.
#[inline]
pub fn decode_generated(buf: &[u8]) -> Result<Digest, DecodeError> {
    Message::decode(buf).map(digest)
}

/// Messages per datagram in the datagram rows: as many 128-byte messages as one UDP
/// payload of an Ethernet frame holds (1472 bytes).
pub const PER_DATAGRAM: usize = 1472 / 128;

/// The stream cut into datagrams of [`PER_DATAGRAM`] messages (the last one shorter).
pub fn datagrams(buf: &[u8]) -> std::slice::Chunks<'_, u8> {
    buf.chunks(PER_DATAGRAM * 128)
}

/// Decodes a whole datagram with the generated crate's datagram decoder (checksums
/// interleaved across messages), calling `each` with every message's digest.
#[inline]
pub fn decode_datagram_generated(datagram: &[u8], mut each: impl FnMut(Digest)) {
    for_each_message(datagram, |item| {
        if let Ok(m) = item {
            each(digest(m));
        }
    });
}

extern "C" {
    fn rltop_bench_c_decode(
        buf: *const u8,
        len: usize,
        ty: *mut u8,
        id: *mut u64,
        price: *mut i64,
    ) -> i32;
    fn rltop_bench_c_decode_datagram(buf: *const u8, len: usize) -> i64;
}

/// The generated C header's datagram iterator over a whole datagram (bench/c/decode.c): the
/// wrapping sum of `id ^ price` over its valid messages, as [`datagram_sum`] computes it.
pub fn decode_datagram_c(datagram: &[u8]) -> i64 {
    // SAFETY: the C function reads at most `datagram.len()` bytes from `datagram` (the
    // header's iterator never reads outside buf[0..len)) and writes nothing of ours.
    unsafe { rltop_bench_c_decode_datagram(datagram.as_ptr(), datagram.len()) }
}

/// What both datagram rows compute: the wrapping sum of `id ^ price` over the datagram's
/// valid messages, through the generated Rust datagram decoder.
#[inline]
pub fn datagram_sum(datagram: &[u8]) -> i64 {
    let mut acc = 0i64;
    decode_datagram_generated(datagram, |(_, id, price)| {
        acc = acc.wrapping_add(id as i64 ^ price);
    });
    acc
}

/// The C decoder refused the message (its error code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CRefused(pub i32);

/// The generated C header's decoder (bench/c/decode.c), on the same terms as
/// [`decode_generated`].
pub fn decode_c(buf: &[u8]) -> Result<Digest, CRefused> {
    let (mut ty, mut id, mut price) = (0u8, 0u64, 0i64);
    // SAFETY: the C function reads at most `buf.len()` bytes from `buf` (the header's
    // decoder never reads outside buf[0..len)) and writes the three out-parameters, which
    // are valid, aligned locals.
    let rc = unsafe { rltop_bench_c_decode(buf.as_ptr(), buf.len(), &mut ty, &mut id, &mut price) };
    if rc == 0 {
        Ok((ty, id, price))
    } else {
        Err(CRefused(rc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The four decoders agree on every message of the mix, and each refuses corruption.
    #[test]
    fn all_decoders_agree_and_check() {
        let evs = events(2000);
        let buf = encoded(&evs);
        for (i, m) in buf.chunks_exact(128).enumerate() {
            let want = decode_generated(m).unwrap();
            assert_eq!(
                handwritten::decode(m).map_err(|e| format!("{e:?}")),
                Ok(want),
                "message {i}"
            );
            assert_eq!(
                peers::binrw_decode(m).map_err(|e| e.to_string()),
                Ok(want),
                "message {i}"
            );
            assert_eq!(
                peers::deku_decode(m).map_err(|e| e.to_string()),
                Ok(want),
                "message {i}"
            );
            assert_eq!(decode_c(m), Ok(want), "C, message {i}");
        }
        let mut batched = Vec::new();
        for d in datagrams(&buf) {
            decode_datagram_generated(d, |digest| batched.push(digest));
        }
        let one_by_one: Vec<Digest> = buf
            .chunks_exact(128)
            .map(|m| decode_generated(m).unwrap())
            .collect();
        assert_eq!(batched, one_by_one, "the datagram decoder");
        for d in datagrams(&buf) {
            assert_eq!(
                decode_datagram_c(d),
                datagram_sum(d),
                "the C datagram iterator"
            );
            assert_ne!(datagram_sum(d), 0);
        }
        let kinds: std::collections::BTreeSet<u8> = buf.chunks_exact(128).map(|m| m[6]).collect();
        assert_eq!(kinds.len(), 5);
        for at in [0usize, 4, 7, 33, 60, 100] {
            let mut bad = buf[..128].to_vec();
            bad[at] ^= 0x40;
            assert!(decode_generated(&bad).is_err());
            assert!(
                handwritten::decode(&bad).is_err(),
                "handwritten missed byte {at}"
            );
            assert!(peers::binrw_decode(&bad).is_err(), "binrw missed byte {at}");
            assert!(peers::deku_decode(&bad).is_err(), "deku missed byte {at}");
            assert!(decode_c(&bad).is_err(), "C missed byte {at}");
        }
    }

    /// The four encoders produce identical bytes.
    #[test]
    fn all_encoders_agree() {
        let evs = events(500);
        let want = encoded(&evs);
        let mut out = vec![0u8; want.len()];
        for (i, (e, slot)) in evs.iter().zip(out.chunks_exact_mut(128)).enumerate() {
            handwritten::encode(e, i as u64, slot);
        }
        assert_eq!(out, want);
        for (i, (e, slot)) in evs.iter().zip(out.chunks_exact_mut(128)).enumerate() {
            peers::binrw_encode(e, i as u64, slot);
        }
        assert_eq!(out, want);
        for (i, (e, slot)) in evs.iter().zip(out.chunks_exact_mut(128)).enumerate() {
            peers::deku_encode(e, i as u64, slot);
        }
        assert_eq!(out, want);
    }
}
