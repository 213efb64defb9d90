//! Hand-written declarations of the few DPDK 22.11 functions this crate calls.
//!
//! Hand-written rather than generated (bindgen would need libclang at build time for the
//! ~15 functions used here). Functions DPDK exports are declared as such; its static inline
//! fast-path functions and the per-lcore `rte_errno` have no symbol and are reached through
//! `shim/shim.c` (the `rltop_*` functions). The three structures laid out here are checked
//! against DPDK's headers by `_Static_assert`s in the shim, so a mismatch fails the build.

use std::ffi::{c_char, c_int, c_uint};
use std::marker::{PhantomData, PhantomPinned};

/// `struct rte_mempool`, only ever behind a pointer.
#[repr(C)]
pub struct RteMempool {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `struct rte_mbuf`, only ever behind a pointer.
#[repr(C)]
pub struct RteMbuf {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `struct rte_ether_addr`: six bytes, aligned to 2 (`__rte_aligned(2)`).
#[repr(C, align(2))]
#[derive(Default)]
pub struct RteEtherAddr(pub [u8; 6]);

/// `struct rte_eth_conf` as this crate uses it: all zero, which is DPDK's default for
/// every field (no RSS, no offloads, the device's default MTU, autonegotiated link). The
/// shim checks that the real structure fits in these 4096 bytes and this alignment.
#[repr(C, align(64))]
pub struct RteEthConf(pub [u8; 4096]);

/// `struct rte_eth_stats` (with `RTE_ETHDEV_QUEUE_STAT_CNTRS` = 16, as Debian builds it).
#[repr(C)]
pub struct RteEthStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
    pub q_ipackets: [u64; 16],
    pub q_opackets: [u64; 16],
    pub q_ibytes: [u64; 16],
    pub q_obytes: [u64; 16],
    pub q_errors: [u64; 16],
}

const _: () = assert!(std::mem::size_of::<RteEthStats>() == 704);

/// `RTE_ETH_NAME_MAX_LEN`: the size of a device name buffer, NUL included.
pub const RTE_ETH_NAME_MAX_LEN: usize = 64;
/// `RTE_PKTMBUF_HEADROOM`: bytes an mbuf keeps free in front of its data.
pub const RTE_PKTMBUF_HEADROOM: usize = 128;
/// `RTE_MEMPOOL_CACHE_MAX_SIZE`: the largest per-lcore mempool cache.
pub const RTE_MEMPOOL_CACHE_MAX_SIZE: u32 = 512;

#[link(name = "rltop_dpdk_shim", kind = "static")]
extern "C" {
    pub fn rltop_errno() -> c_int;
    pub fn rltop_pktmbuf_alloc_bulk(
        pool: *mut RteMempool,
        mbufs: *mut *mut RteMbuf,
        count: c_uint,
    ) -> c_int;
    pub fn rltop_pktmbuf_append(m: *mut RteMbuf, len: u16) -> *mut c_char;
    pub fn rltop_eth_tx_burst(
        port_id: u16,
        queue_id: u16,
        pkts: *mut *mut RteMbuf,
        count: u16,
    ) -> u16;
}

// The libraries themselves are linked by build.rs, as pkg-config lists them.
extern "C" {
    pub fn rte_eal_init(argc: c_int, argv: *mut *mut c_char) -> c_int;
    pub fn rte_eal_cleanup() -> c_int;
    pub fn rte_openlog_stream(f: *mut libc::FILE) -> c_int;
    pub fn rte_socket_id() -> c_uint;

    pub fn rte_eth_find_next(port_id: u16) -> u16;
    pub fn rte_eth_dev_is_valid_port(port_id: u16) -> c_int;
    pub fn rte_eth_dev_get_name_by_port(port_id: u16, name: *mut c_char) -> c_int;
    pub fn rte_eth_dev_socket_id(port_id: u16) -> c_int;
    pub fn rte_eth_dev_configure(
        port_id: u16,
        nb_rx_queue: u16,
        nb_tx_queue: u16,
        eth_conf: *const RteEthConf,
    ) -> c_int;
    pub fn rte_eth_dev_set_mtu(port_id: u16, mtu: u16) -> c_int;
    pub fn rte_eth_dev_adjust_nb_rx_tx_desc(
        port_id: u16,
        nb_rx_desc: *mut u16,
        nb_tx_desc: *mut u16,
    ) -> c_int;
    /// `rx_conf` is `const struct rte_eth_rxconf *`; only NULL (the driver's defaults) is passed.
    pub fn rte_eth_rx_queue_setup(
        port_id: u16,
        rx_queue_id: u16,
        nb_rx_desc: u16,
        socket_id: c_uint,
        rx_conf: *const u8,
        mb_pool: *mut RteMempool,
    ) -> c_int;
    /// `tx_conf` is `const struct rte_eth_txconf *`; only NULL (the driver's defaults) is passed.
    pub fn rte_eth_tx_queue_setup(
        port_id: u16,
        tx_queue_id: u16,
        nb_tx_desc: u16,
        socket_id: c_uint,
        tx_conf: *const u8,
    ) -> c_int;
    pub fn rte_eth_dev_start(port_id: u16) -> c_int;
    pub fn rte_eth_dev_stop(port_id: u16) -> c_int;
    pub fn rte_eth_dev_close(port_id: u16) -> c_int;
    pub fn rte_eth_macaddr_get(port_id: u16, mac_addr: *mut RteEtherAddr) -> c_int;
    pub fn rte_eth_stats_get(port_id: u16, stats: *mut RteEthStats) -> c_int;
    pub fn rte_eth_tx_done_cleanup(port_id: u16, queue_id: u16, free_cnt: u32) -> c_int;

    pub fn rte_pktmbuf_pool_create(
        name: *const c_char,
        n: c_uint,
        cache_size: c_uint,
        priv_size: u16,
        data_room_size: u16,
        socket_id: c_int,
    ) -> *mut RteMempool;
    pub fn rte_mempool_free(mp: *mut RteMempool);
    pub fn rte_pktmbuf_free_bulk(mbufs: *mut *mut RteMbuf, count: c_uint);
}

/// glibc's `cookie_io_functions_t` (not in the `libc` crate): the callbacks of a stream
/// made by `fopencookie`. Only `write` is set.
#[repr(C)]
pub struct CookieIoFunctions {
    pub read:
        Option<unsafe extern "C" fn(*mut libc::c_void, *mut c_char, libc::size_t) -> libc::ssize_t>,
    pub write: Option<
        unsafe extern "C" fn(*mut libc::c_void, *const c_char, libc::size_t) -> libc::ssize_t,
    >,
    pub seek: Option<unsafe extern "C" fn(*mut libc::c_void, *mut libc::off64_t, c_int) -> c_int>,
    pub close: Option<unsafe extern "C" fn(*mut libc::c_void) -> c_int>,
}

extern "C" {
    /// glibc's `fopencookie(3)`.
    pub fn fopencookie(
        cookie: *mut libc::c_void,
        mode: *const c_char,
        io_funcs: CookieIoFunctions,
    ) -> *mut libc::FILE;
}
