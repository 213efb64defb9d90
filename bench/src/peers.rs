//! The same five layouts declared with binrw and with deku, decoding into owned structs as
//! those libraries do, then doing the same checks as the generated decoder.

use std::io::Cursor;

use binrw::{binrw, BinRead, BinWrite};
use deku::prelude::*;
use rltop_runtime::crc::checksum_with_hole;

use crate::{Digest, Event};

const MAGIC: u32 = 0x524C_544F;

fn check_crc(buf: &[u8], found: u32) -> Result<(), String> {
    if checksum_with_hole(buf, 32) == Some(found) {
        Ok(())
    } else {
        Err("bad checksum".into())
    }
}

fn side_u8(s: rltop::Side) -> u8 {
    s as u8
}

// ---------------------------------------------------------------- binrw

#[binrw]
#[brw(little)]
#[derive(Debug, Clone, Default)]
pub struct BHeader {
    pub magic: u32,
    pub length: u16,
    pub msg_type: u8,
    pub version: u8,
    pub session_id: u64,
    pub seq_num: u64,
    pub timestamp: u64,
    pub checksum: u32,
    pub reserved: [u8; 4],
}

#[binrw]
#[brw(repr = u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BSide {
    Buy = 1,
    Sell = 2,
}

#[binrw]
#[brw(repr = u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BModify {
    Price = 1,
    Decrease = 2,
    Increase = 3,
}

#[binrw]
#[brw(repr = u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BReason {
    Canceled = 1,
    Expired = 2,
    Filled = 3,
    Rejected = 4,
}

#[binrw]
#[brw(little)]
#[derive(Debug, Clone)]
pub struct BAdd {
    pub order_book_seq: u64,
    pub order_id: u64,
    pub symbol_id: u32,
    pub side: BSide,
    pub flags: u8,
    pub r1: [u8; 2],
    pub price: i64,
    pub quantity: u64,
    pub level_quantity: u64,
    pub level_order_count: u32,
    pub r2: [u8; 36],
}

#[binrw]
#[brw(little)]
#[derive(Debug, Clone)]
pub struct BModifyOrder {
    pub order_book_seq: u64,
    pub order_id: u64,
    pub symbol_id: u32,
    pub side: BSide,
    pub modify_type: BModify,
    pub r1: [u8; 2],
    pub old_price: i64,
    pub new_price: i64,
    pub new_quantity: u64,
    pub old_level_quantity: u64,
    pub new_level_quantity: u64,
    pub old_level_order_count: u32,
    pub new_level_order_count: u32,
    pub r2: [u8; 16],
}

#[binrw]
#[brw(little)]
#[derive(Debug, Clone)]
pub struct BDelete {
    pub order_book_seq: u64,
    pub order_id: u64,
    pub symbol_id: u32,
    pub side: BSide,
    pub reason: BReason,
    pub r1: [u8; 2],
    pub price: i64,
    pub level_quantity: u64,
    pub level_order_count: u32,
    pub r2: [u8; 44],
}

#[binrw]
#[brw(little)]
#[derive(Debug, Clone)]
pub struct BExecute {
    pub order_book_seq: u64,
    pub order_id: u64,
    pub symbol_id: u32,
    pub side: BSide,
    pub r1: [u8; 3],
    pub price: i64,
    pub executed_quantity: u64,
    pub remaining_quantity: u64,
    pub trade_id: u64,
    pub level_quantity: u64,
    pub level_order_count: u32,
    pub r2: [u8; 20],
}

#[binrw]
#[brw(little)]
#[derive(Debug, Clone)]
pub struct BTrade {
    pub trade_id: u64,
    pub symbol_id: u32,
    pub taker_side: BSide,
    pub r1: [u8; 3],
    pub price: i64,
    pub quantity: u64,
    pub maker_order_id: u64,
    pub taker_order_id: u64,
    pub r2: [u8; 40],
}

