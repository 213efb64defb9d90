//! NASDAQ MoldUDP64: the datagram framing of ITCH and many venue feeds, as a schema's
//! `framing moldudp64` declares it.
//!
//! A packet is a 20-byte header (session: 10 ASCII bytes, space-padded; the sequence number
//! of its first message: u64; a message count: u16; all big-endian), then `count` message
//! blocks, each a big-endian u16 length and that many bytes. A count of 0 is a heartbeat
//! (the sequence is the next one expected), 0xFFFF the end of the session; neither carries
//! blocks. The policy here: a packet is read whole or refused, and every refusal names the
//! byte offset in the datagram where it goes wrong. Blocks are yielded as they are found, so
//! the ones before a bad block are still delivered; nothing after it is guessed at.

use core::fmt;

/// The header's length.
pub const HEADER_LEN: usize = 20;
/// A header count meaning: no messages, the sequence is the next expected.
pub const HEARTBEAT: u16 = 0;
/// A header count meaning: the session has ended.
pub const END_OF_SESSION: u16 = 0xFFFF;

/// A MoldUDP64 packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The session, as sent: ASCII, space-padded on the right.
    pub session: [u8; 10],
    /// The sequence number of the packet's first message (of the next one, for a heartbeat
    /// or the end of the session).
    pub sequence: u64,
    /// How many message blocks follow, or [`HEARTBEAT`] or [`END_OF_SESSION`].
    pub count: u16,
}

/// What a packet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// This many message blocks.
    Messages(u16),
    /// No messages: the sender is alive, and the sequence is the next it will send.
    Heartbeat,
    /// The session has ended: no message will follow.
    EndOfSession,
}

impl Header {
    /// The session without its padding, if it is printable ASCII as the specification
    /// requires; `None` otherwise (show [`Header::session`] escaped then).
    pub fn session_str(&self) -> Option<&str> {
        let end = self
            .session
            .iter()
            .rposition(|&b| b != b' ')
            .map_or(0, |i| i + 1);
        let s = &self.session[..end];
        s.iter()
            .all(|b| (0x20..0x7F).contains(b))
            .then(|| core::str::from_utf8(s).ok())
            .flatten()
    }

    /// Messages, heartbeat or end of session.
    pub fn kind(&self) -> Kind {
        match self.count {
            HEARTBEAT => Kind::Heartbeat,
            END_OF_SESSION => Kind::EndOfSession,
            n => Kind::Messages(n),
        }
    }

    /// The sequence number the next packet should start at.
    pub fn next_sequence(&self) -> u64 {
        match self.kind() {
            Kind::Messages(n) => self.sequence.wrapping_add(n.into()),
            Kind::Heartbeat | Kind::EndOfSession => self.sequence,
        }
    }

    /// The header's 20 bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..10].copy_from_slice(&self.session);
        out[10..18].copy_from_slice(&self.sequence.to_be_bytes());
        out[18..].copy_from_slice(&self.count.to_be_bytes());
        out
    }
}

/// Why a datagram is not a MoldUDP64 packet, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Shorter than the 20-byte header.
    ShortHeader {
        /// The datagram's length.
        length: usize,
    },
    /// The message block at `offset` declares more bytes than the datagram has left (or its
    /// length prefix itself is cut).
    Truncated {
        /// The block's first byte (its length prefix).
        offset: usize,
        /// The bytes the block takes, prefix included (2 when the prefix itself is cut).
        needed: usize,
        /// The bytes left in the datagram from `offset`.
        available: usize,
    },
    /// Bytes after the last block the count announces (or after a heartbeat's header).
    Trailing {
        /// The first byte past the last block.
        offset: usize,
        /// How many bytes follow it.
        bytes: usize,
    },
}

impl FrameError {
    /// The byte where the framing goes wrong, from the datagram's start.
    pub fn offset(&self) -> usize {
        match *self {
            FrameError::ShortHeader { .. } => 0,
            FrameError::Truncated { offset, .. } | FrameError::Trailing { offset, .. } => offset,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FrameError::ShortHeader { length } => write!(
                f,
                "at byte 0: a MoldUDP64 packet needs a {HEADER_LEN}-byte header, the datagram has {length} bytes"
            ),
            FrameError::Truncated {
                offset,
                needed,
                available,
            } => write!(
                f,
                "at byte {offset}: the message block needs {needed} bytes, {available} remain"
            ),
            FrameError::Trailing { offset, bytes } => write!(
                f,
                "at byte {offset}: {bytes} bytes after the last message block the header counts"
            ),
        }
    }
}

impl core::error::Error for FrameError {}

