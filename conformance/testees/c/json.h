/* The conformance testees' JSON: a small reader and writer of JSON values, shared by the C
 * testees (testee.c for RLTOP, itch_testee.c for ITCH), and the hex of their requests' bytes.
 * The generated headers have no JSON reader of their own. Every function is static inline, so a testee that does not use one
 * carries no warning. */

#ifndef TESTEE_JSON_H
#define TESTEE_JSON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static inline void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("testee: out of memory\n", stderr);
        exit(2);
    }
    return q;
}

/* A copy of `s` (of "" for NULL: an array's items have no key). */
static inline char *xstrdup(const char *s) {
    size_t n;
    if (!s) s = "";
    n = strlen(s) + 1;
    char *d = (char *)xrealloc(NULL, n);
    memcpy(d, s, n);
    return d;
}

static inline jval *jnew(jtype t) {
    jval *v = (jval *)xrealloc(NULL, sizeof *v);
    memset(v, 0, sizeof *v);
    v->t = t;
    return v;
}

static inline void jfree(jval *v) {
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

static inline void jpush(jval *c, const char *key, jval *item) {
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 8;
        c->items = (jval **)xrealloc(c->items, c->cap * sizeof *c->items);
        if (c->t == J_OBJ) c->keys = (char **)xrealloc(c->keys, c->cap * sizeof *c->keys);
    }
    if (c->t == J_OBJ) c->keys[c->n] = xstrdup(key);
    c->items[c->n++] = item;
}

static inline jval *jget(const jval *o, const char *key) {
    size_t i;
    if (!o || o->t != J_OBJ) return NULL;
    for (i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0) return o->items[i];
    return NULL;
}

static inline jval *jstr(const char *s) {
    jval *v = jnew(J_STR);
    v->s = xstrdup(s);
    return v;
}

static inline jval *jnum_u(uint64_t u) {
    char buf[32];
    jval *v = jnew(J_NUM);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)u);
    v->s = xstrdup(buf);
    return v;
}

static inline jval *jnum_i(int64_t i) {
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

static inline void skip_ws(reader *r) {
    while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r') r->p++;
}

static inline void put_utf8(char **out, size_t *len, size_t *cap, unsigned cp) {
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

static inline char *read_string(reader *r, size_t *len_out) {
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

static inline jval *read_value(reader *r, int depth) {
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

static inline void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = 2 * (b->len + n + 1);
        b->s = (char *)xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static inline void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static inline void write_string(sbuf *b, const char *s) {
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

static inline void write_value(sbuf *b, const jval *v) {
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

/* ---- Hex (the requests' bytes) -------------------------------------------------------- */

/** The value of hex digit `c`, or -1. */
static inline int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

#endif /* TESTEE_JSON_H */
