//! One DPDK Ethernet port used for transmission: EAL start-up, a packet-buffer pool, one tx
//! queue, and frames written by [`crate::frame`] straight into the packet buffers.
//!
//! Design points, and why:
//! - **One copy.** `send` allocates mbufs in bulk and writes each frame (headers and the
//!   payload) directly into the mbuf's data room; the NIC (or the virtual device) reads from
//!   there. No staging buffer.
//! - **Nothing is dropped silently.** When the driver takes fewer frames than offered (its
//!   ring is full), the rest are offered again, and every extra call is counted; a queue
//!   that takes nothing for [`Config::tx_retry_limit`] consecutive calls is an error naming
//!   how many frames were not sent, and their mbufs are freed, not leaked.
//! - **EAL once per process.** DPDK's environment can be initialised once per process and
//!   not again after `rte_eal_cleanup`, so [`Port::open`] refuses a second call rather than
//!   letting EAL fail obscurely.
//! - **Errors that say what to do.** Almost every first attempt to run DPDK fails on its
//!   arguments (no device, no hugepages, wrong driver name); [`Error`]'s messages name the
//!   likely cause and the fix, quoting what EAL logged.

use std::ffi::{c_char, c_int, c_uint, CStr, CString};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::eal_log;
use crate::ffi::{self, RteMbuf, RteMempool};
use crate::frame::{self, FrameError, FrameSpec};

/// Set by the first [`Port::open`] that gets as far as initialising EAL.
static EAL_CLAIMED: AtomicBool = AtomicBool::new(false);
/// Makes mempool names unique within the process.
static POOL_SEQ: AtomicU32 = AtomicU32::new(0);

/// Receive descriptors asked for (the queue exists only because some drivers need one).
const RX_DESC: u16 = 128;
/// Transmit descriptors asked for; the driver may adjust it to its limits.
const TX_DESC: u16 = 1024;
/// Data room of the packet buffers, unless a larger maximum payload needs more: DPDK's
/// default (2048 bytes after the headroom), which every driver's receive path accepts.
const DEFAULT_DATA_ROOM: usize = 2048;
/// The IP MTU of standard Ethernet, which every device starts with.
const STANDARD_MTU: usize = 1500;
/// The program name put in front of the EAL arguments (EAL skips argv\[0\]).
const PROGRAM: &str = "rltop-dpdk";

/// How to open a port. [`Default`] gives DPDK's own defaults for the EAL (hugepages, PCI
/// probing) and this crate's for the rest; set at least `eal_args` and `src`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// EAL arguments, without a program name. Without hugepages or a NIC bound to DPDK,
    /// a virtual device does: `--no-huge -m 256 --no-pci` and one of
    /// `--vdev net_pcap0,tx_pcap=FILE` (writes a pcap file), `--vdev net_tap0,iface=NAME`
    /// (a kernel TAP interface), `--vdev net_null0` (discards; for benchmarks). Add a
    /// distinct `--file-prefix` when several DPDK processes run at once. EAL pins the
    /// calling thread to its main lcore (the first core, unless `-l` says otherwise).
    pub eal_args: Vec<String>,
    /// The port to send on; `None`: the first available port.
    pub port_id: Option<u16>,
    /// IPv4 source address and UDP source port of every datagram. Receivers' kernels drop
    /// datagrams from 0.0.0.0, so set an address of this host on the port's network.
    pub src: SocketAddrV4,
    /// Ethernet source address; `None`: the port's own MAC.
    pub src_mac: Option<[u8; 6]>,
    /// IPv4 TTL; 1 (the default) keeps datagrams on the local network.
    pub ttl: u8,
    /// Packet buffers in the pool (DPDK likes 2^n − 1). They must cover the frames in
    /// flight: a burst, the tx ring (1024) and the rx ring (128) of real NICs.
    pub mbufs: u32,
    /// Frames handed to the driver per `rte_eth_tx_burst` call (1..=65535).
    pub burst: usize,
    /// The largest UDP payload sent, in bytes: the link MTU less 28 (1472 for 1500).
    /// [`Port::send`] refuses longer ones.
    pub mtu: usize,
    /// How many consecutive `rte_eth_tx_burst` calls that take nothing (or failed mbuf
    /// allocations) [`Port::send`] spins through before giving up with an error.
    pub tx_retry_limit: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            eal_args: Vec::new(),
            port_id: None,
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            src_mac: None,
            ttl: 1,
            mbufs: 8191,
            burst: 32,
            mtu: 1472,
            tx_retry_limit: 1_000_000,
        }
    }
}

/// Counters of a port. `frames`, `bytes` and the rest count what this crate did; the
/// `dev_*` fields are what the driver reports (`rte_eth_stats`), read when asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames the driver accepted for transmission.
    pub frames: u64,
    /// Bytes of those frames: Ethernet, IPv4 and UDP headers and payload (no FCS).
    pub bytes: u64,
    /// UDP payload bytes of those frames.
    pub payload_bytes: u64,
    /// `rte_eth_tx_burst` calls made.
    pub bursts: u64,
    /// Of those, calls made again because the previous one took fewer frames than offered
    /// (the tx ring was full): back-pressure, not loss.
    pub tx_retries: u64,
    /// Bulk mbuf allocations that failed (pool empty) and were retried.
    pub alloc_failures: u64,
    /// Packets the device reports as sent (`rte_eth_stats.opackets`).
    pub dev_opackets: u64,
    /// Packets the device reports as failed (`rte_eth_stats.oerrors`): a driver that
    /// accepted a frame and then could not send it (e.g. net_tap when the kernel refuses).
    pub dev_oerrors: u64,
}