/// Why a block of a packet yielded no message: the framing broke (the walk ends), or the
/// block's message did not decode (the walk goes on with the next block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockError {
    /// The packet's framing: see [`FrameError`].
    Frame(FrameError),
    /// The message of block `sequence` did not decode.
    Decode {
        /// The block's sequence number.
        sequence: u64,
        /// Why, with the byte offset within the datagram.
        error: crate::DecodeError,
    },
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockError::Frame(e) => e.fmt(f),
            BlockError::Decode { sequence, error } => write!(f, "message {sequence}: {error}"),
        }
    }
}

impl core::error::Error for BlockError {}

/// One packet: its header, and its message blocks through [`Packet::messages`].
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// The packet's header.
    pub header: Header,
    datagram: &'a [u8],
}

/// A message block: the message's bytes, its sequence number and where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block<'a> {
    /// The message's sequence number: the header's, plus its place in the packet.
    pub sequence: u64,
    /// The message's first byte (after its length prefix), within the datagram.
    pub offset: usize,
    /// The message's bytes, as many as its length prefix says.
    pub message: &'a [u8],
}

/// Reads a packet's header; blocks are read by [`Packet::messages`].
pub fn parse(datagram: &[u8]) -> Result<Packet<'_>, FrameError> {
    let Some(head) = datagram.first_chunk::<HEADER_LEN>() else {
        return Err(FrameError::ShortHeader {
            length: datagram.len(),
        });
    };
    let mut session = [0u8; 10];
    session.copy_from_slice(&head[..10]);
    let header = Header {
        session,
        sequence: u64::from_be_bytes(head[10..18].try_into().expect("8 bytes")),
        count: u16::from_be_bytes([head[18], head[19]]),
    };
    Ok(Packet { header, datagram })
}

impl<'a> Packet<'a> {
    /// The message blocks, in order; an error ends the walk.
    pub fn messages(&self) -> Messages<'a> {
        let left = match self.header.kind() {
            Kind::Messages(n) => n,
            Kind::Heartbeat | Kind::EndOfSession => 0,
        };
        Messages {
            datagram: self.datagram,
            pos: HEADER_LEN,
            sequence: self.header.sequence,
            left,
            done: false,
        }
    }
}

/// The blocks of one packet ([`Packet::messages`]).
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    datagram: &'a [u8],
    pos: usize,
    sequence: u64,
    left: u16,
    done: bool,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Block<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = &self.datagram[self.pos..];
        if self.left == 0 {
            self.done = true;
            return (!rest.is_empty()).then_some(Err(FrameError::Trailing {
                offset: self.pos,
                bytes: rest.len(),
            }));
        }
        let cut = |needed| {
            Some(Err(FrameError::Truncated {
                offset: self.pos,
                needed,
                available: rest.len(),
            }))
        };
        let Some(&[hi, lo]) = rest.first_chunk::<2>() else {
            self.done = true;
            return cut(2);
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let Some(message) = rest.get(2..2 + len) else {
            self.done = true;
            return cut(2 + len);
        };
        let block = Block {
            sequence: self.sequence,
            offset: self.pos + 2,
            message,
        };
        self.pos += 2 + len;
        self.sequence = self.sequence.wrapping_add(1);
        self.left -= 1;
        Some(Ok(block))
    }
}

/// Builds packets: a header, then message blocks appended one by one.
#[derive(Debug, Clone)]
pub struct Writer {
    buf: Vec<u8>,
    session: [u8; 10],
    next: u64,
    count: u16,
}

/// Why a message could not be added to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// Longer than a block's u16 length can say.
    MessageTooLong {
        /// The message's length.
        length: usize,
    },
    /// The packet already holds the most blocks a count can announce (0xFFFE).
    Full,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::MessageTooLong { length } => write!(
                f,
                "a {length}-byte message does not fit a MoldUDP64 block (at most 65 535)"
            ),
            WriteError::Full => f.write_str("the packet already holds 65 534 message blocks"),
        }
    }
}

impl core::error::Error for WriteError {}

impl Writer {
    /// A writer for `session` (at most 10 ASCII bytes, space-padded) whose first message
    /// will have sequence number `first`.
    pub fn new(session: &str, first: u64) -> Writer {
        let mut padded = [b' '; 10];
        for (to, from) in padded.iter_mut().zip(session.bytes()) {
            *to = from;
        }
        let mut w = Writer {
            buf: Vec::with_capacity(1500),
            session: padded,
            next: first,
            count: 0,
        };
        w.clear();
        w
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.count = 0;
        self.buf.extend_from_slice(&[0; HEADER_LEN]);
    }

    /// Bytes the packet would have with what it holds now.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the packet holds no message yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends one message block.
    pub fn push(&mut self, message: &[u8]) -> Result<(), WriteError> {
        let length = u16::try_from(message.len()).map_err(|_| WriteError::MessageTooLong {
            length: message.len(),
        })?;
        if self.count == END_OF_SESSION - 1 {
            return Err(WriteError::Full);
        }
        self.buf.extend_from_slice(&length.to_be_bytes());
        self.buf.extend_from_slice(message);
        self.count += 1;
        Ok(())
    }

