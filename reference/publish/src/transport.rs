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

/// DPDK: frames built in Rust, sent in tx bursts through `rltop-dpdk` (feature `dpdk`).
#[cfg(feature = "dpdk")]
pub struct Dpdk {
    port: Option<rltop_dpdk::Port>,
}

#[cfg(feature = "dpdk")]
impl Dpdk {
    /// Initialises the EAL with `eal` (whitespace-separated arguments, e.g. `--no-huge -m
    /// 256 --no-pci --vdev net_null0`) and opens the first port, sending from `src` with the
    /// plan's TTL and MTU. The error is one line naming the likely cause.
    pub fn open(eal: &str, src: SocketAddrV4, plan: &rltop_net::Plan) -> Result<Dpdk, String> {
        let cfg = rltop_dpdk::Config {
            eal_args: eal.split_whitespace().map(str::to_string).collect(),
            src,
            ttl: plan.ttl,
            mtu: plan.mtu(),
            burst: rltop_net::mcast::BATCH,
            ..rltop_dpdk::Config::default()
        };
        let port = rltop_dpdk::Port::open(&cfg).map_err(|e| format!("DPDK: {e}"))?;
        Ok(Dpdk { port: Some(port) })
    }

    /// The port's counters.
    pub fn stats(&self) -> Option<rltop_dpdk::Stats> {
        self.port.as_ref().map(rltop_dpdk::Port::stats)
    }

    /// Stops and closes the port (completing a net_pcap file) and the EAL.
    pub fn close(&mut self) -> Result<rltop_dpdk::Stats, String> {
        match self.port.take() {
            Some(port) => port.close().map_err(|e| format!("DPDK: {e}")),
            None => Err("DPDK: the port is closed".into()),
        }
    }
}

#[cfg(feature = "dpdk")]
impl Transport for Dpdk {
    fn send(&mut self, batch: &[Outgoing<'_>], _now_ns: u64) -> io::Result<()> {
        let port = self
            .port
            .as_mut()
            .ok_or_else(|| io::Error::other("DPDK: the port is closed"))?;
        // The batch as the port takes it, on the stack (the publisher hands at most BATCH).
        const MAX: usize = rltop_net::mcast::BATCH;
        let unspecified = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
        for chunk in batch.chunks(MAX) {
            let mut frames: [(SocketAddrV4, &[u8]); MAX] = [(unspecified, &[]); MAX];
            for (frame, d) in frames.iter_mut().zip(chunk) {
                *frame = (d.dst, d.payload);
            }
            port.send(&frames[..chunk.len()])
                .map_err(|e| io::Error::other(format!("DPDK: {e}")))?;
        }
        Ok(())
    }
}
