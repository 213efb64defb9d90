/* Conformance testee for the generated C header (generated/c/rltop.h).
 *
 * Reads one JSON request per line on stdin, writes one JSON response per line on stdout
 * (protocol: conformance/README.md). Decoding goes through the header's datagram iterator
 * and validators; the canonical JSON is produced, and encoding done, by walking the header's
 * field tables (rltop_message_infos), and rltop_finalize fills the header and checksum.
 * A small JSON reader and writer are included: the header itself has no JSON. */

#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rltop.h"

/* ---- JSON values ---------------------------------------------------------------------- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
    jtype t;
    char *s; /* J_STR: the text; J_NUM: the number as written; J_BOOL: "true"/"false" */
    size_t slen; /* J_STR: its length in bytes, an escaped NUL (\u0000) included */
    size_t n, cap;
    char **keys;        /* J_OBJ */
    struct jval **items; /* J_ARR, J_OBJ */
} jval;

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("testee: out of memory\n", stderr);
        exit(2);
    }
    return q;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = (char *)xrealloc(NULL, n);
    memcpy(d, s, n);
    return d;
}

static jval *jnew(jtype t) {
    jval *v = (jval *)xrealloc(NULL, sizeof *v);
    memset(v, 0, sizeof *v);
    v->t = t;
    return v;
}

static void jfree(jval *v) {
    size_t i;
    if (!v) return;
    for (i = 0; i < v->n; i++) {
        if (v->keys) free(v->keys[i]);
        jfree(v->items[i]);
    }
    free(v->keys);
    free(v->items);
    free(v->s);
    free(v);
}

static void jpush(jval *c, const char *key, jval *item) {
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 8;
        c->items = (jval **)xrealloc(c->items, c->cap * sizeof *c->items);
        if (c->t == J_OBJ) c->keys = (char **)xrealloc(c->keys, c->cap * sizeof *c->keys);
    }
    if (c->t == J_OBJ) c->keys[c->n] = xstrdup(key);
    c->items[c->n++] = item;
}

static jval *jget(const jval *o, const char *key) {
    size_t i;
    if (!o || o->t != J_OBJ) return NULL;
    for (i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0) return o->items[i];
    return NULL;
}

static jval *jstr(const char *s) {
    jval *v = jnew(J_STR);
    v->s = xstrdup(s);
    return v;
}

static jval *jnum_u(uint64_t u) {
    char buf[32];
    jval *v = jnew(J_NUM);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)u);
    v->s = xstrdup(buf);
    return v;
}

static jval *jnum_i(int64_t i) {
    char buf[32];
    jval *v = jnew(J_NUM);
    snprintf(buf, sizeof buf, "%lld", (long long)i);
    v->s = xstrdup(buf);
    return v;
}

/* ---- JSON reader ---------------------------------------------------------------------- */

typedef struct {
    const char *p;
    const char *err;
} reader;

static void skip_ws(reader *r) {
    while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r') r->p++;
}

static void put_utf8(char **out, size_t *len, size_t *cap, unsigned cp) {
    unsigned char b[4];
    size_t n, i;
    if (cp < 0x80) { b[0] = (unsigned char)cp; n = 1; }
    else if (cp < 0x800) { b[0] = (unsigned char)(0xC0 | (cp >> 6)); b[1] = (unsigned char)(0x80 | (cp & 0x3F)); n = 2; }
    else { b[0] = (unsigned char)(0xE0 | (cp >> 12)); b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); b[2] = (unsigned char)(0x80 | (cp & 0x3F)); n = 3; }
    if (*len + n + 1 > *cap) {
        *cap = 2 * (*len + n + 1);
        *out = (char *)xrealloc(*out, *cap);
    }
    for (i = 0; i < n; i++) (*out)[(*len)++] = (char)b[i];
}

