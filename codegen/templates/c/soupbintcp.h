/* ---- SoupBinTCP: packets of a big-endian u16 length (of what follows it), a packet-type
 * character and a payload. Sequenced data packets ('S') carry one message each, numbered on
 * from the sequence number the login-accepted packet ('A') announces. TCP delivers a byte
 * stream, so itch_soup_next takes one complete packet off the front of a buffer, or says
 * that the buffer ends inside one (keep those bytes and read more). ---- */

#define ITCH_SOUP_SEQUENCED_DATA 'S'
#define ITCH_SOUP_UNSEQUENCED_DATA 'U'
#define ITCH_SOUP_LOGIN_ACCEPTED 'A'

typedef struct itch_soup_packet {
    uint8_t type;            /* the packet-type character */
    const uint8_t *payload;  /* what follows it */
    size_t payload_len;
    size_t offset;           /* the packet's first byte (its length prefix) in the buffer */
} itch_soup_packet;

/** The packet at `buf + *pos`: 1, with `*pos` moved past it; 0 when the buffer ends inside
 *  it; -1 with a BAD_FRAME error at its byte for a length of 0 (no room for the type). */
static inline int itch_soup_next(const uint8_t *buf, size_t len, size_t *pos, itch_soup_packet *p, itch_error *err) {
    size_t n;
    if (len - *pos < 2) return 0;
    n = (size_t)itch_get_be(buf + *pos, 2);
    if (n == 0) return itch_fail(err, ITCH_BAD_FRAME, *pos, NULL, 0);
    if (len - *pos - 2 < n) return 0;
    p->type = buf[*pos + 2];
    p->payload = buf + *pos + 3;
    p->payload_len = n - 1;
    p->offset = *pos;
    *pos += 2 + n;
    return 1;
}

/** For a login-accepted packet: 1 and the sequence number of the next sequenced message in
 *  `*next` (20 ASCII digits after the 10-character session, space-padded on the left); 0 for
 *  any other packet or a malformed number. */
static inline int itch_soup_login_sequence(const itch_soup_packet *p, uint64_t *next) {
    uint64_t v = 0;
    size_t i = 10;
    int digits = 0;
    if (p->type != ITCH_SOUP_LOGIN_ACCEPTED || p->payload_len < 30) return 0;
    while (i < 30 && p->payload[i] == ' ') i++;
    for (; i < 30; i++) {
        unsigned d = (unsigned)p->payload[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
        digits = 1;
    }
    if (!digits) return 0;
    *next = v;
    return 1;
}

/** The message a sequenced or unsequenced data packet carries, decoded (0, or -1 and `err`
 *  with offsets from the buffer's start); 1 for the session's other packets, which carry none. */
static inline int itch_soup_message(const itch_soup_packet *p, itch_error *err) {
    if (p->type != ITCH_SOUP_SEQUENCED_DATA && p->type != ITCH_SOUP_UNSEQUENCED_DATA) return 1;
    return itch_decode(p->payload, p->payload_len, p->offset + 3, err);
}

