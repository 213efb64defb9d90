//! The decoder an engineer would write by hand for these five layouts: fixed offsets,
//! `from_le_bytes`, no generated code. The "1.2×" target is measured against this.

use crate::{Digest, Event};
use rltop_runtime::crc::checksum_with_hole;

#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    Truncated,
    BadMagic,
    BadLength,
    UnknownType,
    UnsupportedVersion,
    BadChecksum,
    BadEnum(usize),
}

#[inline(always)]
fn u64_at(b: &[u8; 128], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

#[inline]
pub fn decode(buf: &[u8]) -> Result<Digest, Error> {
    if buf.len() < 40 {
        return Err(Error::Truncated);
    }
    if buf[..4] != [0x4F, 0x54, 0x4C, 0x52] {
        return Err(Error::BadMagic);
    }
    let ty = buf[6];
    if !(0x78..=0x7C).contains(&ty) {
        return Err(Error::UnknownType);
    }
    if u16::from_le_bytes([buf[4], buf[5]]) != 128 {
        return Err(Error::BadLength);
    }
    let b: &[u8; 128] = buf
        .get(..128)
        .and_then(|s| s.try_into().ok())
        .ok_or(Error::Truncated)?;
    if b[7] < 1 {
        return Err(Error::UnsupportedVersion);
    }
    let crc = u32::from_le_bytes([b[32], b[33], b[34], b[35]]);
    if checksum_with_hole(b, 32) != Some(crc) {
        return Err(Error::BadChecksum);
    }
    let side_ok = |at: usize| {
        if matches!(b[at], 1 | 2) {
            Ok(())
        } else {
            Err(Error::BadEnum(at))
        }
    };
    Ok(match ty {
        0x78 => {
            side_ok(60)?;
            (ty, u64_at(b, 48), u64_at(b, 64) as i64)
        }
        0x79 => {
            side_ok(60)?;
            if !matches!(b[61], 1..=3) {
                return Err(Error::BadEnum(61));
            }
            (ty, u64_at(b, 48), u64_at(b, 72) as i64)
        }
        0x7A => {
            side_ok(60)?;
            if !matches!(b[61], 1..=4) {
                return Err(Error::BadEnum(61));
            }
            (ty, u64_at(b, 48), u64_at(b, 64) as i64)
        }
        0x7B => {
            side_ok(60)?;
            (ty, u64_at(b, 48), u64_at(b, 64) as i64)
        }
        _ => {
            side_ok(52)?;
            (ty, u64_at(b, 40), u64_at(b, 56) as i64)
        }
    })
}

#[inline]
pub fn encode(e: &Event, seq: u64, out: &mut [u8]) {
    out.fill(0);
    let mut put = |at: usize, v: &[u8]| out[at..at + v.len()].copy_from_slice(v);
    let ty = match *e {
        Event::Add {
            seq: s,
            id,
            sym,
            side,
            price,
            qty,
        } => {
            put(40, &s.to_le_bytes());
            put(48, &id.to_le_bytes());
            put(56, &sym.to_le_bytes());
            put(60, &[side as u8]);
            put(64, &price.to_le_bytes());
            put(72, &qty.to_le_bytes());
            put(80, &qty.to_le_bytes());
            put(88, &1u32.to_le_bytes());
            0x78
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
            put(40, &s.to_le_bytes());
            put(48, &id.to_le_bytes());
            put(56, &sym.to_le_bytes());
            put(60, &[side as u8, 1]);
            put(64, &old.to_le_bytes());
            put(72, &new.to_le_bytes());
            put(80, &qty.to_le_bytes());
            put(96, &qty.to_le_bytes());
            put(108, &1u32.to_le_bytes());
            0x79
        }
        Event::Delete {
            seq: s,
            id,
            sym,
            side,
            price,
        } => {
            put(40, &s.to_le_bytes());
            put(48, &id.to_le_bytes());
            put(56, &sym.to_le_bytes());
            put(60, &[side as u8, 1]);
            put(64, &price.to_le_bytes());
            0x7A
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
            put(40, &s.to_le_bytes());
            put(48, &id.to_le_bytes());
            put(56, &sym.to_le_bytes());
            put(60, &[side as u8]);
            put(64, &price.to_le_bytes());
            put(72, &qty.to_le_bytes());
            put(88, &trade.to_le_bytes());
            0x7B
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
            put(40, &trade.to_le_bytes());
            put(48, &sym.to_le_bytes());
            put(52, &[side as u8]);
            put(56, &price.to_le_bytes());
            put(64, &qty.to_le_bytes());
            put(72, &maker.to_le_bytes());
            put(80, &taker.to_le_bytes());
            0x7C
        }
    };
    put(0, &0x524C_544Fu32.to_le_bytes());
    put(4, &128u16.to_le_bytes());
    put(6, &[ty, 1]);
    put(8, &1u64.to_le_bytes());
    put(16, &seq.to_le_bytes());
    put(24, &seq.to_le_bytes());
    rltop_runtime::seal(out, &rltop::PROTOCOL);
}
