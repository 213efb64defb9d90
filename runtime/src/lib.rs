//! Runtime support for code generated from an RLTOP schema.
//!
//! Generated crates (and `#[derive(rltop_runtime::Message)]`) describe each message with the
//! [`Message`] trait and the protocol's header with a [`Protocol`] constant; everything that
//! does not depend on a particular message lives here once: framing, header checks, the
//! checksum, the datagram iterator and the encoder.
//!
//! Decoding order, identical in every binding (see `schema/SPEC.md`): header length → magic →
//! length (against the type's size, or at least a header for unknown types) → bytes present →
//! version → type → checksum → field values.

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod be;
#[cfg(feature = "json")]
pub mod canonical;
pub mod crc;
mod error;
pub mod fixed;
#[cfg(feature = "json")]
pub mod json_read;
mod json_text;
pub mod le;
pub mod moldudp64;
mod record;
pub mod soupbintcp;
mod text;
mod wire_int;

pub use bytemuck;
pub use error::{DecodeError, InvalidEnum, TextError};
pub use json_text::{push_decimal, push_json_string};
/// `#[derive(Message)]` for a hand-written extension message and `include_schema!` for a
/// whole schema at compile time (feature `derive`); see the `rltop-derive` crate. The macro
/// shares its name with the [`Message`] trait it implements, as serde's derives do.
#[cfg(feature = "derive")]
pub use rltop_derive::{include_schema, Message};
/// The JSON values the generated `from_json` reads (feature `json`).
#[cfg(feature = "json")]
pub use serde_json;
pub use text::{alpha_str, ascii_str, set_alpha, set_ascii, valid_alpha, valid_ascii};
pub use wire_int::OutOfRange;

use core::marker::PhantomData;

/// Where the header keeps what the runtime needs, as the schema's layout pass computed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    /// Protocol name from the schema.
    pub name: &'static str,
    /// The magic number every header starts with.
    pub magic: u32,
    /// The version this crate encodes.
    pub version: u8,
    /// The oldest version it decodes.
    pub min_version: u8,
    /// Header size in bytes.
    pub header_size: usize,
    /// Offset of the `u32` magic.
    pub magic_offset: usize,
    /// Offset of the `u16` total message length.
    pub length_offset: usize,
    /// Offset of the `u8` type code.
    pub type_offset: usize,
    /// Offset of the `u8` version.
    pub version_offset: usize,
    /// Offset of the `u64` session id.
    pub session_offset: usize,
    /// Offset of the `u64` sequence number.
    pub sequence_offset: usize,
    /// Offset of the `u64` timestamp.
    pub timestamp_offset: usize,
    /// Offset of the `u32` CRC-32C.
    pub checksum_offset: usize,
}

/// What a leaf field holds, for tools that walk messages generically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// An integer (or a named semantic type over one).
    Int {
        /// Two's complement signed.
        signed: bool,
    },
    /// An enumeration over an integer; `values` are its defined values.
    Enum {
        /// Enumeration name.
        name: &'static str,
        /// Defined values.
        values: &'static [i64],
        /// Their names, in the same order.
        names: &'static [&'static str],
        /// Underlying integer is signed.
        signed: bool,
    },
    /// A bit-flag set; unknown bits are carried, not rejected.
    Flags {
        /// Flag-set name.
        name: &'static str,
    },
    /// Counts the valid entries of an array of `max` elements.
    Count {
        /// The counted array's length.
        max: u64,
        /// The counted array's name (a top-level field of the message).
        array: &'static str,
    },
    /// Fixed-width ASCII text, NUL padded.
    Text,
    /// Reserved bytes: written as zero, ignored when read.
    Reserved,
}

impl FieldKind {
    /// An unsigned integer.
    pub const UNSIGNED: Self = Self::Int { signed: false };
    /// A signed integer.
    pub const SIGNED: Self = Self::Int { signed: true };
}

/// One leaf field of a message, at its absolute offset within the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Path from the message, e.g. `bids[3].price`.
    pub name: &'static str,
    /// Byte offset from the start of the message.
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
    /// What it holds.
    pub kind: FieldKind,
    /// Protocol version from which the field exists (older messages hold zeros there).
    pub since: u8,
}

/// The header struct of a protocol: where its layout is published.
pub trait Header: bytemuck::Pod {
    /// The protocol's header layout.
    const PROTOCOL: &'static Protocol;
}

