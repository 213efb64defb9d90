"""The bridge through Binance's own Python connector (PyPI `binance-connector`), unmodified and
pointed at the bridge by its base URL only:

* REST: every market-data call the bridge serves, with Binance's shapes, and Binance's errors
  raised as the SDK's ClientError;
* WebSocket: live SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY,
  raw (/ws/...) and combined (/stream?streams=...) streams;
* the local order book, kept by Binance's documented procedure (diff depth stream + REST
  snapshot), equals REST /api/v3/depth once the source has ended, and the simulator's own final
  books (RLTOP_ORACLE) in its top 10 levels.

Run: RLTOP_BRIDGE_URL=http://127.0.0.1:PORT [RLTOP_ORACLE=oracle.json] pytest -v this_dir
"""

import json
import os
import queue
import re
import threading
import time
from decimal import Decimal

import pytest
import websocket  # websocket-client, the SDK's own WebSocket library
from binance.error import ClientError
from binance.websocket.spot.websocket_stream import SpotWebsocketStreamClient

from bridgeutil import end_timeout, filter_of, health_of, scaled, wait_for_status

SYMBOL_RE = re.compile(r"^SIM(\d+)USDT$")
INTERVAL_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000,
               "4h": 14_400_000, "1d": 86_400_000}


def is_decimal(s):
    return isinstance(s, str) and re.fullmatch(r"-?\d+(\.\d+)?", s) is not None


def assert_decimal_fields(obj, names, where):
    for n in names:
        assert n in obj, f"{where}: no field {n!r} in {obj}"
        assert is_decimal(obj[n]), f"{where}: {n}={obj[n]!r} is not a decimal string"


def assert_int_fields(obj, names, where):
    for n in names:
        assert n in obj, f"{where}: no field {n!r} in {obj}"
        assert isinstance(obj[n], int) and not isinstance(obj[n], bool), \
            f"{where}: {n}={obj[n]!r} is not an integer"


def symbol_info(exchange_info, symbol):
    return next(s for s in exchange_info["symbols"] if s["symbol"] == symbol)


# ==== REST ====================================================================================


def test_ping(spot):
    assert spot.ping() == {}


def test_time(spot):
    before = int(time.time() * 1000)
    r = spot.time()
    after = int(time.time() * 1000)
    assert set(r) == {"serverTime"}, r
    assert isinstance(r["serverTime"], int)
    # Binance: "the current server time". A bridge on this machine: within a second of ours.
    assert before - 1000 <= r["serverTime"] <= after + 1000, (before, r, after)


def test_exchange_info(spot, exchange_info, symbols):
    info = exchange_info
    for key in ("timezone", "serverTime", "rateLimits", "exchangeFilters", "symbols"):
        assert key in info, f"exchangeInfo has no {key!r}: {sorted(info)}"
    assert info["timezone"] == "UTC"
    assert isinstance(info["serverTime"], int)
    assert isinstance(info["rateLimits"], list)
    assert isinstance(info["exchangeFilters"], list)
    assert len(set(symbols)) == len(symbols), f"duplicate symbols: {symbols}"
    for s in info["symbols"]:
        where = f"exchangeInfo {s.get('symbol')}"
        assert SYMBOL_RE.match(s["symbol"]), f"{where}: not a SIM<n>USDT symbol"
        assert s["status"] in ("TRADING", "HALT", "BREAK", "PRE_TRADING", "END_OF_DAY"), where
        assert s["symbol"] == s["baseAsset"] + s["quoteAsset"], where
        assert_int_fields(s, ["baseAssetPrecision", "quoteAssetPrecision"], where)
        assert isinstance(s.get("orderTypes"), list), where
        assert isinstance(s.get("permissions", []), list), where
        price = filter_of(s, "PRICE_FILTER")
        assert_decimal_fields(price, ["minPrice", "maxPrice", "tickSize"], where + " PRICE_FILTER")
        lot = filter_of(s, "LOT_SIZE")
        assert_decimal_fields(lot, ["minQty", "maxQty", "stepSize"], where + " LOT_SIZE")
        assert Decimal(price["tickSize"]) > 0 and Decimal(lot["stepSize"]) > 0, where
        assert Decimal(lot["minQty"]) <= Decimal(lot["maxQty"]), where

    # Filtering by one symbol, and by a JSON array of symbols (as the SDK sends it).
    one = spot.exchange_info(symbol=symbols[0])
    assert [s["symbol"] for s in one["symbols"]] == [symbols[0]]
    some = spot.exchange_info(symbols=symbols[:2])
    assert sorted(s["symbol"] for s in some["symbols"]) == sorted(symbols[:2])


