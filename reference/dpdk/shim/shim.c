/*
 * rltop-dpdk's C shim. DPDK's fast path (rte_eth_tx_burst, the mbuf allocator, ...) is made
 * of `static inline` functions in its headers, and rte_errno is a macro over a per-lcore
 * (thread-local) variable: neither has a symbol Rust can link to. Each function here wraps
 * exactly one of them and adds nothing. Everything DPDK exports as a real function is
 * called from Rust directly (src/ffi.rs).
 *
 * The _Static_asserts at the end are no code: they stop the build if a structure that
 * src/ffi.rs lays out by hand does not match these headers.
 */
#include <stddef.h>
#include <stdint.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

/* rte_errno of the calling thread. */
int rltop_errno(void)
{
	return rte_errno;
}

/* rte_pktmbuf_alloc_bulk: all `count` mbufs, reset, or none (returns 0 or -ENOENT). */
int rltop_pktmbuf_alloc_bulk(struct rte_mempool *pool, struct rte_mbuf **mbufs,
			     unsigned int count)
{
	return rte_pktmbuf_alloc_bulk(pool, mbufs, count);
}

/* rte_pktmbuf_append: extends the data by `len` bytes, returns where they start (NULL if
 * the tailroom is too small). */
char *rltop_pktmbuf_append(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_append(m, len);
}

/* rte_eth_tx_burst: queues up to `count` packets, returns how many the driver took. */
uint16_t rltop_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **pkts,
			    uint16_t count)
{
	return rte_eth_tx_burst(port_id, queue_id, pkts, count);
}

/* src/ffi.rs: RteEthStats mirrors struct rte_eth_stats field for field. */
_Static_assert(sizeof(struct rte_eth_stats) == 704, "RteEthStats size");
_Static_assert(offsetof(struct rte_eth_stats, opackets) == 8, "RteEthStats.opackets");
_Static_assert(offsetof(struct rte_eth_stats, obytes) == 24, "RteEthStats.obytes");
_Static_assert(offsetof(struct rte_eth_stats, oerrors) == 48, "RteEthStats.oerrors");
/* src/ffi.rs: RteEthConf is an all-zero block of 4096 bytes aligned to 64. */
_Static_assert(sizeof(struct rte_eth_conf) <= 4096, "RteEthConf size");
_Static_assert(_Alignof(struct rte_eth_conf) <= 64, "RteEthConf alignment");
/* src/ffi.rs: RteEtherAddr is six bytes aligned to 2. */
_Static_assert(sizeof(struct rte_ether_addr) == 6, "RteEtherAddr size");
_Static_assert(_Alignof(struct rte_ether_addr) == 2, "RteEtherAddr alignment");
/* src/ffi.rs: name buffers of RTE_ETH_NAME_MAX_LEN bytes. */
_Static_assert(RTE_ETH_NAME_MAX_LEN == 64, "RTE_ETH_NAME_MAX_LEN");
/* src/ffi.rs: the mbuf headroom and the largest mempool cache, copied as constants. */
_Static_assert(RTE_PKTMBUF_HEADROOM == 128, "RTE_PKTMBUF_HEADROOM");
_Static_assert(RTE_MEMPOOL_CACHE_MAX_SIZE == 512, "RTE_MEMPOOL_CACHE_MAX_SIZE");