/// Shows an enumeration field in `Debug` output: the variant's name, or the invalid value.
pub struct DebugEnum<T>(pub Result<T, InvalidEnum>);

impl<T: core::fmt::Debug> core::fmt::Debug for DebugEnum<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0 {
            Ok(v) => v.fmt(f),
            Err(e) => write!(f, "<invalid {}: {}>", e.enum_name, e.value),
        }
    }
}

impl Field {
    /// A field description (a `const fn`, so generated tables stay one line a field).
    pub const fn new(
        name: &'static str,
        offset: usize,
        size: usize,
        kind: FieldKind,
        since: u8,
    ) -> Self {
        Self {
            name,
            offset,
            size,
            kind,
            since,
        }
    }
}

/// A fixed-size message type of a protocol. Implemented by generated code and by
/// `#[derive(rltop_runtime::Message)]`; all decoding and encoding goes through it.
pub trait Message: bytemuck::Pod + core::fmt::Debug {
    /// Name in the schema.
    const NAME: &'static str;
    /// Type code in the header.
    const TYPE_CODE: u8;
    /// Total size in bytes, header included.
    const SIZE: usize;
    /// The protocol's header layout.
    const PROTOCOL: &'static Protocol;
    /// Every leaf field, in wire order.
    const FIELDS: &'static [Field];
    /// Checks enumerations, counts and text. `base` is the message's offset in the
    /// caller's buffer, added to the offsets reported.
    fn validate(&self, base: usize) -> Result<(), DecodeError>;
}

/// The protocol version in `message`'s header: what a field added in a later version is
/// checked against (see [`record!`]'s `since`).
#[inline]
pub fn version_of<M: Message>(message: &M) -> u8 {
    bytemuck::bytes_of(message)[M::PROTOCOL.version_offset]
}

/// A message type described by value, for tools that handle every type generically
/// (dumpers, conformance testees, bridges): see the generated `MESSAGE_TYPES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageType {
    /// Name in the schema.
    pub name: &'static str,
    /// Type code in the header.
    pub type_code: u8,
    /// Total size in bytes, header included.
    pub size: usize,
    /// Every leaf field, in wire order.
    pub fields: &'static [Field],
}

impl MessageType {
    /// The description of `M`.
    pub const fn of<M: Message>() -> Self {
        Self {
            name: M::NAME,
            type_code: M::TYPE_CODE,
            size: M::SIZE,
            fields: M::FIELDS,
        }
    }
}

/// One message's bytes, framed by its header's length, not yet checked further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Offset of the message in the buffer the decoder was given.
    pub offset: usize,
    /// Header type code.
    pub msg_type: u8,
    /// Header version.
    pub version: u8,
    /// Exactly `length` bytes, header included.
    pub bytes: &'a [u8],
}

#[inline(always)]
fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

#[inline(always)]
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Splits the message at the start of `buf` (which sits at `base` in the caller's buffer).
///
/// `size_of_type` gives the fixed size of each known type code. Only framing errors come
/// back from here: afterwards the frame's end is trustworthy and the caller may move past it.
#[inline]
pub fn split_frame<'a>(
    buf: &'a [u8],
    base: usize,
    p: &Protocol,
    size_of_type: impl Fn(u8) -> Option<usize>,
) -> Result<Frame<'a>, DecodeError> {
    if buf.len() < p.header_size {
        return Err(DecodeError::Truncated {
            offset: base,
            needed: p.header_size,
            available: buf.len(),
        });
    }
    let magic = le_u32(buf, p.magic_offset);
    if magic != p.magic {
        return Err(DecodeError::BadMagic {
            offset: base + p.magic_offset,
            found: magic,
            expected: p.magic,
        });
    }
    let length = le_u16(buf, p.length_offset);
    let msg_type = buf[p.type_offset];
    let bad_length = |expected: usize| DecodeError::BadLength {
        offset: base + p.length_offset,
        msg_type,
        length,
        expected: expected as u16,
    };
    match size_of_type(msg_type) {
        Some(size) if usize::from(length) != size => return Err(bad_length(size)),
        None if usize::from(length) < p.header_size => return Err(bad_length(p.header_size)),
        _ => {}
    }
    let Some(bytes) = buf.get(..usize::from(length)) else {
        return Err(DecodeError::Truncated {
            offset: base,
            needed: length.into(),
            available: buf.len(),
        });
    };
    Ok(Frame {
        offset: base,
        msg_type,
        version: buf[p.version_offset],
        bytes,
    })
}

