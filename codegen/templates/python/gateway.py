"""An asyncio client for an RLTOP gateway: the TCP sessions of SPEC.md §11 ("Gateway
sessions (TCP)") — login, live delivery of subscribed channels, replay of retained messages
as their original bytes, heartbeats and the end of a session.

    client = await rltop.gateway.GatewayClient.connect("127.0.0.1", 9400, token="secret")
    async with client:
        await client.subscribe(["trades", "incremental"])
        lost = await client.replay(session=4, first_seq=100, count=50)   # original bytes
        async for raw, msg in client.messages():                         # live data
            print(msg.header.session_id, msg.header.seq_num, type(msg).__name__)

Every message the gateway sends is framed (magic, then ``length``) and verified by the
generated decoder (SPEC.md §4: version, type, checksum, field values) before it is used; a
framing error ends the connection, a message failing checks 5-8 is skipped and kept in
``skipped``. Market data (types 0x70-0x8F) is handed on as received, bytes and decoded
message; the client does not sequence it — SPEC.md §7's rules are the consumer's, as for
multicast. Only the standard library is used.

Waits on the network are bounded: ``connect``, ``replay`` and ``logout`` take a timeout
(``asyncio.TimeoutError`` when it passes), writes give up after ``send_timeout``, and a
connection that has received nothing for the gateway's ``idle_timeout_ms`` is closed with a
:class:`GatewayError`, which also ends :meth:`GatewayClient.messages`.
"""

from __future__ import annotations

import asyncio
import collections
import re
import struct
import time
from typing import (
    AsyncIterator, Deque, Dict, Iterable, List, Optional, Set, Tuple, Type, Union,
)

from . import messages as m
from ._runtime import DecodeError

__all__ = [
    "GatewayClient", "GatewayError", "LoginRejected", "SessionEnded", "ReplayRejected",
    "STREAM_NAMES", "stream_set",
]

#: A market-data message as the client hands it on: its bytes, as published, and decoded.
Delivery = Tuple[bytes, "m.Message"]

#: What ``subscribe`` takes: a StreamSet, a Stream, a stream name, or an iterable of them.
Streams = Union[m.StreamSet, m.Stream, str, Iterable[Union[str, m.Stream, m.StreamSet]]]

#: Type codes of market data (channels Snapshot to Statistics, SPEC.md §6).
DATA_TYPES = range(0x70, 0x90)

_SIZES: Dict[int, int] = {cls.TYPE_CODE: cls.SIZE for cls in m.MESSAGE_TYPES}
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_READ_SIZE = 1 << 16
_SKIPPED_KEPT = 100


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


#: Stream names of the channel plan (SPEC.md §10: ``full_book``, ``top_of_book``,
#: ``incremental``, ``trades``, ``statistics``) and their StreamSet bits.
STREAM_NAMES: Dict[str, m.StreamSet] = {
    _snake(name): bit for name, bit in m.StreamSet.__members__.items()
}
_NAMED_BITS = 0
for _bit in STREAM_NAMES.values():
    _NAMED_BITS |= int(_bit)


def stream_set(streams: Streams) -> m.StreamSet:
    """The StreamSet of `streams`: a StreamSet, a Stream, a stream name (``"trades"`` or
    ``"Trades"``), or an iterable of these. ValueError for an empty set, an unknown name or a
    bit without a name (which the gateway would refuse)."""

    def one(s: Union[str, m.Stream, m.StreamSet]) -> int:
        if isinstance(s, m.Stream):  # before int: a Stream is an int, but not a bit mask
            return int(m.StreamSet[s.name])
        if isinstance(s, str):
            bit = STREAM_NAMES.get(s)
            if bit is None and s in m.StreamSet.__members__:
                bit = m.StreamSet[s]
            if bit is None:
                raise ValueError(f"no stream named {s!r} (streams: {', '.join(STREAM_NAMES)})")
            return int(bit)
        if isinstance(s, int) and not isinstance(s, bool):
            return int(s)
        raise ValueError(f"not a stream: {s!r}")

    if isinstance(streams, (str, int)):
        bits = one(streams)
    else:
        bits = 0
        for s in streams:
            bits |= one(s)
    if bits == 0:
        raise ValueError("no stream named")
    if bits & ~_NAMED_BITS:
        raise ValueError(f"stream bits {bits & ~_NAMED_BITS:#04x} name no stream")
    return m.StreamSet(bits)


# ---- Errors --------------------------------------------------------------------------------

