//! Ethernet/IPv4/UDP frames for datagrams, built in plain Rust.
//!
//! A kernel socket adds these 42 bytes of headers for us; a DPDK port does not, so the
//! DPDK backend (`rltop-dpdk`) writes them itself, straight into the packet buffer it hands
//! the NIC, and a pcap capture stores them around each datagram. One builder serves both:
//! the frames must be right to the bit (a receiver's kernel drops a datagram whose IPv4
//! header checksum or UDP checksum is wrong, silently), and that is checked here by
//! re-parsing what was written, on any machine.
//!
//! What is written, and why:
//! - Ethernet II: the destination is the group's IPv4 multicast MAC (RFC 1112 §6.4), so
//!   switches and NICs filter by group as they do for the kernel path; no VLAN tag.
//! - IPv4: no options, DSCP 0, Don't Fragment (a market-data datagram is never fragmented:
//!   the publisher sizes datagrams to the MTU), the caller's identification and TTL, and the
//!   header checksum (RFC 791, computed per RFC 1071).
//! - UDP: the real checksum over the pseudo-header. IPv4 allows 0 ("none"), but the kernel
//!   path sends real checksums and receivers may verify them, so both paths send the same.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

/// Length of an Ethernet II header without VLAN tag: destination MAC, source MAC, ethertype.
pub const ETH_HLEN: usize = 14;
/// Length of an IPv4 header without options (IHL 5).
pub const IPV4_HLEN: usize = 20;
/// Length of a UDP header.
pub const UDP_HLEN: usize = 8;
/// All headers in front of a UDP payload: `ETH_HLEN + IPV4_HLEN + UDP_HLEN` = 42 bytes.
pub const HEADERS: usize = ETH_HLEN + IPV4_HLEN + UDP_HLEN;
/// The largest UDP payload an IPv4 datagram can carry: 65535 − 20 − 8.
pub const MAX_UDP_PAYLOAD: usize = 65_507;
/// Ethertype of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// The IPv4 flags/fragment-offset field with only Don't Fragment set.
const IPV4_DONT_FRAGMENT: u16 = 0x4000;