/// Checks a frame's version: older than the oldest accepted is refused. Newer versions are
/// accepted: a later version only adds fields in formerly reserved bytes (SPEC.md).
#[inline]
pub fn check_version(frame: &Frame<'_>, p: &Protocol) -> Result<(), DecodeError> {
    if frame.version < p.min_version {
        return Err(DecodeError::UnsupportedVersion {
            offset: frame.offset + p.version_offset,
            version: frame.version,
            min: p.min_version,
        });
    }
    Ok(())
}

/// Checks a frame's CRC-32C.
#[inline]
pub fn check_checksum(frame: &Frame<'_>, p: &Protocol) -> Result<(), DecodeError> {
    // A frame is at least a header long, so the checksum field lies inside it.
    let computed = crc::checksum_with_hole(frame.bytes, p.checksum_offset);
    checksum_verdict(frame, p, computed)
}

/// Compares a frame's checksum field with `computed` (its CRC-32C with the field as zero;
/// `None` if the frame cannot hold the field).
#[inline]
fn checksum_verdict(
    frame: &Frame<'_>,
    p: &Protocol,
    computed: Option<u32>,
) -> Result<(), DecodeError> {
    let found = frame
        .bytes
        .get(p.checksum_offset..p.checksum_offset + 4)
        .map_or(0, |_| le_u32(frame.bytes, p.checksum_offset));
    let computed = computed.unwrap_or(!found);
    if computed != found {
        return Err(DecodeError::BadChecksum {
            offset: frame.offset + p.checksum_offset,
            found,
            computed,
        });
    }
    Ok(())
}

/// Views a frame already split and checked as `M`, validating its fields.
#[inline]
pub fn view<'a, M: Message>(frame: &Frame<'a>) -> Result<&'a M, DecodeError> {
    let msg: &M = bytemuck::try_from_bytes(frame.bytes).map_err(|_| DecodeError::BadLength {
        offset: frame.offset + M::PROTOCOL.length_offset,
        msg_type: frame.msg_type,
        length: frame.bytes.len() as u16,
        expected: M::SIZE as u16,
    })?;
    msg.validate(frame.offset)?;
    Ok(msg)
}

/// Decodes the message of type `M` at the start of `buf`, checking every rule of the
/// protocol. Bytes after the message are not looked at. Never panics.
#[inline]
pub fn decode<M: Message>(buf: &[u8]) -> Result<&M, DecodeError> {
    decode_at(buf, 0)
}

/// [`decode`] for a message at `base` in a larger buffer (offsets in errors count from
/// that buffer's start).
#[inline]
pub fn decode_at<M: Message>(buf: &[u8], base: usize) -> Result<&M, DecodeError> {
    let p = M::PROTOCOL;
    let frame = split_frame(buf, base, p, |t| (t == M::TYPE_CODE).then_some(M::SIZE))?;
    if frame.msg_type != M::TYPE_CODE {
        return Err(DecodeError::UnexpectedType {
            offset: base + p.type_offset,
            found: frame.msg_type,
            expected: M::TYPE_CODE,
        });
    }
    check_version(&frame, p)?;
    check_checksum(&frame, p)?;
    view(&frame)
}

/// A protocol's set of message types, as one enum (generated as `Message<'a>`).
pub trait Dispatch<'a>: Sized {
    /// The protocol's header layout.
    const PROTOCOL: &'static Protocol;
    /// Size of each known type code.
    fn size_of_type(msg_type: u8) -> Option<usize>;
    /// Turns a split frame into a checked message, or the reason it is not one. `checksum`
    /// gives the frame's checksum verdict and is asked exactly where the decoding order
    /// puts it: after the version and the type, before the fields.
    fn from_frame_with(
        frame: Frame<'a>,
        checksum: impl FnOnce(&Frame<'a>) -> Result<(), DecodeError>,
    ) -> Result<Self, DecodeError>;
    /// [`Dispatch::from_frame_with`], the checksum computed on the spot.
    #[inline]
    fn from_frame(frame: Frame<'a>) -> Result<Self, DecodeError> {
        Self::from_frame_with(frame, |f| check_checksum(f, Self::PROTOCOL))
    }
}

