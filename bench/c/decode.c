/* The generated C header's decoder, called from the criterion benchmark (benches/codec.rs)
 * on the same message mix as the Rust decoders: decode and validate one message, return
 * its type, id and price as `decode_generated` does. */

#include "rltop.h"

/* The (type, id, price) every decoder of the benchmark reports: id and price of the five
 * order-flow types, zero for others. One switch on the type, as the Rust digest's match. */
static void digest(const rltop_message *m, uint64_t *id, int64_t *price) {
    switch (m->type) {
    case RLTOP_ADD_ORDER_TYPE:
        *id = rltop_add_order_order_id(rltop_as_add_order(m));
        *price = rltop_add_order_price(rltop_as_add_order(m));
        break;
    case RLTOP_MODIFY_ORDER_TYPE:
        *id = rltop_modify_order_order_id(rltop_as_modify_order(m));
        *price = rltop_modify_order_new_price(rltop_as_modify_order(m));
        break;
    case RLTOP_DELETE_ORDER_TYPE:
        *id = rltop_delete_order_order_id(rltop_as_delete_order(m));
        *price = rltop_delete_order_price(rltop_as_delete_order(m));
        break;
    case RLTOP_EXECUTE_ORDER_TYPE:
        *id = rltop_execute_order_order_id(rltop_as_execute_order(m));
        *price = rltop_execute_order_price(rltop_as_execute_order(m));
        break;
    case RLTOP_TRADE_TYPE:
        *id = rltop_trade_trade_id(rltop_as_trade(m));
        *price = rltop_trade_price(rltop_as_trade(m));
        break;
    default:
        *id = 0;
        *price = 0;
    }
}

int rltop_bench_c_decode(const unsigned char *buf, size_t len, uint8_t *type, uint64_t *id, int64_t *price) {
    rltop_message m;
    if (rltop_decode(buf, len, &m, NULL) != RLTOP_OK) return -1;
    *type = m.type;
    digest(&m, id, price);
    return 0;
}

/* One item of a datagram: its digest added to the sum. */
static void add_digest(void *ctx, const rltop_message *m, const rltop_decode_error *err) {
    uint64_t id;
    int64_t price;
    if (err->kind != RLTOP_OK) return;
    digest(m, &id, &price);
    *(uint64_t *)ctx += id ^ (uint64_t)price;
}

/* A whole datagram with the header's datagram decoder (rltop_for_each_message: checksums
 * four messages at a time): the sum (wrapping) of id ^ price over its valid messages, as the
 * Rust datagram row computes it. */
int64_t rltop_bench_c_decode_datagram(const unsigned char *buf, size_t len) {
    uint64_t acc = 0;
    rltop_for_each_message(buf, len, add_digest, &acc);
    return (int64_t)acc;
}
