//! Kernel UDP multicast: a sender that hands the kernel many datagrams per system call
//! (`sendmmsg`), and a receiver with one socket per group:port that drains them in batches
//! (`recvmmsg`) with the kernel's receive timestamps.
//!
//! Why one receive socket per group:port, bound to the group address: a socket bound to the
//! wildcard address receives every group joined on its port by any socket of the host, so
//! the full-book and top-of-book groups (which share port 9001) would mix. Bound to the
//! group, and with `IP_MULTICAST_ALL` off, a socket sees exactly its group.
//!
//! Errors name what to do: an unknown interface lists the host's interfaces, a group with no
//! route says which route to add.

use std::io;
use std::mem::{size_of, zeroed, MaybeUninit};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use rltop_capture::frame::MAX_UDP_PAYLOAD;
use socket2::{Domain, Protocol, Socket, Type};

/// The IPv4 interfaces of this host: (name, address).
pub fn interfaces() -> io::Result<Vec<(String, Ipv4Addr)>> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head we own until freeifaddrs; we read only entries
    // whose ifa_addr is non-null and of family AF_INET, i.e. a sockaddr_in.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut cur = head;
        while !cur.is_null() {
            let ifa = &*cur;
            if !ifa.ifa_addr.is_null() && i32::from((*ifa.ifa_addr).sa_family) == libc::AF_INET {
                let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                let addr = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                    .to_string_lossy()
                    .into_owned();
                out.push((name, addr));
            }
            cur = ifa.ifa_next;
        }
        libc::freeifaddrs(head);
    }
    Ok(out)
}

/// The IPv4 address to send or join on: an interface name (`lo`, `veth0`), an address of
/// this host, or `0.0.0.0` / `any` for the kernel's choice (the route to the group).
pub fn resolve_interface(spec: &str) -> Result<Ipv4Addr, String> {
    if spec == "any" || spec == "0.0.0.0" {
        return Ok(Ipv4Addr::UNSPECIFIED);
    }
    let all = interfaces().map_err(|e| format!("cannot list interfaces: {e}"))?;
    if let Ok(addr) = spec.parse::<Ipv4Addr>() {
        if all.iter().any(|(_, a)| *a == addr) {
            return Ok(addr);
        }
        return Err(format!(
            "{addr} is not an address of this host (interfaces: {})",
            list(&all)
        ));
    }
    all.iter()
        .find(|(name, _)| name == spec)
        .map(|(_, a)| *a)
        .ok_or_else(|| {
            format!(
                "unknown interface `{spec}`, or it has no IPv4 address (interfaces: {})",
                list(&all)
            )
        })
}

fn list(all: &[(String, Ipv4Addr)]) -> String {
    all.iter()
        .map(|(n, a)| format!("{n} {a}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fails with the route to add when the kernel has no way to send to `group` from `iface`.
pub fn check_route(group: SocketAddrV4, iface: Ipv4Addr) -> Result<(), String> {
    let probe = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    if !iface.is_unspecified() {
        probe
            .set_multicast_if_v4(&iface)
            .map_err(|e| format!("cannot send on {iface}: {e}"))?;
    }
    // connect() on a UDP socket only looks the route up (with IP_MULTICAST_IF, as a send
    // would); nothing is sent.
    match probe.connect(&std::net::SocketAddr::V4(group).into()) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENETUNREACH) => Err(format!(
            "no multicast route to {}: give the interface (--iface NAME) or add a route, e.g. `ip route add 224.0.0.0/4 dev IFACE`",
            group.ip()
        )),
        Err(e) => Err(format!("cannot send to {group}: {e}")),
    }
}

/// One datagram to send.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub dst: SocketAddrV4,
    pub payload: &'a [u8],
}

/// How the sender hands datagrams to the kernel (the benchmark compares them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// One `sendto` per datagram.
    SendTo,
    /// `sendmmsg`: up to [`BATCH`] datagrams per system call.
    SendMmsg,
    /// `sendmmsg` with UDP generic segmentation offload: consecutive datagrams to one group
    /// of the same size (full datagrams of fixed-size messages are) go down the stack as
    /// one buffer that the kernel (or the NIC) cuts into datagrams — the per-datagram cost
    /// of the send path is paid once per run. The datagrams on the wire are the same.
    Gso,
}