/// A frame before any is split (the window's unused slots).
const NO_FRAME: Frame<'static> = Frame {
    offset: 0,
    msg_type: 0,
    version: 0,
    bytes: &[],
};

// `Window::fill`'s match names every window size from 2 to `crc::BATCH`.
const _: () = assert!(crc::BATCH == 4);

/// Up to [`crc::BATCH`] consecutive frames of a datagram, split, with their checksums
/// computed together: the unit of work of the datagram decoders ([`Messages`],
/// [`for_each_message`]).
#[derive(Debug, Clone)]
struct Window<'a> {
    frames: [Frame<'a>; crc::BATCH],
    /// `frames[..filled]` are split.
    filled: usize,
    /// Whether `sums` holds the frames' checksums (a window of two frames or more); if not,
    /// each frame's checksum is computed as it is decoded.
    summed: bool,
    sums: [u32; crc::BATCH],
    /// A framing error met after `frames[..filled]`: nothing after it can be framed.
    framing_error: Option<DecodeError>,
}

impl<'a> Window<'a> {
    const EMPTY: Self = Self {
        frames: [NO_FRAME; crc::BATCH],
        filled: 0,
        summed: false,
        sums: [0; crc::BATCH],
        framing_error: None,
    };

    /// Splits the frames from `*pos` on (moving `*pos` past them), up to a window's worth
    /// or a framing error, and checksums them.
    #[inline(always)]
    fn fill<D: Dispatch<'a>>(&mut self, buf: &'a [u8], pos: &mut usize) {
        let p = D::PROTOCOL;
        self.filled = 0;
        while self.filled < crc::BATCH && *pos < buf.len() {
            match split_frame(&buf[*pos..], *pos, p, D::size_of_type) {
                Ok(frame) => {
                    *pos += frame.bytes.len();
                    self.frames[self.filled] = frame;
                    self.filled += 1;
                }
                Err(e) => {
                    self.framing_error = Some(e);
                    break;
                }
            }
        }
        // The window's checksums together, whether full or a datagram's last few frames;
        // a lone frame's own checksum is interleaved in three lanes as it is decoded.
        self.summed = false;
        match self.filled {
            4 => self.sum_first::<4>(p.checksum_offset),
            3 => self.sum_first::<3>(p.checksum_offset),
            2 => self.sum_first::<2>(p.checksum_offset),
            _ => {}
        }
    }

    /// Checksums `frames[..K]` together into `sums[..K]`.
    #[inline(always)]
    fn sum_first<const K: usize>(&mut self, hole: usize) {
        let bytes: [&[u8]; K] = core::array::from_fn(|i| self.frames[i].bytes);
        if let Some(sums) = crc::checksums_with_hole(bytes, hole) {
            self.sums[..K].copy_from_slice(&sums);
            self.summed = true;
        }
    }

    /// Frame `i`, decoded (its checksum verdict from `sums` when there).
    #[inline(always)]
    fn decode<D: Dispatch<'a>>(&self, i: usize) -> Result<D, DecodeError> {
        let (frame, sum) = (self.frames[i], self.sums[i]);
        if self.summed {
            D::from_frame_with(frame, |f| checksum_verdict(f, D::PROTOCOL, Some(sum)))
        } else {
            D::from_frame(frame)
        }
    }
}

/// Calls `each` with every message of `datagram` or the error that concerns it, in order:
/// exactly the items of [`Messages`], without an iterator's state between them (the fastest
/// way through a datagram). Checksums are computed [`crc::BATCH`] messages at a time.
#[inline]
pub fn for_each_message<'a, D: Dispatch<'a>>(
    datagram: &'a [u8],
    mut each: impl FnMut(Result<D, DecodeError>),
) {
    let mut pos = 0;
    let mut window = Window::EMPTY;
    while pos < datagram.len() {
        window.fill::<D>(datagram, &mut pos);
        for i in 0..window.filled {
            each(window.decode(i));
        }
        if let Some(e) = window.framing_error.take() {
            each(Err(e));
            return;
        }
    }
}