static char *read_string(reader *r, size_t *len_out) {
    size_t len = 0, cap = 16;
    char *out = (char *)xrealloc(NULL, cap);
    r->p++; /* opening quote */
    while (*r->p && *r->p != '"') {
        unsigned cp = (unsigned char)*r->p++;
        if (cp == '\\') {
            char e = *r->p++;
            switch (e) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u': {
                char hex[5] = {0};
                char *end;
                memcpy(hex, r->p, 4);
                if (strlen(hex) != 4) { r->err = "bad \\u escape"; free(out); return NULL; }
                cp = (unsigned)strtoul(hex, &end, 16);
                if (end != hex + 4) { r->err = "bad \\u escape"; free(out); return NULL; }
                r->p += 4;
                break;
            }
            default: r->err = "bad escape"; free(out); return NULL;
            }
        }
        put_utf8(&out, &len, &cap, cp);
    }
    if (*r->p != '"') { r->err = "unterminated string"; free(out); return NULL; }
    r->p++;
    out[len] = '\0';
    if (len_out) *len_out = len;
    return out;
}

static jval *read_value(reader *r, int depth) {
    jval *v;
    skip_ws(r);
    if (depth > 64) { r->err = "nested too deep"; return NULL; }
    if (*r->p == '{' || *r->p == '[') {
        int obj = *r->p == '{';
        char close = obj ? '}' : ']';
        v = jnew(obj ? J_OBJ : J_ARR);
        r->p++;
        skip_ws(r);
        if (*r->p == close) { r->p++; return v; }
        for (;;) {
            char *key = NULL;
            jval *item;
            skip_ws(r);
            if (obj) {
                if (*r->p != '"') { r->err = "expected a key"; jfree(v); return NULL; }
                key = read_string(r, NULL);
                if (!key) { jfree(v); return NULL; }
                skip_ws(r);
                if (*r->p != ':') { r->err = "expected ':'"; free(key); jfree(v); return NULL; }
                r->p++;
            }
            item = read_value(r, depth + 1);
            if (!item) { free(key); jfree(v); return NULL; }
            jpush(v, key, item);
            free(key);
            skip_ws(r);
            if (*r->p == ',') { r->p++; continue; }
            if (*r->p == close) { r->p++; return v; }
            r->err = "expected ',' or a closing bracket";
            jfree(v);
            return NULL;
        }
    }
    if (*r->p == '"') {
        size_t len = 0;
        char *s = read_string(r, &len);
        if (!s) return NULL;
        v = jnew(J_STR);
        v->s = s;
        v->slen = len;
        return v;
    }
    if (strncmp(r->p, "null", 4) == 0) { r->p += 4; return jnew(J_NULL); }
    if (strncmp(r->p, "true", 4) == 0 || strncmp(r->p, "false", 5) == 0) {
        v = jnew(J_BOOL);
        v->s = xstrdup(*r->p == 't' ? "true" : "false");
        r->p += *r->p == 't' ? 4 : 5;
        return v;
    }
    if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) {
        const char *start = r->p;
        size_t n;
        while (*r->p == '-' || *r->p == '+' || *r->p == '.' || *r->p == 'e' || *r->p == 'E' || (*r->p >= '0' && *r->p <= '9')) r->p++;
        n = (size_t)(r->p - start);
        v = jnew(J_NUM);
        v->s = (char *)xrealloc(NULL, n + 1);
        memcpy(v->s, start, n);
        v->s[n] = '\0';
        return v;
    }
    r->err = "unexpected character";
    return NULL;
}

/* ---- JSON writer ---------------------------------------------------------------------- */

typedef struct {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = 2 * (b->len + n + 1);
        b->s = (char *)xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void write_string(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; sb_put(b, esc, 2); }
        else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); sb_str(b, esc); }
        else sb_put(b, (const char *)&c, 1);
    }
    sb_put(b, "\"", 1);
}

static void write_value(sbuf *b, const jval *v) {
    size_t i;
    switch (v->t) {
    case J_NULL: sb_str(b, "null"); break;
    case J_BOOL:
    case J_NUM: sb_str(b, v->s); break;
    case J_STR: write_string(b, v->s); break;
    case J_ARR:
    case J_OBJ:
        sb_str(b, v->t == J_OBJ ? "{" : "[");
        for (i = 0; i < v->n; i++) {
            if (i) sb_str(b, ",");
            if (v->t == J_OBJ) { write_string(b, v->keys[i]); sb_str(b, ":"); }
            write_value(b, v->items[i]);
        }
        sb_str(b, v->t == J_OBJ ? "}" : "]");
        break;
    }
}

