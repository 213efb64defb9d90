//! NASDAQ SoupBinTCP: the TCP framing of OUCH and of ITCH's TCP delivery, as a schema's
//! `framing soupbintcp` declares it.
//!
//! A packet is a big-endian u16 length (of what follows it), a packet-type character and
//! the payload. Sequenced data packets (`S`) carry one message each; their sequence numbers
//! are implicit, counting on from the one the login-accepted packet (`A`) announced.
//!
//! TCP delivers a byte stream, so a read may end inside a packet: [`split`] takes complete
//! packets off the front of a buffer and says how many bytes it used, leaving a partial
//! packet for the next read. A packet type the specification does not define is returned
//! as [`Kind::Other`] rather than refused: the framing stays intact and the caller decides.

use core::fmt;

/// A packet's type, from its type character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `+`: free-form text from either side.
    Debug,
    /// `A`: the server accepted the login (session, first sequence number).
    LoginAccepted,
    /// `J`: the server refused the login (a reason code).
    LoginRejected,
    /// `S`: one message of the sequenced stream.
    SequencedData,
    /// `H`: the server is alive.
    ServerHeartbeat,
    /// `Z`: the session has ended.
    EndOfSession,
    /// `L`: the client logs in.
    LoginRequest,
    /// `U`: one message outside the sequenced stream (client to server).
    UnsequencedData,
    /// `R`: the client is alive.
    ClientHeartbeat,
    /// `O`: the client logs out.
    LogoutRequest,
    /// A type character the specification does not define.
    Other(u8),
}

impl Kind {
    /// The kind of type character `c`.
    pub fn of(c: u8) -> Kind {
        match c {
            b'+' => Kind::Debug,
            b'A' => Kind::LoginAccepted,
            b'J' => Kind::LoginRejected,
            b'S' => Kind::SequencedData,
            b'H' => Kind::ServerHeartbeat,
            b'Z' => Kind::EndOfSession,
            b'L' => Kind::LoginRequest,
            b'U' => Kind::UnsequencedData,
            b'R' => Kind::ClientHeartbeat,
            b'O' => Kind::LogoutRequest,
            other => Kind::Other(other),
        }
    }
}

/// One packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The packet's type.
    pub kind: Kind,
    /// What follows the type character.
    pub payload: &'a [u8],
    /// The packet's first byte (its length prefix), within the buffer given to [`split`].
    pub offset: usize,
}

/// Why the stream is not SoupBinTCP, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// A packet length of zero: there is no room even for the type character.
    EmptyPacket {
        /// The packet's first byte (its length prefix).
        offset: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::EmptyPacket { offset } => write!(
                f,
                "at byte {offset}: a SoupBinTCP packet of length 0 has no packet type"
            ),
        }
    }
}

impl core::error::Error for FrameError {}

/// The complete packets at the front of `buf`, and how many bytes they take: keep the rest
/// and read more. Stops at the first framing error, after the packets before it.
pub fn split(buf: &[u8]) -> (Vec<Packet<'_>>, usize, Option<FrameError>) {
    let mut packets = Vec::new();
    let mut pos = 0;
    while let Some(&[hi, lo]) = buf[pos..].first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if len == 0 {
            return (packets, pos, Some(FrameError::EmptyPacket { offset: pos }));
        }
        let Some(body) = buf.get(pos + 2..pos + 2 + len) else {
            break;
        };
        packets.push(Packet {
            kind: Kind::of(body[0]),
            payload: &body[1..],
            offset: pos,
        });
        pos += 2 + len;
    }
    (packets, pos, None)
}

/// Appends one packet of type `kind` (its character) to `out`.
///
/// # Errors
/// The payload is longer than a u16 length can say (65 534 bytes after the type).
pub fn write(out: &mut Vec<u8>, kind: u8, payload: &[u8]) -> Result<(), usize> {
    let len = u16::try_from(payload.len() + 1).map_err(|_| payload.len())?;
    out.extend_from_slice(&len.to_be_bytes());
    out.push(kind);
    out.extend_from_slice(payload);
    Ok(())
}

/// The sequenced messages of a stream, numbered: the login-accepted packet sets the next
/// number, each sequenced data packet takes one.
#[derive(Debug, Clone, Default)]
pub struct Sequencer {
    next: Option<u64>,
}

impl Sequencer {
    /// The sequence number of `packet` if it is sequenced data, after the login; updates the
    /// count from a login-accepted packet (its sequence field: 20 ASCII digits, space-padded
    /// on the left). `None` for other packets, or for data before any login was seen.
    pub fn number(&mut self, packet: &Packet<'_>) -> Option<u64> {
        match packet.kind {
            Kind::LoginAccepted => {
                let digits = packet.payload.get(10..30)?;
                let text = core::str::from_utf8(digits).ok()?;
                self.next = text.trim_start_matches(' ').parse().ok();
                None
            }
            Kind::SequencedData => {
                let n = self.next?;
                self.next = Some(n + 1);
                Some(n)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login_accepted(session: &str, seq: u64) -> Vec<u8> {
        let mut payload = format!("{session:<10}").into_bytes();
        payload.extend_from_slice(format!("{seq:>20}").as_bytes());
        let mut out = Vec::new();
        write(&mut out, b'A', &payload).unwrap();
        out
    }

    #[test]
    fn packets_split_off_a_stream_and_keep_the_partial_tail() {
        let mut stream = login_accepted("SESS", 41);
        write(&mut stream, b'S', b"first").unwrap();
        write(&mut stream, b'H', b"").unwrap();
        write(&mut stream, b'S', b"second").unwrap();
        // Hand-checked framing of the heartbeat: length 1, type 'H'.
        assert_eq!(&stream[33 + 8..33 + 8 + 3], &[0, 1, b'H']);
        let cut = stream.len() - 3;
        let (packets, used, err) = split(&stream[..cut]);
        assert_eq!(err, None);
        assert_eq!(packets.len(), 3);
        assert_eq!(used, 33 + 8 + 3, "the cut packet stays for the next read");
        let mut seq = Sequencer::default();
        let numbers: Vec<_> = packets.iter().map(|p| seq.number(p)).collect();
        assert_eq!(numbers, [None, Some(41), None]);
        assert_eq!(packets[1].payload, b"first");
        assert_eq!(packets[1].offset, 33);
        let (rest, _, _) = split(&stream[used..]);
        assert_eq!(seq.number(&rest[0]), Some(42));
        assert_eq!(rest[0].payload, b"second");
    }

    #[test]
    fn a_zero_length_is_a_framing_error_at_its_byte() {
        let mut stream = Vec::new();
        write(&mut stream, b'+', b"hi").unwrap();
        stream.extend_from_slice(&[0, 0, b'S']);
        let (packets, used, err) = split(&stream);
        assert_eq!(packets.len(), 1);
        assert_eq!(used, 5);
        assert_eq!(err, Some(FrameError::EmptyPacket { offset: 5 }));
        assert_eq!(Kind::of(b'q'), Kind::Other(b'q'));
    }
}
