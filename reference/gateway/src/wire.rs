//! Control messages on the wire: building them, and cutting a TCP byte stream into whole
//! messages (SPEC.md §11, "Framing").
//!
//! A connection carries RLTOP messages back to back. [`Framer`] accumulates what the socket
//! gives and hands out each whole message as it completes; it checks only what framing
//! needs (magic, a length the type allows, a length under the bound), and leaves the rest of
//! SPEC.md §4's checks to the decoder, so a bad checksum is a message-level error the
//! connection survives, while a bad magic or length is a framing error that ends it.

use bytes::{Buf, Bytes, BytesMut};
use rltop::MessageHeader;
use rltop_runtime::Dispatch;

/// Header size: every message starts with one.
pub const HEADER: usize = std::mem::size_of::<MessageHeader>();

/// The longest message a gateway accepts from a client: every control message fits (the
/// longest is 128 bytes) and a client has no reason to send market data.
pub const MAX_CLIENT_MESSAGE: usize = 1024;

/// The longest message a client accepts from a gateway: any message the protocol has, and
/// later versions' unknown types up to this size.
pub const MAX_GATEWAY_MESSAGE: usize = 65535;

/// Why a byte stream cannot be followed any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingError {
    /// Offset of the fault from the start of the stream.
    pub stream_offset: u64,
    pub detail: String,
}

impl std::fmt::Display for FramingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at stream byte {}: {}", self.stream_offset, self.detail)
    }
}

/// Cuts a byte stream into whole messages.
#[derive(Debug)]
pub struct Framer {
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    consumed: u64,
    max_len: usize,
}

impl Framer {
    pub fn new(max_len: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(64 << 10),
            consumed: 0,
            max_len,
        }
    }

    /// Where the socket's next bytes go (`BytesMut` grows as needed).
    pub fn buffer(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Stream offset of the next message.
    pub fn position(&self) -> u64 {
        self.consumed
    }

    /// The next whole message, `Ok(None)` when more bytes are needed, or the framing error
    /// that ends the stream.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, FramingError> {
        let Some(len) = self.complete_len()? else {
            return Ok(None);
        };
        self.consumed += len as u64;
        Ok(Some(self.buf.split_to(len).freeze()))
    }

    /// The longest run of whole messages at the front (at most `max_bytes`, at least one if
    /// one is complete), as one buffer: market data is handed on in runs, as datagrams are.
    /// Stops before the first message `stop_before` says no to.
    pub fn next_run(
        &mut self,
        max_bytes: usize,
        stop_before: impl Fn(u8) -> bool,
    ) -> Result<Option<Bytes>, FramingError> {
        let mut end = 0;
        loop {
            let rest = &self.buf[end..];
            let Some(len) = Self::frame_len(rest, self.consumed + end as u64, self.max_len)? else {
                break;
            };
            if stop_before(rest[6]) || (end > 0 && end + len > max_bytes) {
                break;
            }
            end += len;
        }
        if end == 0 {
            return Ok(None);
        }
        self.consumed += end as u64;
        Ok(Some(self.buf.split_to(end).freeze()))
    }

    /// The type code of the next whole message, if one is complete.
    pub fn peek_type(&self) -> Result<Option<u8>, FramingError> {
        Ok(self.complete_len()?.map(|_| self.buf[6]))
    }

    fn complete_len(&self) -> Result<Option<usize>, FramingError> {
        Self::frame_len(&self.buf, self.consumed, self.max_len)
    }

    /// The length of the message at the front of `bytes` if all of it is there.
    fn frame_len(bytes: &[u8], at: u64, max_len: usize) -> Result<Option<usize>, FramingError> {
        if bytes.len() < HEADER {
            // The magic can be checked as soon as it is there: garbage is refused at once,
            // not after a header's worth of it.
            if bytes.len() >= 4 {
                check_magic(bytes, at)?;
            }
            return Ok(None);
        }
        check_magic(bytes, at)?;
        let len = usize::from(u16::from_le_bytes([bytes[4], bytes[5]]));
        let msg_type = bytes[6];
        let fault = |detail: String| FramingError {
            stream_offset: at + 4,
            detail,
        };
        match <rltop::Message as Dispatch>::size_of_type(msg_type) {
            Some(size) if len != size => {
                return Err(fault(format!(
                    "BadLength: type 0x{msg_type:02X} is {size} bytes, the header says {len}"
                )))
            }
            None if len < HEADER => {
                return Err(fault(format!(
                    "BadLength: {len} is shorter than the {HEADER}-byte header"
                )))
            }
            _ => {}
        }
        if len > max_len {
            return Err(fault(format!(
                "BadLength: {len} bytes, over this side's limit of {max_len}"
            )));
        }
        Ok((bytes.len() >= len).then_some(len))
    }

    /// Bytes received but not yet a whole message.
    pub fn pending(&self) -> usize {
        self.buf.remaining()
    }
}

