/* libFuzzer harness: the C header and the Rust binding decode the same datagram and must
 * give the same answer (cargo xtask fuzz; the Rust side is conformance/fuzz/src/lib.rs).
 *
 * Both answers are the conformance suite's `results` list without free text: messages as
 * canonical JSON, errors as kind, offset and field. The C side is the C testee's decoder
 * (testees/c/testee.c, included without its main), the Rust side the generated crate. Any
 * difference, and anything the sanitizers find in the header, is a finding: the harness
 * prints both answers and aborts, and libFuzzer saves the input. */

#define RLTOP_TESTEE_NO_MAIN
#include "../testees/c/testee.c"

#include <stdint.h>

size_t rltop_fuzz_rust_decode(const uint8_t *data, size_t len, uint8_t *out, size_t cap);

/* Both bindings on one datagram; aborts when they differ. */
static void compare(const uint8_t *data, size_t size) {
    static uint8_t *rust = NULL;
    static size_t rust_cap = 0;
    sbuf c = {NULL, 0, 0};
    jval *results = decode(data, size);
    size_t n;
    write_value(&c, results);
    jfree(results);
    n = rltop_fuzz_rust_decode(data, size, rust, rust_cap);
    if (n > rust_cap) {
        rust_cap = n;
        rust = (uint8_t *)xrealloc(rust, rust_cap);
        n = rltop_fuzz_rust_decode(data, size, rust, rust_cap);
    }
    if (n != c.len || memcmp(rust, c.s, n) != 0) {
        fprintf(stderr, "rltop-fuzz: the C header and the Rust binding disagree\n  C:    %.*s\n  Rust: %.*s\n",
                (int)c.len, c.s, (int)n, (const char *)rust);
        abort();
    }
    free(c.s);
}

/* The same bytes with every framed message's checksum recomputed: random bytes almost never
 * carry a right CRC, and the checks after it (values, counts, text) need one to be reached. */
static void reseal(uint8_t *b, size_t size) {
    size_t at = 0;
    while (size - at >= RLTOP_HEADER_SIZE) {
        uint8_t *m = b + at;
        size_t len = rltop_load_u16(m + RLTOP_LENGTH_OFFSET);
        if (rltop_load_u32(m + RLTOP_MAGIC_OFFSET) != RLTOP_MAGIC || len < RLTOP_HEADER_SIZE || len > size - at) break;
        rltop_store_u32(m + RLTOP_CHECKSUM_OFFSET, rltop_crc32c_with_hole(m, len, RLTOP_CHECKSUM_OFFSET));
        at += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *sealed = (uint8_t *)xrealloc(NULL, size);
    compare(data, size);
    if (size) memcpy(sealed, data, size);
    reseal(sealed, size);
    compare(sealed, size);
    free(sealed);
    return 0;
}