/// Why a port could not be opened or could not send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// `rte_eal_init` failed.
    Eal {
        /// `rte_errno` after the failure (a positive errno value).
        code: i32,
        /// The EAL arguments given.
        args: String,
        /// The likely cause and what to change.
        hint: String,
        /// The last lines EAL logged about it.
        log: Vec<String>,
    },
    /// EAL was already initialised (or an initialisation was attempted) in this process;
    /// DPDK cannot initialise it again, not even after a failure or a close.
    EalAlreadyInitialised,
    /// No usable port: none was probed, or `port_id` names none.
    NoPort {
        /// The port asked for, if any.
        wanted: Option<u16>,
        /// The ports that exist, with their device names.
        available: Vec<(u16, String)>,
        /// The likely cause and what to change.
        hint: String,
    },
    /// The packet-buffer pool could not be created.
    Mempool {
        /// The pool's name.
        name: String,
        /// Packet buffers asked for.
        mbufs: u32,
        /// Bytes of data room per buffer.
        data_room: u16,
        /// `rte_errno` after the failure.
        code: i32,
    },
    /// A device set-up step failed.
    Configure {
        /// The port.
        port: u16,
        /// The DPDK call that failed.
        step: &'static str,
        /// The errno value it returned (made positive).
        code: i32,
    },
    /// The configuration cannot work; says which field and why.
    InvalidConfig(String),
    /// The driver accepted no frame for `attempts` consecutive calls.
    TxStalled {
        /// The port.
        port: u16,
        /// Frames of the batch that were sent before the stall.
        sent: usize,
        /// Frames of the batch that were not sent (their buffers are freed).
        unsent: usize,
        /// Consecutive calls that took nothing.
        attempts: u32,
    },
    /// The packet-buffer pool stayed empty for `attempts` allocation attempts.
    NoMbufs {
        /// Frames of the batch that were sent before.
        sent: usize,
        /// Frames of the batch that were not sent.
        unsent: usize,
        /// The pool's size.
        pool: u32,
        /// Failed attempts.
        attempts: u32,
    },
    /// A datagram cannot be framed (too long, not multicast); nothing of the batch was sent.
    Frame(FrameError),
    /// Stopping or closing the device failed (the rest of the shutdown still ran).
    Shutdown {
        /// The port.
        port: u16,
        /// The DPDK call that failed.
        step: &'static str,
        /// The errno value it returned (made positive).
        code: i32,
    },
}

/// An errno value (or one of DPDK's own) in words.
fn describe(code: i32) -> String {
    match code {
        1001 => "E_RTE_SECONDARY: not allowed in a secondary process".to_owned(),
        1002 => "E_RTE_NO_CONFIG: no rte_config structure".to_owned(),
        c => std::io::Error::from_raw_os_error(c).to_string(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Eal {
                code,
                args,
                hint,
                log,
            } => {
                write!(
                    f,
                    "DPDK EAL initialisation failed ({}) with arguments `{args}`: {hint}",
                    describe(*code)
                )?;
                let quoted = complaints(log);
                if !quoted.is_empty() {
                    write!(f, " [EAL said: {}]", quoted.join(" | "))?;
                }
                Ok(())
            }
            Error::EalAlreadyInitialised => f.write_str(
                "DPDK EAL was already initialised (or an initialisation was attempted) in this \
                 process, and it cannot be initialised twice: open one Port per process",
            ),
            Error::NoPort {
                wanted,
                available,
                hint,
            } => {
                match wanted {
                    Some(p) => write!(f, "DPDK port {p} does not exist")?,
                    None => f.write_str("no DPDK port is available")?,
                }
                if !available.is_empty() {
                    let list: Vec<String> = available
                        .iter()
                        .map(|(id, name)| format!("{id} ({name})"))
                        .collect();
                    write!(f, " (ports: {})", list.join(", "))?;
                }
                write!(f, ": {hint}")
            }
            Error::Mempool {
                name,
                mbufs,
                data_room,
                code,
            } => {
                let mib = u64::from(*mbufs) * (u64::from(*data_room) + 256) / (1 << 20);
                write!(
                    f,
                    "cannot create mbuf pool {name} of {mbufs} buffers of {data_room} bytes \
                     (~{mib} MiB) ({})",
                    describe(*code)
                )?;
                if *code == libc::ENOMEM {
                    f.write_str(": give EAL more memory (-m) or lower Config::mbufs")?;
                }
                Ok(())
            }
            Error::Configure { port, step, code } => {
                write!(
                    f,
                    "setting up DPDK port {port} failed: {step} returned {} ",
                    -code
                )?;
                write!(f, "({})", describe(*code))?;
                if *code == libc::ENOMEM && step.contains("queue") {
                    f.write_str(
                        ": the mbuf pool is too small for the queue's ring; raise Config::mbufs",
                    )?;
                }
                Ok(())
            }
            Error::InvalidConfig(what) => write!(f, "invalid DPDK port configuration: {what}"),
            Error::TxStalled {
                port,
                sent,
                unsent,
                attempts,
            } => write!(
                f,
                "tx queue 0 of DPDK port {port} accepted no frame for {attempts} consecutive \
                 attempts: {unsent} frames of the batch were not sent ({sent} were); is the \
                 link up?"
            ),
            Error::NoMbufs {
                sent,
                unsent,
                pool,
                attempts,
            } => write!(
                f,
                "the mbuf pool ({pool} buffers) stayed empty for {attempts} attempts: {unsent} \
                 frames of the batch were not sent ({sent} were); raise Config::mbufs"
            ),
            Error::Frame(e) => write!(f, "{e} (nothing of the batch was sent)"),
            Error::Shutdown { port, step, code } => write!(
                f,
                "shutting down DPDK port {port} failed: {step} returned {} ({})",
                -code,
                describe(*code)
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Frame(e) => Some(e),
            _ => None,
        }
    }
}

impl From<FrameError> for Error {
    fn from(e: FrameError) -> Error {
        Error::Frame(e)
    }
}

/// The last (up to three) log lines that complain about something, or failing that the
/// last three lines: what is worth quoting in a one-line error.
fn complaints(log: &[String]) -> Vec<&str> {
    let lines: Vec<&str> = log
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    let bad: Vec<&str> = lines.iter().copied().filter(|l| is_complaint(l)).collect();
    let pick = if bad.is_empty() { lines } else { bad };
    pick[pick.len().saturating_sub(3)..].to_vec()
}

/// Whether a log line reports a problem (rather than, say, "Detected CPU lcores: 2").
fn is_complaint(line: &str) -> bool {
    const WORDS: [&str; 8] = [
        "fail", "cannot", "couldn't", "unable", "invalid", "error", "not ", "denied",
    ];
    let line = line.to_ascii_lowercase();
    WORDS.iter().any(|w| line.contains(w))
}

/// The `--vdev` device names among EAL arguments (`--vdev X`, `--vdev=X`).
fn vdevs(args: &[String]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let dev = if a == "--vdev" {
            it.next().map(String::as_str)
        } else {
            a.strip_prefix("--vdev=")
        };
        if let Some(d) = dev {
            out.push(d.split(',').next().unwrap_or(d));
        }
    }
    out
}