class GatewayError(Exception):
    """The connection failed, could not be followed (a framing error), or is closed."""


class LoginRejected(GatewayError):
    """The gateway refused the login (``LoginRejected``); it has closed the connection."""

    def __init__(self, reason: Union[m.LoginRejectReason, int], detail: str):
        super().__init__(f"login rejected ({_name(reason)}): {detail}")
        self.reason = reason
        self.detail = detail


class SessionEnded(GatewayError):
    """The gateway ended the session (``EndOfSession``) and closed the connection."""

    def __init__(self, reason: Union[m.EndReason, int], detail: str):
        super().__init__(f"session ended ({_name(reason)}): {detail}")
        self.reason = reason
        self.detail = detail


class ReplayRejected(GatewayError):
    """The gateway refused a replay request (``ReplayRejected``): none of it was sent.
    ``window_first..=window_last`` is what it holds of the channel (zeros: nothing)."""

    def __init__(self, reason: Union[m.ReplayRejectReason, int], window_first: int,
                 window_last: int, detail: str, *, channel_session: int = 0,
                 first_seq: int = 0, count: int = 0):
        super().__init__(
            f"replay of session {channel_session} {first_seq}+{count} rejected "
            f"({_name(reason)}; window {window_first}..={window_last}): {detail}"
        )
        self.reason = reason
        self.window_first = window_first
        self.window_last = window_last
        self.detail = detail
        self.channel_session = channel_session
        self.first_seq = first_seq
        self.count = count


def _name(value: object) -> str:
    return getattr(value, "name", None) or str(value)


# ---- Framing -------------------------------------------------------------------------------

