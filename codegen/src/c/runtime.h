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

/* ---- Text fields ---------------------------------------------------------------------
 * Printable ASCII (0x20-0x7E), left aligned, NUL padded. */

/** Whether a text field is printable ASCII followed only by NUL padding. */
static inline int rltop_text_valid(const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n && p[i] != 0) {
        if (p[i] < 0x20 || p[i] > 0x7E) return 0;
        i++;
    }
    for (; i < n; i++)
        if (p[i] != 0) return 0;
    return 1;
}

/** Copies a text field into `out` (room for n + 1 bytes), NUL terminated; returns its length. */
static inline size_t rltop_text_get(const unsigned char *p, size_t n, char *out) {
    size_t i = 0;
    while (i < n && p[i] >= 0x20 && p[i] <= 0x7E) {
        out[i] = (char)p[i];
        i++;
    }
    out[i] = '\0';
    return i;
}

/** Writes `s` into a text field, NUL padded. Returns 0, or -1 (field unchanged) when `s` is
 * longer than the field or holds a byte that is not printable ASCII. */
static inline int rltop_text_set(unsigned char *p, size_t n, const char *s) {
    size_t len = strlen(s), i;
    if (len > n) return -1;
    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E) return -1;
    memcpy(p, s, len);
    memset(p + len, 0, n - len);
    return 0;
}

/* ---- CRC-32C (Castagnoli) ------------------------------------------------------------
 * Reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF. Slicing-by-8
 * tables everywhere; the SSE4.2 crc32 instruction on x86-64 GCC/Clang when the CPU has it
 * (checked at run time, so the header needs no -msse4.2). */

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
    if (__builtin_cpu_supports("sse4.2")) return rltop_crc32c_hole_hw(p, n, hole);
#endif
    return ~rltop_crc32c_sw(rltop_crc32c_sw(rltop_crc32c_sw(0xFFFFFFFFu, p, hole), zero, 4), p + hole + 4, n - hole - 4);
}

/* ---- Errors --------------------------------------------------------------------------
 * The same names as the Rust binding's DecodeError (rltop_error_name). Framing errors
 * (Truncated, BadMagic, BadLength) end a datagram; the others skip one message. */

typedef enum rltop_error {
    RLTOP_OK = 0,
    RLTOP_ERR_TRUNCATED,
    RLTOP_ERR_BAD_MAGIC,
    RLTOP_ERR_BAD_LENGTH,
    RLTOP_ERR_UNKNOWN_TYPE,
    RLTOP_ERR_UNEXPECTED_TYPE,
    RLTOP_ERR_UNSUPPORTED_VERSION,
    RLTOP_ERR_BAD_CHECKSUM,
    RLTOP_ERR_BAD_ENUM,
    RLTOP_ERR_BAD_COUNT,
    RLTOP_ERR_BAD_TEXT
} rltop_error;

/** What went wrong, and where (typedef'd as rltop_decode_error above). */
struct rltop_decode_error {
    rltop_error kind;
    /** Byte offset, within the buffer given to the decoder, of the field at fault (for
     * Truncated: of the message cut short). */
    size_t offset;
    /** BadEnum, BadCount, BadText: the field's path, e.g. "AddOrder.side"; otherwise NULL. */
    const char *field;
    /** What was found: magic, length, type code, version, checksum, enum value, count, or
     * (Truncated) the bytes available. */
    uint64_t found;
    /** What was expected: magic, the type's size, type code, oldest version, the computed
     * checksum, the array's length, or (Truncated) the bytes needed. */
    uint64_t expected;
};

/** The error's name, identical in every binding ("BadChecksum"); "Ok" for RLTOP_OK. */
static inline const char *rltop_error_name(rltop_error e) {
    switch (e) {
    case RLTOP_OK: return "Ok";
    case RLTOP_ERR_TRUNCATED: return "Truncated";
    case RLTOP_ERR_BAD_MAGIC: return "BadMagic";
    case RLTOP_ERR_BAD_LENGTH: return "BadLength";
    case RLTOP_ERR_UNKNOWN_TYPE: return "UnknownType";
    case RLTOP_ERR_UNEXPECTED_TYPE: return "UnexpectedType";
    case RLTOP_ERR_UNSUPPORTED_VERSION: return "UnsupportedVersion";
    case RLTOP_ERR_BAD_CHECKSUM: return "BadChecksum";
    case RLTOP_ERR_BAD_ENUM: return "BadEnum";
    case RLTOP_ERR_BAD_COUNT: return "BadCount";
    case RLTOP_ERR_BAD_TEXT: return "BadText";
    }
    return "Unknown";
}

