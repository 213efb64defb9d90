/* Tests of generated/c/rltop.h's typed API. Valid C11 and C++17: `cargo xtask test` builds
 * it with gcc -std=c11 and g++ -std=c++17 (-Wall -Wextra -Werror -pedantic), with and
 * without the portable (any byte order) loads and the SSE4.2 CRC, under ASan and UBSan. */

#include <stdio.h>
#include <stdlib.h>

#include "rltop.h"

static int failures = 0;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static void crc_check_values(void) {
    /* The CRC-32C check value from the catalogue of CRCs (RFC 3720's polynomial). */
    const char *digits = "123456789";
    unsigned char zeros[32];
    memset(zeros, 0, sizeof zeros);
    CHECK(rltop_crc32c(0, digits, 9) == 0xE3069283u);
    CHECK(~rltop_crc32c_sw(0xFFFFFFFFu, (const unsigned char *)digits, 9) == 0xE3069283u);
    /* RFC 3720 B.4: 32 bytes of zeros. */
    CHECK(rltop_crc32c(0, zeros, 32) == 0x8A9136AAu);
    /* Continuing a CRC equals computing it at once. */
    CHECK(rltop_crc32c(rltop_crc32c(0, digits, 4), digits + 4, 5) == 0xE3069283u);
}

static void add_order_round_trip(void) {
    rltop_add_order m;
    const rltop_add_order *d = NULL;
    rltop_decode_error err;
    const unsigned char *b = (const unsigned char *)&m;
    size_t n;
    rltop_add_order_init(&m);
    rltop_add_order_set_order_id(&m, UINT64_C(0x0102030405060708));
    rltop_add_order_set_symbol_id(&m, 7);
    rltop_add_order_set_side(&m, RLTOP_SIDE_SELL);
    rltop_add_order_set_flags(&m, RLTOP_ORDER_FLAGS_POST_ONLY);
    rltop_add_order_set_price(&m, -12345);
    rltop_add_order_set_quantity(&m, 500);
    n = rltop_add_order_encode(&m, 3, 42, UINT64_C(1700000000000000000));
    CHECK(n == RLTOP_ADD_ORDER_SIZE);
    /* Little-endian on the wire, whatever the host. */
    CHECK(b[0] == 0x4F && b[1] == 0x54 && b[2] == 0x4C && b[3] == 0x52);
    CHECK(b[4] == RLTOP_ADD_ORDER_SIZE && b[5] == 0 && b[6] == RLTOP_ADD_ORDER_TYPE && b[7] == RLTOP_VERSION);
    CHECK(b[48] == 0x08 && b[55] == 0x01);
    CHECK(b[64] == 0xC7 && b[65] == 0xCF && b[71] == 0xFF); /* -12345 */
    CHECK(rltop_load_u32(b + RLTOP_CHECKSUM_OFFSET) == rltop_crc32c_with_hole(b, n, RLTOP_CHECKSUM_OFFSET));

    CHECK(rltop_add_order_decode(&m, sizeof m, &d, &err) == RLTOP_OK);
    CHECK(d != NULL);
    if (d) {
        CHECK(rltop_add_order_price(d) == -12345);
        CHECK(rltop_add_order_order_id(d) == UINT64_C(0x0102030405060708));
        CHECK(rltop_add_order_side(d) == RLTOP_SIDE_SELL);
        CHECK(rltop_message_header_seq_num(rltop_add_order_header(d)) == 42);
    }
    CHECK(strcmp(rltop_side_name(2), "Sell") == 0 && rltop_side_name(9) == NULL);

    /* One bad enumeration value, resealed: BadEnum at the field, named as in Rust. The
     * accessor is typed (rltop_side); any wire value converts, in C and in C++. */
    rltop_add_order_set_side(&m, (rltop_side)9);
    CHECK((int)rltop_add_order_side(&m) == 9);
    rltop_add_order_encode(&m, 3, 42, 0);
    CHECK(rltop_add_order_decode(&m, sizeof m, &d, &err) == RLTOP_ERR_BAD_ENUM);
    CHECK(err.offset == 60 && strcmp(err.field, "AddOrder.side") == 0 && err.found == 9);
    CHECK(strcmp(rltop_error_name(err.kind), "BadEnum") == 0);

    /* A flipped bit: BadChecksum. */
    rltop_add_order_set_side(&m, RLTOP_SIDE_BUY);
    rltop_add_order_encode(&m, 3, 42, 0);
    ((unsigned char *)&m)[100] ^= 1;
    CHECK(rltop_add_order_decode(&m, sizeof m, &d, &err) == RLTOP_ERR_BAD_CHECKSUM);
    CHECK(err.offset == RLTOP_CHECKSUM_OFFSET);
}

