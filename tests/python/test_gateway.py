"""rltop.gateway, the asyncio client of SPEC.md §11, against the real gateway: `rltop gateway
--source sim` (the simulator through the publisher, in-process), started once for the module.
Login and its refusal, live data (verified, dense per session), replay byte for byte against
the live bytes, replay refusals with the window the gateway holds, heartbeats against the idle
timeout, logout. Then the client's own rules (framing, which messages belong to a replay)
against a scripted fake gateway, where the interleavings are chosen, not hoped for.

The binary is $RLTOP_BIN, by default target/debug/rltop; a missing one fails the tests."""

import asyncio
import os
import re
import struct
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

import rltop
from rltop.gateway import (
    GatewayClient, GatewayError, LoginRejected, ReplayRejected, SessionEnded, stream_set,
)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("RLTOP_BIN", ROOT / "target" / "debug" / "rltop"))
TOKEN = "secret"
HEARTBEAT_MS = 200
#: Bound of each test's asyncio part, seconds.
LIMIT = 30.0

STREAM_OF_NAME = {"trades": rltop.Stream.Trades, "incremental": rltop.Stream.Incremental}
#: Type codes each stream carries (SPEC.md §10), plus the channel Heartbeat every stream has.
TYPES_OF = {
    rltop.Stream.Trades: {rltop.Trade.TYPE_CODE, rltop.Heartbeat.TYPE_CODE},
    rltop.Stream.Incremental: {rltop.AddOrder.TYPE_CODE, rltop.ModifyOrder.TYPE_CODE,
                               rltop.DeleteOrder.TYPE_CODE, rltop.ExecuteOrder.TYPE_CODE,
                               rltop.Heartbeat.TYPE_CODE},
}


