"""Classic pcap files (what tcpdump, Wireshark and tshark read and write): the UDP payloads
of Ethernet/IPv4 (or raw IPv4) captures, and a writer with Ethernet/IPv4/UDP framing."""

import struct
from typing import BinaryIO, Iterator, NamedTuple

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
    """One UDP datagram of a capture."""

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


def read(f: BinaryIO) -> Iterator[Packet]:
    """The UDP packets of a pcap file, in order. Non-UDP packets are passed over; a
    truncated record or an unsupported link type raises PcapError."""
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
        data = f.read(caplen)
        if len(data) < caplen:
            raise PcapError(f"record at byte {pos} holds {len(data)} of {caplen} bytes")
        pos += 16 + caplen
        ip = data[14:] if link == _LINK_ETHERNET else data
        if link == _LINK_ETHERNET:
            ethertype = int.from_bytes(data[12:14], "big") if len(data) >= 14 else 0
            if ethertype == 0x8100 and len(data) >= 18:  # one VLAN tag
                ethertype, ip = int.from_bytes(data[16:18], "big"), data[18:]
            if ethertype != 0x0800:
                index += 1
                continue
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            index += 1
            continue
        ihl = (ip[0] & 0x0F) * 4
        total = int.from_bytes(ip[2:4], "big")
        udp = ip[ihl:total] if total else ip[ihl:]
        if len(udp) < 8:
            raise PcapError(f"record at byte {pos - caplen - 16}: UDP header cut short")
        sport, dport, ulen = struct.unpack(">HHH", udp[:6])
        yield Packet(index, sec * 1_000_000_000 + frac * ns_per_unit, _ip(ip[12:16]), _ip(ip[16:20]), sport, dport, bytes(udp[8:ulen]))
        index += 1


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
