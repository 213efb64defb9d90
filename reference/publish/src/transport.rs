//! Where the publisher's datagrams go: a [`Transport`] takes batches of datagrams.
//!
//! [`Kernel`] sends them to the multicast groups through the kernel (`sendmmsg`, or one
//! `sendto` each); [`Capture`] writes them to a pcap file, stamped with the publisher's
//! time (what `rltop sim` does); [`Memory`] keeps them (tests, the simulator library). The
//! DPDK backend lives in `rltop-dpdk` and is adapted in the `rltop` command.

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddrV4};

use rltop_capture::PcapWriter;
use rltop_net::mcast::{Outgoing, SendMode, Sender};

/// Takes the publisher's datagrams, in order.
pub trait Transport {
    /// Sends (or stores) every datagram of `batch`, in order, or fails. `now_ns` is the
    /// publisher's time (captures stamp datagrams with it).
    fn send(&mut self, batch: &[Outgoing<'_>], now_ns: u64) -> io::Result<()>;
}

/// Kernel UDP multicast.
pub struct Kernel {
    pub sender: Sender,
}

impl Kernel {
    /// Sends on `iface` (unspecified: by route) with the plan's TTL and loopback.
    pub fn new(iface: Ipv4Addr, ttl: u8, loopback: bool, mode: SendMode) -> io::Result<Kernel> {
        Ok(Kernel {
            sender: Sender::new(iface, ttl, loopback, mode)?,
        })
    }
}

impl Transport for Kernel {
    fn send(&mut self, batch: &[Outgoing<'_>], _now_ns: u64) -> io::Result<()> {
        self.sender.send(batch)
    }
}

/// A datagram kept by [`Memory`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub time_ns: u64,
    pub dst: SocketAddrV4,
    pub bytes: Vec<u8>,
}

/// Keeps every datagram, stamped with the publisher's time.
#[derive(Debug, Default)]
pub struct Memory {
    pub sent: Vec<Sent>,
}

impl Transport for Memory {
    fn send(&mut self, batch: &[Outgoing<'_>], now_ns: u64) -> io::Result<()> {
        self.sent.extend(batch.iter().map(|d| Sent {
            time_ns: now_ns,
            dst: d.dst,
            bytes: d.payload.to_vec(),
        }));
        Ok(())
    }
}

/// Writes a pcap capture: each datagram framed as Ethernet/IPv4/UDP from `src`, stamped
/// with the publisher's time.
pub struct Capture<W: Write> {
    writer: PcapWriter<W>,
    pub src: SocketAddrV4,
}

impl<W: Write> Capture<W> {
    pub fn new(out: W, src: SocketAddrV4) -> io::Result<Self> {
        Ok(Self {
            writer: PcapWriter::new(out)?,
            src,
        })
    }

    pub fn into_inner(self) -> W {
        self.writer.into_inner()
    }
}

impl<W: Write> Transport for Capture<W> {
    fn send(&mut self, batch: &[Outgoing<'_>], now_ns: u64) -> io::Result<()> {
        for d in batch {
            self.writer.write(now_ns, self.src, d.dst, d.payload)?;
        }
        Ok(())
    }
}
