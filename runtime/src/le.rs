//! Little-endian integers as stored on the wire (the idea of zerocopy's `U64<LE>`).
//!
//! A generated struct is the wire image of a message, so a multi-byte field holds its bytes
//! in little-endian order. Declaring such a field as a native `u64` would let
//! `msg.order_id == 42` compile and be wrong on a big-endian host; declaring it as
//! [`U64`] makes the byte order part of the type: the only ways in and out are
//! [`U64::new`] and [`U64::get`], which convert. Each type is a byte array, so its
//! alignment is 1 and a `#[repr(C)]` struct of them has no padding wherever they sit.
//!
//! One-byte integers have no byte order and stay `u8` / `i8`.

use core::fmt;

macro_rules! le_int {
    ($(#[$doc:meta])* $name:ident, $native:ty, $bytes:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, bytemuck::Pod, bytemuck::Zeroable)]
        #[repr(transparent)]
        pub struct $name([u8; $bytes]);

        impl $name {
            /// Zero.
            pub const ZERO: Self = Self([0; $bytes]);

            /// The wire form of `value`.
            #[inline(always)]
            pub const fn new(value: $native) -> Self {
                Self(value.to_le_bytes())
            }

            /// The value these wire bytes hold.
            #[inline(always)]
            pub const fn get(self) -> $native {
                <$native>::from_le_bytes(self.0)
            }

            /// Stores `value` in wire form.
            #[inline(always)]
            pub fn set(&mut self, value: $native) {
                *self = Self::new(value);
            }

            /// The bytes as they are on the wire.
            #[inline(always)]
            pub const fn to_bytes(self) -> [u8; $bytes] {
                self.0
            }

            /// Wire bytes, as received.
            #[inline(always)]
            pub const fn from_bytes(bytes: [u8; $bytes]) -> Self {
                Self(bytes)
            }
        }

        impl From<$native> for $name {
            #[inline(always)]
            fn from(value: $native) -> Self {
                Self::new(value)
            }
        }

        impl From<$name> for $native {
            #[inline(always)]
            fn from(value: $name) -> Self {
                value.get()
            }
        }

        impl Wire for $name {
            type Native = $native;

            #[inline(always)]
            fn to_native(self) -> $native {
                self.get()
            }

            #[inline(always)]
            fn from_native(value: $native) -> Self {
                Self::new(value)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.get(), f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.get(), f)
            }
        }
    };
}

/// How any integer field is stored: a wide one as its little-endian type, a one-byte one as
/// itself. Lets one accessor (the [`record!`](crate::record) macro's) read and write both.
pub trait Wire: Copy {
    /// The integer the field holds.
    type Native;
    /// The value stored.
    fn to_native(self) -> Self::Native;
    /// The stored form of `value`.
    fn from_native(value: Self::Native) -> Self;
}

macro_rules! one_byte {
    ($($native:ty),*) => {$(
        impl Wire for $native {
            type Native = $native;

            #[inline(always)]
            fn to_native(self) -> $native {
                self
            }

            #[inline(always)]
            fn from_native(value: $native) -> Self {
                value
            }
        }
    )*};
}

one_byte!(u8, i8);

le_int!(
    /// A `u16` in little-endian byte order.
    U16, u16, 2
);
le_int!(
    /// A `u32` in little-endian byte order.
    U32, u32, 4
);
le_int!(
    /// A `u64` in little-endian byte order.
    U64, u64, 8
);
le_int!(
    /// An `i16` in little-endian byte order.
    I16, i16, 2
);
le_int!(
    /// An `i32` in little-endian byte order.
    I32, i32, 4
);
le_int!(
    /// An `i64` in little-endian byte order.
    I64, i64, 8
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
        }
        assert_eq!(core::mem::size_of::<Mixed>(), 11);
    }

    #[test]
    fn set_and_debug_speak_the_value() {
        let mut v = U16::ZERO;
        v.set(513);
        assert_eq!(v.to_bytes(), [1, 2]);
        assert_eq!(format!("{v:?} {v}"), "513 513");
        assert_eq!(u16::from(v), 513);
    }
}