/// The Ethernet multicast MAC address of an IPv4 multicast group (RFC 1112 §6.4):
/// `01:00:5e` followed by the low 23 bits of the group address.
///
/// Meant for multicast addresses (224.0.0.0/4) only: for any other address it still returns
/// the same bit mapping, which is then not an address any receiver listens on. Because only
/// 23 of the 28 group bits survive, 32 groups share each MAC (239.255.0.1 and 239.127.0.1
/// both map to `01:00:5e:7f:00:01`); receivers' IP stacks filter the rest.
pub fn multicast_mac(group: Ipv4Addr) -> [u8; 6] {
    let o = group.octets();
    [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
}

/// Adds `bytes`, read as big-endian 16-bit words (an odd last byte is padded with a zero
/// byte), to a ones' complement accumulator that is folded later by [`fold`].
///
/// How, and why it gives the same sum, is said inside; the lane accumulators cannot
/// overflow for any datagram (at most 2^13 additions of values below 2^32).
fn sum_words(bytes: &[u8], acc: u64) -> u64 {
    // The ones' complement sum does not depend on byte order (RFC 1071 §2(B)): sum the
    // words in the host's little-endian order, eight bytes at a time in two 32-bit lanes
    // (2^16 ≡ 1 mod 0xffff, so wider words add up to the same folded sum), fold, and swap
    // the two bytes of the result to get the big-endian sum. This is what lets a 1.4 kB
    // datagram be checksummed at memory speed.
    let (even, odd) = bytes.split_at(bytes.len() & !1);
    let mut chunks = even.chunks_exact(8);
    let (mut low, mut high) = (0u64, 0u64);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        low += w & 0xffff_ffff;
        high += w >> 32;
    }
    let mut le = low + high;
    for p in chunks.remainder().chunks_exact(2) {
        le += u64::from(u16::from_le_bytes([p[0], p[1]]));
    }
    let mut acc = acc + u64::from(fold(le).swap_bytes());
    if let [last] = odd {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds the carries of a ones' complement accumulator back into its low 16 bits.
fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The Internet checksum (RFC 1071) of `header`: the ones' complement of the ones' complement
/// sum of its big-endian 16-bit words (an odd last byte is padded with zero).
///
/// To fill in an IPv4 header's checksum, call it with the checksum field (bytes 10..12)
/// zeroed. Over a header whose checksum field is already right it returns 0, which is how a
/// receiver verifies one.
pub fn ipv4_checksum(header: &[u8]) -> u16 {
    !fold(sum_words(header, 0))
}

/// The UDP checksum (RFC 768) of the UDP datagram `udp` (header and payload, the header's
/// checksum field zeroed) sent from `src` to `dst`: the Internet checksum over the IPv4
/// pseudo-header (source, destination, zero, protocol 17, UDP length) followed by `udp`.
///
/// A computed 0 is returned as 0xFFFF, since 0 in the field means "no checksum" (RFC 768).
/// `udp` must be at most 65535 bytes long (its length goes in a 16-bit field).
pub fn udp_checksum(src: Ipv4Addr, dst: Ipv4Addr, udp: &[u8]) -> u16 {
    let mut acc = sum_words(&src.octets(), 0);
    acc = sum_words(&dst.octets(), acc);
    acc += u64::from(IPPROTO_UDP);
    acc += udp.len() as u64;
    match !fold(sum_words(udp, acc)) {
        0 => 0xffff,
        c => c,
    }
}

/// Length of the Ethernet frame (without the FCS the NIC appends) carrying `payload_len`
/// bytes of UDP payload.
pub const fn frame_len(payload_len: usize) -> usize {
    HEADERS + payload_len
}

/// Checks that a UDP payload of `len` bytes fits in one datagram whose payload may be at
/// most `max_payload` bytes (the link's MTU less 28 bytes of IPv4 and UDP headers; 1472 for
/// a 1500-byte MTU) and at most [`MAX_UDP_PAYLOAD`].
pub fn check_payload(len: usize, max_payload: usize) -> Result<(), FrameError> {
    if len > MAX_UDP_PAYLOAD {
        return Err(FrameError::PayloadTooLarge { len });
    }
    if len > max_payload {
        return Err(FrameError::ExceedsMtu { len, max_payload });
    }
    Ok(())
}

/// What stays the same in every frame a sender writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpec {
    /// Ethernet source address: the sending port's MAC.
    pub src_mac: [u8; 6],
    /// IPv4 source address and UDP source port. Receivers' kernels drop datagrams from
    /// 0.0.0.0 as "martian", so this should be an address of the sending host.
    pub src: SocketAddrV4,
    /// IPv4 time to live: 1 keeps datagrams on the local network, as a socket's default
    /// `IP_MULTICAST_TTL` does.
    pub ttl: u8,
}

/// Why a frame could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The output buffer is shorter than the frame.
    BufferTooSmall {
        /// Bytes the frame needs: [`HEADERS`] + payload length.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The payload does not fit in an IPv4 datagram at all (more than [`MAX_UDP_PAYLOAD`]).
    PayloadTooLarge {
        /// The payload's length in bytes.
        len: usize,
    },
    /// The payload is longer than the configured maximum UDP payload (the MTU's share).
    ExceedsMtu {
        /// The payload's length in bytes.
        len: usize,
        /// The largest payload allowed, in bytes.
        max_payload: usize,
    },
    /// The destination is not an IPv4 multicast group: this sender addresses frames by the
    /// group's multicast MAC and has no ARP to find a unicast host's.
    NotMulticast {
        /// The destination given.
        dst: Ipv4Addr,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FrameError::BufferTooSmall { needed, available } => write!(
                f,
                "frame buffer too small: the frame needs {needed} bytes ({HEADERS} of headers \
                 + {} of payload) but the buffer has {available}",
                needed - HEADERS
            ),
            FrameError::PayloadTooLarge { len } => write!(
                f,
                "UDP payload of {len} bytes is larger than an IPv4 datagram can carry \
                 ({MAX_UDP_PAYLOAD} bytes at most)"
            ),
            FrameError::ExceedsMtu { len, max_payload } => write!(
                f,
                "UDP payload of {len} bytes exceeds the configured maximum of {max_payload} \
                 (an MTU of {} bytes less 28 bytes of IPv4 and UDP headers)",
                max_payload + IPV4_HLEN + UDP_HLEN
            ),
            FrameError::NotMulticast { dst } => write!(
                f,
                "destination {dst} is not an IPv4 multicast group (224.0.0.0/4); this sender \
                 only addresses multicast groups"
            ),
        }
    }
}

impl std::error::Error for FrameError {}