pub fn binrw_decode(buf: &[u8]) -> Result<Digest, String> {
    let mut c = Cursor::new(buf);
    let h = BHeader::read(&mut c).map_err(|e| e.to_string())?;
    if h.magic != MAGIC {
        return Err("bad magic".into());
    }
    if !(0x78..=0x7C).contains(&h.msg_type) {
        return Err("unknown type".into());
    }
    if h.length != 128 || buf.len() < 128 {
        return Err("bad length".into());
    }
    if h.version < 1 {
        return Err("unsupported version".into());
    }
    check_crc(&buf[..128], h.checksum)?;
    let e = |e: binrw::Error| e.to_string();
    Ok(match h.msg_type {
        0x78 => BAdd::read(&mut c)
            .map(|m| (0x78, m.order_id, m.price))
            .map_err(e)?,
        0x79 => BModifyOrder::read(&mut c)
            .map(|m| (0x79, m.order_id, m.new_price))
            .map_err(e)?,
        0x7A => BDelete::read(&mut c)
            .map(|m| (0x7A, m.order_id, m.price))
            .map_err(e)?,
        0x7B => BExecute::read(&mut c)
            .map(|m| (0x7B, m.order_id, m.price))
            .map_err(e)?,
        _ => BTrade::read(&mut c)
            .map(|m| (0x7C, m.trade_id, m.price))
            .map_err(e)?,
    })
}

fn bside(s: rltop::Side) -> BSide {
    if side_u8(s) == 1 {
        BSide::Buy
    } else {
        BSide::Sell
    }
}

pub fn binrw_encode(ev: &Event, seq: u64, out: &mut [u8]) {
    let mut c = Cursor::new(&mut out[..]);
    let ty = match *ev {
        Event::Add {
            seq: s,
            id,
            sym,
            side,
            price,
            qty,
        } => {
            c.set_position(40);
            let m = BAdd {
                order_book_seq: s,
                order_id: id,
                symbol_id: sym,
                side: bside(side),
                flags: 0,
                r1: [0; 2],
                price,
                quantity: qty,
                level_quantity: qty,
                level_order_count: 1,
                r2: [0; 36],
            };
            m.write(&mut c).expect("fits");
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
            c.set_position(40);
            let m = BModifyOrder {
                order_book_seq: s,
                order_id: id,
                symbol_id: sym,
                side: bside(side),
                modify_type: BModify::Price,
                r1: [0; 2],
                old_price: old,
                new_price: new,
                new_quantity: qty,
                old_level_quantity: 0,
                new_level_quantity: qty,
                old_level_order_count: 0,
                new_level_order_count: 1,
                r2: [0; 16],
            };
            m.write(&mut c).expect("fits");
            0x79
        }
        Event::Delete {
            seq: s,
            id,
            sym,
            side,
            price,
        } => {
            c.set_position(40);
            let m = BDelete {
                order_book_seq: s,
                order_id: id,
                symbol_id: sym,
                side: bside(side),
                reason: BReason::Canceled,
                r1: [0; 2],
                price,
                level_quantity: 0,
                level_order_count: 0,
                r2: [0; 44],
            };
            m.write(&mut c).expect("fits");
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
            c.set_position(40);
            let m = BExecute {
                order_book_seq: s,
                order_id: id,
                symbol_id: sym,
                side: bside(side),
                r1: [0; 3],
                price,
                executed_quantity: qty,
                remaining_quantity: 0,
                trade_id: trade,
                level_quantity: 0,
                level_order_count: 0,
                r2: [0; 20],
            };
            m.write(&mut c).expect("fits");
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
            c.set_position(40);
            let m = BTrade {
                trade_id: trade,
                symbol_id: sym,
                taker_side: bside(side),
                r1: [0; 3],
                price,
                quantity: qty,
                maker_order_id: maker,
                taker_order_id: taker,
                r2: [0; 40],
            };
            m.write(&mut c).expect("fits");
            0x7C
        }
    };
    c.set_position(0);
    let h = BHeader {
        magic: MAGIC,
        length: 128,
        msg_type: ty,
        version: 1,
        session_id: 1,
        seq_num: seq,
        timestamp: seq,
        checksum: 0,
        reserved: [0; 4],
    };
    h.write(&mut c).expect("fits");
    rltop_runtime::seal(out, &rltop::PROTOCOL);
}

// ---------------------------------------------------------------- deku

