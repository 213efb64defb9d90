//! Little-endian integers as stored on the wire (the idea of zerocopy's `U64<LE>`).
//!
//! A generated struct is the wire image of a message, so a multi-byte field holds its bytes
//! in little-endian order. Declaring such a field as a native `u64` would let
//! `msg.order_id == 42` compile and be wrong on a big-endian host; declaring it as
//! [`U64`] makes the byte order part of the type: the only ways in and out are
//! [`U64::new`] and [`U64::get`], which convert. Each type is a byte array, so its
//! alignment is 1 and a `#[repr(C)]` struct of them has no padding wherever they sit.
//!
//! One-byte integers have no byte order and stay `u8` / `i8`. The 24- and 48-bit types read
//! as the next native width and refuse a value they cannot hold ([`OutOfRange`]). The
//! big-endian twins are in [`be`](crate::be).

use crate::wire_int::{full_int, narrow_int};
pub use crate::wire_int::{OutOfRange, Wire};

full_int!(
    /// A `u16` in little-endian byte order.
    U16, u16, 2, to_le_bytes, from_le_bytes
);
full_int!(
    /// A `u32` in little-endian byte order.
    U32, u32, 4, to_le_bytes, from_le_bytes
);
full_int!(
    /// A `u64` in little-endian byte order.
    U64, u64, 8, to_le_bytes, from_le_bytes
);
full_int!(
    /// An `i16` in little-endian byte order.
    I16, i16, 2, to_le_bytes, from_le_bytes
);
full_int!(
    /// An `i32` in little-endian byte order.
    I32, i32, 4, to_le_bytes, from_le_bytes
);
full_int!(
    /// An `i64` in little-endian byte order.
    I64, i64, 8, to_le_bytes, from_le_bytes
);
narrow_int!(
    /// A 24-bit unsigned integer in little-endian byte order, read as a `u32`.
    U24, u32, u32, 3, big = false
);
narrow_int!(
    /// A 48-bit unsigned integer in little-endian byte order, read as a `u64`.
    U48, u64, u64, 6, big = false
);
narrow_int!(
    /// A 24-bit signed integer in little-endian byte order, read as an `i32`.
    I24, i32, u32, 3, big = false
);
narrow_int!(
    /// A 48-bit signed integer in little-endian byte order, read as an `i64`.
    I48, i64, u64, 6, big = false
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_are_little_endian_whatever_the_host() {
        assert_eq!(U32::new(0x0102_0304).to_bytes(), [4, 3, 2, 1]);
        assert_eq!(I16::new(-2).to_bytes(), [0xFE, 0xFF]);
        assert_eq!(
            U64::from_bytes([1, 0, 0, 0, 0, 0, 0, 0x80]).get(),
            0x8000_0000_0000_0001
        );
        assert_eq!(bytemuck::bytes_of(&I64::new(-1)), &[0xFF; 8]);
    }

    #[test]
    fn alignment_is_one_so_structs_of_them_have_no_padding() {
        assert_eq!(core::mem::align_of::<U64>(), 1);
        #[repr(C)]
        struct Mixed {
            _a: u8,
            _b: U64,
            _c: U16,
            _d: U48,
            _e: I24,
        }
        assert_eq!(core::mem::size_of::<Mixed>(), 20);
    }

    #[test]
    fn set_and_debug_speak_the_value() {
        let mut v = U16::ZERO;
        v.set(513);
        assert_eq!(v.to_bytes(), [1, 2]);
        assert_eq!(format!("{v:?} {v}"), "513 513");
        assert_eq!(u16::from(v), 513);
    }

    #[test]
    fn odd_widths_put_the_least_significant_byte_first() {
        assert_eq!(U24::new(0x01_0203).unwrap().to_bytes(), [3, 2, 1]);
        assert_eq!(
            U48::new(0x0102_0304_0506).unwrap().to_bytes(),
            [6, 5, 4, 3, 2, 1]
        );
        assert_eq!(U48::from_bytes([6, 5, 4, 3, 2, 1]).get(), 0x0102_0304_0506);
        assert_eq!(I24::from_bytes([0xFE, 0xFF, 0xFF]).get(), -2);
        assert_eq!(
            I48::new(-2).unwrap().to_bytes(),
            [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(I24::from_bytes([0xFF, 0xFF, 0x7F]).get(), 0x7F_FFFF);
        assert_eq!(I24::from_bytes([0, 0, 0x80]).get(), -0x80_0000);
    }
}
