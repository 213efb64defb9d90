"""The bridge through python-binance (PyPI `python-binance`), unmodified, pointed at the bridge
by its base URLs only (`AsyncClient.API_URL`, `BinanceSocketManager.STREAM_URL`):

* AsyncClient: the market-data calls, with Binance's shapes and errors
  (BinanceAPIException with Binance's codes);
* BinanceSocketManager: trade, kline and multiplex sockets;
* DepthCacheManager (diffs at 100 ms) on every symbol while a capture replays: no re-sync once
  its first diff is applied (each diff's U is the previous u + 1, which python-binance demands
  exactly), and once the source has ended every cache equals REST /api/v3/depth and, with
  RLTOP_ORACLE, the simulator's books. python-binance removes a level only when its quantity
  is the string "0.00000000": this test fails when the bridge writes quantities otherwise.

Run: RLTOP_BRIDGE_URL=http://127.0.0.1:PORT pytest -v this_dir
"""

import asyncio
import json
import os
import time
import urllib.request
from collections import Counter
from decimal import Decimal

import pytest
from binance import AsyncClient, BinanceSocketManager, DepthCacheManager
from binance.exceptions import BinanceAPIException

from bridgeutil import end_timeout, health_of, scaled, scales_of


async def connect(bridge_url, ws_url):
    """An AsyncClient and a BinanceSocketManager on the bridge (no API key: market data)."""
    client = AsyncClient()
    client.API_URL = bridge_url + "/api"
    await client.ping()
    bm = BinanceSocketManager(client)
    bm.STREAM_URL = ws_url + "/"
    return client, bm


def run(bridge_url, ws_url, body, timeout=40):
    """`body(client, bm)` within `timeout` seconds; the client closed whatever happens."""

    async def main():
        client, bm = await connect(bridge_url, ws_url)
        try:
            return await asyncio.wait_for(body(client, bm), timeout)
        finally:
            await client.close_connection()

    return asyncio.run(main())


def rest(bridge_url, path):
    with urllib.request.urlopen(bridge_url + path, timeout=10) as r:
        return json.loads(r.read().decode())


def test_async_client_market_data(bridge_url, ws_url, live_source):
    async def body(client, _bm):
        info = await client.get_exchange_info()
        symbol = info["symbols"][0]["symbol"]
        got = {
            "info": info,
            "symbol_info": await client.get_symbol_info(symbol),
            "time": await client.get_server_time(),
            "depth": await client.get_order_book(symbol=symbol, limit=10),
            "trades": await client.get_recent_trades(symbol=symbol, limit=5),
            "aggs": await client.get_aggregate_trades(symbol=symbol, limit=5),
            "klines": await client.get_klines(symbol=symbol, interval="1m", limit=3),
            "ticker": await client.get_ticker(symbol=symbol),
            "price": await client.get_symbol_ticker(symbol=symbol),
            "prices": await client.get_all_tickers(),
            "avg": await client.get_avg_price(symbol=symbol),
            "book": await client.get_orderbook_tickers(symbol=symbol),
        }
        errors = []
        for call in (lambda: client.get_order_book(symbol="NOSUCHUSDT"),
                     lambda: client.get_klines(symbol=symbol, interval="7m")):
            with pytest.raises(BinanceAPIException) as e:
                await call()
            errors.append((e.value.status_code, e.value.code, e.value.message))
        return symbol, got, errors

    symbol, got, errors = run(bridge_url, ws_url, body)
    assert got["symbol_info"]["symbol"] == symbol
    assert got["symbol_info"]["baseAssetPrecision"] == 8
    assert isinstance(got["time"]["serverTime"], int)
    assert 0 < len(got["depth"]["bids"]) <= 10
    for price, qty in got["depth"]["bids"] + got["depth"]["asks"]:
        assert len(price.split(".")[1]) == 8 and len(qty.split(".")[1]) == 8, (price, qty)
    assert all(t["price"].count(".") == 1 for t in got["trades"])
    assert [set(a) for a in got["aggs"]] == [{"a", "p", "q", "f", "l", "T", "m", "M"}] * len(got["aggs"])
    assert all(len(k) == 12 for k in got["klines"])
    assert got["ticker"]["symbol"] == symbol
    assert got["price"] == {"symbol": symbol, "price": got["price"]["price"]}
    assert sorted(p["symbol"] for p in got["prices"]) == \
        sorted(s["symbol"] for s in got["info"]["symbols"])
    assert got["avg"]["mins"] == 5 and Decimal(got["avg"]["price"]) > 0
    assert got["book"]["symbol"] == symbol
    assert errors == [(400, -1121, "Invalid symbol."), (400, -1120, "Invalid interval.")]