/** Whether the error leaves the rest of the datagram unreadable. */
static inline int rltop_error_is_framing(rltop_error e) {
    return e == RLTOP_ERR_TRUNCATED || e == RLTOP_ERR_BAD_MAGIC || e == RLTOP_ERR_BAD_LENGTH;
}

static inline rltop_error rltop_fail(rltop_decode_error *err, rltop_error kind, size_t offset, const char *field,
                                     uint64_t found, uint64_t expected) {
    if (err) {
        err->kind = kind;
        err->offset = offset;
        err->field = field;
        err->found = found;
        err->expected = expected;
    }
    return kind;
}

/* ---- Decoding ------------------------------------------------------------------------
 * The order of checks is SPEC.md §4's: header present, magic, length, bytes present,
 * version, type, checksum, field values. */

/** A decoded message (typedef'd as rltop_message above): where it is and what type it has. `bytes` points into the buffer
 * given to the decoder; read it with the typed accessors (rltop_as_<message>). */
struct rltop_message {
    uint8_t type;
    uint8_t version;
    uint16_t length;
    /** Offset of the message within the buffer given to the decoder. */
    size_t offset;
    const unsigned char *bytes;
};

/* Defined with the messages, below: checks enumerations, counts and text. */
static inline rltop_error rltop_validate_fields(const rltop_message *m, rltop_decode_error *err);

/** Checks the framing of the message at the start of `b` (len bytes, at `base` in the
 * caller's buffer): only framing errors come from here. With `only_type` >= 0, other type
 * codes are framed as unknown ones (length at least a header), as a typed decoder needs. */
static inline rltop_error rltop_split_frame_as(const unsigned char *b, size_t len, size_t base, int only_type,
                                               rltop_message *m, rltop_decode_error *err) {
    uint32_t magic;
    uint16_t length;
    uint8_t type;
    size_t size;
    if (len < RLTOP_HEADER_SIZE) return rltop_fail(err, RLTOP_ERR_TRUNCATED, base, NULL, len, RLTOP_HEADER_SIZE);
    magic = rltop_load_u32(b + RLTOP_MAGIC_OFFSET);
    if (magic != RLTOP_MAGIC) return rltop_fail(err, RLTOP_ERR_BAD_MAGIC, base + RLTOP_MAGIC_OFFSET, NULL, magic, RLTOP_MAGIC);
    length = rltop_load_u16(b + RLTOP_LENGTH_OFFSET);
    type = b[RLTOP_TYPE_OFFSET];
    size = (only_type < 0 || type == only_type) ? rltop_size_of_type(type) : 0;
    if (size != 0 && length != size)
        return rltop_fail(err, RLTOP_ERR_BAD_LENGTH, base + RLTOP_LENGTH_OFFSET, NULL, length, size);
    if (size == 0 && length < RLTOP_HEADER_SIZE)
        return rltop_fail(err, RLTOP_ERR_BAD_LENGTH, base + RLTOP_LENGTH_OFFSET, NULL, length, RLTOP_HEADER_SIZE);
    if (len < length) return rltop_fail(err, RLTOP_ERR_TRUNCATED, base, NULL, len, length);
    m->type = type;
    m->version = b[RLTOP_VERSION_OFFSET];
    m->length = length;
    m->offset = base;
    m->bytes = b;
    return RLTOP_OK;
}

/** rltop_split_frame_as for every known type. */
static inline rltop_error rltop_split_frame(const unsigned char *b, size_t len, size_t base, rltop_message *m,
                                            rltop_decode_error *err) {
    return rltop_split_frame_as(b, len, base, -1, m, err);
}

