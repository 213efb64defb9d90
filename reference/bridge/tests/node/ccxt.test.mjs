// The bridge through ccxt for Node (npm `ccxt`, the most used crypto trading library on npm),
// unmodified: ccxt.pro's `binance` with only its URLs pointed at the bridge and one documented
// option (fetchMarkets types ['spot']: the bridge serves spot, not Binance's futures
// exchangeInfo that ccxt also loads by default). Over plain ws:// ccxt for Node wants
// `loadHttpProxyAgent()` called first, as its own error message says.
//
// Run: RLTOP_BRIDGE_URL=http://127.0.0.1:PORT node --test ccxt.test.mjs
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import ccxt from 'ccxt';

import { bridgeUrl, getJson, wsUrl } from './bridge.mjs';

const SYMBOL = 'SIM1/USDT';
let ex;

before(async () => {
  ex = new ccxt.pro.binance({ options: { fetchMarkets: { types: ['spot'] } }, timeout: 10000 });
  ex.urls.api.public = `${bridgeUrl()}/api/v3`;
  ex.urls.api.ws.spot = `${wsUrl()}/ws`;
  // ccxt for Node asks for this before a plain ws:// URL (its error says so); with wss://
  // (a bridge behind TLS) it is not needed.
  await ex.loadHttpProxyAgent();
});

after(async () => {
  await ex.close();
});

test('loadMarkets: every exchangeInfo symbol, precision from tickSize and stepSize', async () => {
  const markets = await ex.loadMarkets();
  const info = await getJson('/api/v3/exchangeInfo');
  const want = info.symbols.map((s) => `${s.baseAsset}/${s.quoteAsset}`).sort();
  assert.deepEqual(Object.keys(markets).sort(), want);
  for (const s of info.symbols) {
    const m = markets[`${s.baseAsset}/${s.quoteAsset}`];
    const price = s.filters.find((f) => f.filterType === 'PRICE_FILTER');
    const lot = s.filters.find((f) => f.filterType === 'LOT_SIZE');
    assert.equal(m.id, s.symbol);
    assert.equal(m.precision.price, Number(price.tickSize));
    assert.equal(m.precision.amount, Number(lot.stepSize));
  }
});

test('fetchTicker', async () => {
  const t = await ex.fetchTicker(SYMBOL);
  assert.equal(t.symbol, SYMBOL);
  assert.ok(t.low <= t.last && t.last <= t.high, JSON.stringify(t));
  assert.ok(t.bid < t.ask, JSON.stringify(t));
  assert.equal(t.last, Number(t.info.lastPrice));
});

test('fetchOHLCV: the closed bars are REST klines', async () => {
  const candles = await ex.fetchOHLCV(SYMBOL, '1m', undefined, 50);
  const rows = await getJson('/api/v3/klines?symbol=SIM1USDT&interval=1m&limit=50');
  const byOpen = new Map(rows.map((r) => [r[0], [r[0], ...r.slice(1, 6).map(Number)]]));
  assert.ok(candles.length > 0);
  for (const c of candles.slice(0, -1)) assert.deepEqual(c, byOpen.get(c[0]));
});

test('fetchTrades (aggTrades)', async () => {
  const trades = await ex.fetchTrades(SYMBOL, undefined, 100);
  assert.ok(trades.length > 0);
  const ids = trades.map((t) => Number(t.id));
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  for (const t of trades) {
    assert.deepEqual(Object.keys(t.info), ['a', 'p', 'q', 'f', 'l', 'T', 'm', 'M']);
    assert.equal(t.price, Number(t.info.p));
  }
});

test('watchTrades: the trades REST lists', async () => {
  const seen = [];
  while (seen.length < 20) seen.push(...(await ex.watchTrades(SYMBOL)));
  const rest = new Map(
    (await getJson('/api/v3/trades?symbol=SIM1USDT&limit=1000')).map((r) => [r.id, r]),
  );
  const both = seen.filter((t) => rest.has(Number(t.id)));
  assert.ok(both.length > 0, 'no streamed trade is in REST /api/v3/trades');
  for (const t of both) {
    const r = rest.get(Number(t.id));
    assert.deepEqual([t.price, t.amount, t.timestamp], [Number(r.price), Number(r.qty), r.time]);
  }
});

test('watchTicker', async () => {
  const mini = await ex.watchTicker(SYMBOL);
  assert.equal(mini.symbol, SYMBOL);
  assert.equal(mini.info.e, '24hrMiniTicker');
  const full = await ex.watchTicker('SIM2/USDT', { name: 'ticker' });
  assert.equal(full.info.e, '24hrTicker');
  assert.ok(full.bid < full.ask, JSON.stringify(full.info));
});

test("watchOrderBook: ccxt's book equals REST depth at the same lastUpdateId", async () => {
  let ob = await ex.watchOrderBook(SYMBOL);
  const first = ob.nonce;
  for (let attempt = 1; attempt <= 20; attempt++) {
    const snap = await ex.fetchOrderBook(SYMBOL, 1000);
    // The diff bringing the bridge to the snapshot may already have been applied.
    ob = ex.orderbooks[SYMBOL];
    while (ob.nonce < snap.nonce) ob = await ex.watchOrderBook(SYMBOL);
    if (ob.nonce === snap.nonce && ob.nonce > first) {
      assert.ok(snap.bids.length < 1000 && snap.asks.length < 1000);
      assert.deepEqual(Array.from(ob.bids, (l) => [...l]), snap.bids);
      assert.deepEqual(Array.from(ob.asks, (l) => [...l]), snap.asks);
      assert.ok(snap.bids[0][0] < snap.asks[0][0]);
      return;
    }
  }
  assert.fail("ccxt's book never stopped at a REST snapshot's update id in 20 tries");
});