/* ---- Field paths ---------------------------------------------------------------------- */

typedef struct {
    int is_index;
    size_t index;
    char key[64];
} step;

/* "bids[3].price" -> bids, [3], price. Returns the number of steps. */
static size_t parse_path(const char *path, step *out, size_t max) {
    size_t n = 0;
    while (*path && n < max) {
        if (*path == '.') { path++; continue; }
        if (*path == '[') {
            out[n].is_index = 1;
            out[n].index = (size_t)strtoul(path + 1, (char **)&path, 10);
            if (*path == ']') path++;
            n++;
            continue;
        }
        {
            size_t k = 0;
            while (*path && *path != '.' && *path != '[' && k + 1 < sizeof out[n].key) out[n].key[k++] = *path++;
            out[n].key[k] = '\0';
            out[n].is_index = 0;
            n++;
        }
    }
    return n;
}

/* The container slot at a path, created as needed. */
static jval *slot(jval *root, const step *s, size_t n) {
    size_t i;
    jval *at = root;
    for (i = 0; i < n; i++) {
        jtype want = (i + 1 < n && s[i + 1].is_index) ? J_ARR : J_OBJ;
        jval *next;
        if (s[i].is_index) {
            while (at->n <= s[i].index) jpush(at, NULL, jnew(J_NULL));
            next = at->items[s[i].index];
        } else {
            next = jget(at, s[i].key);
            if (!next) { next = jnew(J_NULL); jpush(at, s[i].key, next); }
        }
        if (i + 1 < n && next->t != want) { next->t = want; }
        at = next;
    }
    return at;
}

static jval *lookup(const jval *root, const step *s, size_t n) {
    size_t i;
    const jval *at = root;
    for (i = 0; i < n && at; i++) {
        if (s[i].is_index) at = (at->t == J_ARR && s[i].index < at->n) ? at->items[s[i].index] : NULL;
        else at = jget(at, s[i].key);
    }
    return (jval *)at;
}

static int derived(const rltop_field_info *f) {
    return f->offset < RLTOP_HEADER_SIZE &&
           (f->offset == RLTOP_MAGIC_OFFSET || f->offset == RLTOP_LENGTH_OFFSET || f->offset == RLTOP_TYPE_OFFSET ||
            f->offset == RLTOP_VERSION_OFFSET || f->offset == RLTOP_CHECKSUM_OFFSET);
}

static const rltop_message_info *info_by_type(uint8_t type) {
    size_t n, i;
    const rltop_message_info *infos = rltop_message_infos(&n);
    for (i = 0; i < n; i++)
        if (infos[i].type == type) return &infos[i];
    return NULL;
}

static const rltop_message_info *info_by_name(const char *name) {
    size_t n, i;
    const rltop_message_info *infos = rltop_message_infos(&n);
    for (i = 0; i < n; i++)
        if (strcmp(infos[i].name, name) == 0) return &infos[i];
    return NULL;
}

/* The count of the array a leaf lies in, or -1 when it is not in a counted array. */
static long long count_for(const rltop_message_info *mi, const unsigned char *b, const step *s, size_t n) {
    size_t i;
    if (n < 2 || !s[1].is_index) return -1;
    for (i = 0; i < mi->field_count; i++) {
        const rltop_field_info *c = &mi->fields[i];
        if (c->kind == RLTOP_FIELD_COUNT && strcmp(c->counted_array, s[0].key) == 0)
            return (long long)rltop_load_le(b + c->offset, c->size);
    }
    return -1;
}

static int64_t load_signed(const unsigned char *p, size_t size) {
    switch (size) {
    case 1: return rltop_load_i8(p);
    case 2: return rltop_load_i16(p);
    case 4: return rltop_load_i32(p);
    default: return rltop_load_i64(p);
    }
}

/* ---- Decode --------------------------------------------------------------------------- */