/** Version and checksum of a framed message. */
static inline rltop_error rltop_check_frame(const rltop_message *m, rltop_decode_error *err) {
    uint32_t found, computed;
    if (m->version < RLTOP_MIN_VERSION)
        return rltop_fail(err, RLTOP_ERR_UNSUPPORTED_VERSION, m->offset + RLTOP_VERSION_OFFSET, NULL, m->version,
                          RLTOP_MIN_VERSION);
    if (rltop_size_of_type(m->type) == 0)
        return rltop_fail(err, RLTOP_ERR_UNKNOWN_TYPE, m->offset + RLTOP_TYPE_OFFSET, NULL, m->type, 0);
    found = rltop_load_u32(m->bytes + RLTOP_CHECKSUM_OFFSET);
    computed = rltop_crc32c_with_hole(m->bytes, m->length, RLTOP_CHECKSUM_OFFSET);
    if (found != computed)
        return rltop_fail(err, RLTOP_ERR_BAD_CHECKSUM, m->offset + RLTOP_CHECKSUM_OFFSET, NULL, found, computed);
    return RLTOP_OK;
}

/** Decodes the message at buf[0..len), of any type, checking every rule of the protocol.
 * `base` is added to the offsets reported. Never reads outside buf[0..len). */
static inline rltop_error rltop_decode_at(const void *buf, size_t len, size_t base, rltop_message *out,
                                          rltop_decode_error *err) {
    rltop_message m;
    rltop_error e = rltop_split_frame((const unsigned char *)buf, len, base, &m, err);
    if (e == RLTOP_OK) e = rltop_check_frame(&m, err);
    if (e == RLTOP_OK) e = rltop_validate_fields(&m, err);
    if (e == RLTOP_OK && out) *out = m;
    return e;
}

/** rltop_decode_at with base 0. */
static inline rltop_error rltop_decode(const void *buf, size_t len, rltop_message *out, rltop_decode_error *err) {
    return rltop_decode_at(buf, len, 0, out, err);
}

/** Iterates over the messages of one datagram. */
typedef struct rltop_iter {
    const unsigned char *buf;
    size_t len;
    size_t pos;
    int done;
} rltop_iter;

static inline void rltop_iter_init(rltop_iter *it, const void *datagram, size_t len) {
    it->buf = (const unsigned char *)datagram;
    it->len = len;
    it->pos = 0;
    it->done = 0;
}

/** The next item of the datagram: returns 0 at the end; otherwise 1, with `*msg` set when
 * `err->kind` is RLTOP_OK (zeroed otherwise), or the error of one message (which is skipped by its length), or
 * a framing error (after which the iteration ends). */
static inline int rltop_iter_next(rltop_iter *it, rltop_message *msg, rltop_decode_error *err) {
    rltop_message m;
    rltop_error e;
    if (it->done || it->pos >= it->len) return 0;
    rltop_fail(err, RLTOP_OK, 0, NULL, 0, 0);
    memset(msg, 0, sizeof *msg);
    e = rltop_split_frame(it->buf + it->pos, it->len - it->pos, it->pos, &m, err);
    if (e != RLTOP_OK) {
        it->done = 1;
        return 1;
    }
    it->pos += m.length;
    e = rltop_check_frame(&m, err);
    if (e == RLTOP_OK) e = rltop_validate_fields(&m, err);
    if (e == RLTOP_OK) *msg = m;
    return 1;
}

/* ---- Encoding ------------------------------------------------------------------------ */

/** Fills the header of the `size`-byte message at `msg` (magic, length, type, version,
 * session, sequence, timestamp) and then its checksum. Returns `size`. */
static inline size_t rltop_finalize(void *msg, size_t size, uint8_t type, uint64_t session_id, uint64_t seq_num,
                                    uint64_t timestamp_ns) {
    unsigned char *b = (unsigned char *)msg;
    rltop_store_u32(b + RLTOP_MAGIC_OFFSET, RLTOP_MAGIC);
    rltop_store_u16(b + RLTOP_LENGTH_OFFSET, (uint16_t)size);
    b[RLTOP_TYPE_OFFSET] = type;
    b[RLTOP_VERSION_OFFSET] = RLTOP_VERSION;
    rltop_store_u64(b + RLTOP_SESSION_OFFSET, session_id);
    rltop_store_u64(b + RLTOP_SEQUENCE_OFFSET, seq_num);
    rltop_store_u64(b + RLTOP_TIMESTAMP_OFFSET, timestamp_ns);
    rltop_store_u32(b + RLTOP_CHECKSUM_OFFSET, rltop_crc32c_with_hole(b, size, RLTOP_CHECKSUM_OFFSET));
    return size;
}
