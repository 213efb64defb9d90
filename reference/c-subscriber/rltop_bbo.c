/*
 * rltop-bbo: the "C stack" reference subscriber of RLTOP.
 *
 * Joins the top-of-book and trade multicast groups (one non-blocking UDP socket per
 * group:port, one libev io watcher per socket), validates every message of every datagram
 * with the generated decoder (generated/c/rltop.h), prints best bid/offer and trades, tracks
 * sequence numbers per session and counts errors. See README.md next to this file.
 *
 * Build (from the repository root):
 *   gcc -std=c11 -O2 -Wall -Wextra -Werror -I generated/c \
 *       reference/c-subscriber/rltop_bbo.c -lev -o target/rltop-bbo
 */
#define _GNU_SOURCE /* recvmmsg */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "rltop.h"

#define PROG "rltop-bbo"
#define MAX_GROUPS 64
#define RCVBUF_BYTES (4 * 1024 * 1024)
/* Datagrams read per recvmmsg call, and the room for each (the largest UDP payload fits). */
#define BATCH 32
#define DATAGRAM_MAX 65536

/* ---- State ------------------------------------------------------------------------- */

struct group {
    struct sockaddr_in addr;
    char name[32]; /* "239.255.0.2:9001" */
    int fd;
    ev_io watcher;
};

struct session {
    uint64_t id;
    uint64_t last_seq;
};

struct counters {
    uint64_t messages;   /* valid messages, duplicates included */
    uint64_t datagrams;
    uint64_t bbo;        /* TopOfBookSnapshot, duplicates excluded */
    uint64_t trades;     /* Trade, duplicates excluded */
    uint64_t errors;     /* decode errors (and socket read errors) */
    uint64_t gaps;       /* messages missing between sequence numbers */
    uint64_t duplicates; /* messages with seq_num <= the last seen on their session */
    uint64_t by_type[256];
};

static struct group groups[MAX_GROUPS];
static size_t group_count;
static struct session *sessions;
static size_t session_count, session_cap;
static struct counters count;
static int quiet;

/* recvmmsg buffers: static, so the stack stays small. */
static unsigned char bufs[BATCH][DATAGRAM_MAX];
static struct iovec iovs[BATCH];
static struct mmsghdr msgs[BATCH];

/* ---- Command line ------------------------------------------------------------------ */

static void usage(FILE *out) {
    fprintf(out,
            "usage: " PROG " [--iface IPV4_ADDR] [--group ADDR:PORT ...] [--for SECONDS]\n"
            "                 [--min-messages N] [--quiet]\n"
            "\n"
            "Joins RLTOP multicast groups, validates every message, prints best bid/offer\n"
            "(TopOfBookSnapshot) and trades, and ends with a summary line.\n"
            "\n"
            "  --iface IPV4_ADDR   local address of the interface to join on (default 0.0.0.0)\n"
            "  --group ADDR:PORT   multicast group to join; repeatable (default: the draft's\n"
            "                      top of book 239.255.0.2:9001 and trades 239.255.2.1:9003)\n"
            "  --for SECONDS       stop after SECONDS (default: run until SIGINT/SIGTERM)\n"
            "  --min-messages N    exit 1 unless at least N valid messages arrived (default 0)\n"
            "  --quiet             print only errors and the summary\n"
            "  --help              print this and exit\n"
            "\n"
            "Exit status: 0 if there was no error and enough messages, 1 otherwise, 2 on bad usage.\n");
}

static void usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try --help)\n");
    exit(2);
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    unsigned long long v;
    if (*s == '\0' || *s == '-' || *s == '+') return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') return -1;
    *out = (uint64_t)v;
    return 0;
}

static void add_group(const char *spec) {
    char host[64];
    const char *colon = strrchr(spec, ':');
    uint64_t port;
    struct group *g;
    size_t i, n;

    if (group_count == MAX_GROUPS) usage_error("too many --group options (at most 64): %s", spec);
    if (colon == NULL) usage_error("--group wants ADDR:PORT, got '%s'", spec);
    n = (size_t)(colon - spec);
    if (n == 0 || n >= sizeof host) usage_error("--group wants ADDR:PORT, got '%s'", spec);
    memcpy(host, spec, n);
    host[n] = '\0';
    if (parse_u64(colon + 1, &port) != 0 || port == 0 || port > 65535)
        usage_error("--group: bad port in '%s'", spec);

    g = &groups[group_count];
    memset(g, 0, sizeof *g);
    g->addr.sin_family = AF_INET;
    g->addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &g->addr.sin_addr) != 1)
        usage_error("--group: bad IPv4 address in '%s'", spec);
    if (!IN_MULTICAST(ntohl(g->addr.sin_addr.s_addr)))
        usage_error("--group: %s is not a multicast address", host);
    {
        const unsigned char *a = (const unsigned char *)&g->addr.sin_addr; /* network order */
        snprintf(g->name, sizeof g->name, "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3], (unsigned)port);
    }
    g->fd = -1;
    for (i = 0; i < group_count; i++)
        if (groups[i].addr.sin_addr.s_addr == g->addr.sin_addr.s_addr && groups[i].addr.sin_port == g->addr.sin_port)
            usage_error("--group %s given twice", g->name);
    group_count++;
}