static jval *message_json(const rltop_message *m) {
    const rltop_message_info *mi = info_by_type(m->type);
    jval *root = jnew(J_OBJ);
    size_t i;
    jpush(root, "type", jstr(mi->name));
    for (i = 0; i < mi->field_count; i++) {
        const rltop_field_info *f = &mi->fields[i];
        const unsigned char *p = m->bytes + f->offset;
        step s[16];
        size_t n = parse_path(f->path, s, 16);
        long long count = count_for(mi, m->bytes, s, n);
        jval *v, *at;
        if (derived(f) || f->since > m->version) continue;
        /* A counted array is present even when empty, where its first entry is declared. */
        if (count >= 0 && !jget(root, s[0].key)) jpush(root, s[0].key, jnew(J_ARR));
        if (f->kind == RLTOP_FIELD_RESERVED || f->kind == RLTOP_FIELD_COUNT) continue;
        if (count >= 0 && (long long)s[1].index >= count) continue;
        switch (f->kind) {
        case RLTOP_FIELD_ENUM: {
            int64_t raw = f->is_signed ? load_signed(p, f->size) : (int64_t)rltop_load_le(p, f->size);
            size_t k;
            v = NULL;
            for (k = 0; k < f->variant_count; k++)
                if (f->variant_values[k] == raw) v = jstr(f->variant_names[k]);
            if (!v) v = jnum_i(raw);
            break;
        }
        case RLTOP_FIELD_TEXT: {
            char text[256];
            rltop_text_get(p, f->size < 255 ? f->size : 255, text);
            v = jstr(text);
            break;
        }
        default: {
            char buf[32];
            if (f->is_signed) snprintf(buf, sizeof buf, "%lld", (long long)load_signed(p, f->size));
            else snprintf(buf, sizeof buf, "%llu", (unsigned long long)rltop_load_le(p, f->size));
            v = f->size == 8 ? jstr(buf) : jnew(J_NUM);
            if (v->t == J_NUM) v->s = xstrdup(buf);
        }
        }
        at = slot(root, s, n);
        at->t = v->t;
        at->s = v->s;
        v->s = NULL;
        jfree(v);
    }
    return root;
}

static jval *decode(const unsigned char *bytes, size_t len) {
    jval *results = jnew(J_ARR);
    rltop_iter it;
    rltop_message m;
    rltop_decode_error err;
    rltop_iter_init(&it, bytes, len);
    while (rltop_iter_next(&it, &m, &err)) {
        jval *item = jnew(J_OBJ);
        if (err.kind == RLTOP_OK) {
            jpush(item, "message", message_json(&m));
        } else {
            jval *e = jnew(J_OBJ);
            jpush(e, "kind", jstr(rltop_error_name(err.kind)));
            jpush(e, "offset", jnum_u(err.offset));
            if (err.field) jpush(e, "field", jstr(err.field));
            jpush(item, "error", e);
        }
        jpush(results, NULL, item);
    }
    return results;
}

/* ---- Encode --------------------------------------------------------------------------- */

static char encode_error[512];

static int fail(const char *field, const char *what) {
    snprintf(encode_error, sizeof encode_error, "%s: %s", field, what);
    return -1;
}

/* The canonical decimal form: "0", or an optional '-' and digits not starting with '0'
 * (no '+', leading zeros, "-0", spaces, fraction or exponent). */
static int canonical_decimal(const char *s) {
    const char *d = *s == '-' ? s + 1 : s;
    if (*d == '0') return d[1] == '\0' && d == s;
    if (*d < '1' || *d > '9') return 0;
    for (d++; *d; d++)
        if (*d < '0' || *d > '9') return 0;
    return 1;
}

