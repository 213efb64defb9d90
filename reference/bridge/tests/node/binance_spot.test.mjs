// The bridge through Binance's official Node connector (npm `@binance/spot`, the current
// official Spot connector; `@binance/connector` was its predecessor), unmodified, pointed at
// the bridge by `basePath` and `wsURL` only:
//
// * REST: the market-data calls with Binance's shapes, the request weight it reads from the
//   x-mbx-used-weight headers (`rateLimits`), Binance's errors as its BadRequestError;
// * streams: trade, aggTrade and kline on one connection (live SUBSCRIBE on /stream);
// * a local order book kept by Binance's documented procedure from its diffBookDepth stream and
//   its REST depth, equal to REST depth at the same lastUpdateId.
//
// Run: RLTOP_BRIDGE_URL=http://127.0.0.1:PORT node --test binance_spot.test.mjs
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { BadRequestError, Spot } from '@binance/spot';

import { bridgeUrl, getJson, wsUrl } from './bridge.mjs';

const EIGHT = /^-?\d+\.\d{8}$/;
let client;

before(() => {
  client = new Spot({
    configurationRestAPI: { basePath: bridgeUrl(), timeout: 10000, retries: 0 },
    configurationWebsocketStreams: { wsURL: wsUrl() },
  });
});

test('REST: market data, Binance shapes and the used weight', async () => {
  const api = client.restAPI;
  const info = await (await api.exchangeInfo()).data();
  const symbol = info.symbols[0].symbol;
  assert.equal(info.symbols[0].quoteAssetPrecision, 8);
  const res = await api.depth({ symbol, limit: 5000 });
  const depth = await res.data();
  for (const [p, q] of [...depth.bids, ...depth.asks]) assert.match(`${p} ${q}`, /^\S+\.\d{8} \S+\.\d{8}$/);
  // Binance's weight for depth at limit 5000 is 250: read back from the headers.
  const weight = res.rateLimits.find(
    (l) => l.rateLimitType === 'REQUEST_WEIGHT' && l.interval === 'MINUTE' && l.intervalNum === 1,
  );
  assert.ok(weight && weight.count >= 250, JSON.stringify(res.rateLimits));

  const aggs = await (await api.aggTrades({ symbol, limit: 5 })).data();
  for (const a of aggs) assert.deepEqual(Object.keys(a), ['a', 'p', 'q', 'f', 'l', 'T', 'm', 'M']);
  const avg = await (await api.avgPrice({ symbol })).data();
  assert.equal(avg.mins, 5);
  assert.match(avg.price, EIGHT);
  const price = await (await api.tickerPrice({ symbol })).data();
  assert.deepEqual(Object.keys(price), ['symbol', 'price']);
  assert.match(price.price, EIGHT);
  const ticker = await (await api.ticker24hr({ symbol })).data();
  assert.equal(ticker.symbol, symbol);
  assert.match(ticker.quoteVolume, EIGHT);
  const klines = await (await api.klines({ symbol, interval: '1m', limit: 3 })).data();
  for (const k of klines) assert.equal(k.length, 12);
  const trades = await (await api.getTrades({ symbol, limit: 3 })).data();
  for (const t of trades) assert.match(t.qty, EIGHT);
  const book = await (await api.tickerBookTicker({ symbol })).data();
  assert.ok(Number(book.bidPrice) < Number(book.askPrice));

  await assert.rejects(api.depth({ symbol: 'NOSUCHUSDT' }), (e) => {
    assert.ok(e instanceof BadRequestError, String(e));
    assert.match(e.message, /Invalid symbol\./);
    return true;
  });
});

/** Resolves once `stream` has delivered a message `done` accepts; rejects after `ms`. */
function until(stream, ms, what, done) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    stream.on('message', (m) => {
      if (done(m)) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
}

test('streams: trade, aggTrade, kline on one connection', async () => {
  const conn = await client.websocketStreams.connect();
  try {
    const trade = until(conn.trade({ symbol: 'SIM1USDT' }), 10000, 'trade', (m) => m.e === 'trade');
    const agg = until(conn.aggTrade({ symbol: 'SIM2USDT' }), 10000, 'aggTrade', (m) => m.e === 'aggTrade');
    const kline = until(conn.kline({ symbol: 'SIM1USDT', interval: '1m' }), 10000, 'kline', (m) => m.e === 'kline');
    const [t, a, k] = await Promise.all([trade, agg, kline]);
    assert.equal(t.s, 'SIM1USDT');
    assert.match(t.p, EIGHT);
    assert.equal(a.s, 'SIM2USDT');
    assert.match(a.q, EIGHT);
    assert.equal(k.k.i, '1m');
    assert.equal(k.k.T, k.k.t + 59999);
  } finally {
    await conn.disconnect();
  }
});

/** One symbol's book by Binance's procedure, in the strings the bridge writes. */
class LocalBook {
  constructor() {
    this.buffer = [];
    this.id = null;
    this.bids = new Map();
    this.asks = new Map();
    this.applied = 0;
  }

  onEvent(e) {
    if (this.id === null) this.buffer.push(e);
    else this.apply(e);
  }

  reset(snap) {
    this.id = snap.lastUpdateId;
    this.bids = new Map(snap.bids.map(([p, q]) => [p, q]));
    this.asks = new Map(snap.asks.map(([p, q]) => [p, q]));
    const pending = this.buffer;
    this.buffer = [];
    this.first = true;
    for (const e of pending) this.apply(e);
  }

  apply(e) {
    if (e.u <= this.id) return;
    if (this.first) assert.ok(e.U <= this.id + 1 && this.id + 1 <= e.u, `first event ${e.U}..${e.u} after ${this.id}`);
    else assert.equal(e.U, this.id + 1, `gap: U=${e.U} after u=${this.id}`);
    this.first = false;
    for (const [side, levels] of [[this.bids, e.b], [this.asks, e.a]]) {
      for (const [p, q] of levels) {
        if (Number(q) === 0) side.delete(p);
        else side.set(p, q);
      }
    }
    this.id = e.u;
    this.applied++;
  }

  levels(side, descending) {
    return [...side.entries()].sort((x, y) => (descending ? 1 : -1) * (Number(y[0]) - Number(x[0])));
  }
}

test("local order book from the connector's diff depth stream equals REST at the same id", async () => {
  const conn = await client.websocketStreams.connect();
  const book = new LocalBook();
  let failure = null;
  try {
    const stream = conn.diffBookDepth({ symbol: 'SIM1USDT', updateSpeed: '100ms' });
    stream.on('message', (e) => {
      try {
        book.onEvent(e);
      } catch (err) {
        failure = failure || err;
      }
    });
    await until(stream, 10000, 'diff depth', () => true);
    book.reset(await (await client.restAPI.depth({ symbol: 'SIM1USDT', limit: 5000 })).data());
    // Diffs applied on the snapshot before comparing.
    await until(stream, 5000, 'a diff after the snapshot', () => book.applied > 0);
    for (let attempt = 1; attempt <= 20; attempt++) {
      const snap = await (await client.restAPI.depth({ symbol: 'SIM1USDT', limit: 5000 })).data();
      if (failure) throw failure;
      if (book.id < snap.lastUpdateId) {
        await until(stream, 5000, 'catching up', () => book.id >= snap.lastUpdateId);
      }
      if (book.id === snap.lastUpdateId) {
        assert.deepEqual(book.levels(book.bids, true), snap.bids);
        assert.deepEqual(book.levels(book.asks, false), snap.asks);
        return;
      }
    }
    assert.fail('the local book never stopped at a REST snapshot id in 20 tries');
  } finally {
    await conn.disconnect();
  }
});
