//! Classic pcap files of UDP datagrams — what tcpdump, Wireshark and tshark read and write —
//! and replay at recorded pace, scaled, or as fast as possible.
//!
//! The writer frames each datagram as Ethernet/IPv4/UDP with [`frame`] (multicast
//! destinations get the 01:00:5e MAC their group maps to; both checksums filled), the
//! builder the DPDK backend also uses, so a capture holds the frames a NIC would send. The reader takes microsecond or nanosecond files in either byte order, Ethernet
//! (with one VLAN tag) or raw IPv4 link types. [`PcapReader::next_record`] gives every
//! record, numbered from 0 as in the file (tshark's frame N is record N − 1): its UDP
//! datagram, or the [`Skip`] that says why it holds none (another protocol, an IPv4
//! fragment, a packet malformed or cut short in the capture); [`PcapReader::next_packet`]
//! and the iterator give the datagrams alone. A damaged file is an error naming the byte
//! offset.

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

/// One record of a capture, whatever it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's place in the file, from 0: tshark's frame number less one.
    pub index: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// The UDP datagram over IPv4 it holds, or why it holds none this reader gives.
    pub datagram: Result<Packet, Skip>,
}

/// Why a record holds no UDP datagram over IPv4 that this reader gives. The Display text is
/// the reason `rltop dump` prints, word for word that of the Python package's `rltop.pcap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skip {
    /// An Ethernet frame shorter than its header (14 bytes, 18 with a VLAN tag).
    ShortFrame { len: usize },
    /// An Ethernet frame of another protocol (ARP, IPv6, …).
    NotIpv4 { ethertype: u16 },
    /// Fewer bytes than an IPv4 header's 20 where one should be.
    ShortIpv4 { len: usize },
    /// An IP packet of another version (raw IP link types carry IPv6 too).
    IpVersion { version: u8 },
    /// An IPv4 packet of another protocol (TCP, ICMP, IGMP, …).
    NotUdp { protocol: u8 },
    /// A piece of a datagram larger than the capturing link's MTU: fragments are not
    /// reassembled. `offset` in bytes; `more` when later pieces follow.
    Fragment { offset: u16, more: bool },
    /// An IPv4 header length (IHL × 4) below 20 or beyond the bytes captured.
    BadHeaderLength { ihl: usize, len: usize },
    /// An IPv4 total length too small to hold the header and a UDP header.
    BadTotalLength { total: usize, ihl: usize },
    /// The capture holds less of the packet than its IPv4 total length (a snap length
    /// shorter than the packet).
    CutShort { total: usize, captured: usize },
    /// A UDP length below 8 or beyond the IPv4 packet's payload.
    BadUdpLength { len: usize, room: usize },
}