fn check_magic(bytes: &[u8], at: u64) -> Result<(), FramingError> {
    let magic = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if magic != rltop::PROTOCOL.magic {
        return Err(FramingError {
            stream_offset: at,
            detail: format!(
                "BadMagic: 0x{magic:08X}, expected 0x{:08X} (is this an RLTOP gateway connection?)",
                rltop::PROTOCOL.magic
            ),
        });
    }
    Ok(())
}

/// Whether a type code is one of the gateway session's control messages.
pub fn is_control(msg_type: u8) -> bool {
    rltop::Channel::of_type(msg_type) == Some(rltop::Channel::Session)
}

/// Numbers one side's control messages (the header's `seq_num`) and stamps them.
#[derive(Debug, Default)]
pub struct Outgoing {
    /// The connection's gateway session (0 before the login).
    pub session: u64,
    sent: u64,
}

impl Outgoing {
    /// Encodes `m` with the next control sequence number, and returns its bytes.
    pub fn seal<M: rltop_runtime::Message>(&mut self, mut m: M) -> Bytes {
        self.sent += 1;
        Bytes::copy_from_slice(rltop_runtime::finalize(
            &mut m,
            self.session,
            self.sent,
            rltop_net::realtime_ns(),
        ))
    }
}

/// Writes `text` into a text field, cut to what fits and with non-printable characters
/// replaced: for the `detail` sentences, which must never fail to encode.
pub fn fit_text(text: &str, capacity: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect();
    if out.len() > capacity {
        out.truncate(capacity.saturating_sub(3));
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeat() -> Bytes {
        Outgoing::default().seal(rltop::SessionHeartbeat::new())
    }

    #[test]
    fn whole_messages_come_out_however_the_bytes_arrive() {
        let one = heartbeat();
        let mut stream = Vec::new();
        for _ in 0..3 {
            stream.extend_from_slice(&one);
        }
        let mut f = Framer::new(MAX_CLIENT_MESSAGE);
        let mut got = Vec::new();
        for b in stream.chunks(7) {
            f.buffer().extend_from_slice(b);
            while let Some(m) = f.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|m| m[..] == one[..]));
        assert_eq!(f.position(), 3 * one.len() as u64);
    }

    #[test]
    fn framing_errors_name_the_stream_offset() {
        let mut f = Framer::new(MAX_CLIENT_MESSAGE);
        f.buffer().extend_from_slice(&heartbeat());
        f.buffer().extend_from_slice(b"GET / HTTP/1.1\r\n");
        assert!(f.next_message().unwrap().is_some());
        let e = f.next_message().unwrap_err();
        assert_eq!(e.stream_offset, 48);
        assert!(e.detail.starts_with("BadMagic"), "{e}");

        let mut m = heartbeat().to_vec();
        m[4] = 49; // a heartbeat is 48 bytes
        let mut f = Framer::new(MAX_CLIENT_MESSAGE);
        f.buffer().extend_from_slice(&m);
        let e = f.next_message().unwrap_err();
        assert_eq!(e.stream_offset, 4);
        assert!(e.detail.contains("is 48 bytes"), "{e}");

        // An unknown type longer than the client bound.
        let mut m = heartbeat().to_vec();
        m[6] = 0x9F;
        m[4..6].copy_from_slice(&2000u16.to_le_bytes());
        let mut f = Framer::new(MAX_CLIENT_MESSAGE);
        f.buffer().extend_from_slice(&m);
        let e = f.next_message().unwrap_err();
        assert!(e.detail.contains("over this side's limit of 1024"), "{e}");
    }

    #[test]
    fn runs_stop_before_control_messages() {
        let mut f = Framer::new(MAX_GATEWAY_MESSAGE);
        let hb = heartbeat();
        let mut trade = rltop::Trade::new();
        let t = Bytes::copy_from_slice(trade.encode(7, 1, 0));
        for m in [&t, &t, &hb, &t] {
            f.buffer().extend_from_slice(m);
        }
        let run = f.next_run(1 << 16, is_control).unwrap().unwrap();
        assert_eq!(run.len(), 2 * t.len());
        assert_eq!(
            f.peek_type().unwrap(),
            Some(rltop::SessionHeartbeat::TYPE_CODE)
        );
        assert!(f.next_run(1 << 16, is_control).unwrap().is_none());
        assert_eq!(f.next_message().unwrap().unwrap().len(), hb.len());
        assert_eq!(
            f.next_run(1 << 16, is_control).unwrap().unwrap().len(),
            t.len()
        );
    }

    #[test]
    fn detail_text_always_fits() {
        assert_eq!(fit_text("ok", 8), "ok");
        assert_eq!(fit_text("naïve\n", 8), "na?ve?");
        assert_eq!(fit_text("a sentence that is long", 10), "a sente...");
    }
}