fn has_arg(args: &[String], name: &str) -> bool {
    args.iter()
        .any(|a| a == name || a.starts_with(&format!("{name}=")))
}

const VDEV_ADVICE: &str = "--vdev net_null0 (discards), --vdev net_pcap0,tx_pcap=FILE (writes \
                           a pcap) or --vdev net_tap0,iface=NAME (a kernel TAP interface)";

/// The likely cause of an `rte_eal_init` failure, from `rte_errno`, the arguments, what EAL
/// logged and the effective user id.
fn eal_hint(code: i32, args: &[String], log: &[String], euid: u32) -> String {
    let logged = |needle: &str| log.iter().any(|l| l.to_ascii_lowercase().contains(needle));
    let no_huge = has_arg(args, "--no-huge");
    let devs = vdevs(args);
    if logged("parse device")
        || logged("driver not found")
        || (code == libc::ENODEV && !devs.is_empty())
    {
        return format!(
            "a --vdev driver was not found (given: {}): a virtual device's name is a driver's \
             name and a number, e.g. {VDEV_ADVICE}; drivers load from DPDK's plugin \
             directory (on Debian, the librte-net-* packages' /usr/lib/<arch>/dpdk/pmds-*), \
             or add one with -d LIB.so",
            devs.join(", "),
        );
    }
    if code == libc::EALREADY {
        return "EAL was already initialised in this process by other code".to_owned();
    }
    if euid != 0 && (code == libc::EACCES || code == libc::EPERM || logged("permission denied")) {
        let mut h = format!(
            "permission denied and not running as root (euid {euid}): run as root, or grant \
             CAP_SYS_ADMIN, CAP_IPC_LOCK and CAP_NET_ADMIN"
        );
        if !no_huge {
            h.push_str("; without hugepages reserved, also add --no-huge -m 256");
        }
        return h;
    }
    if logged("hugepage") || (code == libc::EACCES && !no_huge) {
        return "no hugepages available: add --no-huge -m 256 (or reserve hugepages: sysctl \
                vm.nr_hugepages=512 and mount hugetlbfs)"
            .to_owned();
    }
    if logged("another primary") || logged("cannot create lock") || logged("already in use") {
        return "another DPDK process uses the same runtime directory: give each process its \
                own --file-prefix"
            .to_owned();
    }
    if code == libc::ENOMEM || logged("cannot init memory") || logged("cannot allocate") {
        return "not enough memory for EAL: raise -m (256 MiB is plenty here) or reserve more \
                hugepages"
            .to_owned();
    }
    if code == libc::EINVAL || logged("invalid 'command line'") || logged("not compatible") {
        let mut h = "EAL rejected its arguments (its usage text went to stderr)".to_owned();
        if has_arg(args, "--in-memory") && no_huge {
            h.push_str("; --in-memory cannot be combined with --no-huge (drop --in-memory)");
        }
        return h;
    }
    "see what EAL logged".to_owned()
}

