/* ---- MoldUDP64: a 20-byte header (session, sequence, count), then `count` blocks, each a
 * big-endian u16 length and a message. Count 0 is a heartbeat, 0xFFFF the end of the session. ---- */

#define ITCH_MOLD_HEADER_SIZE 20
#define ITCH_MOLD_HEARTBEAT 0
#define ITCH_MOLD_END_OF_SESSION 0xFFFF

typedef struct itch_mold {
    char session[11];    /* as sent, space padding included, NUL-terminated */
    uint64_t sequence;   /* of the first message (of the next, for a heartbeat or the end) */
    uint16_t count;
    const uint8_t *datagram;
    size_t len, pos;
    uint64_t next;
    uint16_t left;
} itch_mold;

/** Reads a packet's header. 0, or -1 with a BAD_FRAME error (value 1: shorter than the header). */
static inline int itch_mold_open(itch_mold *p, const uint8_t *d, size_t len, itch_error *err) {
    if (len < ITCH_MOLD_HEADER_SIZE) return itch_fail(err, ITCH_BAD_FRAME, 0, NULL, 1);
    memcpy(p->session, d, 10);
    p->session[10] = 0;
    p->sequence = itch_get_be(d + 10, 8);
    p->count = (uint16_t)itch_get_be(d + 18, 2);
    p->datagram = d;
    p->len = len;
    p->pos = ITCH_MOLD_HEADER_SIZE;
    p->next = p->sequence;
    p->left = (p->count == ITCH_MOLD_END_OF_SESSION) ? 0 : p->count;
    return 0;
}

/** The next block: 1 with its message, length, offset in the datagram and sequence; 0 after the
 * last; -1 with a BAD_FRAME error (value 2: a block cut short, 3: bytes after the last block). */
static inline int itch_mold_next(itch_mold *p, const uint8_t **msg, size_t *msg_len, size_t *offset, uint64_t *seq, itch_error *err) {
    size_t n;
    if (p->left == 0) {
        if (p->pos != p->len) return itch_fail(err, ITCH_BAD_FRAME, p->pos, NULL, 3);
        return 0;
    }
    if (p->len - p->pos < 2) return itch_fail(err, ITCH_BAD_FRAME, p->pos, NULL, 2);
    n = (size_t)itch_get_be(p->datagram + p->pos, 2);
    if (p->len - p->pos - 2 < n) return itch_fail(err, ITCH_BAD_FRAME, p->pos, NULL, 2);
    *msg = p->datagram + p->pos + 2;
    *msg_len = n;
    *offset = p->pos + 2;
    *seq = p->next++;
    p->pos += 2 + n;
    p->left--;
    return 1;
}

