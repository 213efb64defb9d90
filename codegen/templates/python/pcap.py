"""Classic pcap files (what tcpdump, Wireshark and tshark read and write): the UDP payloads
of Ethernet/IPv4 (or raw IPv4) captures, and a writer with Ethernet/IPv4/UDP framing.

``records`` gives every record, numbered from 0 as in the file (tshark's frame N is record
N - 1): a ``Packet``, or a ``Skipped`` saying why it holds no UDP datagram over IPv4 (another
protocol, an IPv4 fragment, a packet malformed or cut short in the capture), in the words and
after the checks of the Rust reader (``rltop_capture::Skip``). ``read`` gives the packets."""

import struct
from typing import BinaryIO, Iterator, NamedTuple, Union

_LINK_ETHERNET = 1
_LINK_RAW = (101, 228)  # LINKTYPE_RAW, LINKTYPE_IPV4
_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000),  # microseconds, little-endian file
    b"\xa1\xb2\xc3\xd4": (">", 1_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),  # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1),
}


class PcapError(ValueError):
    """A capture that cannot be read; the message names the byte offset."""


class Packet(NamedTuple):
    """One UDP datagram of a capture; ``index`` is its record's place in the file, from 0."""

    index: int
    timestamp_ns: int
    src: str
    dst: str
    sport: int
    dport: int
    payload: bytes


def is_pcap(head: bytes) -> bool:
    return head[:4] in _MAGICS


def _ip(b: bytes) -> str:
    return ".".join(str(x) for x in b)


class Skipped(NamedTuple):
    """A record of a capture that holds no UDP datagram over IPv4, and why: ``reason`` in
    the Rust reader's words; ``damaged`` when the packet is malformed or cut short in the
    capture, rather than simply of another protocol or a fragment."""

    index: int
    timestamp_ns: int
    reason: str
    damaged: bool


def _udp(index: int, ts: int, data: bytes, link: int) -> "Union[Packet, Skipped]":
    """The UDP datagram of one record's bytes, or why there is none: the checks, their order
    and their words are those of the Rust reader (rltop_capture::PcapReader::next_record)."""

    def skip(reason: str, damaged: bool = False) -> Skipped:
        return Skipped(index, ts, reason, damaged)

    ip = data
    if link == _LINK_ETHERNET:
        if len(data) < 14:
            return skip(f"frame of {len(data)} bytes is shorter than its Ethernet header", True)
        ethertype, ip = int.from_bytes(data[12:14], "big"), data[14:]
        if ethertype == 0x8100:  # one VLAN tag
            if len(data) < 18:
                return skip(f"frame of {len(data)} bytes is shorter than its Ethernet header", True)
            ethertype, ip = int.from_bytes(data[16:18], "big"), data[18:]
        if ethertype != 0x0800:
            return skip(f"ethertype {ethertype:#06x} is not IPv4")
    if len(ip) < 20:
        return skip(f"IPv4 header cut short: {len(ip)} of 20 bytes captured", True)
    if ip[0] >> 4 != 4:
        return skip(f"IP version {ip[0] >> 4} is not IPv4")
    if ip[9] != 17:
        return skip(f"IP protocol {ip[9]} is not UDP")
    frag = int.from_bytes(ip[6:8], "big")
    if frag & 0x3FFF:  # more fragments, or an offset: a piece of a datagram
        more = ", more follow" if frag & 0x2000 else ", the last"
        return skip(f"IPv4 fragment at offset {(frag & 0x1FFF) * 8}{more}: fragments are not reassembled")
    ihl = (ip[0] & 0x0F) * 4
    if ihl < 20 or ihl > len(ip):
        return skip(f"IPv4 header length {ihl} does not fit: at least 20, at most the {len(ip)} bytes captured", True)
    total = int.from_bytes(ip[2:4], "big")  # not the bytes captured: a frame may be padded
    if total < ihl + 8:
        return skip(f"IPv4 total length {total} leaves no room for a UDP header after {ihl} bytes of IPv4 header", True)
    if total > len(ip):
        return skip(f"packet cut short in the capture: IPv4 total length {total}, {len(ip)} bytes captured", True)
    udp = ip[ihl:total]
    sport, dport, ulen = struct.unpack(">HHH", udp[:6])
    if ulen < 8 or ulen > len(udp):
        return skip(f"UDP length {ulen} does not fit: at least 8, at most the IPv4 payload's {len(udp)} bytes", True)
    return Packet(index, ts, _ip(ip[12:16]), _ip(ip[16:20]), sport, dport, bytes(udp[8:ulen]))