def check_depth(d, info, where):
    assert set(d) >= {"lastUpdateId", "bids", "asks"}, f"{where}: {sorted(d)}"
    assert isinstance(d["lastUpdateId"], int), where
    tick = Decimal(filter_of(info, "PRICE_FILTER")["tickSize"])
    step = Decimal(filter_of(info, "LOT_SIZE")["stepSize"])
    for side in ("bids", "asks"):
        for level in d[side]:
            assert isinstance(level, list) and len(level) == 2, f"{where} {side}: {level}"
            p, q = level
            assert is_decimal(p) and is_decimal(q), f"{where} {side}: {level}"
            assert Decimal(q) > 0, f"{where} {side}: a level with no quantity: {level}"
            assert Decimal(p) % tick == 0, f"{where} {side}: price {p} off the tick {tick}"
            assert Decimal(q) % step == 0, f"{where} {side}: qty {q} off the step {step}"
    bids = [Decimal(p) for p, _ in d["bids"]]
    asks = [Decimal(p) for p, _ in d["asks"]]
    assert bids == sorted(bids, reverse=True) and len(set(bids)) == len(bids), \
        f"{where}: bids not strictly descending"
    assert asks == sorted(asks) and len(set(asks)) == len(asks), \
        f"{where}: asks not strictly ascending"
    if bids and asks:
        assert bids[0] < asks[0], f"{where}: crossed book {bids[0]} >= {asks[0]}"


def test_depth(spot, exchange_info, symbols):
    for sym in symbols:
        info = symbol_info(exchange_info, sym)
        full = spot.depth(sym, limit=5000)
        check_depth(full, info, f"depth {sym} limit=5000")
        five = spot.depth(sym, limit=5)
        check_depth(five, info, f"depth {sym} limit=5")
        assert len(five["bids"]) <= 5 and len(five["asks"]) <= 5
        if five["lastUpdateId"] == full["lastUpdateId"]:
            assert five["bids"] == full["bids"][:5] and five["asks"] == full["asks"][:5]
        # Binance: "If limit > 5000, then the response will truncate to 5000."
        over = spot.depth(sym, limit=6000)
        check_depth(over, info, f"depth {sym} limit=6000")
        assert len(over["bids"]) <= 5000 and len(over["asks"]) <= 5000
        default = spot.depth(sym)  # Binance's default limit: 100
        check_depth(default, info, f"depth {sym}")
        assert len(default["bids"]) <= 100 and len(default["asks"]) <= 100


def test_trades(spot, exchange_info, symbols):
    # A session opens with resting orders only: wait (bounded) for the first trades.
    deadline = time.monotonic() + 30
    while not any(spot.trades(sym, limit=1) for sym in symbols) and time.monotonic() < deadline:
        time.sleep(0.2)
    seen = 0
    for sym in symbols:
        trades = spot.trades(sym)
        assert isinstance(trades, list) and len(trades) <= 500, f"trades {sym}: {len(trades)}"
        for t in trades:
            where = f"trades {sym} {t.get('id')}"
            assert set(t) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker",
                              "isBestMatch"}, f"{where}: {sorted(t)}"
            assert_int_fields(t, ["id", "time"], where)
            assert_decimal_fields(t, ["price", "qty", "quoteQty"], where)
            assert isinstance(t["isBuyerMaker"], bool) and isinstance(t["isBestMatch"], bool)
            assert Decimal(t["quoteQty"]) == Decimal(t["price"]) * Decimal(t["qty"]), \
                f"{where}: quoteQty {t['quoteQty']} != price*qty"
        ids = [t["id"] for t in trades]
        assert ids == sorted(ids) and len(set(ids)) == len(ids), \
            f"trades {sym}: ids not ascending (Binance lists oldest first)"
        times = [t["time"] for t in trades]
        assert times == sorted(times), f"trades {sym}: times not ascending"
        few = spot.trades(sym, limit=3)
        assert len(few) <= 3
        seen += len(trades)
    assert seen > 0, "no symbol has any trade: is the source running?"


TICKER_DECIMALS = ["priceChange", "priceChangePercent", "weightedAvgPrice", "prevClosePrice",
                   "lastPrice", "lastQty", "bidPrice", "bidQty", "askPrice", "askQty",
                   "openPrice", "highPrice", "lowPrice", "volume", "quoteVolume"]
TICKER_INTS = ["openTime", "closeTime", "firstId", "lastId", "count"]


