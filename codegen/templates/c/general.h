/* ---- Byte order: one byte at a time, correct on any host, no unaligned access. ---- */

static inline uint64_t itch_get_be(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

static inline uint64_t itch_get_le(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    unsigned i;
    for (i = n; i > 0; i--) v = (v << 8) | p[i - 1];
    return v;
}

static inline void itch_put_be(uint8_t *p, unsigned n, uint64_t v) {
    unsigned i;
    for (i = n; i > 0; i--) { p[i - 1] = (uint8_t)v; v >>= 8; }
}

static inline void itch_put_le(uint8_t *p, unsigned n, uint64_t v) {
    unsigned i;
    for (i = 0; i < n; i++) { p[i] = (uint8_t)v; v >>= 8; }
}

/** The `bits`-bit two's-complement value in the low bits of `v`, as an int64_t. */
static inline int64_t itch_sign_extend(uint64_t v, unsigned bits) {
    uint64_t sign = UINT64_C(1) << (bits - 1);
    uint64_t low = v & ((sign << 1) - 1);
    return (int64_t)(low ^ sign) - (int64_t)sign;
}

/* ---- Errors: what is wrong and where. ---- */

typedef enum itch_error_kind {
    ITCH_OK = 0,
    ITCH_TRUNCATED,     /* value: the bytes needed */
    ITCH_BAD_LENGTH,    /* value: the length given */
    ITCH_UNKNOWN_TYPE,  /* value: the type code */
    ITCH_BAD_ENUM,      /* value: the value found */
    ITCH_BAD_TEXT,
    ITCH_BAD_FRAME      /* the framing: value says how (see the iterator) */
} itch_error_kind;

typedef struct itch_error {
    itch_error_kind kind;
    size_t offset;       /* the byte at fault, from the start of the caller's buffer */
    const char *field;   /* "Message.field" for BAD_ENUM and BAD_TEXT, else NULL */
    int64_t value;
} itch_error;

/** The kind's name, as the Rust crate's DecodeError::name spells it. */
static inline const char *itch_error_name(itch_error_kind k) {
    switch (k) {
    case ITCH_OK: return "Ok";
    case ITCH_TRUNCATED: return "Truncated";
    case ITCH_BAD_LENGTH: return "BadLength";
    case ITCH_UNKNOWN_TYPE: return "UnknownType";
    case ITCH_BAD_ENUM: return "BadEnum";
    case ITCH_BAD_TEXT: return "BadText";
    case ITCH_BAD_FRAME: return "BadFrame";
    }
    return "?";
}

static inline int itch_fail(itch_error *err, itch_error_kind kind, size_t offset, const char *field, int64_t value) {
    if (err) { err->kind = kind; err->offset = offset; err->field = field; err->value = value; }
    return -1;
}

/* ---- Text: printable ASCII, padded with NUL (space == 0) or spaces (space == 1). ---- */

static inline int itch_text_valid(const uint8_t *p, size_t n, int space) {
    size_t i, end = n;
    if (!space) {
        for (i = 0; i < n; i++) if (p[i] == 0) { end = i; break; }
        for (i = end; i < n; i++) if (p[i] != 0) return 0;
    }
    for (i = 0; i < end; i++) if (p[i] < 0x20 || p[i] > 0x7e) return 0;
    return 1;
}

static inline size_t itch_text_get(const uint8_t *p, size_t n, int space, char *out) {
    size_t len = 0;
    while (len < n && p[len] >= 0x20 && p[len] <= 0x7e) len++;
    if (space) while (len > 0 && p[len - 1] == ' ') len--;
    memcpy(out, p, len);
    out[len] = 0;
    return len;
}

static inline int itch_text_set(uint8_t *p, size_t n, int space, const char *text) {
    size_t len = strlen(text), i;
    if (len > n) return -1;
    for (i = 0; i < len; i++) if ((uint8_t)text[i] < 0x20 || (uint8_t)text[i] > 0x7e) return -1;
    memcpy(p, text, len);
    memset(p + len, space ? ' ' : 0, n - len);
    return 0;
}

/* ---- Field tables (itch_message_infos): every message's fields, for generic tools such as a
 * JSON reader or a dissector. Reserved bytes are left out. ---- */

typedef enum itch_field_kind {
    ITCH_FIELD_TYPE_CODE, /* the type code's own character field: always the message's code */
    ITCH_FIELD_INT,       /* an integer; scale > 0: that many implied decimal places */
    ITCH_FIELD_FLAGS,     /* a flag set, as its integer */
    ITCH_FIELD_ENUM,      /* an enumeration: one of `variants` */
    ITCH_FIELD_CHAR,      /* one printable ASCII character */
    ITCH_FIELD_TEXT       /* printable ASCII, padded with spaces (space_padded) or NULs */
} itch_field_kind;

/** An enumeration's variant: its name in the schema and its value. */
typedef struct itch_variant {
    const char *name;
    int64_t value;
} itch_variant;

typedef struct itch_field_info {
    const char *name;
    uint16_t offset;
    uint16_t size;
    itch_field_kind kind;
    uint8_t is_signed;
    uint8_t big_endian;
    uint8_t space_padded;
    uint8_t scale;
    const itch_variant *variants; /* ENUM */
    size_t variant_count;
} itch_field_info;

typedef struct itch_message_info {
    const char *name;
    uint8_t type;
    uint16_t size;
    const itch_field_info *fields;
    size_t field_count;
} itch_message_info;

/* ---- Canonical JSON into a caller's buffer: cut at its capacity, NUL-terminated. ---- */

typedef struct itch_buf { char *p; size_t cap; size_t len; } itch_buf;

static inline void itch_put_bytes(itch_buf *b, const char *s, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (b->len + 1 < b->cap) b->p[b->len] = s[i];
        b->len++;
    }
}