class _Framer:
    """Cuts the byte stream from the gateway into whole messages (SPEC.md §11, "Framing"):
    magic and a length the type allows are all framing needs; a fault is a GatewayError,
    as the next message's start is then unknown."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._off = 0       # start of the next message in _buf
        self._stream = 0    # stream offset of _buf[0]

    def feed(self, data: bytes) -> None:
        if self._off:
            del self._buf[:self._off]
            self._stream += self._off
            self._off = 0
        self._buf += data

    def next(self) -> Optional[bytes]:
        buf, off = self._buf, self._off
        have = len(buf) - off
        if have >= 4:
            magic = _U32.unpack_from(buf, off + m.MAGIC_OFFSET)[0]
            if magic != m.MAGIC:
                raise self._error(m.MAGIC_OFFSET, f"BadMagic {magic:#010x}, expected {m.MAGIC:#010x}")
        if have < m.HEADER_SIZE:
            return None
        length = _U16.unpack_from(buf, off + m.LENGTH_OFFSET)[0]
        msg_type = buf[off + m.TYPE_OFFSET]
        size = _SIZES.get(msg_type)
        if length < m.HEADER_SIZE or (size is not None and length != size):
            expected = size if size is not None else f"at least {m.HEADER_SIZE}"
            raise self._error(m.LENGTH_OFFSET,
                              f"BadLength {length} for type {msg_type:#04x}, expected {expected}")
        if have < length:
            return None
        self._off = off + length
        return bytes(buf[off:off + length])

    def _error(self, field: int, detail: str) -> GatewayError:
        return GatewayError(f"framing error at stream byte {self._stream + self._off + field}: "
                            f"{detail}; the stream cannot be followed")


# ---- The client ----------------------------------------------------------------------------

class _Replay:
    """A replay request waiting for its answer. ``got`` holds its messages as they come."""

    __slots__ = ("request_id", "session", "first_seq", "count", "next_seq", "got", "future")

    def __init__(self, request_id: int, session: int, first_seq: int, count: int,
                 future: "asyncio.Future[List[bytes]]"):
        self.request_id = request_id
        self.session = session
        self.first_seq = first_seq
        self.count = count
        self.next_seq = first_seq
        self.got: List[Delivery] = []
        self.future = future

    def wants(self, session: int, seq: int) -> bool:
        return (session == self.session and seq == self.next_seq
                and seq < self.first_seq + self.count)


_END = object()  # wakes a consumer waiting on the live queue once the client is closed


class GatewayClient:
    """One logged-in connection to a gateway. Make one with :meth:`connect`.

    Attributes from ``LoginAccepted``: ``session`` (the connection's gateway session),
    ``num_channels``, ``heartbeat_ms``, ``idle_timeout_ms``, ``max_replay_count``,
    ``replay_rate``.
    ``channels`` maps each channel's ``session_id`` to its latest ``ChannelStatus`` (the
    ones after the login, then the answers to subscriptions). ``rejects`` lists the
    ``Reject`` messages received (``rejected_seq`` is the seq_num :meth:`subscribe` and the
    others gave the refused message). ``skipped`` keeps the last messages that failed
    verification, as ``(bytes, error)``; ``skipped_count`` counts all of them.

    Once closed: ``end`` is the gateway's ``EndOfSession`` if it sent one, and ``error``
    why the connection ended, or None for a clean end (a logout, or :meth:`close`).

    **Replay and live data.** A replay's messages come in order, before its
    ``ReplayComplete``, and may interleave with live data of the same channel; the two are
    told apart only by ``seq_num`` (SPEC.md §11). The rule here: while requests are pending,
    a market-data message belongs to the oldest pending request of its session that
    expects exactly its ``seq_num`` next (``first_seq``, then ``first_seq + 1``, ... up to
    ``first_seq + count - 1``); every other message goes to the live queue. So a request
    gets each of its messages once and the live queue never sees a replayed copy of a
    message it was already given. Ask for messages already received or missed: a live
    copy still in flight when the request is made may be taken by the request instead of
    the (byte-identical) replayed copy, which then goes to the live queue in its place,
    later than live order. The live copies a rejected request took go to the live queue
    when the rejection arrives.

    **Back-pressure.** At most ``max_queued`` live messages wait for :meth:`messages`;
    then the client stops reading, and control answers (replays included) wait behind the
    data; the gateway ends a connection whose queue passes its bound (``SlowConsumer``).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 max_queued: int = 65536, send_timeout: float = 10.0):
        """Use :meth:`connect`."""
        self._reader = reader
        self._writer = writer
        self._loop = asyncio.get_running_loop()
        self._framer = _Framer()
        self._send_timeout = send_timeout
        self._drain_lock = asyncio.Lock()
        self._queue: "asyncio.Queue[object]" = asyncio.Queue(maxsize=max_queued)
        self._replays: Deque[_Replay] = collections.deque()
        self._next_request_id = 1
        self._tx_seq = 0
        self._last_tx = self._loop.time()
        self._statuses_left = 0
        self._tasks: List["asyncio.Task[None]"] = []
        self._done: "asyncio.Future[None]" = self._loop.create_future()
        self._closed = False

        self.session = 0
        self.num_channels = 0
        self.heartbeat_ms = 0
        self.idle_timeout_ms = 0
        self.max_replay_count = 0
        self.replay_rate = 0
        self.channels: Dict[int, m.ChannelStatus] = {}
        self.rejects: List[m.Reject] = []
        self.skipped: Deque[Tuple[bytes, Exception]] = collections.deque(maxlen=_SKIPPED_KEPT)
        self.skipped_count = 0
        self.heartbeats_sent = 0
        self.heartbeats_received = 0
        self.end: Optional[m.EndOfSession] = None
        self.error: Optional[BaseException] = None

    # -- connecting ------------------------------------------------------------------------

    @classmethod
    async def connect(cls, host: str, port: int, token: str = "", name: str = "python",
                      heartbeat_ms: int = 0, *, timeout: float = 10.0,
                      max_queued: int = 65536, send_timeout: float = 10.0) -> "GatewayClient":
        """Connects and logs in: sends ``Login`` (header session 0, seq_num 1), waits for
        ``LoginAccepted`` and the ``num_channels`` ``ChannelStatus`` messages after it
        (into ``channels``), then starts reading and heartbeating in the background.

        `name` is cut to the 16 characters Login has room for; `heartbeat_ms` 0 takes the
        gateway's interval. Raises :class:`LoginRejected` (``BadToken``, ``ServerFull``),
        :class:`SessionEnded` (e.g. ``LoginTimeout``), :class:`GatewayError`, OSError
        (cannot connect), or asyncio.TimeoutError when all this takes over `timeout` s.
        """
        login = m.Login(heartbeat_ms=heartbeat_ms, client_name=name[:16], token=token)
        m.encode(login)  # EncodeError for a token or name that cannot be sent, before connecting
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        client = cls(reader, writer, max_queued=max_queued, send_timeout=send_timeout)
        try:
            await asyncio.wait_for(client._login(login), timeout)
        except BaseException as e:
            client._finish(e if isinstance(e, GatewayError) else GatewayError(f"login failed: {e!r}"))
            await client.close()
            raise
        return client

    async def _login(self, login: m.Login) -> None:
        await self._write(self._seal(login))
        while True:
            raw = await self._read_message(None)
            msg = self._verify(raw)
            if isinstance(msg, m.LoginAccepted):
                break
            if isinstance(msg, m.LoginRejected):
                raise LoginRejected(msg.reason, msg.detail)
            if isinstance(msg, m.EndOfSession):
                self.end = msg
                raise SessionEnded(msg.reason, msg.detail)
            if isinstance(msg, m.Reject):
                self.rejects.append(msg)
            elif msg is not None and not isinstance(msg, m.SessionHeartbeat):
                raise GatewayError(f"{type(msg).__name__} from the gateway before LoginAccepted")
        self.session = msg.header.session_id
        self.num_channels = msg.num_channels
        self.heartbeat_ms = msg.heartbeat_ms
        self.idle_timeout_ms = msg.idle_timeout_ms
        self.max_replay_count = msg.max_replay_count
        self.replay_rate = msg.replay_rate
        self._statuses_left = msg.num_channels
        while self._statuses_left > 0:
            raw = await self._read_message(self._idle_s)
            msg = self._verify(raw)
            if msg is not None and not await self._handle(raw, msg):
                raise self.error or GatewayError("the connection ended during the login")
        self._tasks.append(self._loop.create_task(self._read_loop()))
        if self.heartbeat_ms > 0:
            self._tasks.append(self._loop.create_task(self._heartbeat_loop()))

    # -- the public API --------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the connection has ended (the live queue may still hold messages)."""
        return self._closed

    async def subscribe(self, streams: Streams, instruments: Iterable[int] = ()) -> List[int]:
        """Asks for the channels of `streams` (see :func:`stream_set`) for the instrument
        groups of `instruments` (every group when empty) live. Returns once the request is
        written, with the seq_num of each Subscribe sent (more than 20 instruments take
        several): the gateway answers with a ``ChannelStatus`` per channel whose state
        changed, which updates ``channels`` before any live data of that channel is handed
        on, or with a ``Reject`` (``rejects``). ValueError for what the gateway would refuse
        (no stream, an unnamed bit, instrument id 0)."""
        return await self._subscription(m.Subscribe, streams, instruments)

    async def unsubscribe(self, streams: Streams, instruments: Iterable[int] = ()) -> List[int]:
        """Stops live delivery of the channels :meth:`subscribe` would name; the same rules.
        Messages already on the way still arrive."""
        return await self._subscription(m.Unsubscribe, streams, instruments)

    async def replay(self, session: int, first_seq: int, count: int, *,
                     timeout: float = 30.0) -> List[bytes]:
        """Messages ``first_seq .. first_seq + count`` of channel `session`, as their
        original bytes, once ``ReplayComplete`` has arrived. Raises :class:`ReplayRejected`
        (``OutOfWindow``, ``UnknownChannel``, ``BadCount``, ``RateLimited``) if the gateway
        refused, :class:`SessionEnded` / :class:`GatewayError` if the connection ended first,
        asyncio.TimeoutError after `timeout` s (the answer, when it comes, is dropped).
        Requests may be pipelined (several ``replay`` calls at once); the class docstring
        says which messages belong to a request."""
        self._check_open()
        request_id = self._next_request_id
        self._next_request_id = request_id % 0xFFFFFFFF + 1
        request = m.ReplayRequest(request_id=request_id, count=count,
                                  channel_session=session, first_seq=first_seq)
        data = self._seal(request)  # EncodeError for values out of range: nothing is pending
        pending = _Replay(request_id, session, first_seq, count, self._loop.create_future())
        self._replays.append(pending)
        await self._write(data)
        return await asyncio.wait_for(pending.future, timeout)

    async def receive(self, timeout: Optional[float] = None) -> Delivery:
        """The next live market-data message, ``(bytes, decoded)``. Once the client is
        closed and the queue is empty: raises ``error`` (how the connection ended), or
        :class:`GatewayError` after a clean end. asyncio.TimeoutError after `timeout` s."""
        item = await asyncio.wait_for(self._next_item(), timeout)
        if item is None:
            raise self.error or GatewayError("the client is closed")
        return item

    async def messages(self) -> AsyncIterator[Delivery]:
        """Live market data, ``(bytes, decoded)``, in arrival order. Ends after a clean end
        (a logout or :meth:`close`) once what was received is consumed; raises ``error``
        (e.g. :class:`SessionEnded`) after any other end. A silent gateway ends it within
        ``idle_timeout_ms``."""
        while True:
            item = await self._next_item()
            if item is None:
                break
            yield item
        if self.error is not None:
            raise self.error

    async def logout(self, timeout: float = 5.0) -> None:
        """Sends ``Logout`` and waits for ``EndOfSession`` (``Logout``); the connection is
        then closed. Pending replays get :class:`SessionEnded`. Raises :class:`SessionEnded`
        if the session ended for another reason, asyncio.TimeoutError (the client is then
        closed) if no answer comes within `timeout` s."""
        if not self._closed:
            await self._write(self._seal(m.Logout()))
            try:
                await asyncio.wait_for(asyncio.shield(self._done), timeout)
            except asyncio.TimeoutError:
                self._finish(GatewayError(f"no EndOfSession within {timeout} s of Logout"))
                await self.close()
                raise
        await self.close()
        if self.error is not None:
            raise self.error

    async def close(self, timeout: float = 5.0) -> None:
        """Closes the connection (without ``Logout``; see :meth:`logout`) and stops the
        background tasks. Pending replays get :class:`GatewayError`. Idempotent."""
        self._finish(None)
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        try:
            await asyncio.wait_for(self._writer.wait_closed(), timeout)
        except (OSError, asyncio.TimeoutError):
            pass

    async def __aenter__(self) -> "GatewayClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- sending ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise GatewayError("the client is closed") from self.error

    def _seal(self, msg: "m.Message") -> bytes:
        """The bytes of a control message of this connection: header session = the gateway
        session (0 before the login), seq_num = the next of this side's control messages."""
        self._check_open()
        msg.header.session_id = self.session
        msg.header.seq_num = self._tx_seq + 1
        msg.header.timestamp = time.time_ns()
        data = m.encode(msg)
        self._tx_seq += 1
        return data

    async def _write(self, data: bytes) -> None:
        self._check_open()
        self._writer.write(data)
        self._last_tx = self._loop.time()
        try:
            async with self._drain_lock:
                await asyncio.wait_for(self._writer.drain(), self._send_timeout)
        except asyncio.TimeoutError:
            error = GatewayError(f"the gateway took nothing for {self._send_timeout} s")
            self._finish(error)
            raise error from None
        except OSError as e:
            error = GatewayError(f"cannot send: {e}")
            self._finish(error)
            raise error from e

    async def _subscription(self, cls: Union[Type[m.Subscribe], Type[m.Unsubscribe]],
                            streams: Streams, instruments: Iterable[int]) -> List[int]:
        bits = stream_set(streams)
        ids = list(instruments)
        for s in ids:
            if not isinstance(s, int) or isinstance(s, bool) or not 0 < s <= 0xFFFFFFFF:
                raise ValueError(f"instrument id {s!r} names no instrument")
        chunks = [ids[k:k + 20] for k in range(0, len(ids), 20)] or [[]]
        seqs = []
        for chunk in chunks:
            data = self._seal(cls(streams=bits, instruments=chunk))
            seqs.append(self._tx_seq)
            await self._write(data)
        return seqs

    async def _heartbeat_loop(self) -> None:
        """Sends SessionHeartbeat when the client has sent nothing for heartbeat_ms."""
        interval = self.heartbeat_ms / 1000
        try:
            while not self._closed:
                wait = self._last_tx + interval - self._loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                await self._write(self._seal(m.SessionHeartbeat()))
                self.heartbeats_sent += 1
        except GatewayError:
            pass  # _write has closed the client with the reason

    # -- receiving -------------------------------------------------------------------------

    @property
    def _idle_s(self) -> Optional[float]:
        return self.idle_timeout_ms / 1000 if self.idle_timeout_ms > 0 else None

    async def _read_message(self, idle: Optional[float]) -> bytes:
        """The next whole message; GatewayError on a framing error, the end of the stream,
        or nothing received for `idle` s."""
        while True:
            raw = self._framer.next()
            if raw is not None:
                return raw
            try:
                data = await asyncio.wait_for(self._reader.read(_READ_SIZE), idle)
            except asyncio.TimeoutError:
                raise GatewayError(f"nothing received for {self.idle_timeout_ms} ms "
                                   "(the idle timeout)") from None
            except OSError as e:
                raise GatewayError(f"connection failed: {e}") from e
            if not data:
                raise GatewayError("the gateway closed the connection without EndOfSession")
            self._framer.feed(data)

    def _verify(self, raw: bytes) -> Optional["m.Message"]:
        """The decoded message, or None when it fails SPEC.md §4's checks 5-8 (skipped)."""
        try:
            return m.decode(raw)
        except DecodeError as e:
            self.skipped.append((raw, e))
            self.skipped_count += 1
            return None

    async def _read_loop(self) -> None:
        try:
            while True:
                raw = await self._read_message(self._idle_s)
                msg = self._verify(raw)
                if msg is not None and not await self._handle(raw, msg):
                    return
        except Exception as e:  # GatewayError; anything else is recorded as the error too
            self._finish(e)

    async def _handle(self, raw: bytes, msg: "m.Message") -> bool:
        """Routes one verified message; False once the connection has ended."""
        msg_type = raw[m.TYPE_OFFSET]
        if msg_type in DATA_TYPES:
            session, seq = msg.header.session_id, msg.header.seq_num
            for request in self._replays:
                if request.wants(session, seq):
                    request.got.append((raw, msg))
                    request.next_seq += 1
                    return True
            await self._queue.put((raw, msg))
        elif isinstance(msg, m.ChannelStatus):
            self.channels[msg.channel_session] = msg
            if self._statuses_left > 0:
                self._statuses_left -= 1
        elif isinstance(msg, (m.ReplayComplete, m.ReplayRejected)):
            await self._answer(msg)
        elif isinstance(msg, m.SessionHeartbeat):
            self.heartbeats_received += 1
        elif isinstance(msg, m.Reject):
            self.rejects.append(msg)
        elif isinstance(msg, m.EndOfSession):
            self.end = msg
            clean = msg.reason == m.EndReason.Logout
            self._finish(None if clean else SessionEnded(msg.reason, msg.detail),
                         pending=SessionEnded(msg.reason, msg.detail))
            return False
        else:
            error = GatewayError(f"{type(msg).__name__} is not a message a gateway sends "
                                 "to a logged-in client")
            self.skipped.append((raw, error))
            self.skipped_count += 1
        return True

    async def _answer(self, msg: Union[m.ReplayComplete, m.ReplayRejected]) -> None:
        """A replay answer, for the oldest pending request (answers come in request order)."""
        if not self._replays or self._replays[0].request_id != msg.request_id:
            expected = self._replays[0].request_id if self._replays else None
            raise GatewayError(f"{type(msg).__name__} for request {msg.request_id}, "
                               f"the oldest pending is {expected}")
        request = self._replays.popleft()
        if isinstance(msg, m.ReplayComplete):
            if len(request.got) == request.count:
                outcome: Union[List[bytes], BaseException] = [raw for raw, _ in request.got]
            else:
                outcome = GatewayError(
                    f"replay {request.request_id}: ReplayComplete after {len(request.got)} "
                    f"of {request.count} messages")
        else:
            # The gateway sent none of a rejected request: what it took was live.
            for item in request.got:
                await self._queue.put(item)
            outcome = ReplayRejected(msg.reason, msg.window_first, msg.window_last, msg.detail,
                                     channel_session=msg.channel_session,
                                     first_seq=msg.first_seq, count=msg.count)
        if not request.future.done():  # done: cancelled by a timeout
            if isinstance(outcome, BaseException):
                request.future.set_exception(outcome)
            else:
                request.future.set_result(outcome)

    async def _next_item(self) -> Optional[Delivery]:
        while True:
            if self._closed and self._queue.empty():
                return None
            item = await self._queue.get()
            if item is _END:
                self._queue.put_nowait(_END)  # for any other consumer waiting
                return None
            return item  # type: ignore[return-value]

    # -- ending ----------------------------------------------------------------------------

    def _finish(self, error: Optional[BaseException],
                pending: Optional[BaseException] = None) -> None:
        """Ends the connection once: records why (`error`, None for a clean end), fails the
        pending replays (with `pending`, else `error`, else "closed"), stops the background
        tasks and wakes a consumer waiting on the live queue."""
        if self._closed:
            return
        self._closed = True
        self.error = error
        reason = pending or error or GatewayError("the client is closed")
        while self._replays:
            request = self._replays.popleft()
            if not request.future.done():
                request.future.set_exception(reason)
                request.future.exception()  # retrieved: no "never retrieved" warning if abandoned
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self._writer.close()
        if not self._done.done():
            self._done.set_result(None)
        try:
            self._queue.put_nowait(_END)
        except asyncio.QueueFull:
            pass  # a full queue: the consumer is not waiting, and sees `closed` when drained
