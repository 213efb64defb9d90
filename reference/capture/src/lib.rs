//! Classic pcap files of UDP datagrams — what tcpdump, Wireshark and tshark read and write —
//! and replay at recorded pace, scaled, or as fast as possible.
//!
//! The writer frames each datagram as Ethernet/IPv4/UDP with [`frame`] (multicast
//! destinations get the 01:00:5e MAC their group maps to; both checksums filled), the
//! builder the DPDK backend also uses, so a capture holds the frames a NIC would send. The reader takes microsecond or nanosecond files in either byte order, Ethernet
//! (with one VLAN tag) or raw IPv4 link types, and passes over non-UDP packets; a damaged
//! file is an error naming the byte offset.

pub mod frame;

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

const MAGIC_NS: u32 = 0xA1B2_3C4D;
const MAGIC_US: u32 = 0xA1B2_C3D4;
const LINK_ETHERNET: u32 = 1;
const LINK_RAW: [u32; 2] = [101, 228];

/// One UDP datagram of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Capture time, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub payload: Vec<u8>,
}

/// A capture that cannot be read.
#[derive(Debug)]
pub enum PcapError {
    Io(io::Error),
    /// The file is damaged or not a capture of the supported kind; `offset` is in the file.
    Format {
        offset: u64,
        what: String,
    },
}

impl fmt::Display for PcapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "{e}"),
            Self::Format { offset, what } => write!(f, "at byte {offset}: {what}"),
        }
    }
}

impl std::error::Error for PcapError {}

