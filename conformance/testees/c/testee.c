/* Conformance testee for the generated C header (generated/c/rltop.h).
 *
 * Reads one JSON request per line on stdin, writes one JSON response per line on stdout
 * (protocol: conformance/README.md). Decoding goes through the header's datagram iterator
 * and validators; the canonical JSON is produced, and encoding done, by walking the header's
 * field tables (rltop_message_infos), and rltop_finalize fills the header and checksum.
 * The JSON reader and writer are json.h's: the header itself has no JSON reader. */

#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rltop.h"

#include "json.h"

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
