//! [`record!`](crate::record): the inherent API of a generated struct or message, written
//! once here instead of once per message in every generated file.
//!
//! What a reader of generated code needs to see is the `#[repr(C, packed)]` declaration (the
//! wire image) and where each field sits. Everything else — the size and offset assertions,
//! `new`, `as_bytes`, getters and setters, `Default`, `Debug`, and for a message `TYPE_CODE`,
//! `decode` and `encode` — follows from a short table, the way prost keeps the logic of its
//! generated types in its runtime and derive. The emitter writes one table per record, after
//! its declaration, with the offsets of the layout pass; rustc then checks those offsets
//! against the struct itself.
//!
//! The syntax is documented on the macro.

/// Implements a record's inherent API, `Default` and `Debug` from its field table. Emitted
/// by `rltop-codegen` after each struct it declares:
///
/// ```text
/// rltop_runtime::record! {
///     AddOrder, 128 bytes, message 0x78;
///     header @ 0: record(MessageHeader, header_mut);
///     order_id @ 48: int(OrderId, set_order_id);
///     side @ 60: enumeration(Side, set_side);
///     _reserved1 @ 62: reserved();
///     /// Doc comments go to the getter.
///     level_quantity @ 80: int(Quantity, set_level_quantity) since 2;
/// }
/// ```
///
/// One line per field, in declaration order: `name @ offset: kind(arguments)`, then
/// `since N` for a field added in protocol version N (its getter returns `None` for older
/// messages; only messages have such fields). The kinds:
///
/// | kind | arguments | getter returns | writer |
/// |---|---|---|---|
/// | `int` | value type, setter | the value | setter |
/// | `enumeration` | enum, setter | `Result<Enum, InvalidEnum>` | setter |
/// | `flags` | flag set, setter | the flag set, unknown bits kept | setter |
/// | `text` | setter | `&str` up to the padding | setter, refusing what does not fit |
/// | `ints` | `[native; N]`, setter | the array, converted | setter |
/// | `record` | stored type, `…_mut` | `&` stored | `…_mut` |
/// | `counted` | `[element; N]`, `…_mut`, `…_used`, the count's getter | as `record` | as `record`, plus `…_used`: the entries the count says are valid |
/// | `reserved` | none | nothing | nothing |
///
/// Any integer field (`int`, `enumeration`, `flags`, elements of `ints`) goes through
/// [`le::Wire`](crate::le::Wire), so the same line serves a one-byte and a wide integer.
#[macro_export]
macro_rules! record {
    (
        $ty:ident, $size:literal bytes $(, message $code:literal)?;
        $(
            $(#[$meta:meta])*
            $field:ident @ $offset:literal : $kind:ident $args:tt $(since $since:literal)?;
        )*
    ) => {
        // The layout pass's numbers, checked by rustc against the struct itself.
        const _: () = {
            ::core::assert!(::core::mem::size_of::<$ty>() == $size);
            $(::core::assert!(::core::mem::offset_of!($ty, $field) == $offset);)*
        };

        impl $ty {
            /// Size in bytes.
            pub const SIZE: usize = $size;
            $(
                /// Header type code.
                pub const TYPE_CODE: u8 = $code;

                /// Decodes a message of this type at the start of `buf`, checking length,
                /// magic, version, type, checksum and every field value. Never panics.
                #[inline]
                pub fn decode(buf: &[u8]) -> ::core::result::Result<&Self, $crate::DecodeError> {
                    $crate::decode(buf)
                }

                /// Fills the header (magic, length, type, version, session, sequence,
                /// timestamp) and the checksum; returns the bytes to send.
                #[inline]
                pub fn encode(&mut self, session_id: u64, seq_num: u64, timestamp_ns: u64) -> &[u8] {
                    $crate::finalize(self, session_id, seq_num, timestamp_ns)
                }
            )?

            /// All bytes zero: set the fields, then encode.
            pub fn new() -> Self {
                $crate::bytemuck::Zeroable::zeroed()
            }

            /// The wire bytes.
            pub fn as_bytes(&self) -> &[u8] {
                $crate::bytemuck::bytes_of(self)
            }

            $($crate::__record_accessors! { $kind $field $args [$($since)?] $(#[$meta])* })*
        }

        impl ::core::default::Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut out = f.debug_struct(::core::stringify!($ty));
                $($crate::__record_debug!(out self $kind $field $args [$($since)?]);)*
                out.finish()
            }
        }
    };
}

/// The accessors of one field of a [`record!`] table.
#[doc(hidden)]
#[macro_export]
macro_rules! __record_accessors {
    (reserved $field:ident () $since:tt $(#[$meta:meta])*) => {};
    (int $field:ident ($value:ty, $set:ident) $since:tt $(#[$meta:meta])*) => {
        $(#[$meta])*
        #[inline]
        pub fn $field(&self) -> $crate::__record_since!(type $since $value) {
            $crate::__record_since!(value $since self, $crate::le::Wire::to_native(self.$field))
        }

        #[inline]
        pub fn $set(&mut self, value: $value) {
            self.$field = $crate::le::Wire::from_native(value);
        }
    };
    (enumeration $field:ident ($enum:ty, $set:ident) $since:tt $(#[$meta:meta])*) => {
        $(#[$meta])*
        #[inline]
        pub fn $field(
            &self,
        ) -> $crate::__record_since!(type $since ::core::result::Result<$enum, $crate::InvalidEnum>) {
            $crate::__record_since!(
                value $since self,
                <$enum>::try_from($crate::le::Wire::to_native(self.$field))
            )
        }

        #[inline]
        pub fn $set(&mut self, value: $enum) {
            self.$field = $crate::le::Wire::from_native(::core::convert::Into::into(value));
        }
    };
    (flags $field:ident ($flags:ty, $set:ident) $since:tt $(#[$meta:meta])*) => {
        $(#[$meta])*
        #[inline]
        pub fn $field(&self) -> $crate::__record_since!(type $since $flags) {
            $crate::__record_since!(
                value $since self,
                <$flags>::from_bits_retain($crate::le::Wire::to_native(self.$field))
            )
        }

        #[inline]
        pub fn $set(&mut self, value: $flags) {
            self.$field = $crate::le::Wire::from_native(value.bits());
        }
    };
    (text $field:ident ($set:ident) $since:tt $(#[$meta:meta])*) => {
        $(#[$meta])*
        #[inline]
        pub fn $field(&self) -> $crate::__record_since!(type $since &str) {
            $crate::__record_since!(value $since self, $crate::ascii_str(&self.$field))
        }

        /// Writes printable ASCII, NUL padded; refuses text that is too long or not ASCII.
        pub fn $set(&mut self, value: &str) -> ::core::result::Result<(), $crate::TextError> {
            $crate::set_ascii(&mut self.$field, value)
        }
    };
    (ints $field:ident ($array:ty, $set:ident) $since:tt $(#[$meta:meta])*) => {
        $(#[$meta])*
        #[inline]
        pub fn $field(&self) -> $crate::__record_since!(type $since $array) {
            $crate::__record_since!(value $since self, self.$field.map($crate::le::Wire::to_native))
        }

        #[inline]
        pub fn $set(&mut self, value: $array) {
            self.$field = value.map($crate::le::Wire::from_native);
        }
    };
    (record $field:ident ($stored:ty, $mut:ident) $since:tt $(#[$meta:meta])*) => {
        $(#[$meta])*
        #[inline]
        pub fn $field(&self) -> $crate::__record_since!(type $since &$stored) {
            $crate::__record_since!(value $since self, &self.$field)
        }

        #[inline]
        pub fn $mut(&mut self) -> &mut $stored {
            &mut self.$field
        }
    };
    (
        counted $field:ident ([$element:ty; $len:literal], $mut:ident, $used:ident, $count:ident)
        $since:tt $(#[$meta:meta])*
    ) => {
        $crate::__record_accessors! { record $field ([$element; $len], $mut) $since $(#[$meta])* }

        #[doc = ::core::concat!(
            " The first `", ::core::stringify!($count), "` entries of `", ::core::stringify!($field),
            "` (never more than the array holds)."
        )]
        #[inline]
        pub fn $used(&self) -> &[$element] {
            let n = (self.$count() as usize).min($len);
            &self.$field[..n]
        }
    };
}

/// A getter's type and value, wrapped in `Option` for a field added in a later version.
#[doc(hidden)]
#[macro_export]
macro_rules! __record_since {
    (type [] $value:ty) => { $value };
    (type [$since:literal] $value:ty) => { ::core::option::Option<$value> };
    (value [] $this:tt, $value:expr) => { $value };
    (value [$since:literal] $this:tt, $value:expr) => {
        if $crate::version_of($this) >= $since {
            ::core::option::Option::Some($value)
        } else {
            ::core::option::Option::None
        }
    };
}

/// One field of a [`record!`]'s `Debug`: values as the getters give them (enumerations by
/// name, counted arrays up to their count), reserved bytes left out.
#[doc(hidden)]
#[macro_export]
macro_rules! __record_debug {
    ($out:ident $this:tt reserved $field:ident $args:tt $since:tt) => {};
    ($out:ident $this:tt enumeration $field:ident $args:tt []) => {
        $out.field(
            ::core::stringify!($field),
            &$crate::DebugEnum($this.$field()),
        )
    };
    ($out:ident $this:tt enumeration $field:ident $args:tt [$since:literal]) => {
        $out.field(
            ::core::stringify!($field),
            &$this.$field().map($crate::DebugEnum),
        )
    };
    (
        $out:ident $this:tt counted $field:ident
        ($stored:tt, $mut:ident, $used:ident, $count:ident) $since:tt
    ) => {
        $out.field(::core::stringify!($field), &$this.$used())
    };
    ($out:ident $this:tt $kind:ident $field:ident $args:tt $since:tt) => {
        $out.field(::core::stringify!($field), &$this.$field())
    };
}