/// Why no port was found, given the EAL arguments and what EAL logged while probing.
fn no_port_hint(
    wanted: Option<u16>,
    available: &[(u16, String)],
    args: &[String],
    log: &[String],
) -> String {
    if wanted.is_some() && !available.is_empty() {
        return "choose one of the existing ports, or None for the first".to_owned();
    }
    let devs = vdevs(args);
    if !devs.is_empty() {
        let problems: Vec<&str> = log
            .iter()
            .map(|l| l.trim())
            .filter(|l| is_complaint(l))
            .collect();
        let problems = &problems[problems.len().saturating_sub(3)..];
        return if problems.is_empty() {
            format!(
                "the --vdev device(s) {} did not probe; check their parameters",
                devs.join(", ")
            )
        } else {
            format!(
                "the --vdev device(s) {} failed to probe: {}",
                devs.join(", "),
                problems.join(" | ")
            )
        };
    }
    if has_arg(args, "--no-pci") {
        format!("no --vdev given and PCI probing is off (--no-pci): add {VDEV_ADVICE}")
    } else {
        format!(
            "no --vdev given and no NIC is bound to a DPDK driver (vfio-pci/uio; see \
             dpdk-devbind.py --status): bind one, or add --no-pci and {VDEV_ADVICE}"
        )
    }
}

/// What `Port` owns, released in reverse order by [`Owned::teardown`] — also when `open`
/// fails half-way, so a failed open leaves no device running.
struct Owned {
    /// The configured port (closed by teardown), if it got that far.
    configured: Option<u16>,
    /// Whether the port was started (stopped by teardown).
    started: bool,
    /// The mbuf pool, or null.
    pool: *mut RteMempool,
    /// Whether EAL is initialised (cleaned up by teardown).
    eal: bool,
}