/* An integer of `size` bytes from JSON: 64-bit ones as decimal strings, others as numbers. */
static int parse_int(const jval *v, const rltop_field_info *f, int is_signed, uint64_t *out) {
    const char *text;
    char *end;
    if (f->size == 8 ? v->t != J_STR : v->t != J_NUM) return fail(f->path, f->size == 8 ? "a 64-bit integer must be a decimal string" : "expected a number");
    text = v->s;
    if (!canonical_decimal(text)) return fail(f->path, "not a canonical decimal integer");
    errno = 0;
    if (is_signed) {
        long long x = strtoll(text, &end, 10);
        int64_t lo = f->size == 8 ? INT64_MIN : -((int64_t)1 << (8 * f->size - 1));
        int64_t hi = f->size == 8 ? INT64_MAX : ((int64_t)1 << (8 * f->size - 1)) - 1;
        if (errno || *end || x < lo || x > hi) return fail(f->path, "out of range");
        *out = (uint64_t)x;
    } else {
        unsigned long long x;
        if (*text == '-') return fail(f->path, "out of range");
        x = strtoull(text, &end, 10);
        if (errno || *end || (f->size < 8 && x >> (8 * f->size))) return fail(f->path, "out of range");
        *out = x;
    }
    return 0;
}

/* `path` without its indexes: "bids[3].price" -> "bids.price". */
static void strip_indexes(const char *path, char *out, size_t cap) {
    size_t k = 0;
    int in_index = 0;
    for (; *path && k + 1 < cap; path++) {
        if (*path == '[') in_index = 1;
        else if (*path == ']') in_index = 0;
        else if (!in_index) out[k++] = *path;
    }
    out[k] = '\0';
}

/* Whether `prefix` (indexes left out) is a field the canonical form carries, or leads to one. */
static int carried(const rltop_message_info *mi, const char *prefix) {
    size_t i, n = strlen(prefix);
    for (i = 0; i < mi->field_count; i++) {
        const rltop_field_info *f = &mi->fields[i];
        char path[256];
        if (f->kind == RLTOP_FIELD_RESERVED || f->kind == RLTOP_FIELD_COUNT || derived(f)) continue;
        strip_indexes(f->path, path, sizeof path);
        if (strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '.')) return 1;
    }
    return 0;
}

/* The first key under `v` (at `prefix`) that names no field: refused, not ignored. */
static int unknown_keys(const rltop_message_info *mi, const jval *v, const char *prefix) {
    size_t i;
    for (i = 0; i < v->n; i++) {
        char path[256];
        if (v->t == J_OBJ) {
            if (prefix[0] == '\0' && strcmp(v->keys[i], "type") == 0) continue;
            snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", v->keys[i]);
            if (!carried(mi, path)) return fail(path, "no such field");
        } else if (v->t == J_ARR) {
            snprintf(path, sizeof path, "%s", prefix);
        } else {
            return 0;
        }
        if (unknown_keys(mi, v->items[i], path) != 0) return -1;
    }
    return 0;
}

static int encode(const jval *msg, unsigned char *buf, size_t *len) {
    const jval *type = jget(msg, "type");
    const rltop_message_info *mi;
    size_t i;
    if (!type || type->t != J_STR) return fail("type", "missing");
    mi = info_by_name(type->s);
    if (!mi) return fail("type", "unknown message type");
    if (unknown_keys(mi, msg, "") != 0) return -1;
    memset(buf, 0, mi->size);
    for (i = 0; i < mi->field_count; i++) {
        const rltop_field_info *f = &mi->fields[i];
        step s[16];
        size_t n = parse_path(f->path, s, 16);
        const jval *v;
        uint64_t x = 0;
        if (f->kind == RLTOP_FIELD_RESERVED || derived(f) || f->since > RLTOP_VERSION) continue;
        if (f->kind == RLTOP_FIELD_COUNT) {
            const jval *arr = jget(msg, f->counted_array);
            if (!arr || arr->t != J_ARR) return fail(f->counted_array, "missing, or not an array");
            if (arr->n > f->count_max) return fail(f->counted_array, "more entries than the array holds");
            rltop_store_le(buf + f->offset, f->size, arr->n);
            continue;
        }
        v = lookup(msg, s, n);
        if (!v) {
            const jval *arr = n >= 2 && s[1].is_index ? jget(msg, s[0].key) : NULL;
            int counted = 0;
            size_t k;
            for (k = 0; k < mi->field_count; k++)
                if (mi->fields[k].kind == RLTOP_FIELD_COUNT && strcmp(mi->fields[k].counted_array, s[0].key) == 0) counted = 1;
            if (counted && arr && arr->t == J_ARR && s[1].index >= arr->n) continue; /* past the count: zero */
            return fail(f->path, "missing");
        }
        switch (f->kind) {
        case RLTOP_FIELD_ENUM: {
            size_t k;
            int found = 0;
            if (v->t != J_STR) return fail(f->path, "expected a variant name");
            for (k = 0; k < f->variant_count; k++)
                if (strcmp(f->variant_names[k], v->s) == 0) { x = (uint64_t)f->variant_values[k]; found = 1; }
            if (!found) return fail(f->path, "no such variant");
            break;
        }
        case RLTOP_FIELD_TEXT:
            if (v->t != J_STR) return fail(f->path, "expected a string");
            if (strlen(v->s) != v->slen) return fail(f->path, "holds a NUL");
            if (rltop_text_set(buf + f->offset, f->size, v->s) != 0) return fail(f->path, "too long or not printable ASCII");
            continue;
        default:
            if (parse_int(v, f, f->is_signed, &x) != 0) return -1;
        }
        rltop_store_le(buf + f->offset, f->size, x);
    }
    *len = rltop_finalize(buf, mi->size, mi->type, rltop_load_u64(buf + RLTOP_SESSION_OFFSET),
                          rltop_load_u64(buf + RLTOP_SEQUENCE_OFFSET), rltop_load_u64(buf + RLTOP_TIMESTAMP_OFFSET));
    return 0;
}