def run(coro, limit: float = LIMIT):
    """Runs a test's coroutine on a fresh loop, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, limit))


def _fail_binary(why: str):
    pytest.fail(f"the gateway binary {BIN} {why}; build it (cargo build -p rltop-cli) or "
                "point RLTOP_BIN at one with the `gateway` subcommand", pytrace=False)


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    """(host, port) of a gateway serving the simulator's feed, killed after the module."""
    if not BIN.is_file():
        _fail_binary("does not exist")
    probe = subprocess.run([str(BIN), "gateway", "--help"], capture_output=True, timeout=20)
    if probe.returncode != 0:
        _fail_binary(f"has no working `gateway` subcommand (exit {probe.returncode}: "
                     f"{probe.stderr.decode(errors='replace').strip()[:300]})")
    d = tmp_path_factory.mktemp("gateway")
    out, err = d / "stdout", d / "stderr"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(
            [str(BIN), "gateway", "--listen", "127.0.0.1:0", "--source", "sim", "--rate", "2000",
             "--token", TOKEN, "--heartbeat-ms", str(HEARTBEAT_MS)],
            stdout=o, stderr=e, stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            first, newline, _ = out.read_text(errors="replace").partition("\n")
            if newline:
                found = re.match(r"rltop gateway: listening on (\S+):(\d+)", first)
                assert found, f"unexpected first line from the gateway: {first!r}"
                break
            if proc.poll() is not None:
                pytest.fail(f"the gateway exited ({proc.returncode}) before listening: "
                            f"{err.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("the gateway printed no `listening on` line within 20 s")
            time.sleep(0.05)
        yield found.group(1), int(found.group(2))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def plan_groups() -> int:
    """Instrument groups of the default plan, as `rltop plan` prints it (the gateway's plan)."""
    text = subprocess.run([str(BIN), "plan"], capture_output=True, check=True, timeout=20).stdout
    return int(re.search(rb"^groups\s*=\s*(\d+)", text, re.M).group(1))


async def connect(gw, **kw) -> GatewayClient:
    host, port = gw
    kw.setdefault("token", TOKEN)
    return await GatewayClient.connect(host, port, name="pytest", **kw)


def session_of(raw: bytes) -> Tuple[int, int]:
    """(session_id, seq_num) read from the bytes, not from the decoder under test."""
    return struct.unpack_from("<QQ", raw, 8)


async def take_live(client: GatewayClient, n: int, by_session: Dict[int, List[bytes]],
                    seen_types: set) -> None:
    """Reads `n` live messages, checking each: verified (decodes, re-encodes to the same
    bytes), on a channel the client subscribed to (its status says so), of a type that
    channel's stream carries, and dense in seq_num per session."""
    for _ in range(n):
        raw, msg = await client.receive(timeout=10)
        assert rltop.decode(raw) == msg and rltop.encode(msg) == raw
        session, seq = session_of(raw)
        assert (msg.header.session_id, msg.header.seq_num) == (session, seq)
        status = client.channels.get(session)
        assert status is not None, f"message of session {session}, which no ChannelStatus named"
        assert status.state == rltop.ChannelState.Subscribed
        assert raw[6] in TYPES_OF[status.stream], f"type {raw[6]:#04x} on {status.stream.name}"
        seen = by_session.setdefault(session, [])
        if seen:
            prev = session_of(seen[-1])[1]
            assert seq == prev + 1, f"session {session}: seq {seq} after {prev}"
        seen.append(raw)
        seen_types.add(raw[6])


# ---- against the gateway ---------------------------------------------------------------

def test_login_lists_channels(gw):
    groups = plan_groups()

    async def go():
        client = await connect(gw)
        async with client:
            assert not client.closed
            return client

    c = run(go())
    assert c.session != 0
    assert c.heartbeat_ms == HEARTBEAT_MS and c.idle_timeout_ms == 3 * HEARTBEAT_MS
    assert c.max_replay_count > 0 and c.replay_rate > 0
    # One status per channel: sessions unique, every (stream, group) once, 5 streams a group.
    assert c.num_channels == len(c.channels) == 5 * groups
    statuses = list(c.channels.values())
    assert {(s.stream, s.instrument_group) for s in statuses} == {
        (stream, g) for stream in rltop.Stream for g in range(groups)}
    # session_id = session_base + 8 g + c (SPEC.md §10), the same base for every channel.
    assert len({s.channel_session - 8 * s.instrument_group - s.stream for s in statuses}) == 1
    for s in statuses:
        assert isinstance(s.stream, rltop.Stream)
        assert s.state == rltop.ChannelState.Unsubscribed
        assert s.first_seq <= s.last_seq
        if s.retained_messages:
            assert 1 <= s.first_seq and s.retained_messages <= s.last_seq - s.first_seq + 1
        else:
            assert s.first_seq == s.last_seq == 0 and s.retained_bytes == 0
        assert s.header.session_id == c.session
    # The gateway numbers its control messages from 1: LoginAccepted, then the statuses.
    assert sorted(s.header.seq_num for s in statuses) == list(range(2, 2 + len(statuses)))


def test_wrong_token_is_rejected(gw):
    with pytest.raises(LoginRejected) as e:
        run(connect(gw, token="not the secret"))
    assert e.value.reason == rltop.LoginRejectReason.BadToken
    assert e.value.detail


def test_live_messages(gw):
    async def go():
        client = await connect(gw)
        async with client:
            await client.subscribe(["trades", "incremental"])
            by_session: Dict[int, List[bytes]] = {}
            types: set = set()
            deadline = time.monotonic() + 15
            while (len(types & {rltop.Trade.TYPE_CODE}) == 0
                   or sum(map(len, by_session.values())) < 300):
                assert time.monotonic() < deadline, f"after 15 s only types {types}"
                await take_live(client, 50, by_session, types)
            assert client.skipped_count == 0 and not client.rejects
            return client, by_session, types

    client, by_session, types = run(go())
    wanted = {s for s, st in client.channels.items() if st.stream in TYPES_OF}
    subscribed = {s for s, st in client.channels.items()
                  if st.state == rltop.ChannelState.Subscribed}
    assert subscribed == wanted and len(wanted) == 2 * (client.num_channels // 5)
    assert set(by_session) <= wanted
    assert types & {rltop.AddOrder.TYPE_CODE} and types & {rltop.Trade.TYPE_CODE}


def test_replay_returns_the_live_bytes(gw):
    async def go():
        client = await connect(gw)
        async with client:
            await client.subscribe("incremental")
            by_session: Dict[int, List[bytes]] = {}
            await take_live(client, 400, by_session, set())
            session, live = max(by_session.items(), key=lambda kv: len(kv[1]))
            assert len(live) >= 200
            base = session_of(live[0])[1]
            # A range in the middle of what came live, and two more pipelined at once.
            one = await client.replay(session, base + 20, 100)
            two, three = await asyncio.gather(client.replay(session, base, 5),
                                              client.replay(session, base + 150, 50))
            # Live delivery goes on, dense: no replayed message went to the live queue.
            await take_live(client, 300, by_session, set())
            return live, base, one, two, three

    live, base, one, two, three = run(go())
    assert one == live[20:120]
    assert two == live[0:5]
    assert three == live[150:200]
    assert [session_of(raw)[1] for raw in one] == list(range(base + 20, base + 120))


def test_replay_out_of_window_and_unknown_channel(gw):
    async def go():
        client = await connect(gw)
        async with client:
            await client.subscribe("trades")
            by_session: Dict[int, List[bytes]] = {}
            await take_live(client, 20, by_session, set())
            session = next(iter(by_session))
            status = client.channels[session]  # the answer to the Subscribe
            highest = session_of(by_session[session][-1])[1]
            with pytest.raises(ReplayRejected) as beyond:
                await client.replay(session, highest + 1000, 10)
            oldest = await client.replay(session, status.first_seq, 1)
            with pytest.raises(ReplayRejected) as unknown:
                await client.replay(0xFFFF_FFFF_FFFF, 1, 1)
            return status, highest, beyond.value, oldest, unknown.value

    status, highest, beyond, oldest, unknown = run(go())
    assert beyond.reason == rltop.ReplayRejectReason.OutOfWindow
    assert (beyond.channel_session, beyond.first_seq, beyond.count) == (
        status.channel_session, highest + 1000, 10)
    # The window held: nothing evicted in a short run, so it starts where the status said,
    # and it reaches at least the newest message seen live.
    assert status.first_seq >= 1
    assert beyond.window_first == status.first_seq
    assert highest <= beyond.window_last < highest + 1000
    assert session_of(oldest[0]) == (status.channel_session, status.first_seq)
    assert unknown.reason == rltop.ReplayRejectReason.UnknownChannel
    assert (unknown.window_first, unknown.window_last) == (0, 0)


def test_replay_bad_count(gw):
    async def go():
        client = await connect(gw)
        async with client:
            session = next(iter(client.channels))
            errors = []
            for count in (0, client.max_replay_count + 1):
                with pytest.raises(ReplayRejected) as e:
                    await client.replay(session, 1, count)
                errors.append(e.value)
            return errors

    for e in run(go()):
        assert e.reason == rltop.ReplayRejectReason.BadCount


def test_heartbeats_keep_a_reading_client_connected(gw):
    async def go():
        client = await connect(gw, heartbeat_ms=HEARTBEAT_MS)
        async with client:
            await asyncio.sleep(1.2)  # twice the idle timeout; only the client's heartbeats
            assert not client.closed, client.error
            # Still answered: a round trip after the wait.
            with pytest.raises(ReplayRejected):
                await client.replay(next(iter(client.channels)), 1, 0)
            return client.heartbeats_sent, client.heartbeats_received, client.closed

    sent, received, closed = run(go())
    assert not closed
    assert sent >= 3 and received >= 3

    # The control: a connection that logs in and then sends nothing is ended at the idle
    # timeout, so the client above stayed because of its heartbeats.
    started = time.monotonic()
    got = run(raw_session(gw, heartbeat_ms=HEARTBEAT_MS))
    waited = time.monotonic() - started
    assert isinstance(got[0], rltop.LoginAccepted)
    assert isinstance(got[-1], rltop.EndOfSession), got[-1]
    assert got[-1].reason == rltop.EndReason.IdleTimeout
    assert 2.5 * HEARTBEAT_MS / 1000 <= waited < 5


def test_heartbeat_interval_asked_for(gw):
    async def go():
        client = await connect(gw, heartbeat_ms=100)
        async with client:
            return client.heartbeat_ms, client.idle_timeout_ms

    assert run(go()) == (100, 300)


def test_logout(gw):
    async def go():
        client = await connect(gw)
        await client.subscribe("incremental")
        await client.receive(timeout=10)
        await client.logout()
        assert client.closed and client.error is None
        assert client.end is not None and client.end.reason == rltop.EndReason.Logout
        drained = [item async for item in client.messages()]  # ends, without an error
        with pytest.raises(GatewayError):
            await client.replay(next(iter(client.channels)), 1, 1)
        await client.logout()  # again: nothing more to do
        return drained

    for raw, msg in run(go()):
        assert rltop.decode(raw) == msg


def test_stream_names():
    assert stream_set(["trades", "incremental"]) == rltop.StreamSet.Trades | rltop.StreamSet.Incremental
    assert stream_set("full_book") == stream_set(rltop.Stream.FullBook) == rltop.StreamSet.FullBook
    assert stream_set(rltop.StreamSet(31)) == rltop.StreamSet(31)
    for bad in ([], "book", rltop.StreamSet(0), 0x20):
        with pytest.raises(ValueError):
            stream_set(bad)


async def raw_session(gw, heartbeat_ms: int) -> list:
    """Logs in with the codecs alone, sends nothing more, returns what comes until the
    gateway closes."""
    host, port = gw
    reader, writer = await asyncio.open_connection(host, port)
    login = rltop.Login(heartbeat_ms=heartbeat_ms, client_name="silent", token=TOKEN)
    login.header.seq_num = 1
    writer.write(rltop.encode(login))
    got, buf = [], b""
    try:
        while True:
            data = await asyncio.wait_for(reader.read(1 << 16), 5)
            if not data:
                return got
            buf += data
            while len(buf) >= 40 and len(buf) >= struct.unpack_from("<H", buf, 4)[0]:
                n = struct.unpack_from("<H", buf, 4)[0]
                got.append(rltop.decode(buf[:n]))
                buf = buf[n:]
    finally:
        writer.close()


# ---- the client's own rules, against a scripted gateway ---------------------------------

GW_SESSION = 77
TRADES = 4


def trade(seq: int) -> bytes:
    t = rltop.Trade(trade_id=seq, symbol_id=1, price=100 + seq, quantity=1)
    t.header.session_id, t.header.seq_num = TRADES, seq
    return rltop.encode(t)


class Scripted:
    """A fake gateway: the test writes its bytes and reads what the client sends."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer, self.seq = reader, writer, 0

    def control(self, msg) -> bytes:
        self.seq += 1
        msg.header.session_id, msg.header.seq_num = GW_SESSION, self.seq
        return rltop.encode(msg)

    async def next_from_client(self):
        while True:
            head = await self.reader.readexactly(40)
            msg = rltop.decode(head + await self.reader.readexactly(
                struct.unpack_from("<H", head, 4)[0] - 40))
            if not isinstance(msg, rltop.SessionHeartbeat):
                return msg


def test_replay_routing_and_framing_against_a_scripted_gateway():
    async def go():
        connected: asyncio.Queue = asyncio.Queue()
        server = await asyncio.start_server(
            lambda r, w: connected.put_nowait(Scripted(r, w)), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            connecting = asyncio.ensure_future(
                GatewayClient.connect("127.0.0.1", port, token="t", name="scripted",
                                      heartbeat_ms=60000))
            gw = await connected.get()
            login = await gw.next_from_client()
            assert isinstance(login, rltop.Login) and (login.token, login.client_name) == ("t", "scripted")
            assert (login.header.session_id, login.header.seq_num) == (0, 1)
            gw.writer.write(gw.control(rltop.LoginAccepted(
                heartbeat_ms=60000, idle_timeout_ms=180000, num_channels=1,
                max_replay_count=100, replay_rate=1000)))
            gw.writer.write(gw.control(rltop.ChannelStatus(
                channel_session=TRADES, stream=rltop.Stream.Trades,
                state=rltop.ChannelState.Subscribed)))
            gw.writer.write(trade(10) + trade(11))
            client = await connecting
            assert client.session == GW_SESSION and set(client.channels) == {TRADES}

            # Replayed messages interleaved with live ones: told apart by seq_num.
            first = asyncio.ensure_future(client.replay(TRADES, 5, 3))
            req = await gw.next_from_client()
            assert isinstance(req, rltop.ReplayRequest)
            assert (req.header.session_id, req.header.seq_num) == (GW_SESSION, 2)
            assert (req.channel_session, req.first_seq, req.count) == (TRADES, 5, 3)
            done = rltop.ReplayComplete(request_id=req.request_id, count=3,
                                        channel_session=TRADES, first_seq=5)
            gw.writer.write(trade(12) + trade(5) + trade(13) + trade(6) + trade(7)
                            + gw.control(done) + trade(14))
            assert await first == [trade(5), trade(6), trade(7)]

            # A live copy still in flight is taken by the request; the replayed copy, the
            # same bytes, goes live in its place: each side gets each message once.
            second = asyncio.ensure_future(client.replay(TRADES, 15, 2))
            req = await gw.next_from_client()
            done = rltop.ReplayComplete(request_id=req.request_id, count=2,
                                        channel_session=TRADES, first_seq=15)
            gw.writer.write(trade(15) + trade(15) + trade(16) + trade(16) + gw.control(done))
            assert await second == [trade(15), trade(16)]

            # A rejected request gives the live messages it took back to the live queue.
            third = asyncio.ensure_future(client.replay(TRADES, 17, 2))
            req = await gw.next_from_client()
            rejected = rltop.ReplayRejected(
                request_id=req.request_id, count=2, channel_session=TRADES, first_seq=17,
                reason=rltop.ReplayRejectReason.OutOfWindow, window_first=1, window_last=17,
                detail="outside the retained window")
            gw.writer.write(trade(17) + gw.control(rejected))
            with pytest.raises(ReplayRejected) as e:
                await third
            assert (e.value.reason, e.value.window_first, e.value.window_last) == (
                rltop.ReplayRejectReason.OutOfWindow, 1, 17)

            # A framing error (bad magic) ends the client: what came before is still handed
            # on, then the error is raised.
            gw.writer.write(b"\x00" * 40)
            live = []
            with pytest.raises(GatewayError, match="BadMagic"):
                async for raw, _msg in client.messages():
                    live.append(session_of(raw)[1])
            assert client.closed
            await client.close()
            gw.writer.close()
            return live

    assert run(go(), 15) == [10, 11, 12, 13, 14, 15, 16, 17]


def test_end_of_session_fails_pending_replays():
    async def go():
        connected: asyncio.Queue = asyncio.Queue()
        server = await asyncio.start_server(
            lambda r, w: connected.put_nowait(Scripted(r, w)), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            connecting = asyncio.ensure_future(GatewayClient.connect("127.0.0.1", port))
            gw = await connected.get()
            await gw.next_from_client()
            gw.writer.write(gw.control(rltop.LoginAccepted(
                heartbeat_ms=60000, idle_timeout_ms=180000, num_channels=0)))
            client = await connecting
            pending = asyncio.ensure_future(client.replay(TRADES, 1, 1))
            await gw.next_from_client()
            gw.writer.write(gw.control(rltop.EndOfSession(
                reason=rltop.EndReason.Shutdown, detail="stopping")))
            with pytest.raises(SessionEnded) as e:
                await pending
            assert e.value.reason == rltop.EndReason.Shutdown
            with pytest.raises(SessionEnded):
                await client.receive(timeout=5)
            assert client.end.reason == rltop.EndReason.Shutdown
            await client.close()
            gw.writer.close()

    run(go(), 15)
