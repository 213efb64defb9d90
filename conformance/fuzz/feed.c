/* libFuzzer harness: sequences of datagrams through the Rust feed handler, which must never
 * panic and must keep every live book sorted, positive and uncrossed (cargo xtask fuzz; the
 * checks are in conformance/fuzz/src/lib.rs). The input is datagrams, each a line byte, a
 * 2-byte little-endian length and its bytes. */

#include <stddef.h>
#include <stdint.h>

int rltop_fuzz_rust_feed(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return rltop_fuzz_rust_feed(data, size);
}
