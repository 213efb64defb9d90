/* Conformance testee for the generated ITCH 5.0 header (generated/itch50/c/itch.h).
 *
 * Reads one JSON request per line on stdin, writes one JSON response per line on stdout
 * (protocol: conformance/README.md). A decode request's bytes are one MoldUDP64 packet,
 * walked with the header's itch_mold_open/_next and itch_decode; each message's canonical
 * JSON is the header's itch_json, and each result carries its block's sequence number. A
 * framing fault is BadFrame at its byte. Encoding walks the header's field tables
 * (itch_message_infos), checking each value's canonical form. The JSON reader and writer are
 * json.h's. */

#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itch.h"

#include "json.h"

/* ---- Decode --------------------------------------------------------------------------- */

static void put_error(sbuf *out, const itch_error *err, int frame) {
    char num[32];
    sb_str(out, "{\"error\":{\"kind\":");
    write_string(out, frame ? "BadFrame" : itch_error_name(err->kind));
    snprintf(num, sizeof num, "%zu", err->offset);
    sb_str(out, ",\"offset\":");
    sb_str(out, num);
    if (!frame && err->field) {
        sb_str(out, ",\"field\":");
        write_string(out, err->field);
    }
    sb_str(out, "}");
}

static void put_sequence(sbuf *out, uint64_t seq) {
    char num[32];
    snprintf(num, sizeof num, "\"%llu\"", (unsigned long long)seq);
    sb_str(out, ",\"sequence\":");
    sb_str(out, num);
    sb_str(out, "}");
}

static void decode(const uint8_t *d, size_t len, sbuf *out) {
    itch_mold p;
    itch_error err;
    const uint8_t *msg;
    size_t msg_len, offset, first = 1;
    uint64_t seq;
    int r;
    static char line[4096];
    sb_str(out, "\"results\":[");
    if (itch_mold_open(&p, d, len, &err) != 0) {
        put_error(out, &err, 1);
        sb_str(out, "}]");
        return;
    }
    while ((r = itch_mold_next(&p, &msg, &msg_len, &offset, &seq, &err)) == 1) {
        if (!first) sb_str(out, ",");
        first = 0;
        if (itch_decode(msg, msg_len, offset, &err) != 0) {
            put_error(out, &err, 0);
            put_sequence(out, seq);
            continue;
        }
        if (itch_json(msg, line, sizeof line) >= sizeof line) {
            sb_str(out, "{\"error\":{\"kind\":\"TesteeBufferTooSmall\",\"offset\":0}}");
            continue;
        }
        sb_str(out, "{\"message\":");
        sb_str(out, line);
        put_sequence(out, seq);
    }
    if (r < 0) {
        if (!first) sb_str(out, ",");
        put_error(out, &err, 1);
        sb_str(out, "}");
    }
    sb_str(out, "]");
}

/* ---- Encode: canonical JSON through the field tables ---------------------------------- */

static char encode_error[512];

static int fail(const char *message, const char *field, const char *what) {
    snprintf(encode_error, sizeof encode_error, "%s%s%s: %s", message, field ? "." : "", field ? field : "", what);
    return -1;
}

/* Decimal digits without a leading zero (or "0") into `*out`; 0 on overflow or a bad form. */
static int parse_digits(const char *s, size_t n, uint64_t *out) {
    uint64_t v = 0;
    size_t i;
    if (n == 0 || n > 20 || (s[0] == '0' && n > 1)) return 0;
    for (i = 0; i < n; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9') return 0;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* The integer of a field: a JSON number (narrower than 64 bits), a canonical decimal string
 * (64-bit), or a decimal string of exactly `scale` places. Range-checked against its width;
 * `*neg` and `*mag` are its sign and magnitude. */
static int field_int(const char *m, const itch_field_info *f, const jval *v, int *neg, uint64_t *mag) {
    const char *s = v->s, *dot;
    size_t n;
    uint64_t whole = 0, frac = 0, max_pos, max_neg;
    unsigned k;
    if (f->scale ? v->t != J_STR : f->size == 8 ? v->t != J_STR : v->t != J_NUM)
        return fail(m, f->name, f->scale ? "expected a decimal string" : f->size == 8 ? "a 64-bit integer is a decimal string" : "expected a JSON integer");
    *neg = s[0] == '-';
    if (*neg) s++;
    n = strlen(s);
    dot = strchr(s, '.');
    if (f->scale) {
        size_t i;
        if (!dot || strlen(dot + 1) != f->scale) return fail(m, f->name, "not a decimal string with exactly the field's places");
        if (!parse_digits(s, (size_t)(dot - s), &whole)) return fail(m, f->name, "not a canonical decimal");
        for (i = 0; i < f->scale; i++) {
            if (dot[1 + i] < '0' || dot[1 + i] > '9') return fail(m, f->name, "not a canonical decimal");
            frac = frac * 10 + (uint64_t)(dot[1 + i] - '0');
        }
        for (k = 0; k < f->scale; k++) {
            if (whole > UINT64_MAX / 10) return fail(m, f->name, "out of range");
            whole *= 10;
        }
        if (whole > UINT64_MAX - frac) return fail(m, f->name, "out of range");
        *mag = whole + frac;
    } else if (!parse_digits(s, n, mag)) {
        return fail(m, f->name, "not a canonical decimal integer");
    }
    if (*neg && *mag == 0) return fail(m, f->name, "zero has no sign");
    max_pos = f->is_signed ? (UINT64_C(1) << (8 * f->size - 1)) - 1 : f->size == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * f->size)) - 1;
    max_neg = f->is_signed ? UINT64_C(1) << (8 * f->size - 1) : 0;
    if (*neg ? *mag > max_neg : *mag > max_pos) return fail(m, f->name, "out of range for its width");
    return 0;
}