/// `UDP_SEGMENT` (linux/udp.h; the libc crate lacks it for glibc): the segment size of a
/// GSO send, as a `SOL_UDP` control message.
const UDP_SEGMENT: libc::c_int = 103;
/// The most segments one GSO send may carry (the kernel's UDP_MAX_SEGMENTS).
const GSO_MAX_SEGMENTS: usize = 64;

/// Datagrams per `sendmmsg` / `recvmmsg` call.
pub const BATCH: usize = 64;

/// Sends datagrams to multicast groups from one socket.
pub struct Sender {
    socket: Socket,
    mode: SendMode,
    /// Datagrams and system calls so far, and the messages (`msghdr`s) those calls
    /// carried: one per datagram, except that a GSO run is one message.
    pub datagrams: u64,
    pub calls: u64,
    pub messages: u64,
}

impl Sender {
    /// A socket sending on `iface` (unspecified: by route) with the given TTL, looping its
    /// datagrams back to listeners on this host if `loopback`.
    pub fn new(iface: Ipv4Addr, ttl: u8, loopback: bool, mode: SendMode) -> io::Result<Sender> {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        if !iface.is_unspecified() {
            socket.set_multicast_if_v4(&iface)?;
        }
        socket.set_multicast_ttl_v4(u32::from(ttl))?;
        socket.set_multicast_loop_v4(loopback)?;
        // A deep send queue absorbs bursts; the kernel caps it at wmem_max unless root.
        let _ = socket.set_send_buffer_size(8 << 20);
        Ok(Sender {
            socket,
            mode,
            datagrams: 0,
            calls: 0,
            messages: 0,
        })
    }

