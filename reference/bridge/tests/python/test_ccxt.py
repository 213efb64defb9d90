"""The bridge through ccxt (PyPI `ccxt`, the most used crypto trading library), unmodified: its
ccxt.pro `binance` class with only its URLs pointed at the bridge, and one documented option
(`fetchMarkets: {types: ['spot']}`: the bridge serves spot market data, not Binance's futures
`fapi`/`dapi` exchangeInfo that ccxt also loads by default).

* load_markets: every exchangeInfo symbol as BASE/QUOTE, with precision from tickSize/stepSize;
* fetch_ticker, fetch_ohlcv (= REST klines), fetch_trades (ccxt reads /api/v3/aggTrades);
* watch_trades (the trades REST lists), watch_ticker;
* watch_order_book: ccxt's own local book (REST snapshot + @depth@100ms diffs, opened on
  /ws/<n> with SUBSCRIBE) equal to /api/v3/depth at the same lastUpdateId, after diffs.

Run: RLTOP_BRIDGE_URL=http://127.0.0.1:PORT pytest -v this_dir/test_ccxt.py
"""

import asyncio
import json
import urllib.request
from decimal import Decimal

import ccxt.pro

SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}}


def exchange(bridge_url):
    """ccxt.pro.binance with its spot URLs set to the bridge (REST and streams)."""
    ex = ccxt.pro.binance({"options": SPOT_ONLY, "timeout": 10_000})
    ex.urls["api"]["public"] = bridge_url + "/api/v3"
    ex.urls["api"]["ws"]["spot"] = "ws" + bridge_url[len("http"):] + "/ws"
    return ex


def run(bridge_url, body, timeout=40):
    """Runs `body(exchange)` on a fresh exchange within `timeout` seconds, then closes it."""

    async def main():
        ex = exchange(bridge_url)
        try:
            return await asyncio.wait_for(body(ex), timeout)
        finally:
            await ex.close()

    return asyncio.run(main())


def rest(bridge_url, path):
    with urllib.request.urlopen(bridge_url + path, timeout=10) as r:
        return json.loads(r.read().decode())


def unified(symbol_info):
    return f"{symbol_info['baseAsset']}/{symbol_info['quoteAsset']}"


def test_load_markets(bridge_url, exchange_info):
    async def body(ex):
        return await ex.load_markets()

    markets = run(bridge_url, body)
    want = {unified(s): s for s in exchange_info["symbols"]}
    assert sorted(markets) == sorted(want)
    for name, m in markets.items():
        s = want[name]
        assert m["id"] == s["symbol"] and m["type"] == "spot" and m["spot"], m
        price = next(f for f in s["filters"] if f["filterType"] == "PRICE_FILTER")
        lot = next(f for f in s["filters"] if f["filterType"] == "LOT_SIZE")
        # ccxt's binance precision mode is TICK_SIZE: precision is the tick and the step.
        assert Decimal(str(m["precision"]["price"])) == Decimal(price["tickSize"]), m["precision"]
        assert Decimal(str(m["precision"]["amount"])) == Decimal(lot["stepSize"]), m["precision"]
        assert Decimal(str(m["limits"]["amount"]["min"])) == Decimal(lot["minQty"]), m["limits"]
        assert m["active"] is (s["status"] == "TRADING")


def test_fetch_ticker(bridge_url, symbols, live_source):
    async def body(ex):
        await ex.load_markets()
        return await ex.fetch_ticker("SIM1/USDT")

    t = run(bridge_url, body)
    assert t["symbol"] == "SIM1/USDT", t
    assert t["info"]["symbol"] == "SIM1USDT"
    for key in ("last", "open", "high", "low", "bid", "ask", "baseVolume", "quoteVolume", "vwap"):
        assert isinstance(t[key], float), f"{key}: {t[key]!r}"
    assert t["low"] <= t["last"] <= t["high"], t
    assert t["bid"] < t["ask"], t
    assert t["last"] == float(t["info"]["lastPrice"])


def test_fetch_ohlcv(bridge_url, symbols, live_source):
    async def body(ex):
        await ex.load_markets()
        return await ex.fetch_ohlcv("SIM1/USDT", "1m", limit=50)

    candles = run(bridge_url, body)
    rows = rest(bridge_url, "/api/v3/klines?symbol=SIM1USDT&interval=1m&limit=50")
    assert candles, "no candle"
    assert all(c[0] % 60_000 == 0 for c in candles)
    # The closed bars are REST's, as numbers (the forming one may have moved in between).
    by_open = {r[0]: [r[0]] + [float(x) for x in r[1:6]] for r in rows}
    closed = candles[:-1]
    for c in closed:
        assert c == by_open[c[0]], f"ccxt {c} != REST {by_open.get(c[0])}"
    for c in candles:
        o, h, low, close = c[1:5]
        assert low <= min(o, close) <= max(o, close) <= h, c


