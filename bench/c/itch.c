/* The generated ITCH 5.0 C header (generated/itch50/c/itch.h) in bench-itch: walk a file in
 * NASDAQ's format, decode every message with itch_decode, and fold the same fields as the Rust
 * side (timestamp, stock locate and one field by type) into the same checksum. */
#include <stddef.h>
#include <stdint.h>

#include "itch.h"

static uint64_t fold(uint64_t sum, uint64_t t, uint16_t locate, uint64_t field) {
    return sum * 31 + (t ^ (uint64_t)locate ^ field);
}

/* Every message's timestamp and stock locate, and field `f` of message `msg`, by accessor. */
#define TAKE(msg, f) \
    t = itch_##msg##_timestamp(m); locate = itch_##msg##_stock_locate(m); field = itch_##msg##_##f(m)

/* Returns the checksum and sets *count; *count is set to UINT64_MAX and *offset to the byte
 * at fault if a message does not decode. */
uint64_t rltop_bench_itch_walk(const uint8_t *file, size_t len, uint64_t *count, size_t *offset) {
    size_t pos = 0;
    uint64_t sum = 0, n = 0;
    itch_error err = {ITCH_OK, 0, NULL, 0};
    while (pos + 2 <= len) {
        size_t size = ((size_t)file[pos] << 8) | file[pos + 1];
        const uint8_t *m = file + pos + 2;
        uint64_t t = 0, field;
        uint16_t locate = 0;
        if (size > len - pos - 2 || itch_decode(m, size, pos + 2, &err) != 0) {
            *count = UINT64_MAX;
            *offset = size > len - pos - 2 ? pos : err.offset;
            return 0;
        }
        switch (m[0]) {
        case ITCH_ADD_ORDER_TYPE: TAKE(add_order, order_reference_number); break;
        case ITCH_ADD_ORDER_MPID_TYPE: TAKE(add_order_mpid, order_reference_number); break;
        case ITCH_ORDER_EXECUTED_TYPE: TAKE(order_executed, match_number); break;
        case ITCH_ORDER_EXECUTED_WITH_PRICE_TYPE: TAKE(order_executed_with_price, match_number); break;
        case ITCH_ORDER_CANCEL_TYPE: TAKE(order_cancel, order_reference_number); break;
        case ITCH_ORDER_DELETE_TYPE: TAKE(order_delete, order_reference_number); break;
        case ITCH_ORDER_REPLACE_TYPE: TAKE(order_replace, new_order_reference_number); break;
        case ITCH_TRADE_TYPE: TAKE(trade, match_number); break;
        case ITCH_CROSS_TRADE_TYPE: TAKE(cross_trade, match_number); break;
        case ITCH_BROKEN_TRADE_TYPE: TAKE(broken_trade, match_number); break;
        case ITCH_NOII_TYPE: TAKE(noii, paired_shares); break;
        case ITCH_MWCB_DECLINE_LEVEL_TYPE: TAKE(mwcb_decline_level, level1); break;
        default:
            sum = fold(sum, 0, 0, m[0]);
            n++;
            pos += 2 + size;
            continue;
        }
        sum = fold(sum, t, locate, field);
        n++;
        pos += 2 + size;
    }
    *count = n;
    return sum;
}

#undef TAKE