    /// Sends every datagram, in order; blocks while the socket's queue is full.
    pub fn send(&mut self, batch: &[Outgoing<'_>]) -> io::Result<()> {
        match self.mode {
            SendMode::SendTo => {
                for d in batch {
                    let addr = socket2::SockAddr::from(d.dst);
                    loop {
                        match self.socket.send_to(d.payload, &addr) {
                            Ok(_) => break,
                            Err(e) if retry(&e) => continue,
                            Err(e) => return Err(e),
                        }
                    }
                    self.calls += 1;
                    self.messages += 1;
                }
            }
            SendMode::SendMmsg => {
                for chunk in batch.chunks(BATCH) {
                    self.sendmmsg(chunk)?;
                }
            }
            SendMode::Gso => {
                for chunk in batch.chunks(BATCH) {
                    self.send_gso(chunk)?;
                }
            }
        }
        self.datagrams += batch.len() as u64;
        Ok(())
    }

    fn sendmmsg(&mut self, chunk: &[Outgoing<'_>]) -> io::Result<()> {
        let n = chunk.len();
        let mut addrs: [MaybeUninit<libc::sockaddr_in>; BATCH] = [MaybeUninit::uninit(); BATCH];
        let mut iovs: [MaybeUninit<libc::iovec>; BATCH] = [MaybeUninit::uninit(); BATCH];
        // SAFETY: mmsghdr is plain data; all-zero is a valid value (no control data, flags 0).
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for (i, d) in chunk.iter().enumerate() {
            addrs[i].write(sockaddr(d.dst));
            iovs[i].write(libc::iovec {
                iov_base: d.payload.as_ptr() as *mut libc::c_void,
                iov_len: d.payload.len(),
            });
            msgs[i].msg_hdr.msg_name = addrs[i].as_mut_ptr().cast();
            msgs[i].msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            msgs[i].msg_hdr.msg_iov = iovs[i].as_mut_ptr();
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: msgs[..n] point at addresses and iovecs initialised above that live until
        // this function returns.
        unsafe { self.sendmmsg_all(&mut msgs[..n]) }
    }

    /// `sendmmsg` until every message is sent (it may take fewer a call).
    ///
    /// # Safety
    /// Every header's name, iovecs and control data must be valid for the call.
    unsafe fn sendmmsg_all(&mut self, msgs: &mut [libc::mmsghdr]) -> io::Result<()> {
        let mut sent = 0;
        while sent < msgs.len() {
            // SAFETY: the caller vouches for msgs; the kernel only reads them (and writes
            // msg_len).
            let r = unsafe {
                libc::sendmmsg(
                    self.socket.as_raw_fd(),
                    msgs[sent..].as_mut_ptr(),
                    (msgs.len() - sent) as libc::c_uint,
                    0,
                )
            };
            self.calls += 1;
            if r < 0 {
                let e = io::Error::last_os_error();
                if retry(&e) {
                    continue;
                }
                return Err(e);
            }
            sent += r as usize;
            self.messages += r as u64;
        }
        Ok(())
    }
}

impl Sender {
    /// One `sendmmsg` of GSO runs: the chunk's datagrams grouped by destination (their
    /// order kept within each destination: a session's sequence), cut into runs where
    /// every datagram but the last has the first one's size.
    fn send_gso(&mut self, chunk: &[Outgoing<'_>]) -> io::Result<()> {
        let n = chunk.len();
        let mut order: [usize; BATCH] = [0; BATCH];
        for (i, o) in order.iter_mut().enumerate().take(n) {
            *o = i;
        }
        let key = |i: &usize| (u32::from(*chunk[*i].dst.ip()), chunk[*i].dst.port());
        // Stable: a destination's datagrams stay in order.
        order[..n].sort_by_key(key);
        // Runs: (first index into `order`, count, segment size).
        let mut runs: [(usize, usize, usize); BATCH] = [(0, 0, 0); BATCH];
        let mut n_runs = 0;
        let mut at = 0;
        while at < n {
            let first = &chunk[order[at]];
            let seg = first.payload.len();
            let mut count = 1;
            let mut total = seg;
            while at + count < n && count < GSO_MAX_SEGMENTS {
                let next = &chunk[order[at + count]];
                let len = next.payload.len();
                if next.dst != first.dst || len > seg || total + len > MAX_UDP_PAYLOAD || len == 0 {
                    break;
                }
                count += 1;
                total += len;
                if len < seg {
                    break; // a shorter datagram can only be a run's last
                }
            }
            runs[n_runs] = (at, count, seg);
            n_runs += 1;
            at += count;
        }
        let mut addrs: [MaybeUninit<libc::sockaddr_in>; BATCH] = [MaybeUninit::uninit(); BATCH];
        let mut iovs: [MaybeUninit<libc::iovec>; BATCH] = [MaybeUninit::uninit(); BATCH];
        // CMSG_SPACE(2) = 24 bytes; u64 words give the alignment a cmsghdr needs.
        let mut cmsgs = [[0u64; 4]; BATCH];
        // SAFETY: mmsghdr is plain data; all-zero is a valid value.
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for (i, &(first, count, seg)) in runs[..n_runs].iter().enumerate() {
            for k in 0..count {
                let d = &chunk[order[first + k]];
                iovs[first + k].write(libc::iovec {
                    iov_base: d.payload.as_ptr() as *mut libc::c_void,
                    iov_len: d.payload.len(),
                });
            }
            addrs[i].write(sockaddr(chunk[order[first]].dst));
            let h = &mut msgs[i].msg_hdr;
            h.msg_name = addrs[i].as_mut_ptr().cast();
            h.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            // The run's `count` iovecs are consecutive in `iovs` from `first`; the pointer is
            // taken from the whole array so that it covers all of them.
            // SAFETY: first + count <= n <= BATCH, inside the array.
            h.msg_iov = unsafe { iovs.as_mut_ptr().add(first) }.cast();
            h.msg_iovlen = count as _;
            if count > 1 {
                h.msg_control = cmsgs[i].as_mut_ptr().cast();
                // SAFETY: CMSG_SPACE is a pure size computation.
                h.msg_controllen = unsafe { libc::CMSG_SPACE(size_of::<u16>() as u32) } as _;
                // SAFETY: the control buffer is 32 bytes, more than CMSG_SPACE(2); the
                // header and the u16 after it are written inside it.
                unsafe {
                    let c = libc::CMSG_FIRSTHDR(h);
                    (*c).cmsg_level = libc::SOL_UDP;
                    (*c).cmsg_type = UDP_SEGMENT;
                    (*c).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as _;
                    std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), seg as u16);
                }
            }
        }
        // SAFETY: msgs[..n_runs] point at addresses, iovecs and control buffers initialised
        // above that live until this function returns.
        unsafe { self.sendmmsg_all(&mut msgs[..n_runs]) }
    }
}

fn retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
    ) || e.raw_os_error() == Some(libc::ENOBUFS)
}