def _records(f: BinaryIO) -> "Iterator[tuple[int, Union[Packet, Skipped]]]":
    """Every record with the file offset of its bytes."""
    head = f.read(24)
    if len(head) < 24 or head[:4] not in _MAGICS:
        raise PcapError("not a pcap file (bad magic at byte 0)")
    endian, ns_per_unit = _MAGICS[head[:4]]
    link = struct.unpack(endian + "I", head[20:24])[0] & 0x0FFFFFFF
    if link != _LINK_ETHERNET and link not in _LINK_RAW:
        raise PcapError(f"link type {link} at byte 20 is not Ethernet or raw IPv4")
    record = struct.Struct(endian + "IIII")
    pos, index = 24, 0
    while True:
        rh = f.read(16)
        if not rh:
            return
        if len(rh) < 16:
            raise PcapError(f"record header cut short at byte {pos}")
        sec, frac, caplen, _origlen = record.unpack(rh)
        if caplen > 262_144:
            raise PcapError(f"record length {caplen} at byte {pos + 8} is implausible")
        data = f.read(caplen)
        if len(data) < caplen:
            raise PcapError(f"record at byte {pos} holds {len(data)} of {caplen} bytes")
        yield pos + 16, _udp(index, sec * 1_000_000_000 + frac * ns_per_unit, data, link)
        pos += 16 + caplen
        index += 1


def records(f: BinaryIO) -> "Iterator[Union[Packet, Skipped]]":
    """Every record of a pcap file, in order: a Packet for each UDP datagram over IPv4, a
    Skipped for any other. A damaged file (a record cut short, an unsupported link type)
    raises PcapError."""
    for _, r in _records(f):
        yield r


def read(f: BinaryIO) -> Iterator[Packet]:
    """The UDP packets of a pcap file, in order. Records of other protocols and IPv4
    fragments are passed over (fragments are not reassembled); a packet malformed or cut
    short in the capture, a truncated record or an unsupported link type raises PcapError."""
    for at, r in _records(f):
        if isinstance(r, Packet):
            yield r
        elif r.damaged:
            raise PcapError(f"record at byte {at}: {r.reason}")


def payloads(path: str) -> Iterator[bytes]:
    """The UDP payloads of a pcap file."""
    with open(path, "rb") as f:
        for p in read(f):
            yield p.payload


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Writer:
    """Writes a nanosecond pcap of Ethernet/IPv4/UDP packets, one datagram each."""

    def __init__(self, f: BinaryIO):
        self.f = f
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, _LINK_ETHERNET))

    def write(self, timestamp_ns: int, src: str, dst: str, sport: int, dport: int, payload: bytes) -> None:
        s, d = bytes(int(x) for x in src.split(".")), bytes(int(x) for x in dst.split("."))
        udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 1, 17, 0, s, d)
        ip = ip[:10] + struct.pack(">H", _checksum(ip)) + ip[12:]
        # Multicast MAC for IPv4 groups (01:00:5e + low 23 bits), else a locally administered one.
        dmac = b"\x01\x00\x5e" + bytes([d[1] & 0x7F, d[2], d[3]]) if 224 <= d[0] <= 239 else b"\x02\x00" + d
        frame = dmac + b"\x02\x00" + s + b"\x08\x00" + ip + udp[:0] + udp
        sec, ns = divmod(timestamp_ns, 1_000_000_000)
        self.f.write(struct.pack("<IIII", sec, ns, len(frame), len(frame)) + frame)