def test_fetch_trades(bridge_url, symbols, live_source):
    async def body(ex):
        await ex.load_markets()
        return await ex.fetch_trades("SIM1/USDT", limit=200)

    trades = run(bridge_url, body)
    assert trades, "no trade from /api/v3/aggTrades"
    ids = [int(t["id"]) for t in trades]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for t in trades:
        assert t["symbol"] == "SIM1/USDT" and t["side"] in ("buy", "sell"), t
        info = t["info"]
        assert set(info) == {"a", "p", "q", "f", "l", "T", "m", "M"}, info
        assert Decimal(str(t["price"])) == Decimal(info["p"])
        assert Decimal(str(t["amount"])) == Decimal(info["q"])


def test_watch_trades(bridge_url, symbols, live_source):
    async def body(ex):
        await ex.load_markets()
        seen = []
        while len(seen) < 20:
            seen.extend(await ex.watch_trades("SIM1/USDT"))
        return seen

    trades = run(bridge_url, body, timeout=30)
    by_id = {}
    for t in trades:
        assert t["symbol"] == "SIM1/USDT", t
        by_id[int(t["id"])] = t
    ids = sorted(by_id)
    rest_trades = {r["id"]: r for r in rest(bridge_url, "/api/v3/trades?symbol=SIM1USDT&limit=1000")}
    both = [i for i in ids if i in rest_trades]
    assert both, f"none of the streamed trades {ids[:5]}… is in REST /api/v3/trades"
    for i in both:
        t, r = by_id[i], rest_trades[i]
        assert (t["price"], t["amount"], t["timestamp"]) == \
            (float(r["price"]), float(r["qty"]), r["time"]), (t["info"], r)
        assert t["side"] == ("sell" if r["isBuyerMaker"] else "buy"), (t, r)


def test_watch_ticker(bridge_url, symbols, live_source):
    async def body(ex):
        await ex.load_markets()
        mini = await ex.watch_ticker("SIM1/USDT")
        full = await ex.watch_ticker("SIM2/USDT", {"name": "ticker"})
        return mini, full

    mini, full = run(bridge_url, body, timeout=30)
    assert mini["symbol"] == "SIM1/USDT" and mini["info"]["e"] == "24hrMiniTicker", mini
    assert mini["low"] <= mini["last"] <= mini["high"], mini
    assert full["symbol"] == "SIM2/USDT" and full["info"]["e"] == "24hrTicker", full
    assert full["low"] <= full["last"] <= full["high"], full
    assert full["bid"] < full["ask"], full


def test_watch_order_book(bridge_url, symbols, live_source):
    """ccxt keeps its own book; when it reaches the update id of a REST snapshot taken after
    it started, the two are equal."""

    async def body(ex):
        await ex.load_markets()
        ob = await ex.watch_order_book("SIM1/USDT")
        first = ob["nonce"]
        for attempt in range(1, 21):
            # A snapshot past ccxt's own (taken when it subscribed), then ccxt's book as its
            # diffs bring it to that update id (every lastUpdateId is some event's u).
            snap = await ex.fetch_order_book("SIM1/USDT", limit=1000)
            # The diff that brought the bridge to the snapshot may have come (and been
            # applied) while REST answered: ccxt's current book is `exchange.orderbooks`.
            ob = ex.orderbooks["SIM1/USDT"]
            while ob["nonce"] < snap["nonce"]:
                ob = await ex.watch_order_book("SIM1/USDT")
            # Copied now: the book moves on.
            nonce = ob["nonce"]
            bids = [list(level) for level in ob["bids"]]
            asks = [list(level) for level in ob["asks"]]
            if nonce == snap["nonce"] and nonce > first:
                return first, nonce, bids, asks, snap, attempt
        raise AssertionError("ccxt's book never stopped at a REST snapshot's update id in 20 tries")

    first, nonce, bids, asks, snap, attempts = run(bridge_url, body, timeout=40)
    assert len(snap["bids"]) < 1000 and len(snap["asks"]) < 1000, \
        "a book deeper than the 1000-level snapshot cannot be compared whole"
    assert bids == snap["bids"], f"at update id {nonce}: ccxt bids {bids[:5]}… REST {snap['bids'][:5]}…"
    assert asks == snap["asks"], f"at update id {nonce}: ccxt asks {asks[:5]}… REST {snap['asks'][:5]}…"
    assert bids and asks and bids[0][0] < asks[0][0], (bids[:1], asks[:1])
    print(f"ccxt book = REST at update id {nonce} ({nonce - first} updates after its own "
          f"snapshot; try {attempts})")