def check_ticker(t, where):
    assert isinstance(t.get("symbol"), str), where
    assert_decimal_fields(t, TICKER_DECIMALS, where)
    assert_int_fields(t, TICKER_INTS, where)
    assert t["openTime"] <= t["closeTime"], where
    if t["count"] > 0:
        lo, hi = Decimal(t["lowPrice"]), Decimal(t["highPrice"])
        assert lo <= Decimal(t["lastPrice"]) <= hi, f"{where}: last outside [low, high]"
        assert lo <= Decimal(t["openPrice"]) <= hi, f"{where}: open outside [low, high]"
        assert t["firstId"] <= t["lastId"], where
        assert Decimal(t["priceChange"]) == Decimal(t["lastPrice"]) - Decimal(t["openPrice"]), \
            f"{where}: priceChange != lastPrice - openPrice"


def test_ticker_24hr(spot, symbols):
    for sym in symbols:
        t = spot.ticker_24hr(sym)
        assert isinstance(t, dict) and t.get("symbol") == sym, \
            f"ticker/24hr?symbol={sym} answered {t}"
        check_ticker(t, f"ticker/24hr {sym}")
    everything = spot.ticker_24hr()
    assert isinstance(everything, list)
    assert sorted(t["symbol"] for t in everything) == sorted(symbols)
    for t in everything:
        check_ticker(t, f"ticker/24hr (all) {t.get('symbol')}")
    some = spot.ticker_24hr(symbols=symbols[:2])
    assert sorted(t["symbol"] for t in some) == sorted(symbols[:2])


def check_book_ticker(t, where):
    assert set(t) == {"symbol", "bidPrice", "bidQty", "askPrice", "askQty"}, f"{where}: {t}"
    assert_decimal_fields(t, ["bidPrice", "bidQty", "askPrice", "askQty"], where)
    if Decimal(t["bidQty"]) > 0 and Decimal(t["askQty"]) > 0:
        assert Decimal(t["bidPrice"]) < Decimal(t["askPrice"]), f"{where}: crossed"


def test_book_ticker(spot, symbols):
    for sym in symbols:
        t = spot.book_ticker(sym)
        assert isinstance(t, dict) and t["symbol"] == sym, t
        check_book_ticker(t, f"bookTicker {sym}")
    everything = spot.book_ticker()
    assert sorted(t["symbol"] for t in everything) == sorted(symbols)
    for t in everything:
        check_book_ticker(t, f"bookTicker (all) {t['symbol']}")
    some = spot.book_ticker(symbols=symbols[:2])
    assert sorted(t["symbol"] for t in some) == sorted(symbols[:2])


def test_klines(spot, symbols):
    any_kline = False
    for sym in symbols:
        # The intervals RLTOP's KlineUpdate carries (schema KlineInterval).
        for interval in ("1m", "5m", "15m", "1h", "4h", "1d"):
            ks = spot.klines(sym, interval)
            assert isinstance(ks, list) and len(ks) <= 500, f"klines {sym} {interval}"
            opens = []
            for k in ks:
                where = f"klines {sym} {interval} {k[:1]}"
                assert isinstance(k, list) and len(k) == 12, f"{where}: {k}"
                (open_t, o, h, lo, c, v, close_t, qv, n, tbv, tqv, ignore) = k
                for x in (open_t, close_t, n):
                    assert isinstance(x, int) and not isinstance(x, bool), f"{where}: {k}"
                for x in (o, h, lo, c, v, qv, tbv, tqv, ignore):
                    assert is_decimal(x), f"{where}: {x!r} in {k}"
                assert open_t % INTERVAL_MS[interval] == 0, f"{where}: open time off the grid"
                assert close_t == open_t + INTERVAL_MS[interval] - 1, f"{where}: close time"
                assert Decimal(lo) <= min(Decimal(o), Decimal(c)), f"{where}: {k}"
                assert max(Decimal(o), Decimal(c)) <= Decimal(h), f"{where}: {k}"
                assert Decimal(tbv) <= Decimal(v), f"{where}: taker buy volume > volume"
                opens.append(open_t)
            assert opens == sorted(opens) and len(set(opens)) == len(opens), \
                f"klines {sym} {interval}: open times not strictly ascending"
            any_kline = any_kline or bool(ks)
        assert len(spot.klines(sym, "1m", limit=2)) <= 2
    traded = [s for s in symbols if spot.trades(s, limit=1)]
    assert any_kline or not traded, f"{traded} have trades (/api/v3/trades) but no kline"


