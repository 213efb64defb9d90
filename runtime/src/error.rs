//! What can be wrong with received bytes, and where.

use core::fmt;

/// Why a message (or a datagram) could not be decoded.
///
/// Every variant carries `offset`: the byte offset, within the buffer handed to the
/// decoder, of the field at fault (for `Truncated`, of the message that is cut short).
/// Errors marked *framing* end a datagram (the next message's start is unknown); the
/// others concern one message, which a datagram iterator reports and skips by its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // variant fields are named for what they hold; see Display
pub enum DecodeError {
    /// *Framing.* Fewer bytes remain than the header or the declared length needs.
    Truncated {
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// *Framing.* The header's magic is not the protocol's.
    BadMagic {
        offset: usize,
        found: u32,
        expected: u32,
    },
    /// *Framing.* The header's length disagrees with the message type's size (or, for an
    /// unknown type, is shorter than a header).
    BadLength {
        offset: usize,
        msg_type: u8,
        length: u16,
        expected: u16,
    },
    /// The type code names no message this decoder knows; skipped by its length.
    UnknownType {
        offset: usize,
        msg_type: u8,
        length: u16,
    },
    /// A typed decoder was handed a message of another type.
    UnexpectedType {
        offset: usize,
        found: u8,
        expected: u8,
    },
    /// The header's version is older than the oldest this decoder accepts.
    UnsupportedVersion { offset: usize, version: u8, min: u8 },
    /// The CRC-32C over the message (checksum field as zero) does not match.
    BadChecksum {
        offset: usize,
        found: u32,
        computed: u32,
    },
    /// An enumeration field holds a value the schema does not define.
    BadEnum {
        offset: usize,
        field: &'static str,
        value: i64,
    },
    /// A count field exceeds the length of the array it counts.
    BadCount {
        offset: usize,
        field: &'static str,
        value: u64,
        max: u64,
    },
    /// A text field holds a byte that is not printable ASCII, or text after NUL padding.
    BadText { offset: usize, field: &'static str },
}

impl DecodeError {
    /// The byte offset of the fault within the buffer given to the decoder.
    pub fn offset(&self) -> usize {
        match *self {
            Self::Truncated { offset, .. }
            | Self::BadMagic { offset, .. }
            | Self::BadLength { offset, .. }
            | Self::UnknownType { offset, .. }
            | Self::UnexpectedType { offset, .. }
            | Self::UnsupportedVersion { offset, .. }
            | Self::BadChecksum { offset, .. }
            | Self::BadEnum { offset, .. }
            | Self::BadCount { offset, .. }
            | Self::BadText { offset, .. } => offset,
        }
    }

    /// The variant's name, identical across every language binding (`"BadChecksum"`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Truncated { .. } => "Truncated",
            Self::BadMagic { .. } => "BadMagic",
            Self::BadLength { .. } => "BadLength",
            Self::UnknownType { .. } => "UnknownType",
            Self::UnexpectedType { .. } => "UnexpectedType",
            Self::UnsupportedVersion { .. } => "UnsupportedVersion",
            Self::BadChecksum { .. } => "BadChecksum",
            Self::BadEnum { .. } => "BadEnum",
            Self::BadCount { .. } => "BadCount",
            Self::BadText { .. } => "BadText",
        }
    }

    /// Whether the error leaves the rest of the datagram unreadable.
    pub fn is_framing(&self) -> bool {
        matches!(
            self,
            Self::Truncated { .. } | Self::BadMagic { .. } | Self::BadLength { .. }
        )
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { offset, needed, available } => write!(
                f,
                "truncated message at byte {offset}: needs {needed} bytes, {available} available"
            ),
            Self::BadMagic { offset, found, expected } => {
                write!(f, "bad magic at byte {offset}: {found:#010x}, expected {expected:#010x}")
            }
            Self::BadLength { offset, msg_type, length, expected } => write!(
                f,
                "bad length at byte {offset}: {length} for message type {msg_type:#04x}, expected {expected}"
            ),
            Self::UnknownType { offset, msg_type, length } => {
                write!(f, "unknown message type {msg_type:#04x} at byte {offset} ({length} bytes skipped)")
            }
            Self::UnexpectedType { offset, found, expected } => {
                write!(f, "message type {found:#04x} at byte {offset}, expected {expected:#04x}")
            }
            Self::UnsupportedVersion { offset, version, min } => {
                write!(f, "unsupported protocol version {version} at byte {offset} (oldest accepted: {min})")
            }
            Self::BadChecksum { offset, found, computed } => write!(
                f,
                "bad checksum at byte {offset}: message says {found:#010x}, computed {computed:#010x}"
            ),
            Self::BadEnum { offset, field, value } => {
                write!(f, "invalid value {value} for enumeration field {field} at byte {offset}")
            }
            Self::BadCount { offset, field, value, max } => {
                write!(f, "count field {field} at byte {offset} is {value}, above the array's {max}")
            }
            Self::BadText { offset, field } => {
                write!(f, "text field {field} at byte {offset} is not NUL-padded printable ASCII")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// A value outside an enumeration's defined values (returned by typed accessors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvalidEnum {
    /// The enumeration's name in the schema.
    pub enum_name: &'static str,
    /// The raw value found.
    pub value: i64,
}

impl fmt::Display for InvalidEnum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a valid {}", self.value, self.enum_name)
    }
}

impl std::error::Error for InvalidEnum {}

/// Text that does not fit a fixed-width ASCII field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum TextError {
    /// Longer than the field.
    TooLong { len: usize, max: usize },
    /// Holds a byte that is not printable ASCII.
    NotAscii { at: usize },
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len, max } => {
                write!(f, "text of {len} bytes does not fit a {max}-byte field")
            }
            Self::NotAscii { at } => write!(f, "byte {at} of the text is not printable ASCII"),
        }
    }
}

impl std::error::Error for TextError {}