#[derive(Debug, Clone, DekuRead, DekuWrite)]
#[deku(endian = "little")]
pub struct DHeader {
    pub magic: u32,
    pub length: u16,
    pub msg_type: u8,
    pub version: u8,
    pub session_id: u64,
    pub seq_num: u64,
    pub timestamp: u64,
    pub checksum: u32,
    pub reserved: [u8; 4],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, DekuRead, DekuWrite)]
#[deku(id_type = "u8", endian = "endian", ctx = "endian: deku::ctx::Endian")]
pub enum DSide {
    #[deku(id = 1)]
    Buy,
    #[deku(id = 2)]
    Sell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, DekuRead, DekuWrite)]
#[deku(id_type = "u8", endian = "endian", ctx = "endian: deku::ctx::Endian")]
pub enum DModify {
    #[deku(id = 1)]
    Price,
    #[deku(id = 2)]
    Decrease,
    #[deku(id = 3)]
    Increase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, DekuRead, DekuWrite)]
#[deku(id_type = "u8", endian = "endian", ctx = "endian: deku::ctx::Endian")]
pub enum DReason {
    #[deku(id = 1)]
    Canceled,
    #[deku(id = 2)]
    Expired,
    #[deku(id = 3)]
    Filled,
    #[deku(id = 4)]
    Rejected,
}

#[derive(Debug, Clone, DekuRead, DekuWrite)]
#[deku(endian = "little")]
pub struct DAdd {
    pub order_book_seq: u64,
    pub order_id: u64,
    pub symbol_id: u32,
    pub side: DSide,
    pub flags: u8,
    pub r1: [u8; 2],
    pub price: i64,
    pub quantity: u64,
    pub level_quantity: u64,
    pub level_order_count: u32,
    pub r2: [u8; 36],
}

#[derive(Debug, Clone, DekuRead, DekuWrite)]
#[deku(endian = "little")]
pub struct DModifyOrder {
    pub order_book_seq: u64,
    pub order_id: u64,
    pub symbol_id: u32,
    pub side: DSide,
    pub modify_type: DModify,
    pub r1: [u8; 2],
    pub old_price: i64,
    pub new_price: i64,
    pub new_quantity: u64,
    pub old_level_quantity: u64,
    pub new_level_quantity: u64,
    pub old_level_order_count: u32,
    pub new_level_order_count: u32,
    pub r2: [u8; 16],
}

#[derive(Debug, Clone, DekuRead, DekuWrite)]
#[deku(endian = "little")]
pub struct DDelete {
    pub order_book_seq: u64,
    pub order_id: u64,
    pub symbol_id: u32,
    pub side: DSide,
    pub reason: DReason,
    pub r1: [u8; 2],
    pub price: i64,
    pub level_quantity: u64,
    pub level_order_count: u32,
    pub r2: [u8; 44],
}

#[derive(Debug, Clone, DekuRead, DekuWrite)]
#[deku(endian = "little")]
pub struct DExecute {
    pub order_book_seq: u64,
    pub order_id: u64,
    pub symbol_id: u32,
    pub side: DSide,
    pub r1: [u8; 3],
    pub price: i64,
    pub executed_quantity: u64,
    pub remaining_quantity: u64,
    pub trade_id: u64,
    pub level_quantity: u64,
    pub level_order_count: u32,
    pub r2: [u8; 20],
}

#[derive(Debug, Clone, DekuRead, DekuWrite)]
#[deku(endian = "little")]
pub struct DTrade {
    pub trade_id: u64,
    pub symbol_id: u32,
    pub taker_side: DSide,
    pub r1: [u8; 3],
    pub price: i64,
    pub quantity: u64,
    pub maker_order_id: u64,
    pub taker_order_id: u64,
    pub r2: [u8; 40],
}