/* ---- Requests ------------------------------------------------------------------------- */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void answer(const char *line, sbuf *out) {
    reader r;
    jval *req, *op, *id, *resp = jnew(J_OBJ);
    r.p = line;
    r.err = NULL;
    req = read_value(&r, 0);
    if (!req) {
        jpush(resp, "error", jstr(r.err ? r.err : "bad request"));
        write_value(out, resp);
        jfree(resp);
        return;
    }
    op = jget(req, "op");
    id = jget(req, "id");
    if (id && id->t == J_STR) jpush(resp, "id", jstr(id->s));
    if (op && op->t == J_STR && strcmp(op->s, "decode") == 0) {
        const jval *hex = jget(req, "hex");
        size_t n = hex && hex->t == J_STR ? strlen(hex->s) : 1, i;
        unsigned char *bytes = (unsigned char *)xrealloc(NULL, n / 2 + 1);
        int ok = n % 2 == 0;
        for (i = 0; ok && i < n / 2; i++) {
            int hi = hexval(hex->s[2 * i]), lo = hexval(hex->s[2 * i + 1]);
            if (hi < 0 || lo < 0) ok = 0;
            else bytes[i] = (unsigned char)(hi * 16 + lo);
        }
        if (ok) jpush(resp, "results", decode(bytes, n / 2));
        else jpush(resp, "error", jstr("bad hex"));
        free(bytes);
    } else if (op && op->t == J_STR && strcmp(op->s, "encode") == 0) {
        unsigned char buf[65536];
        size_t len = 0, i;
        if (encode(jget(req, "message"), buf, &len) == 0) {
            char *hex = (char *)xrealloc(NULL, 2 * len + 1);
            for (i = 0; i < len; i++) snprintf(hex + 2 * i, 3, "%02x", buf[i]);
            jpush(resp, "hex", jstr(hex));
            free(hex);
        } else {
            jpush(resp, "error", jstr(encode_error));
        }
    } else {
        jpush(resp, "unsupported", jstr("unknown op"));
    }
    write_value(out, resp);
    jfree(resp);
    jfree(req);
}

/* The fuzzers (conformance/fuzz/decode.c) include this file for its decoder and JSON writer,
 * with a main of their own. */
#ifndef RLTOP_TESTEE_NO_MAIN
int main(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    sbuf out = {NULL, 0, 0};
    while ((got = getline(&line, &cap, stdin)) > 0) {
        out.len = 0;
        answer(line, &out);
        sb_str(&out, "\n");
        fputs(out.s, stdout);
        fflush(stdout);
    }
    free(line);
    free(out.s);
    return 0;
}
#endif
