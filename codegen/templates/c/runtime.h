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

/** Version, type and checksum of a framed message; `computed` is its checksum when already
 * known (the datagram iterator computes four at once), NULL to compute it here. */
static inline rltop_error rltop_check_frame_sum(const rltop_message *m, const uint32_t *computed_sum,
                                                rltop_decode_error *err) {
    uint32_t found, computed;
    if (m->version < RLTOP_MIN_VERSION)
        return rltop_fail(err, RLTOP_ERR_UNSUPPORTED_VERSION, m->offset + RLTOP_VERSION_OFFSET, NULL, m->version,
                          RLTOP_MIN_VERSION);
    if (rltop_size_of_type(m->type) == 0)
        return rltop_fail(err, RLTOP_ERR_UNKNOWN_TYPE, m->offset + RLTOP_TYPE_OFFSET, NULL, m->type, 0);
    found = rltop_load_u32(m->bytes + RLTOP_CHECKSUM_OFFSET);
    computed = computed_sum ? *computed_sum : rltop_crc32c_with_hole(m->bytes, m->length, RLTOP_CHECKSUM_OFFSET);
    if (found != computed)
        return rltop_fail(err, RLTOP_ERR_BAD_CHECKSUM, m->offset + RLTOP_CHECKSUM_OFFSET, NULL, found, computed);
    return RLTOP_OK;
}

/** Version, type and checksum of a framed message. */
static inline rltop_error rltop_check_frame(const rltop_message *m, rltop_decode_error *err) {
    return rltop_check_frame_sum(m, NULL, err);
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

/** Messages the iterator frames ahead and checksums together. */
#define RLTOP_BATCH 4

/** Iterates over the messages of one datagram. It frames up to RLTOP_BATCH messages ahead
 * and, for a full window, computes their checksums together (rltop_crc32c_with_hole4);
 * the items are exactly those of decoding each message alone. Treat the fields as private. */
typedef struct rltop_iter {
    const unsigned char *buf;
    size_t len;
    size_t pos;
    int done;
    /* The window: window[next..filled) framed, not yet returned. */
    rltop_message window[RLTOP_BATCH];
    uint32_t sums[RLTOP_BATCH];
    int summed, next, filled;
    /* A framing error met while filling the window, returned after it. */
    int framing_pending;
    rltop_decode_error framing_error;
} rltop_iter;

static inline void rltop_iter_init(rltop_iter *it, const void *datagram, size_t len) {
    /* The window is written before it is read: only the counters need a value. */
    it->buf = (const unsigned char *)datagram;
    it->len = len;
    it->pos = 0;
    it->done = 0;
    it->summed = it->next = it->filled = 0;
    it->framing_pending = 0;
}

/* Frames the next messages (up to a window, or to a framing error) and checksums them. */
static inline void rltop_iter_fill(rltop_iter *it) {
    it->next = 0;
    it->filled = 0;
    while (it->filled < RLTOP_BATCH && it->pos < it->len) {
        rltop_message *m = &it->window[it->filled];
        if (rltop_split_frame(it->buf + it->pos, it->len - it->pos, it->pos, m, &it->framing_error) != RLTOP_OK) {
            it->framing_pending = 1;
            break;
        }
        it->pos += m->length;
        it->filled++;
    }
    it->summed = it->filled == RLTOP_BATCH;
    if (it->summed) {
        const unsigned char *p[RLTOP_BATCH];
        size_t n[RLTOP_BATCH];
        int i;
        for (i = 0; i < RLTOP_BATCH; i++) {
            p[i] = it->window[i].bytes;
            n[i] = it->window[i].length;
        }
        rltop_crc32c_with_hole4(p, n, RLTOP_CHECKSUM_OFFSET, it->sums);
    }
}

/** The next item of the datagram: returns 0 at the end; otherwise 1, with `*msg` set when
 * `err->kind` is RLTOP_OK (zeroed otherwise), or the error of one message (which is skipped by its length), or
 * a framing error (after which the iteration ends). */
static inline int rltop_iter_next(rltop_iter *it, rltop_message *msg, rltop_decode_error *err) {
    const rltop_message *m;
    rltop_error e;
    while (it->next == it->filled) {
        if (it->done) return 0;
        if (it->framing_pending) {
            it->framing_pending = 0;
            it->done = 1;
            memset(msg, 0, sizeof *msg);
            if (err) *err = it->framing_error;
            return 1;
        }
        if (it->pos >= it->len) {
            it->done = 1;
            return 0;
        }
        rltop_iter_fill(it);
    }
    m = &it->window[it->next];
    rltop_fail(err, RLTOP_OK, 0, NULL, 0, 0);
    e = rltop_check_frame_sum(m, it->summed ? &it->sums[it->next] : NULL, err);
    if (e == RLTOP_OK) e = rltop_validate_fields(m, err);
    if (e == RLTOP_OK)
        *msg = *m;
    else
        memset(msg, 0, sizeof *msg);
    it->next++;
    return 1;
}

/** Calls `on_item(ctx, msg, err)` for every item of the datagram, in order: exactly the
 * items rltop_iter_next returns (`*msg` valid when err->kind is RLTOP_OK, zeroed otherwise),
 * without an iterator's state between them, which is the fastest way through a datagram.
 * The pointers are valid during the call only. With a static `on_item` the compiler
 * inlines it. */
static inline void rltop_for_each_message(const void *datagram, size_t len,
                                          void (*on_item)(void *ctx, const rltop_message *msg,
                                                          const rltop_decode_error *err),
                                          void *ctx) {
    rltop_iter it;
    rltop_message m;
    rltop_decode_error err;
    int i;
    rltop_iter_init(&it, datagram, len);
    while (it.pos < it.len) {
        rltop_iter_fill(&it);
        for (i = 0; i < it.filled; i++) {
            rltop_error e;
            m = it.window[i];
            rltop_fail(&err, RLTOP_OK, 0, NULL, 0, 0);
            e = rltop_check_frame_sum(&m, it.summed ? &it.sums[i] : NULL, &err);
            if (e == RLTOP_OK) e = rltop_validate_fields(&m, &err);
            if (e != RLTOP_OK) memset(&m, 0, sizeof m);
            on_item(ctx, &m, &err);
        }
        if (it.framing_pending) {
            memset(&m, 0, sizeof m);
            on_item(ctx, &m, &it.framing_error);
            return;
        }
    }
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