pub fn deku_decode(buf: &[u8]) -> Result<Digest, String> {
    let (_, h) = DHeader::from_bytes((buf, 0)).map_err(|e| e.to_string())?;
    if h.magic != MAGIC {
        return Err("bad magic".into());
    }
    if !(0x78..=0x7C).contains(&h.msg_type) {
        return Err("unknown type".into());
    }
    if h.length != 128 || buf.len() < 128 {
        return Err("bad length".into());
    }
    if h.version < 1 {
        return Err("unsupported version".into());
    }
    check_crc(&buf[..128], h.checksum)?;
    let e = |e: DekuError| e.to_string();
    Ok(match h.msg_type {
        0x78 => DAdd::from_bytes((&buf[40..128], 0))
            .map(|(_, m)| (0x78, m.order_id, m.price))
            .map_err(e)?,
        0x79 => DModifyOrder::from_bytes((&buf[40..128], 0))
            .map(|(_, m)| (0x79, m.order_id, m.new_price))
            .map_err(e)?,
        0x7A => DDelete::from_bytes((&buf[40..128], 0))
            .map(|(_, m)| (0x7A, m.order_id, m.price))
            .map_err(e)?,
        0x7B => DExecute::from_bytes((&buf[40..128], 0))
            .map(|(_, m)| (0x7B, m.order_id, m.price))
            .map_err(e)?,
        _ => DTrade::from_bytes((&buf[40..128], 0))
            .map(|(_, m)| (0x7C, m.trade_id, m.price))
            .map_err(e)?,
    })
}

fn dside(s: rltop::Side) -> DSide {
    if side_u8(s) == 1 {
        DSide::Buy
    } else {
        DSide::Sell
    }
}

pub fn deku_encode(ev: &Event, seq: u64, out: &mut [u8]) {
    let header = |ty| DHeader {
        magic: MAGIC,
        length: 128,
        msg_type: ty,
        version: 1,
        session_id: 1,
        seq_num: seq,
        timestamp: seq,
        checksum: 0,
        reserved: [0; 4],
    };
    let (ty, body) = match *ev {
        Event::Add {
            seq: s,
            id,
            sym,
            side,
            price,
            qty,
        } => (
            0x78,
            DAdd {
                order_book_seq: s,
                order_id: id,
                symbol_id: sym,
                side: dside(side),
                flags: 0,
                r1: [0; 2],
                price,
                quantity: qty,
                level_quantity: qty,
                level_order_count: 1,
                r2: [0; 36],
            }
            .to_bytes(),
        ),
        Event::Modify {
            seq: s,
            id,
            sym,
            side,
            old,
            new,
            qty,
        } => (
            0x79,
            DModifyOrder {
                order_book_seq: s,
                order_id: id,
                symbol_id: sym,
                side: dside(side),
                modify_type: DModify::Price,
                r1: [0; 2],
                old_price: old,
                new_price: new,
                new_quantity: qty,
                old_level_quantity: 0,
                new_level_quantity: qty,
                old_level_order_count: 0,
                new_level_order_count: 1,
                r2: [0; 16],
            }
            .to_bytes(),
        ),
        Event::Delete {
            seq: s,
            id,
            sym,
            side,
            price,
        } => (
            0x7A,
            DDelete {
                order_book_seq: s,
                order_id: id,
                symbol_id: sym,
                side: dside(side),
                reason: DReason::Canceled,
                r1: [0; 2],
                price,
                level_quantity: 0,
                level_order_count: 0,
                r2: [0; 44],
            }
            .to_bytes(),
        ),
        Event::Execute {
            seq: s,
            id,
            sym,
            side,
            price,
            qty,
            trade,
        } => (
            0x7B,
            DExecute {
                order_book_seq: s,
                order_id: id,
                symbol_id: sym,
                side: dside(side),
                r1: [0; 3],
                price,
                executed_quantity: qty,
                remaining_quantity: 0,
                trade_id: trade,
                level_quantity: 0,
                level_order_count: 0,
                r2: [0; 20],
            }
            .to_bytes(),
        ),
        Event::Trade {
            trade,
            sym,
            side,
            price,
            qty,
            maker,
            taker,
        } => (
            0x7C,
            DTrade {
                trade_id: trade,
                symbol_id: sym,
                taker_side: dside(side),
                r1: [0; 3],
                price,
                quantity: qty,
                maker_order_id: maker,
                taker_order_id: taker,
                r2: [0; 40],
            }
            .to_bytes(),
        ),
    };
    out[..40].copy_from_slice(&header(ty).to_bytes().expect("fixed layout always encodes"));
    out[40..].copy_from_slice(&body.expect("fixed layout always encodes"));
    rltop_runtime::seal(out, &rltop::PROTOCOL);
}
