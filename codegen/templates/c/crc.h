/* ---- Byte order ----------------------------------------------------------------------
 * Every field is little-endian on the wire. Loads and stores go through memcpy or single
 * bytes: no unaligned pointer is dereferenced and no object is read through a pointer of
 * another type. On a little-endian host the memcpy is the load; elsewhere (or with
 * RLTOP_PORTABLE_ENDIAN defined) the bytes are assembled one by one, which is correct on any
 * host. */
#if !defined(RLTOP_PORTABLE_ENDIAN) && defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RLTOP_LITTLE_ENDIAN_HOST 1
#else
#define RLTOP_LITTLE_ENDIAN_HOST 0
#endif

static inline uint64_t rltop_load_le(const unsigned char *p, size_t n) {
#if RLTOP_LITTLE_ENDIAN_HOST
    uint64_t v = 0;
    memcpy(&v, p, n);
    return v;
#else
    uint64_t v = 0;
    size_t i;
    for (i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
#endif
}

static inline void rltop_store_le(unsigned char *p, size_t n, uint64_t v) {
#if RLTOP_LITTLE_ENDIAN_HOST
    memcpy(p, &v, n);
#else
    size_t i;
    for (i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
#endif
}

static inline uint8_t rltop_load_u8(const unsigned char *p) { return p[0]; }
static inline uint16_t rltop_load_u16(const unsigned char *p) { return (uint16_t)rltop_load_le(p, 2); }
static inline uint32_t rltop_load_u32(const unsigned char *p) { return (uint32_t)rltop_load_le(p, 4); }
static inline uint64_t rltop_load_u64(const unsigned char *p) { return rltop_load_le(p, 8); }
/* Signed loads convert through memcpy: two's complement without implementation-defined casts. */
static inline int8_t rltop_load_i8(const unsigned char *p) { int8_t v; memcpy(&v, p, 1); return v; }
static inline int16_t rltop_load_i16(const unsigned char *p) { uint16_t u = rltop_load_u16(p); int16_t v; memcpy(&v, &u, 2); return v; }
static inline int32_t rltop_load_i32(const unsigned char *p) { uint32_t u = rltop_load_u32(p); int32_t v; memcpy(&v, &u, 4); return v; }
static inline int64_t rltop_load_i64(const unsigned char *p) { uint64_t u = rltop_load_u64(p); int64_t v; memcpy(&v, &u, 8); return v; }

static inline void rltop_store_u8(unsigned char *p, uint8_t v) { p[0] = v; }
static inline void rltop_store_u16(unsigned char *p, uint16_t v) { rltop_store_le(p, 2, v); }
static inline void rltop_store_u32(unsigned char *p, uint32_t v) { rltop_store_le(p, 4, v); }
static inline void rltop_store_u64(unsigned char *p, uint64_t v) { rltop_store_le(p, 8, v); }
static inline void rltop_store_i8(unsigned char *p, int8_t v) { memcpy(p, &v, 1); }
static inline void rltop_store_i16(unsigned char *p, int16_t v) { uint16_t u; memcpy(&u, &v, 2); rltop_store_u16(p, u); }
static inline void rltop_store_i32(unsigned char *p, int32_t v) { uint32_t u; memcpy(&u, &v, 4); rltop_store_u32(p, u); }
static inline void rltop_store_i64(unsigned char *p, int64_t v) { uint64_t u; memcpy(&u, &v, 8); rltop_store_u64(p, u); }

/* ---- CRC-32C (Castagnoli) ------------------------------------------------------------
 * Reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF. Slicing-by-8
 * tables everywhere; the SSE4.2 crc32 instruction on x86-64 GCC/Clang when the CPU has it, in
 * three lanes joined by PCLMULQDQ when it has that too (both checked at run time, so the
 * header needs no -msse4.2). */

static inline uint32_t rltop_crc32c_sw(uint32_t crc, const unsigned char *p, size_t n) {
    const uint32_t(*t)[256] = rltop_crc32c_tables();
    while (n >= 8) {
        uint32_t lo = rltop_load_u32(p) ^ crc, hi = rltop_load_u32(p + 4);
        crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
              t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) crc = t[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(RLTOP_NO_SSE42)
#include <nmmintrin.h>
#define RLTOP_HAVE_SSE42_PATH 1
__attribute__((target("sse4.2"))) static inline uint32_t rltop_crc32c_hw(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
    while (n--) crc = _mm_crc32_u8(crc, *p++);
    return crc;
}

/* The message in three runs, the checksum field as four zero bytes, in one target function. */
__attribute__((target("sse4.2"))) static inline uint32_t rltop_crc32c_hole_hw(const unsigned char *p, size_t n, size_t hole) {
    uint32_t crc = rltop_crc32c_hw(0xFFFFFFFFu, p, hole);
    crc = _mm_crc32_u32(crc, 0);
    return ~rltop_crc32c_hw(crc, p + hole + 4, n - hole - 4);
}

/* One message's checksum in three lanes (n >= 3 * RLTOP_CRC_LANE, hole + 4 <= RLTOP_CRC_LANE).
 * One crc32 chain waits 3 cycles per word and leaves two thirds of the unit idle. Each round
 * runs three independent chains over consecutive 40-byte lanes A, B, C (a 128-byte message
 * is one round and one word) and joins them by the CRC's linearity:
 *   crc(s, A B C) = shift80(crc(s, A)) ^ shift40(crc(0, B)) ^ crc(0, C),
 * each shift a carry-less multiplication by x^(8n - 33) mod P (bit-reflected), the two
 * products reduced together by one crc32 of their XOR. (The carry-less product of two
 * reflected 32-bit values is their reflected 64-bit product times x, and crc32 of a 64-bit
 * word multiplies it by x^32 mod P: 1 + 32 = 33.) header_test recomputes both factors. The
 * hole is masked out of the first lane's words, so no chain branches around it. */
#include <wmmintrin.h>
#define RLTOP_CRC_LANE 40
#define RLTOP_CRC_OVER_LANE UINT64_C(0x3DA6D0CB)   /* x^(8*40 - 33) mod P */
#define RLTOP_CRC_OVER_2LANES UINT64_C(0x39D3B296) /* x^(8*80 - 33) mod P */
/* Carry-less product of a 32-bit state and a fold factor (at most 63 bits). */
__attribute__((target("pclmul"))) static inline uint64_t rltop_clmul(uint32_t state, uint64_t factor) {
    __m128i product = _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)state), _mm_cvtsi64_si128((long long)factor), 0);
    return (uint64_t)_mm_cvtsi128_si64(product);
}

/* One round of rltop_crc32c_hole3_hw: the three lanes from p on, the first lane's five words
 * ANDed with ~mask[k]. Written out word by word so that the chains stay in registers. */
__attribute__((target("sse4.2,pclmul"))) static inline uint32_t rltop_crc32c_round3(const unsigned char *p, uint32_t s,
                                                                                  const uint64_t mask[5]) {
    uint64_t a = s, b = 0, c = 0, va, vb, vc;
#define RLTOP_CRC_WORD(k)                                                                                               \
    memcpy(&va, p + 8 * (k), 8);                                                                                       \
    memcpy(&vb, p + RLTOP_CRC_LANE + 8 * (k), 8);                                                                      \
    memcpy(&vc, p + 2 * RLTOP_CRC_LANE + 8 * (k), 8);                                                                  \
    a = _mm_crc32_u64(a, va & ~mask[k]);                                                                               \
    b = _mm_crc32_u64(b, vb);                                                                                          \
    c = _mm_crc32_u64(c, vc)
    RLTOP_CRC_WORD(0);
    RLTOP_CRC_WORD(1);
    RLTOP_CRC_WORD(2);
    RLTOP_CRC_WORD(3);
    RLTOP_CRC_WORD(4);
#undef RLTOP_CRC_WORD
    return (uint32_t)_mm_crc32_u64(0, rltop_clmul((uint32_t)a, RLTOP_CRC_OVER_2LANES) ^
                                          rltop_clmul((uint32_t)b, RLTOP_CRC_OVER_LANE)) ^
           (uint32_t)c;
}

__attribute__((target("sse4.2,pclmul"))) static inline uint32_t rltop_crc32c_hole3_hw(const unsigned char *p, size_t n,
                                                                                     size_t hole) {
    static const uint64_t none[5] = {0, 0, 0, 0, 0};
    uint64_t mask[6] = {0, 0, 0, 0, 0, 0}; /* the hole's 32 bits over the word it starts in and the next */
    uint32_t s;
    mask[hole / 8] = (uint64_t)0xFFFFFFFFu << (hole % 8 * 8);
    mask[hole / 8 + 1] = hole % 8 > 4 ? (uint64_t)0xFFFFFFFFu >> (64 - hole % 8 * 8) : 0;
    s = rltop_crc32c_round3(p, 0xFFFFFFFFu, mask);
    for (p += 3 * RLTOP_CRC_LANE, n -= 3 * RLTOP_CRC_LANE; n >= 3 * RLTOP_CRC_LANE; p += 3 * RLTOP_CRC_LANE, n -= 3 * RLTOP_CRC_LANE)
        s = rltop_crc32c_round3(p, s, none);
    return ~rltop_crc32c_hw(s, p, n);
}

/* Four messages' checksums at once (hole + 4 <= every length). One message's crc32 chain
 * waits 3 cycles per word; four independent chains, one word of each in turn, keep the
 * instruction issuing every cycle. The words every message has run in lockstep (the two
 * the hole touches masked); each message's tail runs alone. */
__attribute__((target("sse4.2"))) static inline void rltop_crc32c_hole4_hw(const unsigned char *const p[4], const size_t n[4],
                                                                           size_t hole, uint32_t out[4]) {
    /* Four named chains, not an array: in registers, not stored back each word. */
    const unsigned char *p0 = p[0], *p1 = p[1], *p2 = p[2], *p3 = p[3];
    uint64_t c0 = 0xFFFFFFFFu, c1 = 0xFFFFFFFFu, c2 = 0xFFFFFFFFu, c3 = 0xFFFFFFFFu, lo, hi;
    size_t shortest = n[0], words, k, i;
    for (i = 1; i < 4; i++)
        if (n[i] < shortest) shortest = n[i];
    words = shortest / 8;
    /* The hole's 32 bits over the word it starts in (lo) and the next (hi). */
    lo = (uint64_t)0xFFFFFFFFu << (hole % 8 * 8);
    hi = hole % 8 > 4 ? (uint64_t)0xFFFFFFFFu >> (64 - hole % 8 * 8) : 0;
    for (k = 0; k < words; k++) {
        uint64_t mask = k == hole / 8 ? lo : k == hole / 8 + 1 ? hi : 0, v0, v1, v2, v3;
        memcpy(&v0, p0 + 8 * k, 8);
        memcpy(&v1, p1 + 8 * k, 8);
        memcpy(&v2, p2 + 8 * k, 8);
        memcpy(&v3, p3 + 8 * k, 8);
        c0 = _mm_crc32_u64(c0, v0 & ~mask);
        c1 = _mm_crc32_u64(c1, v1 & ~mask);
        c2 = _mm_crc32_u64(c2, v2 & ~mask);
        c3 = _mm_crc32_u64(c3, v3 & ~mask);
    }
    if (hole + 4 > 8 * words) { /* the hole reaches past the common words: the single chain */
        for (i = 0; i < 4; i++) out[i] = rltop_crc32c_hole_hw(p[i], n[i], hole);
        return;
    }
    out[0] = ~rltop_crc32c_hw((uint32_t)c0, p0 + 8 * words, n[0] - 8 * words);
    out[1] = ~rltop_crc32c_hw((uint32_t)c1, p1 + 8 * words, n[1] - 8 * words);
    out[2] = ~rltop_crc32c_hw((uint32_t)c2, p2 + 8 * words, n[2] - 8 * words);
    out[3] = ~rltop_crc32c_hw((uint32_t)c3, p3 + 8 * words, n[3] - 8 * words);
}
#endif

/** Continues a CRC-32C: `crc` is the previous result (0 to start). */
static inline uint32_t rltop_crc32c(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
#ifdef RLTOP_HAVE_SSE42_PATH
    if (__builtin_cpu_supports("sse4.2")) return ~rltop_crc32c_hw(~crc, p, n);
#endif
    return ~rltop_crc32c_sw(~crc, p, n);
}

/** CRC-32C of the n bytes at p with the 4 bytes at `hole` taken as zero (the checksum rule). */
static inline uint32_t rltop_crc32c_with_hole(const unsigned char *p, size_t n, size_t hole) {
    static const unsigned char zero[4] = {0, 0, 0, 0};
#ifdef RLTOP_HAVE_SSE42_PATH
    if (__builtin_cpu_supports("sse4.2")) {
        if (hole + 4 <= RLTOP_CRC_LANE && n >= 3 * RLTOP_CRC_LANE && __builtin_cpu_supports("pclmul"))
            return rltop_crc32c_hole3_hw(p, n, hole);
        return rltop_crc32c_hole_hw(p, n, hole);
    }
#endif
    return ~rltop_crc32c_sw(rltop_crc32c_sw(rltop_crc32c_sw(0xFFFFFFFFu, p, hole), zero, 4), p + hole + 4, n - hole - 4);
}

/** rltop_crc32c_with_hole of four messages at once (each n[i] >= hole + 4): out[i] is the
 * checksum of p[i]. With SSE4.2 the four computations are interleaved, which is what makes a
 * datagram faster to check than its messages one by one. */
static inline void rltop_crc32c_with_hole4(const unsigned char *const p[4], const size_t n[4], size_t hole,
                                           uint32_t out[4]) {
    size_t i;
#ifdef RLTOP_HAVE_SSE42_PATH
    if (__builtin_cpu_supports("sse4.2")) {
        rltop_crc32c_hole4_hw(p, n, hole, out);
        return;
    }
#endif
    for (i = 0; i < 4; i++) out[i] = rltop_crc32c_with_hole(p[i], n[i], hole);
}