static void typed_decoder_refuses_other_types(void) {
    rltop_heartbeat h;
    const rltop_add_order *d = NULL;
    rltop_decode_error err;
    rltop_heartbeat_init(&h);
    rltop_heartbeat_set_channel(&h, RLTOP_CHANNEL_STATISTICS);
    rltop_heartbeat_encode(&h, 1, 1, 1);
    CHECK(rltop_add_order_decode(&h, sizeof h, &d, &err) == RLTOP_ERR_UNEXPECTED_TYPE);
    CHECK(err.offset == RLTOP_TYPE_OFFSET && err.found == RLTOP_HEARTBEAT_TYPE);
    CHECK(rltop_add_order_decode(&h, 10, &d, &err) == RLTOP_ERR_TRUNCATED);
}

static void datagram_iteration(void) {
    unsigned char dgram[RLTOP_ADD_ORDER_SIZE + RLTOP_HEARTBEAT_SIZE + 5];
    rltop_add_order a;
    rltop_heartbeat h;
    rltop_iter it;
    rltop_message m;
    rltop_decode_error err;
    int seen = 0;
    rltop_add_order_init(&a);
    rltop_add_order_set_side(&a, RLTOP_SIDE_BUY);
    rltop_add_order_encode(&a, 9, 1, 0);
    rltop_heartbeat_init(&h);
    rltop_heartbeat_set_channel(&h, RLTOP_CHANNEL_INCREMENTAL);
    rltop_heartbeat_encode(&h, 9, 2, 0);
    memcpy(dgram, &a, sizeof a);
    memcpy(dgram + sizeof a, &h, sizeof h);
    memset(dgram + sizeof a + sizeof h, 0xEE, 5);
    rltop_iter_init(&it, dgram, sizeof dgram);
    while (rltop_iter_next(&it, &m, &err)) {
        if (seen == 0) CHECK(err.kind == RLTOP_OK && rltop_as_add_order(&m) != NULL && rltop_as_heartbeat(&m) == NULL);
        if (seen == 1) CHECK(err.kind == RLTOP_OK && m.offset == RLTOP_ADD_ORDER_SIZE && rltop_heartbeat_channel(rltop_as_heartbeat(&m)) == RLTOP_CHANNEL_INCREMENTAL);
        if (seen == 2) CHECK(err.kind == RLTOP_ERR_TRUNCATED && err.offset == RLTOP_ADD_ORDER_SIZE + RLTOP_HEARTBEAT_SIZE && rltop_error_is_framing(err.kind));
        seen++;
    }
    CHECK(seen == 3);
}

/* A small deterministic generator (xorshift), so every build checks the same cases. */
static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* The checksum with its hole against the table-driven software CRC over three runs, for every
 * length up to 300 and every hole it can hold: on x86-64 this covers the one-chain path and the
 * three-lane path (120 bytes and more, hole inside the first 40-byte lane). */