static void put_field(uint8_t *buf, const itch_field_info *f, uint64_t v) {
    if (f->big_endian) itch_put_be(buf + f->offset, f->size, v);
    else itch_put_le(buf + f->offset, f->size, v);
}

/* A string holding one printable ASCII character, or -1. */
static int one_char(const jval *v) {
    if (v->t != J_STR || v->slen != 1 || (unsigned char)v->s[0] < 0x20 || (unsigned char)v->s[0] > 0x7e) return -1;
    return (unsigned char)v->s[0];
}

static int encode_field(const itch_message_info *mi, const itch_field_info *f, const jval *v, uint8_t *buf) {
    const char *m = mi->name;
    size_t i;
    int c, neg;
    uint64_t mag;
    switch (f->kind) {
    case ITCH_FIELD_TYPE_CODE:
        if (one_char(v) != mi->type) return fail(m, f->name, "must be the message's type code");
        buf[f->offset] = mi->type;
        return 0;
    case ITCH_FIELD_CHAR:
        if ((c = one_char(v)) < 0) return fail(m, f->name, "expected one printable ASCII character");
        buf[f->offset] = (uint8_t)c;
        return 0;
    case ITCH_FIELD_TEXT:
        if (v->t != J_STR || strlen(v->s) != v->slen || itch_text_set(buf + f->offset, f->size, f->space_padded, v->s) != 0)
            return fail(m, f->name, "expected printable ASCII text that fits the field");
        return 0;
    case ITCH_FIELD_ENUM:
        if (v->t != J_STR) return fail(m, f->name, "expected a variant's name");
        for (i = 0; i < f->variant_count; i++) {
            if (strcmp(f->variants[i].name, v->s) == 0) {
                put_field(buf, f, (uint64_t)f->variants[i].value);
                return 0;
            }
        }
        return fail(m, f->name, "not a variant of its enumeration");
    case ITCH_FIELD_INT:
    case ITCH_FIELD_FLAGS:
        if (field_int(m, f, v, &neg, &mag) != 0) return -1;
        put_field(buf, f, neg ? (uint64_t)0 - mag : mag);
        return 0;
    }
    return fail(m, f->name, "unknown field kind");
}

static int encode(const jval *msg, uint8_t *buf, size_t *len) {
    size_t count, i, k;
    const itch_message_info *infos = itch_message_infos(&count), *mi = NULL;
    const jval *type = jget(msg, "type");
    if (!msg || msg->t != J_OBJ || !type || type->t != J_STR) return fail("message", NULL, "a JSON object with a \"type\"");
    for (i = 0; i < count; i++)
        if (strcmp(infos[i].name, type->s) == 0) mi = &infos[i];
    if (!mi) return fail(type->s, NULL, "no message of that name");
    for (k = 0; k < msg->n; k++) {
        int known = strcmp(msg->keys[k], "type") == 0;
        for (i = 0; i < mi->field_count && !known; i++) known = strcmp(mi->fields[i].name, msg->keys[k]) == 0;
        if (!known) return fail(mi->name, msg->keys[k], "no field of that name");
    }
    memset(buf, 0, mi->size);
    for (i = 0; i < mi->field_count; i++) {
        const jval *v = jget(msg, mi->fields[i].name);
        if (!v) return fail(mi->name, mi->fields[i].name, "missing");
        if (encode_field(mi, &mi->fields[i], v, buf) != 0) return -1;
    }
    if (buf[0] != mi->type) return fail(mi->name, NULL, "the type code's field does not hold the message's code");
    *len = mi->size;
    return 0;
}

/* ---- Requests ------------------------------------------------------------------------- */

static void answer(const char *line, sbuf *out) {
    reader r = {line, NULL};
    jval *req = read_value(&r, 0);
    const jval *op = jget(req, "op"), *id = jget(req, "id");
    sb_str(out, "{");
    if (!req || !op || op->t != J_STR) {
        sb_str(out, "\"error\":\"bad request\"");
    } else if (strcmp(op->s, "decode") == 0) {
        const jval *hex = jget(req, "hex");
        size_t n = hex && hex->t == J_STR ? strlen(hex->s) / 2 : 0, i;
        uint8_t *bytes = (uint8_t *)xrealloc(NULL, n);
        int ok = hex && hex->t == J_STR && strlen(hex->s) % 2 == 0;
        for (i = 0; ok && i < n; i++) {
            int hi = hexval(hex->s[2 * i]), lo = hexval(hex->s[2 * i + 1]);
            ok = hi >= 0 && lo >= 0;
            bytes[i] = (uint8_t)(hi << 4 | lo);
        }
        if (ok) decode(bytes, n, out);
        else sb_str(out, "\"error\":\"bad request: not hex\"");
        free(bytes);
    } else if (strcmp(op->s, "encode") == 0) {
        uint8_t buf[256];
        size_t len = 0, i;
        if (encode(jget(req, "message"), buf, &len) != 0) {
            sb_str(out, "\"error\":");
            write_string(out, encode_error);
        } else {
            sb_str(out, "\"hex\":\"");
            for (i = 0; i < len; i++) {
                char h[3];
                snprintf(h, sizeof h, "%02x", buf[i]);
                sb_str(out, h);
            }
            sb_str(out, "\"");
        }
    } else {
        sb_str(out, "\"unsupported\":");
        write_string(out, op->s);
    }
    if (id) {
        sb_str(out, ",\"id\":");
        write_value(out, id);
    }
    sb_str(out, "}\n");
    jfree(req);
}

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
        sbuf out = {NULL, 0, 0};
        answer(line, &out);
        fputs(out.s, stdout);
        fflush(stdout);
        free(out.s);
    }
    free(line);
    return 0;
}
