//! Messages of protocols without RLTOP's header: a type code at a fixed place (ITCH and
//! OUCH: the first byte), each type of one fixed size, no magic, no version, no checksum.
//! What the framing layer hands over ([`moldudp64`](crate::moldudp64) blocks, SoupBinTCP
//! payloads, messages back to back) is one message's bytes; [`view`] checks them against
//! the type and borrows them as the generated struct.
//!
//! The checks, in this order, each error at its byte offset within the caller's buffer:
//! bytes present up to the type code → the type code → length equal to the type's size.
//! Field values are the generated `validate`'s job, after these.

use crate::DecodeError;

/// Where a protocol's type code sits in each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeCode {
    /// Its offset from the message's start.
    pub offset: usize,
}

impl TypeCode {
    /// The type code of the message at the start of `buf` (`base` within the caller's
    /// buffer, for the error's offset).
    #[inline]
    pub fn read(self, buf: &[u8], base: usize) -> Result<u8, DecodeError> {
        buf.get(self.offset).copied().ok_or(DecodeError::Truncated {
            offset: base,
            needed: self.offset + 1,
            available: buf.len(),
        })
    }
}

/// `buf` as a message of type `M` (code `code`, size `size_of::<M>()`), which must be all
/// of `buf`: a shorter buffer is `Truncated`, a longer one `BadLength` (the framing said
/// the message is longer than its type).
#[inline]
pub fn view<M: bytemuck::Pod>(
    buf: &[u8],
    base: usize,
    at: TypeCode,
    code: u8,
) -> Result<&M, DecodeError> {
    let found = at.read(buf, base)?;
    if found != code {
        return Err(DecodeError::UnexpectedType {
            offset: base + at.offset,
            found,
            expected: code,
        });
    }
    let size = core::mem::size_of::<M>();
    if buf.len() < size {
        return Err(DecodeError::Truncated {
            offset: base,
            needed: size,
            available: buf.len(),
        });
    }
    if buf.len() > size {
        return Err(DecodeError::BadLength {
            offset: base,
            msg_type: code,
            length: u16::try_from(buf.len()).unwrap_or(u16::MAX),
            expected: u16::try_from(size).unwrap_or(u16::MAX),
        });
    }
    // Alignment 1 (every field is a byte array) and the exact size: this cannot fail.
    bytemuck::try_from_bytes(buf).map_err(|_| DecodeError::Truncated {
        offset: base,
        needed: size,
        available: buf.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
    #[repr(C)]
    struct Tiny {
        code: u8,
        value: [u8; 3],
    }

    const AT: TypeCode = TypeCode { offset: 0 };

    #[test]
    fn the_checks_come_in_order_each_at_its_byte() {
        let ok = view::<Tiny>(b"Aabc", 10, AT, b'A').unwrap();
        assert_eq!(&ok.value, b"abc");
        assert_eq!(
            view::<Tiny>(b"", 10, AT, b'A').unwrap_err(),
            DecodeError::Truncated {
                offset: 10,
                needed: 1,
                available: 0
            }
        );
        assert_eq!(
            view::<Tiny>(b"Babc", 10, AT, b'A').unwrap_err(),
            DecodeError::UnexpectedType {
                offset: 10,
                found: b'B',
                expected: b'A'
            }
        );
        assert_eq!(
            view::<Tiny>(b"Aab", 10, AT, b'A').unwrap_err(),
            DecodeError::Truncated {
                offset: 10,
                needed: 4,
                available: 3
            }
        );
        assert_eq!(
            view::<Tiny>(b"Aabcd", 10, AT, b'A').unwrap_err(),
            DecodeError::BadLength {
                offset: 10,
                msg_type: b'A',
                length: 5,
                expected: 4
            }
        );
    }
}