static void hole_checksum_equals_software(void) {
    static const unsigned char zero[4] = {0, 0, 0, 0};
    unsigned char bytes[300];
    size_t n, hole, j;
    for (j = 0; j < sizeof bytes; j++) bytes[j] = (unsigned char)rng();
    for (n = 4; n <= sizeof bytes; n++) {
        for (hole = 0; hole + 4 <= n && hole < 48; hole++) {
            uint32_t want = ~rltop_crc32c_sw(rltop_crc32c_sw(rltop_crc32c_sw(0xFFFFFFFFu, bytes, hole), zero, 4),
                                             bytes + hole + 4, n - hole - 4);
            CHECK(rltop_crc32c_with_hole(bytes, n, hole) == want);
        }
    }
#ifdef RLTOP_HAVE_SSE42_PATH
    {
        /* The three-lane path's fold factors, x^(8n - 33) mod P bit-reflected, recomputed. */
        uint32_t v = 0x80000000u;
        int k;
        for (k = 0; k < 8 * 80 - 33; k++) {
            v = v & 1 ? (v >> 1) ^ 0x82F63B78u : v >> 1;
            if (k + 1 == 8 * 40 - 33) CHECK(v == RLTOP_CRC_OVER_LANE);
        }
        CHECK(v == RLTOP_CRC_OVER_2LANES);
    }
#endif
}

static void four_checksums_at_once_equal_one_by_one(void) {
    unsigned char bytes[4][300];
    int trial, i, j;
    for (trial = 0; trial < 2000; trial++) {
        const unsigned char *p[4];
        size_t n[4], hole = rng() % 48;
        uint32_t got[4];
        for (i = 0; i < 4; i++) {
            n[i] = hole + 4 + rng() % 250;
            for (j = 0; j < (int)n[i]; j++) bytes[i][j] = (unsigned char)rng();
            p[i] = bytes[i];
        }
        rltop_crc32c_with_hole4(p, n, hole, got);
        for (i = 0; i < 4; i++) CHECK(got[i] == rltop_crc32c_with_hole(p[i], n[i], hole));
    }
}

/* What decoding each message of the datagram alone gives, one item per message. */
typedef struct item {
    rltop_error kind;
    size_t offset, msg_offset;
    uint64_t found, expected;
} item;

static int one_by_one(const unsigned char *b, size_t len, item *out) {
    size_t pos = 0;
    int count = 0;
    while (pos < len) {
        rltop_message m;
        rltop_decode_error err;
        rltop_error e = rltop_split_frame(b + pos, len - pos, pos, &m, &err);
        memset(&out[count], 0, sizeof out[count]);
        if (e != RLTOP_OK) {
            out[count].kind = e;
            out[count].offset = err.offset;
            out[count].found = err.found;
            out[count].expected = err.expected;
            return count + 1;
        }
        pos += m.length;
        e = rltop_check_frame(&m, &err);
        if (e == RLTOP_OK) e = rltop_validate_fields(&m, &err);
        out[count].kind = e;
        if (e == RLTOP_OK) {
            out[count].msg_offset = m.offset;
        } else {
            out[count].offset = err.offset;
            out[count].found = err.found;
            out[count].expected = err.expected;
        }
        count++;
    }
    return count;
}

/* rltop_for_each_message's items, collected. */
typedef struct collected {
    item items[16];
    int count;
} collected;

static void collect(void *ctx, const rltop_message *m, const rltop_decode_error *err) {
    collected *c = (collected *)ctx;
    item *it = &c->items[c->count < 15 ? c->count : 15];
    memset(it, 0, sizeof *it);
    it->kind = err->kind;
    if (err->kind == RLTOP_OK) {
        it->msg_offset = m->offset;
    } else {
        it->offset = err->offset;
        it->found = err->found;
        it->expected = err->expected;
    }
    c->count++;
}

/* Datagrams of 1 to 14 messages of two sizes, valid or with bytes corrupted anywhere
 * (checksums, enums, lengths, magic) or cut short: the iterator, which checksums four
 * messages at a time, returns exactly what decoding each message alone returns, and so does
 * rltop_for_each_message. */