/// Writes the Ethernet/IPv4/UDP frame carrying `payload` from `spec` to the multicast group
/// `dst` into the front of `out`, and returns its length ([`HEADERS`] + `payload.len()`).
///
/// `ip_id` goes in the IPv4 identification field; with Don't Fragment set it only needs to
/// tell datagrams apart (RFC 6864), so a wrapping counter does. Both checksums are computed.
/// Nothing is written when an error is returned.
pub fn write_frame(
    spec: &FrameSpec,
    dst: SocketAddrV4,
    ip_id: u16,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, FrameError> {
    if !dst.ip().is_multicast() {
        return Err(FrameError::NotMulticast { dst: *dst.ip() });
    }
    write_frame_to(spec, multicast_mac(*dst.ip()), dst, ip_id, payload, out)
}

/// [`write_frame`] to any destination, with the destination MAC given (a sender without
/// ARP, such as a capture writer, chooses one for unicast).
pub fn write_frame_to(
    spec: &FrameSpec,
    dst_mac: [u8; 6],
    dst: SocketAddrV4,
    ip_id: u16,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, FrameError> {
    check_payload(payload.len(), MAX_UDP_PAYLOAD)?;
    let len = frame_len(payload.len());
    if out.len() < len {
        return Err(FrameError::BufferTooSmall {
            needed: len,
            available: out.len(),
        });
    }
    let out = &mut out[..len];
    let (eth, rest) = out.split_at_mut(ETH_HLEN);
    let (ip, rest) = rest.split_at_mut(IPV4_HLEN);
    let (udp_hdr, body) = rest.split_at_mut(UDP_HLEN);

    eth[0..6].copy_from_slice(&dst_mac);
    eth[6..12].copy_from_slice(&spec.src_mac);
    eth[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());

    // Both lengths fit in 16 bits: payload ≤ MAX_UDP_PAYLOAD was checked above.
    let udp_len = (UDP_HLEN + payload.len()) as u16;
    let total_len = (IPV4_HLEN + UDP_HLEN + payload.len()) as u16;
    ip[0] = 0x45; // version 4, IHL 5 words
    ip[1] = 0; // DSCP 0, not ECN-capable
    ip[2..4].copy_from_slice(&total_len.to_be_bytes());
    ip[4..6].copy_from_slice(&ip_id.to_be_bytes());
    ip[6..8].copy_from_slice(&IPV4_DONT_FRAGMENT.to_be_bytes());
    ip[8] = spec.ttl;
    ip[9] = IPPROTO_UDP;
    ip[10..12].copy_from_slice(&[0, 0]);
    ip[12..16].copy_from_slice(&spec.src.ip().octets());
    ip[16..20].copy_from_slice(&dst.ip().octets());
    let ip_sum = ipv4_checksum(ip);
    ip[10..12].copy_from_slice(&ip_sum.to_be_bytes());

    udp_hdr[0..2].copy_from_slice(&spec.src.port().to_be_bytes());
    udp_hdr[2..4].copy_from_slice(&dst.port().to_be_bytes());
    udp_hdr[4..6].copy_from_slice(&udp_len.to_be_bytes());
    udp_hdr[6..8].copy_from_slice(&[0, 0]);
    body.copy_from_slice(payload);

    // The UDP checksum is over the pseudo-header, the UDP header and the payload; summing
    // the header and the freshly copied payload separately avoids a second buffer. Each
    // part starts at an even offset, so the word boundaries are those of the whole datagram.
    let mut acc = sum_words(&spec.src.ip().octets(), 0);
    acc = sum_words(&dst.ip().octets(), acc);
    acc += u64::from(IPPROTO_UDP) + u64::from(udp_len);
    acc = sum_words(udp_hdr, acc);
    acc = sum_words(body, acc);
    let udp_sum = match !fold(acc) {
        0 => 0xffff,
        c => c,
    };
    udp_hdr[6..8].copy_from_slice(&udp_sum.to_be_bytes());
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an independent reader finds in a frame: decoded field by field with fixed
    /// offsets, checksums verified by summing 16-bit words one at a time (not with the
    /// module's 32-bit summation).
    struct Parsed {
        dst_mac: [u8; 6],
        src_mac: [u8; 6],
        ethertype: u16,
        version_ihl: u8,
        tos: u8,
        total_len: u16,
        id: u16,
        flags_frag: u16,
        ttl: u8,
        proto: u8,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        udp_len: u16,
        udp_sum: u16,
        ip_words_sum: u32,
        udp_verify_sum: u32,
        payload: Vec<u8>,
    }

    fn be16(b: &[u8], at: usize) -> u16 {
        (u16::from(b[at]) << 8) | u16::from(b[at + 1])
    }

    /// Ones' complement sum of 16-bit words, the textbook way (RFC 1071 §4.1).
    fn ones_sum16(data: &[u8]) -> u32 {
        let mut sum: u32 = 0;
        let mut i = 0;
        while i + 1 < data.len() {
            sum += u32::from(be16(data, i));
            i += 2;
        }
        if i < data.len() {
            sum += u32::from(data[i]) << 8;
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum
    }

    fn parse(frame: &[u8]) -> Parsed {
        let ip = &frame[14..34];
        let src_ip = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst_ip = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        let udp = &frame[34..];
        let udp_len = be16(udp, 4);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&ip[12..20]);
        pseudo.extend_from_slice(&[0, 17]);
        pseudo.extend_from_slice(&udp_len.to_be_bytes());
        pseudo.extend_from_slice(&udp[..usize::from(udp_len)]);
        Parsed {
            dst_mac: frame[0..6].try_into().unwrap(),
            src_mac: frame[6..12].try_into().unwrap(),
            ethertype: be16(frame, 12),
            version_ihl: ip[0],
            tos: ip[1],
            total_len: be16(ip, 2),
            id: be16(ip, 4),
            flags_frag: be16(ip, 6),
            ttl: ip[8],
            proto: ip[9],
            src: SocketAddrV4::new(src_ip, be16(udp, 0)),
            dst: SocketAddrV4::new(dst_ip, be16(udp, 2)),
            udp_len,
            udp_sum: be16(udp, 6),
            ip_words_sum: ones_sum16(ip),
            udp_verify_sum: ones_sum16(&pseudo),
            payload: udp[8..usize::from(udp_len)].to_vec(),
        }
    }

    fn spec() -> FrameSpec {
        FrameSpec {
            src_mac: [0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc],
            src: SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 10), 40_001),
            ttl: 7,
        }
    }

    #[test]
    fn multicast_mac_keeps_the_low_23_bits() {
        assert_eq!(
            multicast_mac(Ipv4Addr::new(239, 255, 0, 1)),
            [0x01, 0x00, 0x5e, 0x7f, 0x00, 0x01]
        );
        // The high bit of the second octet is dropped: 239.128.1.2 and 239.0.1.2 share a MAC.
        assert_eq!(
            multicast_mac(Ipv4Addr::new(239, 128, 1, 2)),
            [0x01, 0x00, 0x5e, 0x00, 0x01, 0x02]
        );
        assert_eq!(
            multicast_mac(Ipv4Addr::new(239, 0, 1, 2)),
            [0x01, 0x00, 0x5e, 0x00, 0x01, 0x02]
        );
        // mDNS: 224.0.0.251 is well known to be 01:00:5e:00:00:fb.
        assert_eq!(
            multicast_mac(Ipv4Addr::new(224, 0, 0, 251)),
            [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]
        );
    }

    /// The worked example of Wikipedia's "Internet checksum" / "IPv4 header checksum":
    /// 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7; by hand the words sum to
    /// 0x2479c, folded 0x479e, complemented 0xb861.
    #[test]
    fn ipv4_checksum_of_the_published_example() {
        let mut header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(ipv4_checksum(&header), 0xb861);
        header[10] = 0xb8;
        header[11] = 0x61;
        assert_eq!(ipv4_checksum(&header), 0, "a correct header verifies to 0");
    }

    /// RFC 1071 §3's numerical example: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2
    /// (with the carry folded), so the checksum is its complement, 220d.
    #[test]
    fn checksum_of_the_rfc1071_example_and_odd_lengths() {
        assert_eq!(
            ipv4_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        // An odd last byte is the high byte of a zero-padded word.
        assert_eq!(ipv4_checksum(&[0x12, 0x34, 0x56]), !(0x1234u16 + 0x5600));
        assert_eq!(ipv4_checksum(&[]), 0xffff);
    }

    #[test]
    fn written_frames_parse_back_with_valid_checksums() {
        let spec = spec();
        let mut out = vec![0xeeu8; 2000];
        // Odd and even payload lengths, empty, and the 1472-byte MTU maximum.
        for (i, len) in [0usize, 1, 2, 3, 17, 64, 255, 1000, 1471, 1472]
            .into_iter()
            .enumerate()
        {
            let payload: Vec<u8> = (0..len).map(|j| (j * 31 + i * 7) as u8).collect();
            let dst = SocketAddrV4::new(Ipv4Addr::new(239, 192, 3, i as u8), 30_000 + i as u16);
            let ip_id = 0xfff0u16.wrapping_add(i as u16 * 3);
            let n = write_frame(&spec, dst, ip_id, &payload, &mut out).unwrap();
            assert_eq!(n, 42 + len);
            assert_eq!(out[n], 0xee, "nothing written past the frame");
            let p = parse(&out[..n]);
            assert_eq!(p.dst_mac, [0x01, 0x00, 0x5e, 0x40, 0x03, i as u8]);
            assert_eq!(p.src_mac, spec.src_mac);
            assert_eq!(p.ethertype, 0x0800);
            assert_eq!(p.version_ihl, 0x45);
            assert_eq!(p.tos, 0);
            assert_eq!(usize::from(p.total_len), 28 + len);
            assert_eq!(p.id, ip_id);
            assert_eq!(p.flags_frag, 0x4000, "DF set, offset 0");
            assert_eq!(p.ttl, 7);
            assert_eq!(p.proto, 17);
            assert_eq!(p.src, spec.src);
            assert_eq!(p.dst, dst);
            assert_eq!(
                p.ip_words_sum, 0xffff,
                "IPv4 header words with checksum sum to 0xffff"
            );
            assert_eq!(usize::from(p.udp_len), 8 + len);
            assert_ne!(p.udp_sum, 0, "a real UDP checksum, not 'none'");
            assert_eq!(
                p.udp_verify_sum, 0xffff,
                "UDP checksum verifies over the pseudo-header"
            );
            assert_eq!(p.payload, payload);
            assert_eq!(
                udp_checksum(*p.src.ip(), *p.dst.ip(), &{
                    let mut d = out[34..n].to_vec();
                    d[6] = 0;
                    d[7] = 0;
                    d
                }),
                p.udp_sum
            );
        }
    }

    #[test]
    fn a_udp_checksum_of_zero_is_sent_as_ffff() {
        // Find a payload whose checksum computes to 0 by adjusting its last word: the
        // datagram's sum must be 0xffff, so set the last word to make it so.
        let spec = spec();
        let dst = SocketAddrV4::new(Ipv4Addr::new(239, 1, 2, 3), 5000);
        let mut payload = vec![0u8; 10];
        let mut out = [0u8; 64];
        write_frame(&spec, dst, 1, &payload, &mut out).unwrap();
        let sum_without = !be16(&out, 40); // ones' sum of everything, last word being 0
        let need = 0xffffu16.wrapping_sub(sum_without); // ones' complement: sum + need = ffff
        payload[8..10].copy_from_slice(&need.to_be_bytes());
        let n = write_frame(&spec, dst, 1, &payload, &mut out).unwrap();
        let p = parse(&out[..n]);
        assert_eq!(p.udp_sum, 0xffff);
        assert_eq!(p.udp_verify_sum, 0xffff);
    }

    #[test]
    fn errors_name_the_numbers() {
        let spec = spec();
        let dst = SocketAddrV4::new(Ipv4Addr::new(239, 255, 0, 1), 5000);
        let mut small = [0u8; 100];
        let e = write_frame(&spec, dst, 0, &[0u8; 59], &mut small).unwrap_err();
        assert_eq!(
            e,
            FrameError::BufferTooSmall {
                needed: 101,
                available: 100
            }
        );
        assert!(
            e.to_string().contains("101 bytes") && e.to_string().contains("has 100"),
            "{e}"
        );
        assert_eq!(small, [0u8; 100], "nothing written on error");
        assert_eq!(write_frame(&spec, dst, 0, &[0u8; 58], &mut small), Ok(100));

        let big = vec![0u8; 65_508];
        let mut out = vec![0u8; 70_000];
        let e = write_frame(&spec, dst, 0, &big, &mut out).unwrap_err();
        assert_eq!(e, FrameError::PayloadTooLarge { len: 65_508 });
        assert!(
            e.to_string().contains("65508") && e.to_string().contains("65507"),
            "{e}"
        );
        assert_eq!(
            write_frame(&spec, dst, 0, &big[..65_507], &mut out),
            Ok(65_549)
        );
        assert_eq!(parse(&out[..65_549]).udp_verify_sum, 0xffff);

        let e = check_payload(1473, 1472).unwrap_err();
        assert_eq!(
            e,
            FrameError::ExceedsMtu {
                len: 1473,
                max_payload: 1472
            }
        );
        assert!(
            e.to_string().contains("1473") && e.to_string().contains("MTU of 1500"),
            "{e}"
        );
        assert_eq!(check_payload(1472, 1472), Ok(()));

        let unicast = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 5000);
        let e = write_frame(&spec, unicast, 0, b"x", &mut out).unwrap_err();
        assert_eq!(
            e,
            FrameError::NotMulticast {
                dst: Ipv4Addr::new(10, 0, 0, 1)
            }
        );
        assert!(e.to_string().contains("10.0.0.1"), "{e}");
    }
}
