//! What can be wrong with received bytes, and where.

use core::fmt;

use crate::Protocol;

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

    /// The field at fault, as `<Message>.<path>` (`"AddOrder.side"`,
    /// `"TradeSnapshot.trades[0].taker_side"`), for the kinds that concern one field.
    pub fn field(&self) -> Option<&'static str> {
        match *self {
            Self::BadEnum { field, .. }
            | Self::BadCount { field, .. }
            | Self::BadText { field, .. } => Some(field),
            _ => None,
        }
    }

    /// What is wrong, without the kind, the offset and the field (which the caller prints
    /// beside it), worded as the Python binding's errors word it (their `detail`): the text
    /// of `rltop dump`'s ERROR lines, the same bytes as `python -m rltop dump`'s. `protocol`
    /// is the decoder's (`rltop::PROTOCOL`): a length shorter than a header, for a type the
    /// decoder does not know, is said to be so. ([`fmt::Display`] is the sentence for a log:
    /// it names the offset and the field too.)
    pub fn detail<'a>(&'a self, protocol: &'a Protocol) -> impl fmt::Display + 'a {
        Detail {
            error: self,
            protocol,
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

/// [`DecodeError::detail`]: what is wrong, in the words every binding's dump uses.
struct Detail<'a> {
    error: &'a DecodeError,
    protocol: &'a Protocol,
}

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self.error {
            DecodeError::Truncated {
                needed, available, ..
            } => {
                write!(f, "message needs {needed} bytes, {available} available")
            }
            DecodeError::BadMagic {
                found, expected, ..
            } => {
                write!(f, "bad magic {found:#010x}, expected {expected:#010x}")
            }
            // A type framed as unknown is refused only for a length below the header's,
            // and `expected` is then the header's size.
            DecodeError::BadLength {
                msg_type,
                length,
                expected,
                ..
            } if usize::from(expected) == self.protocol.header_size && length < expected => {
                write!(
                    f,
                    "length {length} for type {msg_type:#04x}, shorter than a header"
                )
            }
            DecodeError::BadLength {
                msg_type,
                length,
                expected,
                ..
            } => {
                write!(
                    f,
                    "length {length} for type {msg_type:#04x}, expected {expected}"
                )
            }
            DecodeError::UnknownType {
                msg_type, length, ..
            } => {
                write!(
                    f,
                    "unknown message type {msg_type:#04x} ({length} bytes skipped)"
                )
            }
            DecodeError::UnexpectedType {
                found, expected, ..
            } => {
                write!(f, "message type {found:#04x}, expected {expected:#04x}")
            }
            DecodeError::UnsupportedVersion { version, min, .. } => {
                write!(f, "version {version} is older than {min}")
            }
            DecodeError::BadChecksum {
                found, computed, ..
            } => {
                write!(f, "checksum {found:#010x}, computed {computed:#010x}")
            }
            DecodeError::BadEnum { value, .. } => write!(f, "invalid value {value}"),
            DecodeError::BadCount { value, max, .. } => {
                write!(f, "count {value} above the array's {max}")
            }
            DecodeError::BadText { .. } => write!(f, "text is not NUL-padded printable ASCII"),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const P: Protocol = Protocol {
        name: "T",
        magic: 0x524C_544F,
        version: 1,
        min_version: 1,
        header_size: 40,
        magic_offset: 0,
        length_offset: 4,
        type_offset: 6,
        version_offset: 7,
        session_offset: 8,
        sequence_offset: 16,
        timestamp_offset: 24,
        checksum_offset: 32,
    };

    /// The details, word for word those the Python binding raises with (its generated
    /// decoder and `_runtime.py`), which `python -m rltop dump` prints.
    #[test]
    fn details_are_the_python_bindings_words() {
        use DecodeError::*;
        let cases = [
            (
                Truncated {
                    offset: 0,
                    needed: 40,
                    available: 12,
                },
                "message needs 40 bytes, 12 available",
            ),
            (
                BadMagic {
                    offset: 0,
                    found: 0xDEAD_BEEF,
                    expected: 0x524C_544F,
                },
                "bad magic 0xdeadbeef, expected 0x524c544f",
            ),
            (
                BadLength {
                    offset: 4,
                    msg_type: 0x78,
                    length: 127,
                    expected: 128,
                },
                "length 127 for type 0x78, expected 128",
            ),
            (
                BadLength {
                    offset: 4,
                    msg_type: 0x05,
                    length: 12,
                    expected: 40,
                },
                "length 12 for type 0x05, shorter than a header",
            ),
            (
                UnknownType {
                    offset: 6,
                    msg_type: 0x05,
                    length: 48,
                },
                "unknown message type 0x05 (48 bytes skipped)",
            ),
            (
                UnexpectedType {
                    offset: 6,
                    found: 0x79,
                    expected: 0x78,
                },
                "message type 0x79, expected 0x78",
            ),
            (
                UnsupportedVersion {
                    offset: 7,
                    version: 0,
                    min: 1,
                },
                "version 0 is older than 1",
            ),
            (
                BadChecksum {
                    offset: 32,
                    found: 0x0102_0304,
                    computed: 0xA0B0_C0D0,
                },
                "checksum 0x01020304, computed 0xa0b0c0d0",
            ),
            (
                BadEnum {
                    offset: 60,
                    field: "AddOrder.side",
                    value: 7,
                },
                "invalid value 7",
            ),
            (
                BadCount {
                    offset: 44,
                    field: "OrderBookSnapshot.num_bid_levels",
                    value: 11,
                    max: 10,
                },
                "count 11 above the array's 10",
            ),
            (
                BadText {
                    offset: 80,
                    field: "InstrumentDefinition.symbol",
                },
                "text is not NUL-padded printable ASCII",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.detail(&P).to_string(), want, "{e:?}");
        }
        assert_eq!(cases[8].0.field(), Some("AddOrder.side"));
        assert_eq!(cases[7].0.field(), None);
    }
}
