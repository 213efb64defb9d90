#!/usr/bin/env python3
"""Test sender for rltop-bbo: multicasts RLTOP datagrams on loopback.

Sends --count datagrams to each of the top-of-book group (TopOfBookSnapshots and one
Heartbeat per datagram, session 2) and the trade group (Trades, session 4), each datagram
holding --per-datagram messages, encoded with the generated Python package. With --garbage
it also sends bad datagrams, one decode error each; with --dup-and-gap it resends one
top-of-book datagram (duplicates) and skips sequence numbers on the trade session (a gap).

The last line on stdout is what the subscriber's summary should say, e.g.
  expect: messages=160 datagrams=40 bbo=60 trades=80 errors=0 gaps=0 duplicates=0

Loopback multicast needs a route to lo (e.g. `ip route add 239.255.0.0/16 dev lo`).
"""

import argparse
import os
import random
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # leave generated/python untouched
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "generated", "python"))
import rltop  # noqa: E402
from rltop._runtime import crc_with_hole  # noqa: E402

# Session ids of the draft's plan for instrument group 0 (reference/net/src/plan.rs).
TOP_OF_BOOK_SESSION = 2
TRADES_SESSION = 4


def addr(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def header(session, seq):
    return rltop.MessageHeader(session_id=session, seq_num=seq, timestamp=time.time_ns())


def bbo(session, seq, sym, i):
    bid = 100_000 + (i % 50) * 10
    ask = bid + 10
    return rltop.TopOfBookSnapshot(header=header(session, seq), symbol_id=sym, best_bid_price=bid,
                                   best_bid_qty=1 + i % 7, best_ask_price=ask, best_ask_qty=2 + i % 5,
                                   spread=ask - bid, mid_price=(bid + ask) // 2)


def trade(session, seq, sym, trade_id):
    return rltop.Trade(header=header(session, seq), trade_id=trade_id, symbol_id=sym,
                       taker_side=rltop.Side.Buy if trade_id % 2 else rltop.Side.Sell,
                       price=100_000 + trade_id % 100, quantity=1 + trade_id % 9,
                       maker_order_id=10_000 + trade_id, taker_order_id=20_000 + trade_id)


def heartbeat(session, seq):
    return rltop.Heartbeat(header=header(session, seq), channel=rltop.Channel.Snapshot, interval_ms=1000)


def refresh_checksum(b):
    """Recomputes the checksum of one message (bytearray) after a deliberate edit."""
    struct.pack_into("<I", b, 32, crc_with_hole(b, 0, len(b), 32))
    return b


class Sender:
    def __init__(self, iface, delay):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface))
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        self.delay = delay
        self.datagrams = 0

    def send(self, data, dest):
        self.sock.sendto(data, dest)
        self.datagrams += 1
        if self.delay:
            time.sleep(self.delay)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20, help="datagrams per group (default 20)")
    ap.add_argument("--per-datagram", type=int, default=4, help="messages per datagram (default 4)")
    ap.add_argument("--iface", default="127.0.0.1", help="IP_MULTICAST_IF address (default 127.0.0.1)")
    ap.add_argument("--bbo", type=addr, default=("239.255.0.2", 9001), help="top-of-book group ADDR:PORT")
    ap.add_argument("--trades", type=addr, default=("239.255.2.1", 9003), help="trade group ADDR:PORT")
    ap.add_argument("--delay", type=float, default=0.002, help="seconds between datagrams (default 0.002)")
    ap.add_argument("--garbage", action="store_true", help="also send bad datagrams")
    ap.add_argument("--dup-and-gap", action="store_true", help="resend one datagram and skip 5 trade seq numbers")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.per_datagram < 2:
        ap.error("--per-datagram must be at least 2")

    rnd = random.Random(a.seed)
    tx = Sender(a.iface, a.delay)
    bbo_seq, trade_seq, trade_id = 1000, 1, 1
    messages = bbos = trades = errors = gaps = duplicates = 0
    last_bbo_datagram = None

    for i in range(a.count):
        # Top of book: per_datagram - 1 snapshots and one heartbeat.
        msgs = []
        for k in range(a.per_datagram - 1):
            msgs.append(bbo(TOP_OF_BOOK_SESSION, bbo_seq, 1 + k, i))
            bbo_seq += 1
        msgs.append(heartbeat(TOP_OF_BOOK_SESSION, bbo_seq))
        bbo_seq += 1
        last_bbo_datagram = rltop.encode_datagram(msgs)
        tx.send(last_bbo_datagram, a.bbo)
        messages += len(msgs)
        bbos += a.per_datagram - 1

        # Trades.
        msgs = []
        for k in range(a.per_datagram):
            msgs.append(trade(TRADES_SESSION, trade_seq, 1 + k % 3, trade_id))
            trade_seq += 1
            trade_id += 1
        tx.send(rltop.encode_datagram(msgs), a.trades)
        messages += len(msgs)
        trades += len(msgs)

        if a.dup_and_gap and i == a.count // 2:
            tx.send(last_bbo_datagram, a.bbo)  # every message a duplicate
            messages += a.per_datagram
            duplicates += a.per_datagram
            trade_seq += 5  # the next trade datagram shows a gap of 5
            gaps += 5

        if a.garbage and i == a.count // 2:
            # 1. Random bytes (not starting with the magic): BadMagic.
            junk = bytearray(rnd.randbytes(100))
            junk[0] = 0
            tx.send(bytes(junk), a.bbo)
            errors += 1
            # 2. Shorter than a header: Truncated.
            tx.send(rnd.randbytes(10), a.trades)
            errors += 1
            # 3. A message cut short: Truncated.
            tx.send(rltop.encode(bbo(TOP_OF_BOOK_SESSION, bbo_seq, 1, i))[:100], a.bbo)
            errors += 1
            # 4. Valid, flipped checksum byte, valid: BadChecksum, the other two count.
            #    The bad one reuses the next valid one's seq_num, so there is no gap.
            good1 = rltop.encode(bbo(TOP_OF_BOOK_SESSION, bbo_seq, 1, i))
            bad = bytearray(rltop.encode(bbo(TOP_OF_BOOK_SESSION, bbo_seq + 1, 2, i)))
            bad[33] ^= 0xFF
            good2 = rltop.encode(bbo(TOP_OF_BOOK_SESSION, bbo_seq + 1, 3, i))
            bbo_seq += 2
            tx.send(good1 + bytes(bad) + good2, a.bbo)
            errors += 1
            messages += 2
            bbos += 2
            # 5. A trade with taker_side 3 and a correct checksum: BadEnum; then a valid
            #    trade and 20 stray bytes after it: Truncated.
            bad = bytearray(rltop.encode(trade(TRADES_SESSION, trade_seq, 1, trade_id)))
            bad[52] = 3
            refresh_checksum(bad)
            good = rltop.encode(trade(TRADES_SESSION, trade_seq, 1, trade_id))
            trade_seq += 1
            trade_id += 1
            tx.send(bytes(bad) + good + rnd.randbytes(20), a.trades)
            errors += 2
            messages += 1
            trades += 1
            # 6. An unknown type code (0x86, 64 bytes, correct checksum): UnknownType.
            unknown = bytearray(rltop.encode(heartbeat(TOP_OF_BOOK_SESSION, bbo_seq)))
            unknown[6] = 0x86
            refresh_checksum(unknown)
            tx.send(bytes(unknown), a.bbo)
            errors += 1

    print(f"sent {tx.datagrams} datagrams to {a.bbo[0]}:{a.bbo[1]} and {a.trades[0]}:{a.trades[1]}",
          file=sys.stderr)
    print(f"expect: messages={messages} datagrams={tx.datagrams} bbo={bbos} trades={trades} "
          f"errors={errors} gaps={gaps} duplicates={duplicates}")


if __name__ == "__main__":
    main()
