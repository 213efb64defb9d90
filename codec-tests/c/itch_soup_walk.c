/* Reads a SoupBinTCP stream (a file) in chunks of 97 bytes, as a TCP reader gets it, with a
 * header generated for ITCH over SoupBinTCP, and prints one line a packet: "SEQ TYPE JSON",
 * "SEQ TYPE ERROR KIND OFFSET FIELD VALUE" (offsets from the stream's start), or "- TYPE" for
 * a packet without a message; SEQ is "-" outside the sequenced stream. codec-tests/tests/itch.rs
 * compares the lines with the Rust runtime's. Usage: itch_soup_walk FILE */
#include <stdio.h>
#include <stdlib.h>

#include "itch.h"

#define CHUNK 97

int main(int argc, char **argv) {
    FILE *f;
    static uint8_t buf[1 << 16];
    static char line[4096];
    size_t len = 0, base = 0, got;
    uint64_t next = 0;
    int logged_in = 0;
    if (argc != 2 || !(f = fopen(argv[1], "rb"))) {
        fprintf(stderr, "usage: itch_soup_walk FILE\n");
        return 2;
    }
    while ((got = fread(buf + len, 1, CHUNK, f)) > 0) {
        size_t pos = 0;
        itch_soup_packet p;
        itch_error err;
        int r;
        len += got;
        while ((r = itch_soup_next(buf, len, &pos, &p, &err)) == 1) {
            char seq[32] = "-";
            p.offset += base; /* offsets from the stream's start, not the buffer's */
            if (itch_soup_login_sequence(&p, &next)) logged_in = 1;
            if (p.type == ITCH_SOUP_SEQUENCED_DATA && logged_in) snprintf(seq, sizeof seq, "%llu", (unsigned long long)next++);
            r = itch_soup_message(&p, &err);
            if (r == 1) {
                printf("- %c\n", p.type);
            } else if (r < 0) {
                printf("%s %c ERROR %s %zu %s %lld\n", seq, p.type, itch_error_name(err.kind), err.offset,
                       err.field ? err.field : "-", (long long)err.value);
            } else {
                if (itch_json(p.payload, line, sizeof line) >= sizeof line) return 1;
                printf("%s %c %s\n", seq, p.type, line);
            }
        }
        if (r < 0) {
            printf("FRAME %s %zu\n", itch_error_name(err.kind), base + err.offset);
            break;
        }
        /* Keep the partial packet for the next read. */
        memmove(buf, buf + pos, len - pos);
        len -= pos;
        base += pos;
        if (len + CHUNK > sizeof buf) return 1;
    }
    fclose(f);
    return 0;
}