/* ---- Sockets ----------------------------------------------------------------------- */

static void die_errno(const struct group *g, const char *what) {
    fprintf(stderr, PROG ": %s: %s: %s\n", g->name, what, strerror(errno));
    exit(1);
}

static void open_group(struct group *g, struct in_addr iface) {
    int one = 1, rcvbuf = RCVBUF_BYTES;
    struct ip_mreq mreq;

    g->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g->fd < 0) die_errno(g, "socket");
    if (setsockopt(g->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) die_errno(g, "SO_REUSEADDR");
    /* The kernel may cap this at net.core.rmem_max; that is not fatal. */
    if (setsockopt(g->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0)
        fprintf(stderr, PROG ": %s: SO_RCVBUF: %s (continuing)\n", g->name, strerror(errno));
#ifdef IP_MULTICAST_ALL
    {
        /* Only the groups this socket joined (Linux otherwise delivers every joined group). */
        int zero = 0;
        (void)setsockopt(g->fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero);
    }
#endif
    /* Bound to the group address, the socket receives that group only, even when other
     * groups share the port (full book and top of book both use 9001). */
    if (bind(g->fd, (const struct sockaddr *)&g->addr, sizeof g->addr) != 0) die_errno(g, "bind");
    memset(&mreq, 0, sizeof mreq);
    mreq.imr_multiaddr = g->addr.sin_addr;
    mreq.imr_interface = iface;
    if (setsockopt(g->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0)
        die_errno(g, "IP_ADD_MEMBERSHIP");
}

/* ---- Messages ---------------------------------------------------------------------- */

/* The session's entry, created on first sight. NULL only if memory runs out. */
static struct session *session_of(uint64_t id, int *created) {
    size_t i;
    *created = 0;
    for (i = 0; i < session_count; i++)
        if (sessions[i].id == id) return &sessions[i];
    if (session_count == session_cap) {
        size_t cap = session_cap ? 2 * session_cap : 8;
        struct session *s = realloc(sessions, cap * sizeof *s);
        if (s == NULL) return NULL;
        sessions = s;
        session_cap = cap;
    }
    *created = 1;
    sessions[session_count].id = id;
    sessions[session_count].last_seq = 0;
    return &sessions[session_count++];
}

/* Sequence check (SPEC.md §7): 1 if the message is new, 0 if it is a duplicate. */
static int track_sequence(const rltop_message *m) {
    const rltop_message_header *h = (const rltop_message_header *)(const void *)m->bytes;
    uint64_t seq = rltop_message_header_seq_num(h);
    int created;
    struct session *s = session_of(rltop_message_header_session_id(h), &created);

    if (s == NULL) return 1; /* out of memory: no tracking, but keep going */
    if (created) { /* the first message of a session is its starting point */
        s->last_seq = seq;
        return 1;
    }
    if (seq <= s->last_seq) {
        count.duplicates++;
        return 0;
    }
    if (seq > s->last_seq + 1) count.gaps += seq - s->last_seq - 1;
    s->last_seq = seq;
    return 1;
}

static void on_message(const rltop_message *m) {
    const rltop_top_of_book_snapshot *tob;
    const rltop_trade *tr;

    count.messages++;
    if (!track_sequence(m)) return; /* duplicates are dropped */
    count.by_type[m->type]++;

    if ((tob = rltop_as_top_of_book_snapshot(m)) != NULL) {
        count.bbo++;
        if (!quiet)
            printf("BBO sym=%" PRIu32 " bid=%" PRIu64 "@%" PRId64 " ask=%" PRIu64 "@%" PRId64 "\n",
                   rltop_top_of_book_snapshot_symbol_id(tob), rltop_top_of_book_snapshot_best_bid_qty(tob),
                   rltop_top_of_book_snapshot_best_bid_price(tob), rltop_top_of_book_snapshot_best_ask_qty(tob),
                   rltop_top_of_book_snapshot_best_ask_price(tob));
    } else if ((tr = rltop_as_trade(m)) != NULL) {
        count.trades++;
        if (!quiet)
            printf("TRADE sym=%" PRIu32 " id=%" PRIu64 " %s %" PRIu64 "@%" PRId64 "\n", rltop_trade_symbol_id(tr),
                   rltop_trade_trade_id(tr), rltop_trade_taker_side(tr) == RLTOP_SIDE_BUY ? "BUY" : "SELL",
                   rltop_trade_quantity(tr), rltop_trade_price(tr));
    }
    /* Other valid types (Heartbeat, OrderBookSnapshot, TradeSnapshot, ...) are only counted. */
}

static void report_error(const struct group *g, size_t len, const rltop_decode_error *err) {
    count.errors++;
    fprintf(stderr, PROG ": %s: %s at byte %zu of a %zu-byte datagram", g->name, rltop_error_name(err->kind),
            err->offset, len);
    if (err->field) fprintf(stderr, " (%s)", err->field);
    switch (err->kind) {
    case RLTOP_ERR_TRUNCATED:
        fprintf(stderr, ": %" PRIu64 " bytes left, %" PRIu64 " needed", err->found, err->expected);
        break;
    case RLTOP_ERR_BAD_MAGIC:
        fprintf(stderr, ": 0x%08" PRIx64 ", not 0x%08" PRIx64, err->found, err->expected);
        break;
    case RLTOP_ERR_BAD_LENGTH:
        fprintf(stderr, ": length %" PRIu64 ", expected %" PRIu64, err->found, err->expected);
        break;
    case RLTOP_ERR_UNKNOWN_TYPE:
        fprintf(stderr, ": type 0x%02" PRIx64, err->found);
        break;
    case RLTOP_ERR_UNEXPECTED_TYPE:
        fprintf(stderr, ": type 0x%02" PRIx64 ", expected 0x%02" PRIx64, err->found, err->expected);
        break;
    case RLTOP_ERR_UNSUPPORTED_VERSION:
        fprintf(stderr, ": version %" PRIu64 ", oldest supported %" PRIu64, err->found, err->expected);
        break;
    case RLTOP_ERR_BAD_CHECKSUM:
        fprintf(stderr, ": 0x%08" PRIx64 ", computed 0x%08" PRIx64, err->found, err->expected);
        break;
    case RLTOP_ERR_BAD_ENUM:
        fprintf(stderr, ": value %" PRIu64, err->found);
        break;
    case RLTOP_ERR_BAD_COUNT:
        fprintf(stderr, ": count %" PRIu64 ", at most %" PRIu64, err->found, err->expected);
        break;
    case RLTOP_OK:
    case RLTOP_ERR_BAD_TEXT:
        break;
    }
    fputc('\n', stderr);
}

static void on_datagram(const struct group *g, const unsigned char *buf, size_t len) {
    rltop_iter it;
    rltop_message m;
    rltop_decode_error err;

    count.datagrams++;
    if (len == 0) { /* the iterator has nothing to report for no bytes at all */
        err.kind = RLTOP_ERR_TRUNCATED;
        err.offset = 0;
        err.field = NULL;
        err.found = 0;
        err.expected = RLTOP_HEADER_SIZE;
        report_error(g, len, &err);
        return;
    }
    rltop_iter_init(&it, buf, len);
    while (rltop_iter_next(&it, &m, &err)) {
        if (err.kind != RLTOP_OK)
            report_error(g, len, &err);
        else
            on_message(&m);
    }
}

/* ---- Event loop -------------------------------------------------------------------- */

static void on_readable(struct ev_loop *loop, ev_io *w, int revents) {
    struct group *g = w->data;
    int i, n;
    (void)loop;
    (void)revents;

    for (;;) { /* drain until the socket would block */
        for (i = 0; i < BATCH; i++) {
            iovs[i].iov_base = bufs[i];
            iovs[i].iov_len = DATAGRAM_MAX;
            memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_len = 0;
        }
        n = recvmmsg(g->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            count.errors++;
            fprintf(stderr, PROG ": %s: recvmmsg: %s\n", g->name, strerror(errno));
            return;
        }
        for (i = 0; i < n; i++) on_datagram(g, bufs[i], msgs[i].msg_len);
        if (n < BATCH) return;
    }
}

static void on_stop(struct ev_loop *loop, ev_timer *w, int revents) {
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents) {
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

/* ---- Main -------------------------------------------------------------------------- */

int main(int argc, char **argv) {
    static const struct option options[] = {
        {"iface", required_argument, NULL, 'i'},
        {"group", required_argument, NULL, 'g'},
        {"for", required_argument, NULL, 'f'},
        {"min-messages", required_argument, NULL, 'm'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct in_addr iface;
    double run_for = 0;
    uint64_t min_messages = 0;
    struct ev_loop *loop;
    ev_timer stop_timer;
    ev_signal sigint_watcher, sigterm_watcher;
    size_t i, n;
    int c, status;
    const rltop_message_info *infos;

    iface.s_addr = htonl(INADDR_ANY);
    opterr = 0; /* our own one-line messages */
    while ((c = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (inet_pton(AF_INET, optarg, &iface) != 1) usage_error("--iface: bad IPv4 address '%s'", optarg);
            break;
        case 'g':
            add_group(optarg);
            break;
        case 'f': {
            char *end;
            errno = 0;
            run_for = strtod(optarg, &end);
            if (errno != 0 || *end != '\0' || end == optarg || !(run_for > 0) || run_for > 1e9)
                usage_error("--for wants a positive number of seconds, got '%s'", optarg);
            break;
        }
        case 'm':
            if (parse_u64(optarg, &min_messages) != 0)
                usage_error("--min-messages wants a non-negative integer, got '%s'", optarg);
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            usage_error("option %s needs an argument", argv[optind - 1]);
            break;
        default:
            if (optopt != 0) {
                char opt[3] = {'-', (char)optopt, '\0'};
                usage_error("unknown option '%s'", opt);
            }
            usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) usage_error("unexpected argument '%s'", argv[optind]);
    if (group_count == 0) {
        add_group("239.255.0.2:9001"); /* top of book, instrument group 0 */
        add_group("239.255.2.1:9003"); /* trades, instrument group 0 */
    }

    signal(SIGPIPE, SIG_IGN);
    loop = ev_default_loop(EVFLAG_AUTO);
    if (loop == NULL) {
        fprintf(stderr, PROG ": cannot initialise libev\n");
        return 1;
    }
    for (i = 0; i < group_count; i++) {
        open_group(&groups[i], iface);
        ev_io_init(&groups[i].watcher, on_readable, groups[i].fd, EV_READ);
        groups[i].watcher.data = &groups[i];
        ev_io_start(loop, &groups[i].watcher);
    }
    ev_signal_init(&sigint_watcher, on_signal, SIGINT);
    ev_signal_start(loop, &sigint_watcher);
    ev_signal_init(&sigterm_watcher, on_signal, SIGTERM);
    ev_signal_start(loop, &sigterm_watcher);
    if (run_for > 0) {
        ev_timer_init(&stop_timer, on_stop, run_for, 0.);
        ev_timer_start(loop, &stop_timer);
    }

    ev_run(loop, 0);

    for (i = 0; i < group_count; i++) {
        ev_io_stop(loop, &groups[i].watcher);
        close(groups[i].fd);
    }
    free(sessions);

    /* Messages by type, on stderr so that stdout's summary stays one line. */
    infos = rltop_message_infos(&n);
    fprintf(stderr, PROG ": by type:");
    for (i = 0; i < n; i++)
        if (count.by_type[infos[i].type]) fprintf(stderr, " %s=%" PRIu64, infos[i].name, count.by_type[infos[i].type]);
    fprintf(stderr, "%s\n", count.messages == 0 ? " none" : "");

    printf(PROG ": messages=%" PRIu64 " datagrams=%" PRIu64 " bbo=%" PRIu64 " trades=%" PRIu64 " errors=%" PRIu64
                " gaps=%" PRIu64 " duplicates=%" PRIu64 "\n",
           count.messages, count.datagrams, count.bbo, count.trades, count.errors, count.gaps, count.duplicates);
    fflush(stdout);

    status = 0;
    if (count.errors > 0) {
        fprintf(stderr, PROG ": failed: %" PRIu64 " error(s)\n", count.errors);
        status = 1;
    }
    if (count.messages < min_messages) {
        fprintf(stderr, PROG ": failed: %" PRIu64 " message(s), fewer than --min-messages %" PRIu64 "\n",
                count.messages, min_messages);
        status = 1;
    }
    return status;
}