def test_agg_trades_avg_price_and_ticker_price(spot, symbols):
    sym = symbols[0]
    aggs = spot.agg_trades(sym, limit=50)
    assert isinstance(aggs, list) and 0 < len(aggs) <= 50, aggs
    for a in aggs:
        assert list(a) == ["a", "p", "q", "f", "l", "T", "m", "M"], a
        assert_decimal_fields(a, ["p", "q"], f"aggTrades {sym}")
        assert a["f"] <= a["l"], a
    ids = [a["a"] for a in aggs]
    assert ids == list(range(ids[0], ids[0] + len(ids))), f"aggregate ids not consecutive: {ids}"
    if aggs:
        page = spot.agg_trades(sym, fromId=aggs[0]["a"], limit=2)
        assert page == aggs[:2], (page, aggs[:2])
    avg = spot.avg_price(sym)
    assert list(avg) == ["mins", "price", "closeTime"] and avg["mins"] == 5, avg
    assert_decimal_fields(avg, ["price"], f"avgPrice {sym}")
    price = spot.ticker_price(sym)
    assert list(price) == ["symbol", "price"] and price["symbol"] == sym, price
    everything = spot.ticker_price()
    assert sorted(p["symbol"] for p in everything) == sorted(symbols)
    some = spot.ticker_price(symbols=symbols[:2])
    assert sorted(p["symbol"] for p in some) == sorted(symbols[:2])
    with pytest.raises(ClientError) as e:
        spot.agg_trades(sym, startTime=1, endTime=3_600_002)
    assert (e.value.status_code, e.value.error_code, e.value.error_message) == \
        (400, -1127, "More than 1 hours between startTime and endTime.")


def test_numbers_have_binance_spot_8_places(spot, symbols):
    """Every price and quantity as Binance spot writes it (python-binance deletes a depth
    level only on the string "0.00000000")."""
    eight = re.compile(r"^-?\d+\.\d{8}$")
    d = spot.depth(symbols[0], limit=20)
    t = spot.trades(symbols[0], limit=20)
    strings = [x for level in d["bids"] + d["asks"] for x in level]
    strings += [r[k] for r in t for k in ("price", "qty")]
    assert strings and all(eight.match(x) for x in strings), strings[:6]
    info = spot.exchange_info(symbol=symbols[0])["symbols"][0]
    assert info["baseAssetPrecision"] == info["quoteAssetPrecision"] == 8, info


def test_used_weight_headers(bridge_url):
    """The SDK's show_limit_usage reads Binance's x-mbx-used-weight headers."""
    from binance.spot import Spot

    client = Spot(base_url=bridge_url, timeout=10, show_limit_usage=True)
    symbol = client.exchange_info()["data"]["symbols"][0]["symbol"]
    first = client.depth(symbol, limit=5000)
    usage = first["limit_usage"]
    assert set(usage) >= {"x-mbx-used-weight", "x-mbx-used-weight-1m"}, usage
    # Binance's weight of depth at limit 5000: 250 (exchangeInfo before it: 20).
    assert int(usage["x-mbx-used-weight-1m"]) >= 270, usage
    second = client.ping()["limit_usage"]
    used = int(second["x-mbx-used-weight-1m"])
    # One more (ping), unless the minute turned in between.
    assert used == int(usage["x-mbx-used-weight-1m"]) + 1 or used <= 1, (usage, second)


INVALID = "NOSUCHUSDT"


@pytest.mark.parametrize("call", [
    "depth", "trades", "ticker_24hr", "book_ticker", "klines", "exchange_info",
])
def test_invalid_symbol(spot, call):
    f = {
        "depth": lambda: spot.depth(INVALID),
        "trades": lambda: spot.trades(INVALID),
        "ticker_24hr": lambda: spot.ticker_24hr(INVALID),
        "book_ticker": lambda: spot.book_ticker(INVALID),
        "klines": lambda: spot.klines(INVALID, "1m"),
        "exchange_info": lambda: spot.exchange_info(symbol=INVALID),
    }[call]
    with pytest.raises(ClientError) as e:
        f()
    assert (e.value.status_code, e.value.error_code, e.value.error_message) == \
        (400, -1121, "Invalid symbol.")


def test_invalid_interval(spot, symbols):
    with pytest.raises(ClientError) as e:
        spot.klines(symbols[0], "7m")
    assert (e.value.status_code, e.value.error_code, e.value.error_message) == \
        (400, -1120, "Invalid interval.")