impl Owned {
    /// Stops and closes the port, frees the pool, cleans up EAL; every step runs once even
    /// if an earlier one failed, and the first failure is returned.
    fn teardown(&mut self) -> Result<(), Error> {
        let mut first: Option<Error> = None;
        if let Some(port) = self.configured {
            if std::mem::take(&mut self.started) {
                // SAFETY: the port was started by this Owned; stopping it flushes and
                // closes what the driver holds (net_pcap closes its file here).
                let rc = unsafe { ffi::rte_eth_dev_stop(port) };
                if rc < 0 {
                    first.get_or_insert(Error::Shutdown {
                        port,
                        step: "rte_eth_dev_stop",
                        code: -rc,
                    });
                }
            }
            self.configured = None;
            // SAFETY: the port was configured by this Owned and is not used after this.
            let rc = unsafe { ffi::rte_eth_dev_close(port) };
            if rc < 0 {
                first.get_or_insert(Error::Shutdown {
                    port,
                    step: "rte_eth_dev_close",
                    code: -rc,
                });
            }
        }
        let pool = std::mem::replace(&mut self.pool, ptr::null_mut());
        if !pool.is_null() {
            // SAFETY: the pool was created by this Owned; the port that had queues on it is
            // closed (its rings and their mbufs released), and `send` frees every mbuf it
            // allocates that the driver did not take, so no mbuf of the pool is in use.
            unsafe { ffi::rte_mempool_free(pool) };
        }
        if std::mem::take(&mut self.eal) {
            // SAFETY: EAL was initialised by this Owned and everything allocated from it
            // (port, pool) has been released above; EAL_CLAIMED stays set, so no later
            // call initialises or uses EAL again.
            let rc = unsafe { ffi::rte_eal_cleanup() };
            if rc < 0 {
                first.get_or_insert(Error::Shutdown {
                    port: u16::MAX,
                    step: "rte_eal_cleanup",
                    code: -rc,
                });
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

/// A started DPDK port transmitting RLTOP datagrams on tx queue 0.
///
/// Opening one initialises DPDK's EAL, which a process can do once: open one `Port` per
/// process. [`Port::close`] (or dropping the port) stops the device, which completes what
/// it writes (net_pcap's file), and cleans EAL up.
pub struct Port {
    owned: Owned,
    port_id: u16,
    mac: [u8; 6],
    spec: FrameSpec,
    max_payload: usize,
    burst: usize,
    retry_limit: u32,
    pool_size: u32,
    ip_id: u16,
    mbufs: Vec<*mut RteMbuf>,
    stats: Stats,
}

// SAFETY: Port's raw pointers (the pool, mbufs between allocation and hand-over) are used
// only through `&mut self`, so by one thread at a time. DPDK allows a tx queue and a mempool
// to be used from any thread, one at a time: a thread that is not an EAL lcore bypasses the
// mempool's per-lcore cache, and the thread that opened the port (EAL's main lcore) no
// longer touches the pool once the Port has moved away.
unsafe impl Send for Port {}

/// The settings [`Port::open`] cannot work with, refused before EAL starts.
fn check_config(cfg: &Config) -> Result<(), Error> {
    if cfg.burst == 0 || cfg.burst > usize::from(u16::MAX) {
        return Err(Error::InvalidConfig(format!(
            "burst is {}; it must be 1..=65535",
            cfg.burst
        )));
    }
    // The whole frame must fit one mbuf's data room, a u16 with the headroom.
    let max_mtu = usize::from(u16::MAX) - ffi::RTE_PKTMBUF_HEADROOM - frame::HEADERS;
    if cfg.mtu == 0 || cfg.mtu > max_mtu {
        return Err(Error::InvalidConfig(format!(
            "mtu (the largest UDP payload) is {}; it must be 1..={max_mtu} (a frame must fit \
             one packet buffer)",
            cfg.mtu
        )));
    }
    if (cfg.mbufs as usize) < cfg.burst {
        return Err(Error::InvalidConfig(format!(
            "mbufs is {}, fewer than one burst of {}",
            cfg.mbufs, cfg.burst
        )));
    }
    Ok(())
}

/// Initialises EAL with `cfg.eal_args`, once a process. Returns the mark in EAL's log from
/// which later errors quote it.
fn init_eal(cfg: &Config) -> Result<u64, Error> {
    let argv_strings: Vec<CString> = std::iter::once(PROGRAM.to_owned())
        .chain(cfg.eal_args.iter().cloned())
        .map(CString::new)
        .collect::<Result<_, _>>()
        .map_err(|e| Error::InvalidConfig(format!("an EAL argument contains a NUL byte: {e}")))?;
    if EAL_CLAIMED.swap(true, Ordering::SeqCst) {
        return Err(Error::EalAlreadyInitialised);
    }
    eal_log::install();
    let mark = eal_log::mark();
    // EAL may keep pointers into argv (and permutes the array), so both live for the
    // rest of the process: leaked once, as EAL is initialised once.
    let argv: &'static mut [*mut c_char] = Vec::leak(
        argv_strings
            .into_iter()
            .map(CString::into_raw)
            .collect::<Vec<_>>(),
    );
    let argc = argv.len() as c_int;
    // SAFETY: argv holds argc valid NUL-terminated strings that are never freed; this
    // is the only rte_eal_init call of the process (EAL_CLAIMED).
    let rc =
        eal_log::with_stdout_on_stderr(|| unsafe { ffi::rte_eal_init(argc, argv.as_mut_ptr()) });
    if rc < 0 {
        // SAFETY: reads the calling thread's rte_errno, set by the failed rte_eal_init.
        let code = unsafe { ffi::rltop_errno() };
        let log = eal_log::since(mark);
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        return Err(Error::Eal {
            code,
            args: cfg.eal_args.join(" "),
            hint: eal_hint(code, &cfg.eal_args, &log, euid),
            log,
        });
    }
    Ok(mark)
}

/// The mbuf pool of the port's transmit queue: `cfg.mbufs` buffers, each room for a frame
/// of `cfg.mtu` payload bytes.
fn create_pool(cfg: &Config, port_id: u16, socket: c_int) -> Result<*mut RteMempool, Error> {
    let data_room = ffi::RTE_PKTMBUF_HEADROOM + frame::frame_len(cfg.mtu).max(DEFAULT_DATA_ROOM);
    let data_room = data_room as u16; // ≤ u16::MAX by check_config
    let name = format!(
        "rltop_tx{port_id}_{}",
        POOL_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let cname = CString::new(name.clone()).expect("no NUL in a formatted name");
    let cache = (cfg.mbufs / 2)
        .min(256)
        .min(ffi::RTE_MEMPOOL_CACHE_MAX_SIZE);
    // SAFETY: EAL is initialised; the name is a valid C string (copied by DPDK); the
    // sizes were checked by check_config.
    let pool = unsafe {
        ffi::rte_pktmbuf_pool_create(
            cname.as_ptr(),
            cfg.mbufs as c_uint,
            cache,
            0,
            data_room,
            socket,
        )
    };
    if pool.is_null() {
        // SAFETY: reads the calling thread's rte_errno, set by the failed call.
        let code = unsafe { ffi::rltop_errno() };
        return Err(Error::Mempool {
            name,
            mbufs: cfg.mbufs,
            data_room,
            code,
        });
    }
    Ok(pool)
}

/// A DPDK call's return code as a result: negative is the failed `step`.
fn step_ok(port: u16, step: &'static str, rc: c_int) -> Result<(), Error> {
    if rc < 0 {
        Err(Error::Configure {
            port,
            step,
            code: -rc,
        })
    } else {
        Ok(())
    }
}

/// Configures the port with one tx queue (and one rx queue where the driver accepts it;
/// some drivers need one), raises its MTU when the payloads need it, and starts it; `owned`
/// records each step, so a failure tears down what was done.
fn configure_and_start(
    cfg: &Config,
    port_id: u16,
    dev_socket: c_int,
    owned: &mut Owned,
) -> Result<(), Error> {
    let conf = Box::new(ffi::RteEthConf([0; 4096]));
    let mut rx_queues = 1;
    // SAFETY: valid port, not started; `conf` is an all-zero rte_eth_conf (the shim
    // asserts it is large enough), DPDK's "defaults for everything".
    let mut rc = unsafe { ffi::rte_eth_dev_configure(port_id, 1, 1, &*conf) };
    if rc < 0 {
        // A driver without receive queues: transmit only.
        rx_queues = 0;
        // SAFETY: as above.
        rc = unsafe { ffi::rte_eth_dev_configure(port_id, 0, 1, &*conf) };
    }
    step_ok(port_id, "rte_eth_dev_configure", rc)?;
    owned.configured = Some(port_id);
    set_mtu(cfg, port_id)?;

    let (mut rx_desc, mut tx_desc) = (RX_DESC, TX_DESC);
    // SAFETY: valid, configured port; the pointers are to live locals.
    let rc = unsafe { ffi::rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &mut rx_desc, &mut tx_desc) };
    if rc == -libc::ENOTSUP {
        (rx_desc, tx_desc) = (RX_DESC, TX_DESC);
    } else {
        step_ok(port_id, "rte_eth_dev_adjust_nb_rx_tx_desc", rc)?;
    }
    let queue_socket = dev_socket as c_uint; // SOCKET_ID_ANY (-1) stays "any"
    if rx_queues == 1 {
        // SAFETY: valid, configured port with one rx queue; NULL rx_conf means the
        // driver's defaults; the pool outlives the port (teardown closes the port first).
        let rc = unsafe {
            ffi::rte_eth_rx_queue_setup(port_id, 0, rx_desc, queue_socket, ptr::null(), owned.pool)
        };
        step_ok(port_id, "rte_eth_rx_queue_setup", rc)?;
    }
    // SAFETY: valid, configured port with one tx queue; NULL tx_conf: driver defaults.
    let rc = unsafe { ffi::rte_eth_tx_queue_setup(port_id, 0, tx_desc, queue_socket, ptr::null()) };
    step_ok(port_id, "rte_eth_tx_queue_setup", rc)?;
    // SAFETY: valid port with all its queues set up.
    let rc = unsafe { ffi::rte_eth_dev_start(port_id) };
    step_ok(port_id, "rte_eth_dev_start", rc)?;
    owned.started = true;
    Ok(())
}

/// Payloads beyond a standard Ethernet MTU need the device's MTU raised; drivers without an
/// MTU (net_null, net_pcap) answer -ENOTSUP, which is fine for them.
fn set_mtu(cfg: &Config, port_id: u16) -> Result<(), Error> {
    let ip_mtu = cfg.mtu + frame::IPV4_HLEN + frame::UDP_HLEN;
    if ip_mtu <= STANDARD_MTU {
        return Ok(());
    }
    // SAFETY: valid, configured port; ip_mtu ≤ u16::MAX by check_config.
    let rc = unsafe { ffi::rte_eth_dev_set_mtu(port_id, ip_mtu as u16) };
    if rc < 0 && rc != -libc::ENOTSUP {
        return Err(Error::InvalidConfig(format!(
            "port {port_id} refuses an IP MTU of {ip_mtu} bytes (Config::mtu {} + 28 \
             bytes of IPv4 and UDP headers): rte_eth_dev_set_mtu returned {rc} ({})",
            cfg.mtu,
            describe(-rc)
        )));
    }
    Ok(())
}

impl Port {
    /// Initialises EAL with `cfg.eal_args`, finds the port, creates the mbuf pool, configures
    /// the port with one tx queue (and one rx queue where the driver accepts it; some
    /// drivers need one), starts it and reads its MAC.
    ///
    /// EAL's log goes to stderr; on failure the error quotes it. A second call in the same
    /// process returns [`Error::EalAlreadyInitialised`].
    pub fn open(cfg: &Config) -> Result<Port, Error> {
        check_config(cfg)?;
        let mark = init_eal(cfg)?;
        let mut owned = Owned {
            configured: None,
            started: false,
            pool: ptr::null_mut(),
            eal: true,
        };
        let available = ports();
        let port_id = match cfg.port_id {
            Some(p) => available.iter().find(|(id, _)| *id == p).map(|_| p),
            None => available.first().map(|(id, _)| *id),
        };
        let Some(port_id) = port_id else {
            let log = eal_log::since(mark);
            return Err(Error::NoPort {
                wanted: cfg.port_id,
                hint: no_port_hint(cfg.port_id, &available, &cfg.eal_args, &log),
                available,
            });
        };
        // SAFETY: port_id is a valid port; these calls only read device data.
        let dev_socket = unsafe { ffi::rte_eth_dev_socket_id(port_id) };
        let socket = if dev_socket >= 0 {
            dev_socket
        } else {
            // SAFETY: no preconditions; the calling thread is EAL's main lcore.
            (unsafe { ffi::rte_socket_id() }) as c_int
        };
        owned.pool = create_pool(cfg, port_id, socket)?;
        configure_and_start(cfg, port_id, dev_socket, &mut owned)?;

        let mut mac = ffi::RteEtherAddr::default();
        // SAFETY: valid port; `mac` is a properly aligned rte_ether_addr.
        let rc = unsafe { ffi::rte_eth_macaddr_get(port_id, &mut mac) };
        step_ok(port_id, "rte_eth_macaddr_get", rc)?;

        Ok(Port {
            owned,
            port_id,
            mac: mac.0,
            spec: FrameSpec {
                src_mac: cfg.src_mac.unwrap_or(mac.0),
                src: cfg.src,
                ttl: cfg.ttl,
            },
            max_payload: cfg.mtu,
            burst: cfg.burst,
            retry_limit: cfg.tx_retry_limit.max(1),
            pool_size: cfg.mbufs,
            ip_id: 0,
            mbufs: vec![ptr::null_mut(); cfg.burst],
            stats: Stats::default(),
        })
    }

    /// Sends each `(group, payload)` of `batch` as one Ethernet/IPv4/UDP frame, in order.
    ///
    /// Frames are written directly into packet buffers allocated in bulk and handed to the
    /// driver `burst` at a time. A driver that takes fewer than offered is offered the rest
    /// again (counted in [`Stats::tx_retries`]); only after `tx_retry_limit` consecutive
    /// calls that take nothing is it [`Error::TxStalled`], which says how many frames were
    /// not sent. Every payload is checked first: a too-long payload or a non-multicast group
    /// is an [`Error::Frame`] before anything is sent.
    pub fn send(&mut self, batch: &[(SocketAddrV4, &[u8])]) -> Result<(), Error> {
        for (dst, payload) in batch {
            frame::check_payload(payload.len(), self.max_payload)?;
            if !dst.ip().is_multicast() {
                return Err(FrameError::NotMulticast { dst: *dst.ip() }.into());
            }
        }
        let mut sent = 0usize;
        for chunk in batch.chunks(self.burst) {
            let n = chunk.len();
            self.alloc(n, sent, batch.len())?;
            for (i, (dst, payload)) in chunk.iter().enumerate() {
                let m = self.mbufs[i];
                let len = frame::frame_len(payload.len());
                // SAFETY: m is a freshly allocated mbuf owned by us; len ≤ u16::MAX.
                let data = unsafe { ffi::rltop_pktmbuf_append(m, len as u16) };
                let Some(data) = NonNull::new(data.cast::<u8>()) else {
                    // Cannot happen: the data room holds a frame of the largest payload.
                    self.free(0, n);
                    return Err(FrameError::BufferTooSmall {
                        needed: len,
                        available: 0,
                    }
                    .into());
                };
                // SAFETY: rte_pktmbuf_append returned `len` bytes of this mbuf's data room,
                // which nothing else references until the mbuf is handed to the driver.
                // The bytes are initialised memory (DPDK's mmap'd, zero-filled pages, or
                // earlier frames), though write_frame only writes them.
                let out = unsafe { std::slice::from_raw_parts_mut(data.as_ptr(), len) };
                let written = frame::write_frame(&self.spec, *dst, self.ip_id, payload, out);
                debug_assert_eq!(written, Ok(len));
                if let Err(e) = written {
                    self.free(0, n);
                    return Err(e.into());
                }
                self.ip_id = self.ip_id.wrapping_add(1);
            }
            let mut done = 0usize;
            let mut idle = 0u32;
            while done < n {
                if done > 0 || idle > 0 {
                    self.stats.tx_retries += 1;
                }
                // SAFETY: mbufs[done..n] are ours, written and not yet handed over; the
                // driver takes ownership of the first k it returns and we never touch them
                // again; port and queue 0 are started.
                let k = unsafe {
                    ffi::rltop_eth_tx_burst(
                        self.port_id,
                        0,
                        self.mbufs[done..n].as_mut_ptr(),
                        (n - done) as u16,
                    )
                };
                self.stats.bursts += 1;
                let k = usize::from(k);
                for (_, payload) in &chunk[done..done + k] {
                    self.stats.frames += 1;
                    self.stats.bytes += frame::frame_len(payload.len()) as u64;
                    self.stats.payload_bytes += payload.len() as u64;
                }
                done += k;
                if k == 0 {
                    idle += 1;
                    if idle >= self.retry_limit {
                        self.free(done, n);
                        let sent = sent + done;
                        return Err(Error::TxStalled {
                            port: self.port_id,
                            sent,
                            unsent: batch.len() - sent,
                            attempts: idle,
                        });
                    }
                    std::hint::spin_loop();
                } else {
                    idle = 0;
                }
            }
            sent += n;
        }
        Ok(())
    }

    /// Fills `self.mbufs[..n]` from the pool, retrying while it is empty (buffers come back
    /// as the driver completes transmissions).
    fn alloc(&mut self, n: usize, sent: usize, total: usize) -> Result<(), Error> {
        let mut attempts = 0u32;
        loop {
            // SAFETY: the pool is live; mbufs has room for n ≤ burst pointers.
            let rc = unsafe {
                ffi::rltop_pktmbuf_alloc_bulk(self.owned.pool, self.mbufs.as_mut_ptr(), n as c_uint)
            };
            if rc == 0 {
                return Ok(());
            }
            self.stats.alloc_failures += 1;
            attempts += 1;
            if attempts >= self.retry_limit {
                return Err(Error::NoMbufs {
                    sent,
                    unsent: total - sent,
                    pool: self.pool_size,
                    attempts,
                });
            }
            // SAFETY: valid started port; asks the driver to free completed tx buffers (a
            // driver that cannot returns -ENOTSUP, which is fine).
            unsafe { ffi::rte_eth_tx_done_cleanup(self.port_id, 0, 0) };
            std::hint::spin_loop();
        }
    }

    /// Returns `self.mbufs[from..to]` (allocated, not handed to the driver) to the pool.
    fn free(&mut self, from: usize, to: usize) {
        if from < to {
            // SAFETY: these mbufs were allocated by `alloc` and not taken by the driver, so
            // we own them; they are not used after this.
            unsafe {
                ffi::rte_pktmbuf_free_bulk(self.mbufs[from..to].as_mut_ptr(), (to - from) as c_uint)
            };
        }
    }

    /// The counters, with the device's own (`rte_eth_stats_get`, a few loads for virtual
    /// devices) read now.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats;
        // SAFETY: RteEthStats is plain integers, for which all-zero is valid.
        let mut dev: ffi::RteEthStats = unsafe { std::mem::zeroed() };
        // SAFETY: valid started port; `dev` mirrors struct rte_eth_stats (checked by the shim).
        if unsafe { ffi::rte_eth_stats_get(self.port_id, &mut dev) } == 0 {
            s.dev_opackets = dev.opackets;
            s.dev_oerrors = dev.oerrors;
        }
        s
    }

    /// The port's own MAC address (frames carry `Config::src_mac` instead when it is set).
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The DPDK port id in use.
    pub fn port_id(&self) -> u16 {
        self.port_id
    }

    /// Stops and closes the port (which completes what the driver writes, e.g. net_pcap's
    /// file), frees the pool and cleans EAL up; returns the final counters. Dropping a Port
    /// does the same, ignoring errors.
    pub fn close(mut self) -> Result<Stats, Error> {
        let stats = self.stats();
        self.owned.teardown()?;
        Ok(stats)
    }
}

/// The ports that exist, with their device names.
fn ports() -> Vec<(u16, String)> {
    let mut out = Vec::new();
    let mut next = 0u16;
    loop {
        // SAFETY: EAL is initialised; rte_eth_find_next accepts any id and returns
        // RTE_MAX_ETHPORTS when there is no further port.
        let id = unsafe { ffi::rte_eth_find_next(next) };
        // SAFETY: rte_eth_dev_is_valid_port accepts any id.
        if unsafe { ffi::rte_eth_dev_is_valid_port(id) } != 1 {
            return out;
        }
        let mut buf = [0 as c_char; ffi::RTE_ETH_NAME_MAX_LEN];
        // SAFETY: valid port; buf has RTE_ETH_NAME_MAX_LEN bytes, as the call requires.
        let name = if unsafe { ffi::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) } == 0 {
            // SAFETY: DPDK wrote a NUL-terminated name into buf; the last byte is still 0.
            unsafe { CStr::from_ptr(buf.as_ptr()) }
                .to_string_lossy()
                .into_owned()
        } else {
            String::from("?")
        };
        out.push((id, name));
        match id.checked_add(1) {
            Some(n) => next = n,
            None => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn hints_name_the_likely_cause() {
        let h = eal_hint(
            libc::ENODEV,
            &args("--no-huge -m 256 --no-pci --vdev net_nosuch0"),
            &["EAL: failed to parse device \"net_nosuch0\"".to_owned()],
            0,
        );
        assert!(
            h.contains("driver was not found") && h.contains("net_nosuch0"),
            "{h}"
        );

        let h = eal_hint(
            libc::EACCES,
            &args("--no-pci --vdev net_null0"),
            &["EAL: Cannot get hugepage information.".to_owned()],
            0,
        );
        assert!(h.contains("--no-huge -m 256"), "{h}");

        let h = eal_hint(libc::EACCES, &args("--no-huge --vdev=net_null0"), &[], 1000);
        assert!(
            h.contains("not running as root") && !h.contains("add --no-huge"),
            "{h}"
        );

        let h = eal_hint(libc::EINVAL, &args("--no-huge --in-memory"), &[], 0);
        assert!(h.contains("--in-memory cannot be combined"), "{h}");

        let h = no_port_hint(None, &[], &args("--no-huge -m 256 --no-pci"), &[]);
        assert!(
            h.contains("no --vdev given") && h.contains("net_null0") && h.contains("tx_pcap"),
            "{h}"
        );
        let h = no_port_hint(None, &[], &args("--no-huge"), &[]);
        assert!(
            h.contains("no NIC is bound") && h.contains("--no-pci"),
            "{h}"
        );
        let log = ["open_single_tx_pcap(): Couldn't open /x/y.pcap for writing.".to_owned()];
        let h = no_port_hint(None, &[], &args("--vdev=net_pcap0,tx_pcap=/x/y.pcap"), &log);
        assert!(
            h.contains("net_pcap0 failed to probe") && h.contains("/x/y.pcap"),
            "{h}"
        );
    }

    #[test]
    fn vdev_names_are_found_in_both_spellings() {
        assert_eq!(
            vdevs(&args(
                "--vdev net_pcap0,tx_pcap=/tmp/a --vdev=net_null0 -m 1"
            )),
            ["net_pcap0", "net_null0"]
        );
    }

    #[test]
    fn bad_configs_are_refused_before_eal_is_touched() {
        let cfg = Config {
            burst: 0,
            ..Config::default()
        };
        assert!(
            matches!(Port::open(&cfg), Err(Error::InvalidConfig(w)) if w.contains("burst is 0"))
        );
        let cfg = Config {
            mtu: 70_000,
            ..Config::default()
        };
        assert!(matches!(Port::open(&cfg), Err(Error::InvalidConfig(w)) if w.contains("70000")));
        let cfg = Config {
            eal_args: vec!["a\0b".into()],
            ..Config::default()
        };
        assert!(matches!(Port::open(&cfg), Err(Error::InvalidConfig(w)) if w.contains("NUL")));
        assert!(
            !EAL_CLAIMED.load(Ordering::SeqCst),
            "EAL must still be available"
        );
    }
}