    /// The packet of the messages pushed since the last one; the next starts after them.
    pub fn finish(&mut self) -> Vec<u8> {
        self.header(self.count);
        self.next += u64::from(self.count);
        let packet = core::mem::replace(&mut self.buf, Vec::with_capacity(1500));
        self.clear();
        packet
    }

    /// A heartbeat: no messages, the sequence number the next message will have.
    pub fn heartbeat(&self) -> [u8; HEADER_LEN] {
        self.bare(HEARTBEAT)
    }

    /// The end of the session.
    pub fn end_of_session(&self) -> [u8; HEADER_LEN] {
        self.bare(END_OF_SESSION)
    }

    fn bare(&self, count: u16) -> [u8; HEADER_LEN] {
        Header {
            session: self.session,
            sequence: self.next,
            count,
        }
        .to_bytes()
    }

    fn header(&mut self, count: u16) {
        let h = Header {
            session: self.session,
            sequence: self.next,
            count,
        };
        self.buf[..HEADER_LEN].copy_from_slice(&h.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet written out by hand from the specification: session "SESSION1", sequence
    /// 1000, two blocks ("AB", then "XYZ").
    const PACKET: [u8; 29] = [
        b'S', b'E', b'S', b'S', b'I', b'O', b'N', b'1', b' ', b' ', // session
        0, 0, 0, 0, 0, 0, 0x03, 0xE8, // sequence 1000
        0, 2, // count
        0, 2, b'A', b'B', // block 1
        0, 3, b'X', b'Y', b'Z', // block 2
    ];

    #[test]
    fn a_packet_reads_as_the_specification_lays_it_out() {
        let p = parse(&PACKET).unwrap();
        assert_eq!(p.header.session_str(), Some("SESSION1"));
        assert_eq!(p.header.sequence, 1000);
        assert_eq!(p.header.kind(), Kind::Messages(2));
        assert_eq!(p.header.next_sequence(), 1002);
        let blocks: Vec<_> = p.messages().map(Result::unwrap).collect();
        assert_eq!(
            blocks,
            [
                Block {
                    sequence: 1000,
                    offset: 22,
                    message: b"AB"
                },
                Block {
                    sequence: 1001,
                    offset: 26,
                    message: b"XYZ"
                },
            ]
        );
    }

    #[test]
    fn the_writer_writes_what_the_reader_reads() {
        let mut w = Writer::new("SESSION1", 1000);
        w.push(b"AB").unwrap();
        w.push(b"XYZ").unwrap();
        assert_eq!(w.finish(), PACKET);
        let heartbeat = w.heartbeat();
        let h = parse(&heartbeat).unwrap().header;
        assert_eq!((h.kind(), h.sequence), (Kind::Heartbeat, 1002));
        assert_eq!(
            parse(&w.end_of_session()).unwrap().header.kind(),
            Kind::EndOfSession
        );
        assert_eq!(
            w.push(&[0; 65_536]),
            Err(WriteError::MessageTooLong { length: 65_536 })
        );
    }

    #[test]
    fn every_fault_names_its_byte() {
        assert_eq!(
            parse(&PACKET[..19]).unwrap_err(),
            FrameError::ShortHeader { length: 19 }
        );
        // The second block is cut: the first still arrives, then the error at its prefix.
        let cut = parse(&PACKET[..28]).unwrap();
        let got: Vec<_> = cut.messages().collect();
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        assert_eq!(
            got[1],
            Err(FrameError::Truncated {
                offset: 24,
                needed: 5,
                available: 4
            })
        );
        // A length prefix itself cut in half.
        let half = parse(&PACKET[..25]).unwrap();
        assert_eq!(
            half.messages().nth(1),
            Some(Err(FrameError::Truncated {
                offset: 24,
                needed: 2,
                available: 1
            }))
        );
        // More bytes than the count announces.
        let mut long = PACKET.to_vec();
        long.push(0);
        let last = parse(&long).unwrap().messages().last();
        assert_eq!(
            last,
            Some(Err(FrameError::Trailing {
                offset: 29,
                bytes: 1
            }))
        );
        let offsets = [
            FrameError::ShortHeader { length: 19 }.offset(),
            got[1].unwrap_err().offset(),
            last.unwrap().unwrap_err().offset(),
        ];
        assert_eq!(offsets, [0, 24, 29]);
        assert_eq!(
            FrameError::Trailing {
                offset: 29,
                bytes: 1
            }
            .to_string(),
            "at byte 29: 1 bytes after the last message block the header counts"
        );
    }

    #[test]
    fn a_session_that_is_not_printable_is_not_shown_as_text() {
        let mut p = PACKET;
        p[0] = 0x1B;
        assert_eq!(parse(&p).unwrap().header.session_str(), None);
    }
}
