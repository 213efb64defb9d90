//! Big-endian integers as stored on the wire: the twins of [`le`](crate::le)'s types, for
//! protocols in network byte order (NASDAQ ITCH and OUCH, MoldUDP64, SoupBinTCP, most venue
//! feeds). Same API, same guarantees: a byte array of alignment 1 whose only ways in and out
//! convert, so `be::U32` and `le::U32` cannot be mixed up or read without converting.

use crate::wire_int::{full_int, narrow_int};
pub use crate::wire_int::{OutOfRange, Wire};

full_int!(
    /// A `u16` in big-endian byte order.
    U16, u16, 2, to_be_bytes, from_be_bytes
);
full_int!(
    /// A `u32` in big-endian byte order.
    U32, u32, 4, to_be_bytes, from_be_bytes
);
full_int!(
    /// A `u64` in big-endian byte order.
    U64, u64, 8, to_be_bytes, from_be_bytes
);
full_int!(
    /// An `i16` in big-endian byte order.
    I16, i16, 2, to_be_bytes, from_be_bytes
);
full_int!(
    /// An `i32` in big-endian byte order.
    I32, i32, 4, to_be_bytes, from_be_bytes
);
full_int!(
    /// An `i64` in big-endian byte order.
    I64, i64, 8, to_be_bytes, from_be_bytes
);
narrow_int!(
    /// A 24-bit unsigned integer in big-endian byte order, read as a `u32`.
    U24, u32, u32, 3, big = true
);
narrow_int!(
    /// A 48-bit unsigned integer in big-endian byte order, read as a `u64` (ITCH's
    /// nanoseconds-since-midnight timestamp).
    U48, u64, u64, 6, big = true
);
narrow_int!(
    /// A 24-bit signed integer in big-endian byte order, read as an `i32`.
    I24, i32, u32, 3, big = true
);
narrow_int!(
    /// A 48-bit signed integer in big-endian byte order, read as an `i64`.
    I48, i64, u64, 6, big = true
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_are_big_endian_whatever_the_host() {
        assert_eq!(U32::new(0x0102_0304).to_bytes(), [1, 2, 3, 4]);
        assert_eq!(I16::new(-2).to_bytes(), [0xFF, 0xFE]);
        assert_eq!(
            U64::from_bytes([0x80, 0, 0, 0, 0, 0, 0, 1]).get(),
            0x8000_0000_0000_0001
        );
        assert_eq!(u16::from(U16::from_bytes([1, 2])), 0x0102);
    }

    #[test]
    fn odd_widths_put_the_most_significant_byte_first() {
        assert_eq!(U24::new(0x01_0203).unwrap().to_bytes(), [1, 2, 3]);
        // An ITCH timestamp: 09:30:00.000000001 is 34 200 000 000 001 ns after midnight.
        let t = 34_200_000_000_001u64;
        assert_eq!(
            U48::new(t).unwrap().to_bytes(),
            [0x1F, 0x1A, 0xCE, 0xD9, 0xF0, 0x01]
        );
        assert_eq!(
            U48::from_bytes([0x1F, 0x1A, 0xCE, 0xD9, 0xF0, 0x01]).get(),
            t
        );
        assert_eq!(
            I48::from_bytes([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE]).get(),
            -2
        );
        assert_eq!(I24::new(-0x80_0000).unwrap().to_bytes(), [0x80, 0, 0]);
    }

    #[test]
    fn odd_widths_refuse_what_they_cannot_hold() {
        assert_eq!(U48::MAX, (1 << 48) - 1);
        assert!(U48::new(1 << 48).is_err());
        assert_eq!((I24::MIN, I24::MAX), (-(1 << 23), (1 << 23) - 1));
        let e = I24::new(1 << 23).unwrap_err();
        assert_eq!(
            e.to_string(),
            "8388608 does not fit a 24-bit signed integer (-8388608 to 8388607)"
        );
        let mut v = U24::new(7).unwrap();
        assert!(v.set(u32::MAX).is_err());
        assert_eq!(v.get(), 7, "a refused value leaves the field as it was");
        assert!(U24::try_from(0xFF_FFFFu32).is_ok());
    }

    #[test]
    fn every_value_round_trips_at_the_edges() {
        for v in [0u64, 1, 0xFF, 0x100, (1 << 47) - 1, 1 << 47, (1 << 48) - 1] {
            assert_eq!(U48::new(v).unwrap().get(), v);
        }
        for v in [I48::MIN, -1, 0, 1, I48::MAX] {
            assert_eq!(I48::new(v).unwrap().get(), v);
        }
        for v in [I24::MIN, -1, 0, 1, I24::MAX] {
            assert_eq!(I24::new(v).unwrap().get(), v);
        }
    }
}