/// Iterator over the messages of one datagram.
///
/// Yields each message, or the error that concerns it and moves on by the message's length;
/// after a framing error (see [`DecodeError::is_framing`]) it yields that error and stops.
///
/// It frames up to [`crc::BATCH`] messages ahead and computes their checksums together
/// ([`crc::checksums_with_hole`], the chains interleaved), then yields them one by one:
/// the items are exactly those of decoding each message alone, in the same order, with the
/// same errors; only the checksum work is shared. [`for_each_message`] does the same
/// without the iterator's bookkeeping.
#[derive(Debug, Clone)]
pub struct Messages<'a, D> {
    buf: &'a [u8],
    /// Where the next frame to split starts.
    pos: usize,
    /// Split, checksummed, not yet yielded: `window.frames[next..window.filled]`.
    window: Window<'a>,
    next: usize,
    done: bool,
    _dispatch: PhantomData<D>,
}

impl<'a, D: Dispatch<'a>> Messages<'a, D> {
    /// Iterates over `datagram`.
    pub fn new(datagram: &'a [u8]) -> Self {
        Self {
            buf: datagram,
            pos: 0,
            window: Window::EMPTY,
            next: 0,
            done: false,
            _dispatch: PhantomData,
        }
    }

    /// Offset of the next message to read.
    pub fn position(&self) -> usize {
        if self.next < self.window.filled {
            self.window.frames[self.next].offset
        } else {
            self.pos
        }
    }
}

impl<'a, D: Dispatch<'a>> Iterator for Messages<'a, D> {
    type Item = Result<D, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.next == self.window.filled {
            if self.done {
                return None;
            }
            if let Some(e) = self.window.framing_error.take() {
                self.done = true;
                return Some(Err(e));
            }
            if self.pos >= self.buf.len() {
                self.done = true;
                return None;
            }
            self.window.fill::<D>(self.buf, &mut self.pos);
            self.next = 0;
        }
        self.next += 1;
        Some(self.window.decode(self.next - 1))
    }
}

/// Fills `msg`'s header (magic, length, type, version, session, sequence, timestamp) and
/// then its checksum, and returns its bytes, ready to send.
pub fn finalize<M: Message>(
    msg: &mut M,
    session_id: u64,
    seq_num: u64,
    timestamp_ns: u64,
) -> &[u8] {
    let p = M::PROTOCOL;
    let bytes = bytemuck::bytes_of_mut(msg);
    put(bytes, p.magic_offset, &p.magic.to_le_bytes());
    put(bytes, p.length_offset, &(M::SIZE as u16).to_le_bytes());
    put(bytes, p.type_offset, &[M::TYPE_CODE]);
    put(bytes, p.version_offset, &[p.version]);
    put(bytes, p.session_offset, &session_id.to_le_bytes());
    put(bytes, p.sequence_offset, &seq_num.to_le_bytes());
    put(bytes, p.timestamp_offset, &timestamp_ns.to_le_bytes());
    seal(bytes, p);
    bytes
}

/// Writes the checksum of an otherwise complete message.
pub fn seal(bytes: &mut [u8], p: &Protocol) {
    if let Some(crc) = crc::checksum_with_hole(bytes, p.checksum_offset) {
        put(bytes, p.checksum_offset, &crc.to_le_bytes());
    }
}

fn put(bytes: &mut [u8], at: usize, value: &[u8]) {
    bytes[at..at + value.len()].copy_from_slice(value);
}

/// Numbers the messages of one session and packs them into datagrams.
#[derive(Debug, Clone)]
pub struct Encoder {
    session_id: u64,
    next_seq: u64,
}

impl Encoder {
    /// An encoder for `session_id` whose first message gets `first_seq`.
    pub fn new(session_id: u64, first_seq: u64) -> Self {
        Self {
            session_id,
            next_seq: first_seq,
        }
    }

    /// The sequence number the next message will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Finalizes `msg` with the next sequence number and returns its bytes.
    pub fn encode<'m, M: Message>(&mut self, msg: &'m mut M, timestamp_ns: u64) -> &'m [u8] {
        let seq = self.next_seq;
        self.next_seq += 1;
        finalize(msg, self.session_id, seq, timestamp_ns)
    }

    /// Appends `msg` to `datagram` if the datagram stays within `max_len` bytes; returns
    /// whether it did (a message that does not fit is left unnumbered for the next datagram).
    pub fn append<M: Message>(
        &mut self,
        datagram: &mut Vec<u8>,
        max_len: usize,
        msg: &mut M,
        timestamp_ns: u64,
    ) -> bool {
        if datagram.len() + M::SIZE > max_len {
            return false;
        }
        datagram.extend_from_slice(self.encode(msg, timestamp_ns));
        true
    }
}