fn sockaddr(addr: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

/// One received datagram.
#[derive(Debug)]
pub struct Received<'a> {
    /// Index of the group (in the order given to [`Receiver::join`]).
    pub group: usize,
    pub payload: &'a [u8],
    /// Kernel receive time, ns since the Unix epoch (`SO_TIMESTAMPNS`); 0 if none came.
    pub rx_ns: u64,
    /// The datagram was larger than the receive buffer and was cut (counted as an error).
    pub truncated: bool,
}

/// Receive-side counters.
#[derive(Debug, Default, Clone, Copy)]
pub struct RxStats {
    pub datagrams: u64,
    pub bytes: u64,
    pub calls: u64,
    pub truncated: u64,
}

const SLOT: usize = 65_536;
/// Control-message room per received datagram, in 8-byte words (a cmsghdr must be aligned
/// to 8; `SCM_TIMESTAMPNS` needs CMSG_SPACE(16) = 32 bytes).
const CMSG_WORDS: usize = 8;

/// Receives from several multicast groups, one socket each, in batches.
pub struct Receiver {
    sockets: Vec<UdpSocket>,
    groups: Vec<SocketAddrV4>,
    epoll: RawFd,
    bufs: Vec<u8>,
    cmsgs: Vec<[u64; CMSG_WORDS]>,
    pub stats: RxStats,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // SAFETY: epoll is a descriptor this receiver opened and nobody else closes.
        unsafe { libc::close(self.epoll) };
    }
}