def test_trade_socket(bridge_url, ws_url, live_source):
    async def body(_client, bm):
        async with bm.trade_socket("SIM1USDT") as socket:
            return [await socket.recv() for _ in range(5)]

    msgs = run(bridge_url, ws_url, body, timeout=30)
    for m in msgs:
        assert m["e"] == "trade" and m["s"] == "SIM1USDT", m
        assert len(m["p"].split(".")[1]) == 8 and len(m["q"].split(".")[1]) == 8, m
    ids = [m["t"] for m in msgs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_kline_socket(bridge_url, ws_url, live_source):
    async def body(_client, bm):
        async with bm.kline_socket("SIM2USDT", interval=AsyncClient.KLINE_INTERVAL_1MINUTE) as s:
            return await s.recv()

    m = run(bridge_url, ws_url, body, timeout=30)
    assert m["e"] == "kline" and m["s"] == "SIM2USDT", m
    k = m["k"]
    assert k["i"] == "1m" and k["t"] % 60_000 == 0 and k["T"] == k["t"] + 59_999, k
    assert Decimal(k["l"]) <= min(Decimal(k["o"]), Decimal(k["c"])), k
    assert max(Decimal(k["o"]), Decimal(k["c"])) <= Decimal(k["h"]), k


def test_multiplex_socket(bridge_url, ws_url, live_source):
    streams = ["sim1usdt@trade", "sim2usdt@bookTicker", "sim1usdt@depth5@100ms"]

    async def body(_client, bm):
        seen = {}
        async with bm.multiplex_socket(streams) as socket:
            while len(seen) < len(streams):
                m = await socket.recv()
                seen.setdefault(m["stream"], m["data"])
        return seen

    seen = run(bridge_url, ws_url, body, timeout=30)
    assert sorted(seen) == sorted(streams)
    assert seen["sim1usdt@trade"]["e"] == "trade"
    assert set(seen["sim2usdt@bookTicker"]) == {"u", "s", "b", "B", "a", "A"}
    assert set(seen["sim1usdt@depth5@100ms"]) == {"lastUpdateId", "bids", "asks"}


# ==== the depth cache ==========================================================================


def load_oracle():
    path = os.environ.get("RLTOP_ORACLE")
    if not path:
        return None
    with open(path) as f:
        return {b["symbol_id"]: b for b in json.load(f)}


async def follow(client, bm, symbol, fetches, stop):
    """A DepthCacheManager on `symbol` until `stop` is set, then drained: the final cache, and
    the number of its snapshots (`fetches`) when its first diff was applied."""
    dcm = DepthCacheManager(client, symbol, limit=5000, bm=bm, ws_interval=100, conv_type=Decimal)
    first_applied = None
    cache = None
    receiving = None
    async with dcm:
        while True:
            # One recv() at a time, never cancelled while it applies a diff (or re-syncs).
            receiving = receiving or asyncio.ensure_future(dcm.recv())
            done, _ = await asyncio.wait({receiving}, timeout=0.5)
            if receiving in done:
                cache, receiving = receiving.result(), None
                if first_applied is None:
                    first_applied = fetches[symbol]
            elif stop.is_set():
                # The source has ended and nothing came for 0.5 s: drained. The recv()
                # waits on the socket's queue, where cancelling it is safe.
                receiving.cancel()
                break
    return cache, first_applied


@pytest.mark.until_ended
def test_depth_cache_manager(bridge_url, ws_url, live_source):
    info = rest(bridge_url, "/api/v3/exchangeInfo")
    symbols = [s["symbol"] for s in info["symbols"]]
    scales = {s["symbol"]: scales_of(s) for s in info["symbols"]}
    fetches = Counter()

    async def body(client, bm):
        # Count the snapshots each cache asks for: a re-sync is a second one.
        get_order_book = client.get_order_book

        async def counted(**params):
            fetches[params["symbol"]] += 1
            return await get_order_book(**params)

        client.get_order_book = counted
        stop = asyncio.Event()
        tasks = [asyncio.create_task(follow(client, bm, s, fetches, stop)) for s in symbols]
        t0 = time.monotonic()
        while (await asyncio.to_thread(health_of, bridge_url))[1].get("status") != "ended":
            assert time.monotonic() - t0 < end_timeout(), "the source did not end in time"
            done = [t for t in tasks if t.done()]
            for t in done:
                t.result()  # a cache that failed: its exception now
            await asyncio.sleep(0.25)
        stop.set()
        return dict(zip(symbols, await asyncio.gather(*tasks)))

    results = run(bridge_url, ws_url, body, timeout=end_timeout() + 20)
    oracle = load_oracle()
    problems = []
    for s, (cache, first_applied) in results.items():
        if cache is None:
            problems.append(f"{s}: no depth event before the source ended")
            continue
        # python-binance opens its socket after its snapshot: a 100 ms boundary between the
        # two makes its first diff start past the snapshot, and it re-syncs once, by design.
        # After its first diff, every diff must follow on (U = previous u + 1).
        if fetches[s] != first_applied:
            problems.append(f"{s}: {fetches[s] - first_applied} re-sync(s) after its first diff")
        final = rest(bridge_url, f"/api/v3/depth?symbol={s}&limit=5000")
        want_bids = [[Decimal(p), Decimal(q)] for p, q in final["bids"]]
        want_asks = [[Decimal(p), Decimal(q)] for p, q in final["asks"]]
        bids, asks = cache.get_bids(), cache.get_asks()
        if bids != want_bids or asks != want_asks:
            extra = [b for b in bids if b not in want_bids] + [a for a in asks if a not in want_asks]
            problems.append(f"{s}: cache != REST at lastUpdateId {final['lastUpdateId']}: "
                            f"{len(bids)}/{len(asks)} levels vs {len(want_bids)}/{len(want_asks)}"
                            f"; levels REST does not have: {extra[:5]}")
            continue
        if bids and asks and bids[0][0] >= asks[0][0]:
            problems.append(f"{s}: crossed book {bids[0]} / {asks[0]}")
        if oracle is not None:
            pexp, qexp = scales[s]
            o = oracle[int(s[3:-4])]
            local = [(scaled(str(p), pexp), scaled(str(q), qexp)) for p, q in bids[:10]]
            if local != [(int(x["price"]), int(x["quantity"])) for x in o["bids"][:10]]:
                problems.append(f"{s}: bids {local} != oracle")
    assert not problems, "\n".join(problems)
    print("depth caches: " + ", ".join(
        f"{s} {fetches[s]} snapshot(s), {len(c.get_bids())}/{len(c.get_asks())} levels"
        for s, (c, _) in results.items()))