def test_missing_mandatory_parameter(spot):
    # The SDK checks its own arguments; its generic query() sends what it is given.
    with pytest.raises(ClientError) as e:
        spot.query("/api/v3/depth")
    assert (e.value.status_code, e.value.error_code) == (400, -1102)
    assert e.value.error_message == \
        "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."


def test_healthz(bridge_url):
    status, body = health_of(bridge_url)
    assert body.get("status") in ("starting", "live", "stale", "ended"), body
    if body["status"] in ("live", "ended"):
        assert status == 200, (status, body)


# ==== WebSocket: the SDK's stream client ======================================================


class Recorder:
    """Callbacks for SpotWebsocketStreamClient; messages go to a queue the test thread reads."""

    # Binance (and the bridge, --incoming-rate) close a connection that sends more than 5
    # messages a second: requests are spaced by this much.
    SPACING = 0.25

    def __init__(self):
        self.q = queue.Queue()
        self.errors = []
        self.closed = threading.Event()
        self.last_sent = 0.0

    def paced(self, send, *args, **kw):
        """Calls an SDK method that sends one message, at most 4 a second."""
        wait = self.last_sent + self.SPACING - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.last_sent = time.monotonic()
        return send(*args, **kw)

    def on_message(self, _manager, message):
        self.q.put((time.monotonic(), json.loads(message)))

    def on_error(self, _manager, error):
        self.errors.append(repr(error))

    def on_close(self, _manager):
        self.closed.set()

    def client(self, ws_url, **kw):
        return SpotWebsocketStreamClient(
            stream_url=ws_url, on_message=self.on_message, on_error=self.on_error,
            on_close=self.on_close, **kw)

    def get(self, timeout):
        try:
            return self.q.get(timeout=max(0.0, timeout))[1]
        except queue.Empty:
            return None

    def response(self, request_id, timeout=5.0, keep=None):
        """The response with this id; events before it go to `keep` (a list) if given."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.get(deadline - time.monotonic())
            if m is None:
                raise AssertionError(f"no response with id {request_id} within {timeout} s")
            if isinstance(m, dict) and m.get("id") == request_id and ("result" in m or "error" in m
                                                                      or "code" in m):
                return m
            if keep is not None:
                keep.append(m)


def stop(client, recorder):
    """client.stop() (close handshake, then join), bounded: a server that never answers the
    close frame would hang the SDK's join() forever."""
    t = threading.Thread(target=client.stop, daemon=True)
    t.start()
    t.join(5)
    if t.is_alive():
        client.socket_manager.ws.abort()
        t.join(2)
        raise AssertionError("the bridge did not complete the WebSocket close handshake in 5 s")
    assert recorder.errors == [], f"the SDK's stream client reported: {recorder.errors}"


def error_code(m):
    """The code of a WebSocket error response, in either form Binance is seen to use:
    {"code":2,"msg":...,"id":1} (the documented table) or {"error":{"code":2,"msg":...},"id":1}."""
    if "error" in m and isinstance(m["error"], dict):
        return m["error"].get("code")
    return m.get("code")


