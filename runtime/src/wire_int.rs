//! The macros behind [`le`](crate::le) and [`be`](crate::be): one definition of a stored
//! integer, instantiated per byte order and width, so the two orders cannot drift apart.
//!
//! A stored integer is a byte array (alignment 1, no padding wherever it sits) whose only
//! ways in and out convert: the byte order is part of the type. Full widths (16, 32, 64
//! bits) take any value of their native type. The odd widths (24 and 48 bits) read as the
//! next native width (`u32`, `u64`, `i32`, `i64`) and refuse, on the way in, a value the
//! bytes cannot hold ([`OutOfRange`]): nothing is truncated silently.

use core::fmt;

/// A value too wide for the field it was written to (a 24- or 48-bit integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange {
    /// The field's width in bits.
    pub bits: u32,
    /// Whether the field is signed.
    pub signed: bool,
    /// The value refused.
    pub value: i128,
}

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (min, max) = if self.signed {
            (-(1i128 << (self.bits - 1)), (1i128 << (self.bits - 1)) - 1)
        } else {
            (0, (1i128 << self.bits) - 1)
        };
        write!(
            f,
            "{} does not fit a {}-bit {} integer ({min} to {max})",
            self.value,
            self.bits,
            if self.signed { "signed" } else { "unsigned" }
        )
    }
}

impl core::error::Error for OutOfRange {}

/// How any integer field is stored: a wide one as its byte-ordered type, a one-byte one as
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

/// The parts every stored integer has, whatever its width: the byte array, `ZERO`, the
/// bytes in and out, `Debug` and `Display` as the value.
macro_rules! stored_common {
    ($(#[$doc:meta])* $name:ident, $native:ty, $bytes:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, bytemuck::Pod, bytemuck::Zeroable)]
        #[repr(transparent)]
        pub struct $name([u8; $bytes]);

        impl $name {
            /// Zero.
            pub const ZERO: Self = Self([0; $bytes]);

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

        impl From<$name> for $native {
            #[inline(always)]
            fn from(value: $name) -> Self {
                value.get()
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Debug::fmt(&self.get(), f)
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Display::fmt(&self.get(), f)
            }
        }
    };
}
pub(crate) use stored_common;

/// A full-width integer (16, 32 or 64 bits) in the byte order `$to`/`$from` name
/// (`to_le_bytes`/`from_le_bytes` or the `be` pair): every native value fits.
macro_rules! full_int {
    ($(#[$doc:meta])* $name:ident, $native:ty, $bytes:literal, $to:ident, $from:ident) => {
        $crate::wire_int::stored_common!($(#[$doc])* $name, $native, $bytes);

        impl $name {
            /// The wire form of `value`.
            #[inline(always)]
            pub const fn new(value: $native) -> Self {
                Self(value.$to())
            }

            /// The value these wire bytes hold.
            #[inline(always)]
            pub const fn get(self) -> $native {
                <$native>::$from(self.0)
            }

            /// Stores `value` in wire form.
            #[inline(always)]
            pub fn set(&mut self, value: $native) {
                *self = Self::new(value);
            }
        }

        impl From<$native> for $name {
            #[inline(always)]
            fn from(value: $native) -> Self {
                Self::new(value)
            }
        }

        impl $crate::wire_int::Wire for $name {
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
    };
}
pub(crate) use full_int;

/// An odd-width integer (24 or 48 bits) read as the next native width: `$unsigned` is the
/// native unsigned type of that width, `$big` whether the most significant byte comes
/// first. The value sits in the low `$bytes` bytes of the native one; a signed value is
/// sign-extended from its top bit.
macro_rules! narrow_int {
    ($(#[$doc:meta])* $name:ident, $native:ty, $unsigned:ty, $bytes:literal, big = $big:literal) => {
        $crate::wire_int::stored_common!($(#[$doc])* $name, $native, $bytes);

        impl $name {
            const BITS: u32 = $bytes * 8;
            const SHIFT: u32 = <$unsigned>::BITS - Self::BITS;
            /// The smallest value the field holds.
            pub const MIN: $native = if <$native>::MIN == 0 {
                0
            } else {
                <$native>::MIN >> Self::SHIFT
            };
            /// The largest value the field holds.
            pub const MAX: $native = <$native>::MAX >> Self::SHIFT;

            /// The wire form of `value`, or why it does not fit.
            #[inline(always)]
            pub const fn new(value: $native) -> Result<Self, $crate::wire_int::OutOfRange> {
                if value < Self::MIN || value > Self::MAX {
                    return Err($crate::wire_int::OutOfRange {
                        bits: Self::BITS,
                        signed: Self::MIN != 0,
                        value: value as i128,
                    });
                }
                let all = (value as $unsigned).to_be_bytes();
                let mut out = [0u8; $bytes];
                let mut i = 0;
                while i < $bytes {
                    // The low `$bytes` bytes of the big-endian image, in wire order.
                    let from_top = all.len() - $bytes + i;
                    out[if $big { i } else { $bytes - 1 - i }] = all[from_top];
                    i += 1;
                }
                Ok(Self(out))
            }

            /// The value these wire bytes hold.
            #[inline(always)]
            pub const fn get(self) -> $native {
                let mut all = [0u8; <$unsigned>::BITS as usize / 8];
                let mut i = 0;
                while i < $bytes {
                    all[all.len() - $bytes + i] = self.0[if $big { i } else { $bytes - 1 - i }];
                    i += 1;
                }
                let raw = <$unsigned>::from_be_bytes(all);
                // Sign extension: move the field's top bit to the native top bit and back
                // (an arithmetic shift for a signed native type, a no-op for an unsigned one).
                ((raw << Self::SHIFT) as $native) >> Self::SHIFT
            }

            /// Stores `value` in wire form, or leaves the field as it was and says why not.
            #[inline(always)]
            pub fn set(&mut self, value: $native) -> Result<(), $crate::wire_int::OutOfRange> {
                *self = Self::new(value)?;
                Ok(())
            }
        }

        impl TryFrom<$native> for $name {
            type Error = $crate::wire_int::OutOfRange;

            #[inline(always)]
            fn try_from(value: $native) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }
    };
}
pub(crate) use narrow_int;