fn setsockopt_int(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: passes a valid pointer to an int and its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl Receiver {
    /// Opens one socket per group, bound to the group and port and joined on `iface`
    /// (unspecified: the kernel picks the interface by route), with a receive buffer of
    /// `rcvbuf` bytes (raised past the sysctl limit when running as root) and receive
    /// timestamps.
    pub fn join(
        groups: &[SocketAddrV4],
        iface: Ipv4Addr,
        rcvbuf: usize,
    ) -> Result<Receiver, String> {
        // SAFETY: epoll_create1 has no memory arguments.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epoll < 0 {
            return Err(format!("epoll_create1: {}", io::Error::last_os_error()));
        }
        let mut rx = Receiver {
            sockets: Vec::new(),
            groups: groups.to_vec(),
            epoll,
            bufs: vec![0; SLOT * BATCH],
            cmsgs: vec![[0; CMSG_WORDS]; BATCH],
            stats: RxStats::default(),
        };
        for (i, &group) in groups.iter().enumerate() {
            let socket = Self::open(group, iface, rcvbuf).map_err(|e| format!("{group}: {e}"))?;
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: i as u64,
            };
            // SAFETY: registers a descriptor we own with a valid event struct.
            if unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, socket.as_raw_fd(), &mut ev) }
                != 0
            {
                return Err(format!("epoll_ctl: {}", io::Error::last_os_error()));
            }
            rx.sockets.push(socket);
        }
        Ok(rx)
    }

    fn open(group: SocketAddrV4, iface: Ipv4Addr, rcvbuf: usize) -> io::Result<UdpSocket> {
        if !group.ip().is_multicast() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a multicast address",
            ));
        }
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        let fd = socket.as_raw_fd();
        let size = i32::try_from(rcvbuf).unwrap_or(i32::MAX);
        if setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, size).is_err() {
            socket.set_recv_buffer_size(rcvbuf)?;
        }
        setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
        setsockopt_int(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_ALL, 0)?;
        socket.bind(&std::net::SocketAddr::V4(group).into())?;
        socket.join_multicast_v4(group.ip(), &iface).map_err(|e| {
            if e.raw_os_error() == Some(libc::ENODEV) {
                io::Error::new(
                    e.kind(),
                    format!("cannot join: no multicast route or interface for the group; give the interface (--iface NAME) or add a route, e.g. `ip route add 224.0.0.0/4 dev IFACE` ({e})"),
                )
            } else {
                e
            }
        })?;
        socket.set_nonblocking(true)?;
        Ok(socket.into())
    }

    /// The groups, in the order given to [`Receiver::join`].
    pub fn groups(&self) -> &[SocketAddrV4] {
        &self.groups
    }

    /// Waits up to `timeout` for datagrams, then hands every datagram waiting on a ready
    /// socket to `on_datagram`, in arrival order per socket. Returns how many.
    pub fn poll(
        &mut self,
        timeout: Duration,
        on_datagram: &mut impl FnMut(Received<'_>),
    ) -> io::Result<usize> {
        let mut events: [libc::epoll_event; 16] = [libc::epoll_event { events: 0, u64: 0 }; 16];
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: events is a valid buffer of 16 entries.
        let n = unsafe { libc::epoll_wait(self.epoll, events.as_mut_ptr(), 16, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(e)
            };
        }
        let mut total = 0;
        for ev in &events[..n as usize] {
            let group = ev.u64 as usize;
            loop {
                let got = self.drain(group, on_datagram)?;
                total += got;
                if got < BATCH {
                    break;
                }
            }
        }
        Ok(total)
    }

    /// One `recvmmsg` on one socket.
    fn drain(
        &mut self,
        group: usize,
        on_datagram: &mut impl FnMut(Received<'_>),
    ) -> io::Result<usize> {
        let fd = self.sockets[group].as_raw_fd();
        let mut iovs: [MaybeUninit<libc::iovec>; BATCH] = [MaybeUninit::uninit(); BATCH];
        // SAFETY: all-zero mmsghdr is valid plain data.
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        let base = self.bufs.as_mut_ptr();
        for i in 0..BATCH {
            iovs[i].write(libc::iovec {
                // SAFETY: i * SLOT + SLOT <= bufs.len(), so the slot lies inside bufs.
                iov_base: unsafe { base.add(i * SLOT) }.cast(),
                iov_len: SLOT,
            });
            msgs[i].msg_hdr.msg_iov = iovs[i].as_mut_ptr();
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = self.cmsgs[i].as_mut_ptr().cast();
            msgs[i].msg_hdr.msg_controllen = (CMSG_WORDS * 8) as _;
        }
        // SAFETY: every msg points at a buffer slot and a control buffer owned by self,
        // valid for the call; the kernel writes at most iov_len / msg_controllen bytes.
        let r = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        self.stats.calls += 1;
        if r < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        let r = r as usize;
        for (i, msg) in msgs.iter().enumerate().take(r) {
            let len = msg.msg_len as usize;
            let truncated = msg.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            let rx_ns = timestamp(&msg.msg_hdr);
            self.stats.datagrams += 1;
            self.stats.bytes += len as u64;
            self.stats.truncated += u64::from(truncated);
            on_datagram(Received {
                group,
                payload: &self.bufs[i * SLOT..i * SLOT + len.min(SLOT)],
                rx_ns,
                truncated,
            });
        }
        Ok(r)
    }
}

/// The `SCM_TIMESTAMPNS` control message of a received datagram, as ns since the epoch.
fn timestamp(hdr: &libc::msghdr) -> u64 {
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled, within
    // msg_controllen; the timespec is read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                return ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    0
}