def test_ws_live_control(ws_url, symbols, live_source):
    sym = symbols[0].lower()
    rec = Recorder()
    client = rec.client(ws_url)  # raw: ws://host:port/ws
    try:
        rec.paced(client.trade, symbols[0], id=1)
        rec.paced(client.diff_book_depth, symbols[0], speed=100, id=2)
        assert rec.response(1) == {"result": None, "id": 1}
        assert rec.response(2) == {"result": None, "id": 2}
        rec.paced(client.list_subscribe, id=3)
        r = rec.response(3)
        assert sorted(r["result"]) == sorted([f"{sym}@trade", f"{sym}@depth@100ms"]), r

        # Raw streams: payloads as they are.
        events = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(e.get("e") == "depthUpdate" for e in events):
            m = rec.get(deadline - time.monotonic())
            if m is not None:
                events.append(m)
        assert any(e.get("e") == "depthUpdate" for e in events), \
            f"no depthUpdate within 10 s on /ws; got {events[:3]}"
        assert all("stream" not in e for e in events), "a raw stream's event is wrapped"

        rec.paced(client.send, {"method": "GET_PROPERTY", "params": ["combined"], "id": 4})
        assert rec.response(4) == {"result": False, "id": 4}
        rec.paced(client.send, {"method": "SET_PROPERTY", "params": ["combined", True], "id": 5})
        assert rec.response(5) == {"result": None, "id": 5}
        rec.paced(client.send, {"method": "GET_PROPERTY", "params": ["combined"], "id": 6})
        assert rec.response(6) == {"result": True, "id": 6}
        # Now wrapped as combined streams' events are.
        deadline = time.monotonic() + 10
        wrapped = None
        while time.monotonic() < deadline and wrapped is None:
            m = rec.get(deadline - time.monotonic())
            if isinstance(m, dict) and "stream" in m and "data" in m:
                wrapped = m
        assert wrapped is not None, "no {stream, data} event within 10 s after combined=true"
        assert wrapped["stream"] in (f"{sym}@trade", f"{sym}@depth@100ms"), wrapped["stream"]

        rec.paced(client.unsubscribe, f"{sym}@trade", id=7)
        assert rec.response(7) == {"result": None, "id": 7}
        rec.paced(client.list_subscribe, id=8)
        assert rec.response(8) == {"result": [f"{sym}@depth@100ms"], "id": 8}

        # Errors, with the codes Binance documents.
        rec.paced(client.send, {"method": "GET_PROPERTY", "params": ["nonsense"], "id": 9})
        r = rec.response(9)
        assert error_code(r) == 0, f"unknown property: {r}"
        rec.paced(client.send, {"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 10})
        r = rec.response(10)
        assert error_code(r) == 1, f"non-boolean value: {r}"
        rec.paced(client.send, {"method": "SUBSCRIBEX", "params": [f"{sym}@trade"], "id": 11})
        r = rec.response(11)
        assert error_code(r) == 2, f"unknown method: {r}"
    finally:
        stop(client, rec)


def test_ws_combined_client(ws_url, symbols, live_source):
    rec = Recorder()
    client = rec.client(ws_url, is_combined=True)  # ws://host:port/stream
    try:
        names = [f"{s.lower()}@depth@100ms" for s in symbols]
        for i, s in enumerate(symbols):
            rec.paced(client.diff_book_depth, s, speed=100, id=100 + i)
        for i in range(len(symbols)):
            assert rec.response(100 + i) == {"result": None, "id": 100 + i}
        rec.paced(client.send, {"method": "GET_PROPERTY", "params": ["combined"], "id": 200})
        assert rec.response(200) == {"result": True, "id": 200}
        deadline = time.monotonic() + 10
        seen = set()
        while time.monotonic() < deadline and seen != set(names):
            m = rec.get(deadline - time.monotonic())
            if m is None:
                break
            assert set(m) == {"stream", "data"}, f"not a combined event: {m}"
            assert m["stream"] in names, m["stream"]
            assert m["data"]["e"] == "depthUpdate"
            assert m["data"]["s"].lower() + "@depth@100ms" == m["stream"]
            seen.add(m["stream"])
        assert seen == set(names), f"no event within 10 s on {sorted(set(names) - seen)}"
    finally:
        stop(client, rec)


@pytest.mark.parametrize("path", ["ws", "stream"])
def test_streams_in_the_url(ws_url, symbols, live_source, path):
    """Subscriptions named in the URL: /ws/a/b (raw) and /stream?streams=a/b (combined)."""
    names = [f"{symbols[0].lower()}@depth@100ms", f"{symbols[-1].lower()}@trade"]
    url = f"{ws_url}/ws/{'/'.join(names)}" if path == "ws" else \
        f"{ws_url}/stream?streams={'/'.join(names)}"
    ws = websocket.create_connection(url, timeout=10)
    try:
        deadline = time.monotonic() + 10
        got = None
        while time.monotonic() < deadline and got is None:
            m = json.loads(ws.recv())
            got = m
        assert got is not None
        if path == "ws":
            assert "stream" not in got and got.get("e") in ("depthUpdate", "trade"), got
        else:
            assert set(got) == {"stream", "data"} and got["stream"] in names, got
        ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            m = json.loads(ws.recv())
            if m.get("id") == 1 and "result" in m:
                assert sorted(m["result"]) == sorted(names), m
                break
        else:
            raise AssertionError("no LIST_SUBSCRIPTIONS response within 5 s")
    finally:
        ws.close()


# ==== the local order book, by Binance's procedure ============================================


class LocalBook:
    """One symbol's book kept as Binance documents ("How to manage a local order book
    correctly"), in scaled integers (price units -> qty units)."""

    def __init__(self, symbol, pexp, qexp):
        self.symbol, self.pexp, self.qexp = symbol, pexp, qexp
        self.buffer = []          # events before the snapshot
        self.first_U = None       # U of the first event received
        self.update_id = None     # the book's update id (None: no snapshot yet)
        self.bids, self.asks = {}, {}
        self.applied = 0          # events applied after the snapshot
        self.snapshots = 0
        self.first_applied = False

    def side(self, key):
        return self.bids if key == "b" else self.asks

    def set_snapshot(self, snap):
        self.snapshots += 1
        self.bids = {scaled(p, self.pexp): scaled(q, self.qexp) for p, q in snap["bids"]}
        self.asks = {scaled(p, self.pexp): scaled(q, self.qexp) for p, q in snap["asks"]}
        self.update_id = snap["lastUpdateId"]
        self.first_applied = False
        # 4. Drop any event where u <= lastUpdateId; apply the rest.
        pending, self.buffer = [e for e in self.buffer if e["u"] > self.update_id], []
        for e in pending:
            self.apply(e)

    def on_event(self, e):
        assert e["e"] == "depthUpdate" and e["s"] == self.symbol, e
        assert isinstance(e["E"], int) and isinstance(e["U"], int) and isinstance(e["u"], int), e
        assert e["U"] <= e["u"], f"{self.symbol}: U {e['U']} > u {e['u']}"
        if self.first_U is None:
            self.first_U = e["U"]
        if self.update_id is None:
            self.buffer.append(e)  # 2. Buffer the events you receive from the stream.
        else:
            self.apply(e)

    def apply(self, e):
        L = self.update_id
        if e["u"] <= L:
            return  # older than the book (4.)
        if not self.first_applied:
            # 5. The first processed event should have U <= lastUpdateId+1 AND u >= lastUpdateId+1.
            assert e["U"] <= L + 1 <= e["u"], \
                f"{self.symbol}: first event U={e['U']} u={e['u']} does not straddle " \
                f"lastUpdateId+1={L + 1}"
            self.first_applied = True
        else:
            # 6. Each new event's U should be equal to the previous event's u+1.
            assert e["U"] == L + 1, \
                f"{self.symbol}: gap or overlap: U={e['U']} after u={L} (expected U={L + 1})"
        for key in ("b", "a"):
            levels = self.side(key)
            for p, q in e[key]:
                p, q = scaled(p, self.pexp), scaled(q, self.qexp)
                if q == 0:
                    levels.pop(p, None)  # 8./9.: remove; absent levels can be removed
                else:
                    levels[p] = q        # 7.: absolute quantity
        self.update_id = e["u"]
        self.applied += 1

    def levels(self, key, n=None):
        lv = self.side(key)
        order = sorted(lv, reverse=(key == "b"))
        return [(p, lv[p]) for p in order[:n]]


def rest_levels(snap, book):
    return ([(scaled(p, book.pexp), scaled(q, book.qexp)) for p, q in snap["bids"]],
            [(scaled(p, book.pexp), scaled(q, book.qexp)) for p, q in snap["asks"]])


def load_oracle():
    path = os.environ.get("RLTOP_ORACLE")
    if not path:
        return None
    with open(path) as f:
        return {b["symbol_id"]: b for b in json.load(f)}


@pytest.mark.until_ended
def test_local_order_book(ws_url, bridge_url, spot, symbols, scales, live_source):
    t0 = time.monotonic()
    budget = end_timeout()
    books = {s: LocalBook(s, *scales[s]) for s in symbols}
    trades = {s: [] for s in symbols}
    rec = Recorder()
    client = rec.client(ws_url)
    try:
        # 1. Open a stream (here: live SUBSCRIBE on /ws, through the SDK).
        for i, s in enumerate(symbols):
            rec.paced(client.diff_book_depth, s, speed=100, id=1000 + i)
            rec.paced(client.trade, s, id=2000 + i)
        early = []
        for i in range(len(symbols)):
            assert rec.response(1000 + i, keep=early) == {"result": None, "id": 1000 + i}
            assert rec.response(2000 + i, keep=early) == {"result": None, "id": 2000 + i}

        def handle(m):
            assert isinstance(m, dict) and "e" in m, f"unexpected message: {m}"
            if m["e"] == "depthUpdate":
                books[m["s"]].on_event(m)
            elif m["e"] == "trade":
                assert set(m) >= {"E", "s", "t", "p", "q", "T", "m"}, m
                trades[m["s"]].append(m)
            else:
                raise AssertionError(f"an event of a stream not subscribed: {m}")

        for m in early:
            handle(m)

        ended = False
        next_poll = 0.0
        while True:
            m = rec.get(0.05)
            if m is not None:
                handle(m)
            # 3. Get a depth snapshot once a symbol has buffered events.
            for s, b in books.items():
                if b.update_id is None and b.buffer:
                    snap = spot.depth(s, limit=5000)
                    if snap["lastUpdateId"] < b.first_U:
                        continue  # older than the first buffered event: get another one
                    b.set_snapshot(snap)
            now = time.monotonic()
            if now >= next_poll:
                next_poll = now + 0.25
                ended = health_of(bridge_url)[1].get("status") == "ended"
                if ended:
                    break
            assert now - t0 < budget, \
                f"the source did not end within {budget:.0f} s (RLTOP_END_TIMEOUT)"

        # The source has ended: REST depth is final. Drain the stream up to its lastUpdateId.
        finals = {s: spot.depth(s, limit=5000) for s in symbols}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            behind = [s for s, b in books.items()
                      if b.update_id is None or b.update_id < finals[s]["lastUpdateId"]]
            if not behind:
                break
            m = rec.get(0.1)
            if m is not None:
                handle(m)
            for s in behind:
                b = books[s]
                if b.update_id is None and b.buffer:
                    b.set_snapshot(spot.depth(s, limit=5000))

        problems = []
        for s, b in books.items():
            final = finals[s]
            if b.update_id is None:
                problems.append(f"{s}: no depthUpdate event received before the source ended")
                continue
            if b.update_id != final["lastUpdateId"]:
                problems.append(f"{s}: local book at update id {b.update_id}, REST depth at "
                                f"lastUpdateId {final['lastUpdateId']} after the source ended")
                continue
            bids, asks = rest_levels(final, b)
            if b.levels("b") != bids or b.levels("a") != asks:
                problems.append(f"{s}: local book != REST depth at lastUpdateId "
                                f"{b.update_id}:\n  local bids {b.levels('b', 5)}… asks "
                                f"{b.levels('a', 5)}…\n  REST  bids {bids[:5]}… asks {asks[:5]}…"
                                f"\n  sizes local {len(b.bids)}/{len(b.asks)} REST "
                                f"{len(bids)}/{len(asks)}")
        assert not problems, "\n".join(problems)
        assert all(b.applied > 0 for b in books.values()), \
            "a symbol's book had no event applied after its snapshot (the procedure was not " \
            "exercised: the source's order flow ended too soon after the test subscribed; use " \
            "a longer source): " + str({s: b.applied for s, b in books.items()})

        # Trades: ids ascending on the stream, and the same trades as REST /api/v3/trades.
        for s, ts in trades.items():
            ids = [t["t"] for t in ts]
            assert ids == sorted(ids) and len(set(ids)) == len(ids), f"{s}: trade ids not ascending"
            rest = {t["id"]: t for t in spot.trades(s, limit=1000)}
            both = [t for t in ts if t["t"] in rest]
            if ts and rest:
                assert both or ts[-1]["t"] < min(rest), f"{s}: stream and REST trades disagree"
            for t in both:
                r = rest[t["t"]]
                assert (Decimal(t["p"]), Decimal(t["q"]), t["T"], t["m"]) == \
                    (Decimal(r["price"]), Decimal(r["qty"]), r["time"], r["isBuyerMaker"]), \
                    f"{s}: trade {t} != REST {r}"

        # The simulator's own books (top 10 levels a side), when given.
        oracle = load_oracle()
        if oracle is None:
            import warnings
            warnings.warn("RLTOP_ORACLE not set: the books were not compared with the simulator's")
        else:
            for s, b in books.items():
                sid = int(SYMBOL_RE.match(s).group(1))
                assert sid in oracle, f"{s}: symbol id {sid} not in the oracle"
                o = oracle[sid]
                want_b = [(int(x["price"]), int(x["quantity"])) for x in o["bids"]]
                want_a = [(int(x["price"]), int(x["quantity"])) for x in o["asks"]]
                assert b.levels("b", 10) == want_b[:10], \
                    f"{s}: bids {b.levels('b', 10)} != oracle {want_b[:10]}"
                assert b.levels("a", 10) == want_a[:10], \
                    f"{s}: asks {b.levels('a', 10)} != oracle {want_a[:10]}"
        print(f"local order books after {time.monotonic() - t0:.1f} s: " + ", ".join(
            f"{s} {b.applied} events applied, {b.snapshots} snapshot(s), "
            f"{len(b.bids)}/{len(b.asks)} levels at update id {b.update_id}"
            for s, b in books.items()))
        print("trades on the stream: " + ", ".join(f"{s} {len(t)}" for s, t in trades.items()))
        assert time.monotonic() - t0 < 60
    finally:
        stop(client, rec)
