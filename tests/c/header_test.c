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

    /* One bad enumeration value, resealed: BadEnum at the field, named as in Rust. */
    rltop_add_order_set_side(&m, 9);
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
    add_order_round_trip();
    typed_decoder_refuses_other_types();
    datagram_iteration();
    text_fields();
    field_tables();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    puts("header_test: all checks passed");
    return 0;
}