impl From<io::Error> for PcapError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Writes a nanosecond-resolution Ethernet pcap.
pub struct PcapWriter<W: Write> {
    out: W,
    frame: Vec<u8>,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&MAGIC_NS.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&65535u32.to_le_bytes());
        h.extend_from_slice(&LINK_ETHERNET.to_le_bytes());
        out.write_all(&h)?;
        Ok(Self {
            out,
            frame: Vec::with_capacity(1600),
        })
    }

    /// One UDP datagram (at most 65507 bytes of payload).
    pub fn write(
        &mut self,
        time_ns: u64,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        payload: &[u8],
    ) -> io::Result<()> {
        if payload.len() > 65507 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} bytes do not fit one UDP datagram", payload.len()),
            ));
        }
        // Locally administered MACs made from the addresses (a capture has no ARP).
        let mac = |ip: &Ipv4Addr| {
            let o = ip.octets();
            [0x02, 0x00, o[0], o[1], o[2], o[3]]
        };
        let spec = frame::FrameSpec {
            src_mac: mac(src.ip()),
            src,
            ttl: 1,
        };
        let dst_mac = if dst.ip().is_multicast() {
            frame::multicast_mac(*dst.ip())
        } else {
            mac(dst.ip())
        };
        self.frame.resize(frame::frame_len(payload.len()), 0);
        let len = frame::write_frame_to(&spec, dst_mac, dst, 0, payload, &mut self.frame)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let f = &self.frame[..len];
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&((time_ns / 1_000_000_000) as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&((time_ns % 1_000_000_000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(f.len() as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&(f.len() as u32).to_le_bytes());
        self.out.write_all(&rec)?;
        self.out.write_all(f)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads the UDP packets of a pcap file.
pub struct PcapReader<R: Read> {
    input: R,
    big_endian: bool,
    ns_per_unit: u64,
    link: u32,
    offset: u64,
    fragments: u64,
}

impl<R: Read> PcapReader<R> {
    pub fn new(mut input: R) -> Result<Self, PcapError> {
        let mut h = [0u8; 24];
        input.read_exact(&mut h).map_err(|_| PcapError::Format {
            offset: 0,
            what: "shorter than a pcap file header".into(),
        })?;
        let magic_le = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let magic_be = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let (big_endian, ns_per_unit) = match (magic_le, magic_be) {
            (MAGIC_NS, _) => (false, 1),
            (MAGIC_US, _) => (false, 1000),
            (_, MAGIC_NS) => (true, 1),
            (_, MAGIC_US) => (true, 1000),
            _ => {
                return Err(PcapError::Format {
                    offset: 0,
                    what: format!("not a pcap file (magic {magic_le:#010x})"),
                })
            }
        };
        let link = if big_endian {
            u32::from_be_bytes([h[20], h[21], h[22], h[23]])
        } else {
            u32::from_le_bytes([h[20], h[21], h[22], h[23]])
        } & 0x0FFF_FFFF;
        if link != LINK_ETHERNET && !LINK_RAW.contains(&link) {
            return Err(PcapError::Format {
                offset: 20,
                what: format!("link type {link} is neither Ethernet nor raw IPv4"),
            });
        }
        Ok(Self {
            input,
            big_endian,
            ns_per_unit,
            link,
            offset: 24,
            fragments: 0,
        })
    }

    fn u32_at(&self, b: &[u8], at: usize) -> u32 {
        let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    /// The next UDP packet, or None at the end of the file.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, PcapError> {
        loop {
            let at = self.offset;
            let mut rec = [0u8; 16];
            let mut got = 0;
            while got < 16 {
                let n = self.input.read(&mut rec[got..])?;
                if n == 0 {
                    break;
                }
                got += n;
            }
            if got == 0 {
                return Ok(None);
            }
            if got < 16 {
                return Err(PcapError::Format {
                    offset: at,
                    what: "record header cut short".into(),
                });
            }
            let (sec, frac, caplen) = (
                self.u32_at(&rec, 0),
                self.u32_at(&rec, 4),
                self.u32_at(&rec, 8),
            );
            if caplen > 262_144 {
                return Err(PcapError::Format {
                    offset: at + 8,
                    what: format!("record length {caplen} is implausible"),
                });
            }
            let mut data = vec![0u8; caplen as usize];
            self.input
                .read_exact(&mut data)
                .map_err(|_| PcapError::Format {
                    offset: at + 16,
                    what: format!("record of {caplen} bytes cut short"),
                })?;
            self.offset += 16 + u64::from(caplen);
            let time_ns = u64::from(sec) * 1_000_000_000 + u64::from(frac) * self.ns_per_unit;
            if let Some(p) = self.udp(&data, time_ns, at + 16)? {
                return Ok(Some(p));
            }
        }
    }

    /// IPv4 fragments passed over so far: a datagram larger than the capturing link's MTU
    /// arrives in pieces, which this reader does not reassemble. Callers report them.
    pub fn fragments_skipped(&self) -> u64 {
        self.fragments
    }

    fn udp(&mut self, data: &[u8], time_ns: u64, at: u64) -> Result<Option<Packet>, PcapError> {
        let ip = if self.link == LINK_ETHERNET {
            if data.len() < 14 {
                return Ok(None);
            }
            let mut et = u16::from_be_bytes([data[12], data[13]]);
            let mut l3 = 14;
            if et == 0x8100 && data.len() >= 18 {
                et = u16::from_be_bytes([data[16], data[17]]);
                l3 = 18;
            }
            if et != 0x0800 {
                return Ok(None);
            }
            &data[l3..]
        } else {
            data
        };
        if ip.len() < 20 || ip[0] >> 4 != 4 || ip[9] != 17 {
            return Ok(None);
        }
        // More fragments, or a fragment offset: a piece of a datagram, not a datagram.
        if u16::from_be_bytes([ip[6], ip[7]]) & 0x3FFF != 0 {
            self.fragments += 1;
            return Ok(None);
        }
        let ihl = usize::from(ip[0] & 0x0F) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
        if ihl < 20 || total < ihl + 8 {
            return Err(PcapError::Format {
                offset: at,
                what: "IPv4/UDP header cut short".into(),
            });
        }
        let udp = &ip[ihl..total];
        let ulen = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
        if ulen < 8 || ulen > udp.len() {
            return Err(PcapError::Format {
                offset: at,
                what: format!("UDP length {ulen} does not fit the packet"),
            });
        }
        let addr = |o: usize, p: usize| {
            SocketAddrV4::new(
                Ipv4Addr::new(ip[o], ip[o + 1], ip[o + 2], ip[o + 3]),
                u16::from_be_bytes([udp[p], udp[p + 1]]),
            )
        };
        Ok(Some(Packet {
            time_ns,
            src: addr(12, 0),
            dst: addr(16, 2),
            payload: udp[8..ulen].to_vec(),
        }))
    }
}

impl<R: Read> Iterator for PcapReader<R> {
    type Item = Result<Packet, PcapError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_packet().transpose()
    }
}

/// How fast to replay a capture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// The gaps between packets as recorded.
    Recorded,
    /// Recorded gaps divided by this factor (2.0 = twice as fast).
    Scaled(f64),
    /// No waiting.
    AsFastAsPossible,
}

/// Hands each packet to `sink` at the chosen pace; returns how many were replayed. Stops at
/// the first error of the capture or of the sink.
pub fn replay<I>(
    packets: I,
    pace: Pace,
    mut sink: impl FnMut(&Packet) -> io::Result<()>,
) -> Result<u64, PcapError>
where
    I: IntoIterator<Item = Result<Packet, PcapError>>,
{
    let start = Instant::now();
    let mut first: Option<u64> = None;
    let mut n = 0;
    for p in packets {
        let p = p?;
        let t0 = *first.get_or_insert(p.time_ns);
        let due = match pace {
            Pace::Recorded => Some(Duration::from_nanos(p.time_ns.saturating_sub(t0))),
            Pace::Scaled(f) if f > 0.0 => Some(
                Duration::try_from_secs_f64(p.time_ns.saturating_sub(t0) as f64 / 1e9 / f)
                    .unwrap_or(Duration::MAX),
            ),
            _ => None,
        };
        if let Some(due) = due {
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        sink(&p)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddrV4 {
        s.parse().unwrap()
    }

    #[test]
    fn write_then_read_back() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write(
            1_700_000_000_123_456_789,
            addr("10.0.0.1:40000"),
            addr("239.255.1.1:9002"),
            b"hello",
        )
        .unwrap();
        w.write(
            1_700_000_001_000_000_000,
            addr("10.0.0.1:40000"),
            addr("239.255.3.1:9004"),
            &[7; 1400],
        )
        .unwrap();
        let bytes = w.into_inner();
        let packets: Vec<Packet> = PcapReader::new(&bytes[..])
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(packets.len(), 2);
        assert_eq!(packets[0].time_ns, 1_700_000_000_123_456_789);
        assert_eq!(packets[0].dst, addr("239.255.1.1:9002"));
        assert_eq!(packets[0].payload, b"hello");
        assert_eq!(packets[1].payload.len(), 1400);
        // The Ethernet destination is the group's multicast MAC, and the IPv4 checksum holds.
        assert_eq!(
            &bytes[24 + 16..24 + 16 + 6],
            &[0x01, 0x00, 0x5E, 0x7F, 0x01, 0x01]
        );
        assert_eq!(frame::ipv4_checksum(&bytes[24 + 16 + 14..24 + 16 + 34]), 0);
    }

    #[test]
    fn ip_fragments_are_counted_and_passed_over() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        for _ in 0..3 {
            w.write(
                1,
                addr("10.0.0.1:40000"),
                addr("239.255.1.1:9002"),
                b"whole",
            )
            .unwrap();
        }
        let mut bytes = w.into_inner();
        // Make the second record's packet a first fragment (more fragments), the third a
        // later one (an offset): neither is a datagram.
        let record = 16 + 14 + 20 + 8 + 5;
        let flags = |i: usize| 24 + i * record + 16 + 14 + 6;
        bytes[flags(1)] |= 0x20;
        bytes[flags(2)..flags(2) + 2].copy_from_slice(&0x0010u16.to_be_bytes());
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        let packets: Vec<Packet> = reader.by_ref().map(Result::unwrap).collect();
        assert_eq!(packets.len(), 1);
        assert_eq!(reader.fragments_skipped(), 2);
    }

    #[test]
    fn damaged_files_name_the_offset() {
        assert!(matches!(
            PcapReader::new(&b"nope"[..]),
            Err(PcapError::Format { offset: 0, .. })
        ));
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write(1, addr("10.0.0.1:1"), addr("10.0.0.2:2"), b"abc")
            .unwrap();
        let mut bytes = w.into_inner();
        bytes.truncate(bytes.len() - 2);
        let err = PcapReader::new(&bytes[..])
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, PcapError::Format { offset: 40, .. }), "{err}");
    }

    #[test]
    fn replay_paces() {
        let mk = |t| {
            Ok(Packet {
                time_ns: t,
                src: addr("10.0.0.1:1"),
                dst: addr("10.0.0.2:2"),
                payload: vec![],
            })
        };
        let start = Instant::now();
        let n = replay(vec![mk(0), mk(40_000_000)], Pace::Scaled(2.0), |_| Ok(())).unwrap();
        let took = start.elapsed();
        assert_eq!(n, 2);
        assert!(
            took >= Duration::from_millis(20) && took < Duration::from_millis(500),
            "{took:?}"
        );
        let start = Instant::now();
        replay(
            vec![mk(0), mk(10_000_000_000)],
            Pace::AsFastAsPossible,
            |_| Ok(()),
        )
        .unwrap();
        assert!(start.elapsed() < Duration::from_millis(100));
    }
}