static inline void itch_put(itch_buf *b, const char *s) { itch_put_bytes(b, s, strlen(s)); }

static inline void itch_put_u64(itch_buf *b, uint64_t v) {
    char d[20];
    size_t n = 0;
    do { d[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) itch_put_bytes(b, &d[--n], 1);
}

static inline void itch_put_i64(itch_buf *b, int64_t v) {
    if (v < 0) { itch_put(b, "-"); itch_put_u64(b, (uint64_t)0 - (uint64_t)v); }
    else itch_put_u64(b, (uint64_t)v);
}

/** A JSON string, escaped whatever it holds (quotes, backslashes, control bytes). */
static inline void itch_put_string(itch_buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t i;
    itch_put(b, "\"");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') itch_put(b, "\\\"");
        else if (c == '\\') itch_put(b, "\\\\");
        else if (c == '\n') itch_put(b, "\\n");
        else if (c == '\r') itch_put(b, "\\r");
        else if (c == '\t') itch_put(b, "\\t");
        else if (c < 0x20 || c == 0x7f) {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            itch_put_bytes(b, u, 6);
        } else itch_put_bytes(b, (const char *)&c, 1);
    }
    itch_put(b, "\"");
}

/** `v` × 10^-scale as a JSON string of exactly `scale` places (1500000, 4 → "150.0000"). */
static inline void itch_put_decimal(itch_buf *b, int is_signed, uint64_t v, unsigned scale) {
    uint64_t unit = 1, abs = v;
    unsigned i;
    int negative = is_signed && (int64_t)v < 0;
    if (negative) abs = (uint64_t)0 - v;
    for (i = 0; i < scale; i++) unit *= 10;
    itch_put(b, negative ? "\"-" : "\"");
    itch_put_u64(b, abs / unit);
    if (scale) {
        char d[20];
        uint64_t frac = abs % unit;
        for (i = scale; i > 0; i--) { d[i - 1] = (char)('0' + frac % 10); frac /= 10; }
        itch_put(b, ".");
        itch_put_bytes(b, d, scale);
    }
    itch_put(b, "\"");
}

static inline size_t itch_buf_end(itch_buf *b) {
    if (b->cap) b->p[b->len < b->cap ? b->len : b->cap - 1] = 0;
    return b->len;
}