static void batched_iteration_equals_one_by_one(void) {
    static unsigned char dgram[14 * RLTOP_ADD_ORDER_SIZE];
    item want[16], got;
    int trial;
    for (trial = 0; trial < 3000; trial++) {
        size_t len = 0, count = 1 + rng() % 14, k;
        int n_want, seen = 0;
        rltop_iter it;
        rltop_message m;
        rltop_decode_error err;
        for (k = 0; k < count; k++) {
            if (rng() % 4 == 0) {
                rltop_heartbeat h;
                rltop_heartbeat_init(&h);
                rltop_heartbeat_set_channel(&h, RLTOP_CHANNEL_INCREMENTAL);
                rltop_heartbeat_encode(&h, 9, k, 0);
                memcpy(dgram + len, &h, sizeof h);
                len += sizeof h;
            } else {
                rltop_add_order a;
                rltop_add_order_init(&a);
                rltop_add_order_set_side(&a, rng() % 2 ? RLTOP_SIDE_BUY : RLTOP_SIDE_SELL);
                rltop_add_order_set_order_id(&a, rng());
                rltop_add_order_encode(&a, 9, k, 0);
                memcpy(dgram + len, &a, sizeof a);
                len += sizeof a;
            }
        }
        for (k = rng() % 4; k > 0; k--) dgram[rng() % len] ^= (unsigned char)(1 + rng() % 255);
        if (rng() % 4 == 0) len = rng() % len;
        n_want = one_by_one(dgram, len, want);
        rltop_iter_init(&it, dgram, len);
        while (rltop_iter_next(&it, &m, &err)) {
            CHECK(seen < n_want);
            if (seen >= n_want) break;
            memset(&got, 0, sizeof got);
            got.kind = err.kind;
            if (err.kind == RLTOP_OK) {
                got.msg_offset = m.offset;
            } else {
                got.offset = err.offset;
                got.found = err.found;
                got.expected = err.expected;
            }
            CHECK(got.kind == want[seen].kind && got.offset == want[seen].offset &&
                  got.msg_offset == want[seen].msg_offset && got.found == want[seen].found &&
                  got.expected == want[seen].expected);
            seen++;
        }
        CHECK(seen == n_want);
        {
            collected c;
            int k2;
            c.count = 0;
            rltop_for_each_message(dgram, len, collect, &c);
            CHECK(c.count == n_want);
            for (k2 = 0; k2 < n_want && k2 < c.count; k2++)
                CHECK(c.items[k2].kind == want[k2].kind && c.items[k2].offset == want[k2].offset &&
                      c.items[k2].msg_offset == want[k2].msg_offset && c.items[k2].found == want[k2].found &&
                      c.items[k2].expected == want[k2].expected);
        }
    }
}

static void text_fields(void) {
    rltop_instrument_definition d;
    char out[17];
    rltop_instrument_definition_init(&d);
    CHECK(rltop_instrument_definition_set_symbol(&d, "BTCUSDT") == 0);
    CHECK(rltop_instrument_definition_symbol(&d, out) == 7 && strcmp(out, "BTCUSDT") == 0);
    CHECK(rltop_instrument_definition_set_symbol(&d, "THIS-IS-SEVENTEEN") == -1);
    CHECK(rltop_instrument_definition_set_symbol(&d, "tab\there") == -1);
    CHECK(strcmp(out, "BTCUSDT") == 0);
}

static void field_tables(void) {
    size_t n, i;
    const rltop_message_info *infos = rltop_message_infos(&n);
    CHECK(n > 0);
    for (i = 0; i < n; i++) {
        const rltop_field_info *last = &infos[i].fields[infos[i].field_count - 1];
        CHECK(rltop_size_of_type(infos[i].type) == infos[i].size);
        CHECK((size_t)last->offset + last->size == infos[i].size);
    }
}

int main(void) {
    crc_check_values();
    hole_checksum_equals_software();
    add_order_round_trip();
    typed_decoder_refuses_other_types();
    datagram_iteration();
    four_checksums_at_once_equal_one_by_one();
    batched_iteration_equals_one_by_one();
    text_fields();
    field_tables();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    puts("header_test: all checks passed");
    return 0;
}