impl Skip {
    /// Whether the packet is malformed or cut short, rather than simply not a UDP datagram
    /// over IPv4 ([`PcapReader::next_packet`] fails on these).
    pub fn is_damaged(&self) -> bool {
        matches!(
            self,
            Self::ShortFrame { .. }
                | Self::ShortIpv4 { .. }
                | Self::BadHeaderLength { .. }
                | Self::BadTotalLength { .. }
                | Self::CutShort { .. }
                | Self::BadUdpLength { .. }
        )
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ShortFrame { len } => {
                write!(f, "frame of {len} bytes is shorter than its Ethernet header")
            }
            Self::NotIpv4 { ethertype } => write!(f, "ethertype {ethertype:#06x} is not IPv4"),
            Self::ShortIpv4 { len } => {
                write!(f, "IPv4 header cut short: {len} of 20 bytes captured")
            }
            Self::IpVersion { version } => write!(f, "IP version {version} is not IPv4"),
            Self::NotUdp { protocol } => write!(f, "IP protocol {protocol} is not UDP"),
            Self::Fragment { offset, more } => write!(
                f,
                "IPv4 fragment at offset {offset}{}: fragments are not reassembled",
                if more { ", more follow" } else { ", the last" }
            ),
            Self::BadHeaderLength { ihl, len } => write!(
                f,
                "IPv4 header length {ihl} does not fit: at least 20, at most the {len} bytes captured"
            ),
            Self::BadTotalLength { total, ihl } => write!(
                f,
                "IPv4 total length {total} leaves no room for a UDP header after {ihl} bytes of IPv4 header"
            ),
            Self::CutShort { total, captured } => write!(
                f,
                "packet cut short in the capture: IPv4 total length {total}, {captured} bytes captured"
            ),
            Self::BadUdpLength { len, room } => write!(
                f,
                "UDP length {len} does not fit: at least 8, at most the IPv4 payload's {room} bytes"
            ),
        }
    }
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
        write_record(&mut self.out, time_ns, &self.frame[..len], len)
    }

    /// Any frame as captured (ARP, a fragment, … — for tests of readers): `frame` holds the
    /// bytes kept, `wire_len` the frame's length on the wire, longer when a snap length cut
    /// the capture short.
    pub fn write_frame(&mut self, time_ns: u64, frame: &[u8], wire_len: usize) -> io::Result<()> {
        write_record(&mut self.out, time_ns, frame, wire_len)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// One record: its header (nanosecond timestamp, captured and wire lengths), then `frame`.
fn write_record(
    out: &mut impl Write,
    time_ns: u64,
    frame: &[u8],
    wire_len: usize,
) -> io::Result<()> {
    let len = |n: usize| {
        u32::try_from(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too long"))
    };
    let mut rec = [0u8; 16];
    rec[0..4].copy_from_slice(&((time_ns / 1_000_000_000) as u32).to_le_bytes());
    rec[4..8].copy_from_slice(&((time_ns % 1_000_000_000) as u32).to_le_bytes());
    rec[8..12].copy_from_slice(&len(frame.len())?.to_le_bytes());
    rec[12..16].copy_from_slice(&len(wire_len.max(frame.len()))?.to_le_bytes());
    out.write_all(&rec)?;
    out.write_all(frame)
}

/// Reads the records of a pcap file: every one with [`PcapReader::next_record`], the UDP
/// datagrams alone with [`PcapReader::next_packet`] or as an iterator.
pub struct PcapReader<R: Read> {
    input: R,
    big_endian: bool,
    ns_per_unit: u64,
    link: u32,
    offset: u64,
    records: u64,
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
            records: 0,
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

    /// The next record, whatever it holds, or None at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<Record>, PcapError> {
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
        let index = self.records;
        self.records += 1;
        let time_ns = u64::from(sec) * 1_000_000_000 + u64::from(frac) * self.ns_per_unit;
        Ok(Some(Record {
            index,
            time_ns,
            datagram: self.udp(&data, time_ns),
        }))
    }

    /// The next UDP packet, or None at the end of the file. Records of other protocols are
    /// passed over, IPv4 fragments counted ([`Self::fragments_skipped`]) and passed over; a
    /// packet malformed or cut short in the capture is an error naming its offset.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, PcapError> {
        loop {
            let at = self.offset + 16;
            let Some(record) = self.next_record()? else {
                return Ok(None);
            };
            match record.datagram {
                Ok(p) => return Ok(Some(p)),
                Err(Skip::Fragment { .. }) => self.fragments += 1,
                Err(skip) if skip.is_damaged() => {
                    return Err(PcapError::Format {
                        offset: at,
                        what: skip.to_string(),
                    })
                }
                Err(_) => {}
            }
        }
    }

    /// IPv4 fragments passed over so far by [`Self::next_packet`]: a datagram larger than
    /// the capturing link's MTU arrives in pieces, which this reader does not reassemble.
    /// Callers report them.
    pub fn fragments_skipped(&self) -> u64 {
        self.fragments
    }

    /// The UDP datagram of one record's bytes, or why there is none. The checks and their
    /// order are those of the Python package's `rltop.pcap.records`.
    fn udp(&self, data: &[u8], time_ns: u64) -> Result<Packet, Skip> {
        let ip = if self.link == LINK_ETHERNET {
            if data.len() < 14 {
                return Err(Skip::ShortFrame { len: data.len() });
            }
            let mut et = u16::from_be_bytes([data[12], data[13]]);
            let mut l3 = 14;
            if et == 0x8100 {
                if data.len() < 18 {
                    return Err(Skip::ShortFrame { len: data.len() });
                }
                et = u16::from_be_bytes([data[16], data[17]]);
                l3 = 18;
            }
            if et != 0x0800 {
                return Err(Skip::NotIpv4 { ethertype: et });
            }
            &data[l3..]
        } else {
            data
        };
        if ip.len() < 20 {
            return Err(Skip::ShortIpv4 { len: ip.len() });
        }
        if ip[0] >> 4 != 4 {
            return Err(Skip::IpVersion {
                version: ip[0] >> 4,
            });
        }
        if ip[9] != 17 {
            return Err(Skip::NotUdp { protocol: ip[9] });
        }
        // More fragments, or a fragment offset: a piece of a datagram, not a datagram.
        let frag = u16::from_be_bytes([ip[6], ip[7]]);
        if frag & 0x3FFF != 0 {
            return Err(Skip::Fragment {
                offset: (frag & 0x1FFF) * 8,
                more: frag & 0x2000 != 0,
            });
        }
        let ihl = usize::from(ip[0] & 0x0F) * 4;
        if ihl < 20 || ihl > ip.len() {
            return Err(Skip::BadHeaderLength { ihl, len: ip.len() });
        }
        // The total length, not the bytes captured: an Ethernet frame may be padded.
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        if total < ihl + 8 {
            return Err(Skip::BadTotalLength { total, ihl });
        }
        if total > ip.len() {
            return Err(Skip::CutShort {
                total,
                captured: ip.len(),
            });
        }
        let udp = &ip[ihl..total];
        let ulen = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
        if ulen < 8 || ulen > udp.len() {
            return Err(Skip::BadUdpLength {
                len: ulen,
                room: udp.len(),
            });
        }
        let addr = |o: usize, p: usize| {
            SocketAddrV4::new(
                Ipv4Addr::new(ip[o], ip[o + 1], ip[o + 2], ip[o + 3]),
                u16::from_be_bytes([udp[p], udp[p + 1]]),
            )
        };
        Ok(Packet {
            time_ns,
            src: addr(12, 0),
            dst: addr(16, 2),
            payload: udp[8..ulen].to_vec(),
        })
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

    /// A UDP frame from 10.0.0.1:40000 to 239.255.1.1:9002 with a 5-byte payload, changed
    /// by `edit`.
    fn udp_frame(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let spec = frame::FrameSpec {
            src_mac: [2, 0, 10, 0, 0, 1],
            src: addr("10.0.0.1:40000"),
            ttl: 1,
        };
        let mut f = vec![0u8; frame::frame_len(5)];
        frame::write_frame(&spec, addr("239.255.1.1:9002"), 0, b"whole", &mut f).unwrap();
        edit(&mut f);
        f
    }

    #[test]
    fn every_record_is_numbered_and_says_why_it_holds_no_datagram() {
        let mut arp = udp_frame(|_| {});
        arp.truncate(42);
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        let vlan = udp_frame(|f| {
            f.splice(12..12, [0x81, 0x00, 0x00, 0x07]);
        });
        // Each: the frame, its length on the wire (0: as captured), what the reader finds.
        type Case = (Vec<u8>, usize, Result<&'static [u8], Skip>);
        let cases: Vec<Case> = vec![
            (udp_frame(|_| {}), 0, Ok(b"whole")),
            (arp, 0, Err(Skip::NotIpv4 { ethertype: 0x0806 })),
            (vec![0; 10], 0, Err(Skip::ShortFrame { len: 10 })),
            (vlan, 0, Ok(b"whole")),
            (
                udp_frame(|f| f.truncate(24)),
                0,
                Err(Skip::ShortIpv4 { len: 10 }),
            ),
            (
                udp_frame(|f| f[14] = 0x65),
                0,
                Err(Skip::IpVersion { version: 6 }),
            ),
            (
                udp_frame(|f| f[23] = 6),
                0,
                Err(Skip::NotUdp { protocol: 6 }),
            ),
            (
                udp_frame(|f| f[20] = 0x20),
                0,
                Err(Skip::Fragment {
                    offset: 0,
                    more: true,
                }),
            ),
            (
                udp_frame(|f| f[20..22].copy_from_slice(&185u16.to_be_bytes())),
                0,
                Err(Skip::Fragment {
                    offset: 1480,
                    more: false,
                }),
            ),
            (
                udp_frame(|f| f[14] = 0x44),
                0,
                Err(Skip::BadHeaderLength { ihl: 16, len: 33 }),
            ),
            (
                udp_frame(|f| f[14] = 0x4F),
                0,
                Err(Skip::BadHeaderLength { ihl: 60, len: 33 }),
            ),
            (
                udp_frame(|f| f[16..18].copy_from_slice(&27u16.to_be_bytes())),
                0,
                Err(Skip::BadTotalLength { total: 27, ihl: 20 }),
            ),
            (
                udp_frame(|f| f.truncate(44)),
                47,
                Err(Skip::CutShort {
                    total: 33,
                    captured: 30,
                }),
            ),
            (
                udp_frame(|f| f[38..40].copy_from_slice(&14u16.to_be_bytes())),
                0,
                Err(Skip::BadUdpLength { len: 14, room: 13 }),
            ),
            (
                udp_frame(|f| f[38..40].copy_from_slice(&7u16.to_be_bytes())),
                0,
                Err(Skip::BadUdpLength { len: 7, room: 13 }),
            ),
            // Ethernet padding after the IPv4 packet is not payload.
            (udp_frame(|f| f.resize(60, 0xEE)), 0, Ok(b"whole")),
        ];
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        for (i, (frame, wire_len, _)) in cases.iter().enumerate() {
            w.write_frame(1_000 + i as u64, frame, *wire_len).unwrap();
        }
        let bytes = w.into_inner();
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        for (i, (_, _, want)) in cases.iter().enumerate() {
            let r = reader.next_record().unwrap().unwrap();
            assert_eq!((r.index, r.time_ns), (i as u64, 1_000 + i as u64));
            match (&r.datagram, want) {
                (Ok(p), Ok(payload)) => {
                    assert_eq!(p.payload, *payload, "record {i}");
                    assert_eq!(
                        (p.src, p.dst),
                        (addr("10.0.0.1:40000"), addr("239.255.1.1:9002"))
                    );
                }
                (got, want) => assert_eq!(
                    got.as_ref().map(|_| ()).map_err(|s| *s),
                    want.map(|_| ()),
                    "record {i}"
                ),
            }
        }
        assert!(reader.next_record().unwrap().is_none());

        // The reasons as `rltop dump` prints them (and the Python package's `rltop.pcap`).
        let texts: Vec<String> = cases
            .iter()
            .filter_map(|(_, _, want)| want.err().map(|s| s.to_string()))
            .collect();
        assert_eq!(
            texts,
            [
                "ethertype 0x0806 is not IPv4",
                "frame of 10 bytes is shorter than its Ethernet header",
                "IPv4 header cut short: 10 of 20 bytes captured",
                "IP version 6 is not IPv4",
                "IP protocol 6 is not UDP",
                "IPv4 fragment at offset 0, more follow: fragments are not reassembled",
                "IPv4 fragment at offset 1480, the last: fragments are not reassembled",
                "IPv4 header length 16 does not fit: at least 20, at most the 33 bytes captured",
                "IPv4 header length 60 does not fit: at least 20, at most the 33 bytes captured",
                "IPv4 total length 27 leaves no room for a UDP header after 20 bytes of IPv4 header",
                "packet cut short in the capture: IPv4 total length 33, 30 bytes captured",
                "UDP length 14 does not fit: at least 8, at most the IPv4 payload's 13 bytes",
                "UDP length 7 does not fit: at least 8, at most the IPv4 payload's 13 bytes",
            ]
        );

        // The datagrams alone: other protocols and fragments passed over, the first damaged
        // packet (the runt frame, record 2) an error naming where its bytes start.
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.next_packet().unwrap().unwrap().payload, b"whole");
        let err = reader.next_packet().unwrap_err();
        let at = 24 + (16 + 47) + (16 + 42) + 16;
        assert!(
            matches!(&err, PcapError::Format { offset, .. } if *offset == at as u64),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!("at byte {at}: frame of 10 bytes is shorter than its Ethernet header")
        );
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
