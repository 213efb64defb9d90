/* Walks a file of MoldUDP64 packets (each behind a big-endian u16 length) with the generated
 * ITCH header and prints one line a message: "SEQ JSON", or "SEQ ERROR KIND OFFSET FIELD VALUE"
 * (offsets within the packet). codec-tests/tests/itch.rs compares the lines with the Rust
 * crate's. Usage: itch_walk FILE */
#include <stdio.h>
#include <stdlib.h>

#include "itch.h"

static int walk_packet(const uint8_t *d, size_t len) {
    itch_mold p;
    itch_error err;
    const uint8_t *msg;
    size_t msg_len, offset;
    uint64_t seq;
    int r;
    static char line[4096];
    if (itch_mold_open(&p, d, len, &err) != 0) {
        printf("- FRAME %s %zu\n", itch_error_name(err.kind), err.offset);
        return 0;
    }
    while ((r = itch_mold_next(&p, &msg, &msg_len, &offset, &seq, &err)) == 1) {
        if (itch_decode(msg, msg_len, offset, &err) != 0) {
            printf("%llu ERROR %s %zu %s %lld\n", (unsigned long long)seq, itch_error_name(err.kind),
                   err.offset, err.field ? err.field : "-", (long long)err.value);
            continue;
        }
        if (itch_json(msg, line, sizeof line) >= sizeof line) return -1;
        printf("%llu %s\n", (unsigned long long)seq, line);
    }
    if (r < 0) printf("- FRAME %s %zu\n", itch_error_name(err.kind), err.offset);
    return 0;
}

int main(int argc, char **argv) {
    FILE *f;
    uint8_t head[2], packet[65536];
    if (argc != 2 || !(f = fopen(argv[1], "rb"))) {
        fprintf(stderr, "usage: itch_walk FILE\n");
        return 2;
    }
    while (fread(head, 1, 2, f) == 2) {
        size_t n = ((size_t)head[0] << 8) | head[1];
        if (fread(packet, 1, n, f) != n) {
            fprintf(stderr, "the file is cut inside a packet\n");
            return 1;
        }
        if (walk_packet(packet, n) != 0) {
            fprintf(stderr, "a JSON line is longer than the buffer\n");
            return 1;
        }
    }
    fclose(f);
    return 0;
}
