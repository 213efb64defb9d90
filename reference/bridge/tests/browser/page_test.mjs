// Headless-browser test of the RLTOP bridge's live page.
//
//   node page_test.mjs <url> <screenshot.png>
//
// Drives Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) through playwright-core.
// One line per check; exit 0 only if every check passes, 1 otherwise.
import { chromium } from 'playwright-core';

const STEP_MS = 20_000;     // any one check fails after this
const TOTAL_MS = 58_000;    // the whole test fails after this
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const [url, shotPath] = process.argv.slice(2);
if (!url || !shotPath) {
  console.error('usage: node page_test.mjs <url> <screenshot.png>');
  process.exit(2);
}

const t0 = Date.now();
let browser = null;
let checks = 0;
const pageErrors = [];
const consoleErrors = [];

function secs(ms) { return (ms / 1000).toFixed(1); }

let page = null;
async function fail(msg) {
  console.log(`FAIL ${msg}`);
  if (page) {
    try {
      const s = await Promise.race([
        page.evaluate(() => ({
          status: document.getElementById('status')?.textContent.trim(),
          rltop: window.rltop ? { state: window.rltop.state, symbol: window.rltop.symbol, messages: window.rltop.messages } : null,
          error: document.getElementById('error')?.hidden === false ? document.getElementById('error').textContent : '',
        })),
        new Promise((r) => setTimeout(() => r(null), 2000)),
      ]);
      if (s) console.log(`     page: #status=${s.status} window.rltop=${JSON.stringify(s.rltop)}${s.error ? ` error banner: ${s.error}` : ''}`);
    } catch (_) { /* page gone */ }
  }
  if (pageErrors.length) console.log(`     page errors: ${pageErrors.join(' | ')}`);
  if (consoleErrors.length) console.log(`     console errors: ${consoleErrors.slice(0, 5).join(' | ')}`);
  console.log(`RESULT: FAIL after ${checks} passing check(s), ${secs(Date.now() - t0)} s`);
  try { if (browser) await browser.close(); } catch (_) { /* ignore */ }
  process.exit(1);
}

const overall = setTimeout(() => fail(`whole test exceeded ${TOTAL_MS / 1000} s`), TOTAL_MS);

// Runs one check with its own deadline; `fn` returns a detail string for the log line.
async function check(name, fn) {
  const start = Date.now();
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${STEP_MS / 1000} s`)), STEP_MS);
  });
  try {
    const detail = await Promise.race([fn(), deadline]);
    checks++;
    console.log(`ok   ${String(checks).padStart(2)} ${name}${detail ? ` — ${detail}` : ''} (${secs(Date.now() - start)} s)`);
  } catch (e) {
    const msg = String((e && e.message) || e).split('\n')[0];
    await fail(`${name}: ${msg}`);
  } finally {
    clearTimeout(timer);
  }
}

// Polls a page function until it returns a truthy value (which is returned).
async function until(page, fn, arg, what) {
  try {
    const h = await page.waitForFunction(fn, arg, { timeout: STEP_MS, polling: 50 });
    return await h.jsonValue();
  } catch (e) {
    if (/Timeout/i.test(String(e))) throw new Error(`timed out waiting for ${what}`);
    throw e;
  }
}

// ---- In-page helpers ----
const snapshot = () => {
  const rows = (id) => [...document.querySelectorAll(`#${id} tbody tr`)];
  const cells = (tr) => [...tr.cells].map((c) => c.textContent.trim());
  return {
    status: document.getElementById('status')?.textContent.trim(),
    state: window.rltop?.state,
    symbol: window.rltop?.symbol,
    messages: window.rltop?.messages,
    options: [...document.querySelectorAll('#symbol option')].map((o) => o.value).filter(Boolean),
    asks: rows('asks').map(cells),
    bids: rows('bids').map(cells),
    trades: rows('trades').map((tr) => ({ id: tr.dataset.id, symbol: tr.dataset.symbol, cls: tr.className, cells: cells(tr) })),
    spread: document.getElementById('spread')?.textContent.trim(),
  };
};
const ladderText = () => document.getElementById('asks').innerText + '|' + document.getElementById('bids').innerText;
const DECIMAL = /^-?\d+(\.\d+)?$/;

function bestOf(s) {
  const askPrices = s.asks.map((r) => r[0]);
  const bidPrices = s.bids.map((r) => r[0]);
  const bad = [...askPrices, ...bidPrices].find((p) => !DECIMAL.test(p));
  if (bad !== undefined) throw new Error(`price cell is not a decimal string: ${JSON.stringify(bad)}`);
  return {
    ask: Math.min(...askPrices.map(Number)),
    bid: Math.max(...bidPrices.map(Number)),
    askText: askPrices[askPrices.map(Number).indexOf(Math.min(...askPrices.map(Number)))],
    bidText: bidPrices[bidPrices.map(Number).indexOf(Math.max(...bidPrices.map(Number)))],
  };
}

// ---- WebSocket traffic, seen from the browser ----
const sockets = [];   // {url, sent: [], received: [{t, stream, id, result, error}]}
function watchSocket(ws) {
  const rec = { url: ws.url(), sent: [], received: [], closed: false };
  sockets.push(rec);
  ws.on('framesent', (f) => {
    try { rec.sent.push({ t: Date.now(), ...JSON.parse(f.payload) }); } catch (_) { /* not JSON */ }
  });
  ws.on('framereceived', (f) => {
    try {
      const m = JSON.parse(f.payload);
      rec.received.push({ t: Date.now(), stream: m.stream, id: m.id, result: m.result, error: m.error, data: m.stream === '!bridgeStatus' ? m.data : undefined });
    } catch (_) { /* not JSON */ }
  });
  ws.on('close', () => { rec.closed = true; });
}
async function waitNode(pred, what) {
  const end = Date.now() + STEP_MS;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- The test ----
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
} catch (e) {
  await fail(`cannot launch ${CHROMIUM}: ${String(e.message || e).split('\n')[0]}`);
}
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
page = await context.newPage();
page.on('pageerror', (e) => pageErrors.push(String(e.message || e)));
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('websocket', watchSocket);
const restRequests = [];
page.on('request', (r) => { if (new URL(r.url()).pathname.includes('/api/v3/')) restRequests.push(r.url()); });

await check(`page opens: ${url}`, async () => {
  const res = await page.goto(url, { waitUntil: 'load', timeout: STEP_MS });
  if (!res || !res.ok()) throw new Error(`HTTP ${res ? res.status() : 'no response'}`);
  const ct = res.headers()['content-type'] || '';
  return `HTTP ${res.status()}, ${ct || 'no content-type'}`;
});

await check('status becomes live', async () => {
  await until(page, () => document.getElementById('status')?.textContent.trim() === 'live'
    && window.rltop?.state === 'live', null, "#status 'live' (and window.rltop.state)");
  const s = await page.evaluate(snapshot);
  return `#status=${s.status}, ${sockets.length} socket(s), ${s.messages} frame(s)`;
});

const token = new URL(url).searchParams.get('token');
if (token !== null) {
  await check('token passed on to the WebSocket and REST calls', async () => {
    const ws = sockets[sockets.length - 1];
    if (new URL(ws.url).searchParams.get('token') !== token) throw new Error(`WebSocket URL without the token: ${ws.url}`);
    const bare = restRequests.filter((u) => new URL(u).searchParams.get('token') !== token);
    if (bare.length) throw new Error(`REST call without the token: ${bare[0]}`);
    return `${restRequests.length} REST call(s) and the socket carry token=`;
  });
}

let symbols;
await check('symbol picker lists ≥ 2 symbols', async () => {
  symbols = await until(page, () => {
    const v = [...document.querySelectorAll('#symbol option')].map((o) => o.value).filter(Boolean);
    return v.length >= 2 ? v : null;
  }, null, '≥ 2 options in #symbol');
  return symbols.join(', ');
});

await check('bids and asks have rows, best ask > best bid', async () => {
  await until(page, () => document.querySelectorAll('#asks tbody tr').length > 0
    && document.querySelectorAll('#bids tbody tr').length > 0, null, 'rows in #asks and #bids');
  const s = await page.evaluate(snapshot);
  const b = bestOf(s);
  if (!(b.ask > b.bid)) throw new Error(`best ask ${b.askText} is not above best bid ${b.bidText}`);
  return `${s.asks.length} asks / ${s.bids.length} bids, ${b.bidText} / ${b.askText}, ${s.spread}`;
});

await check("prices show the instrument's tick, quantities its step (the wire has 8 places)", async () => {
  const s = await page.evaluate(snapshot);
  // The instrument's filters, asked of REST here, not taken from the page.
  const filters = await page.evaluate(async (symbol) => {
    const r = await fetch(`api/v3/exchangeInfo?symbol=${encodeURIComponent(symbol)}${location.search.replace('?', '&')}`);
    return (await r.json()).symbols[0].filters;
  }, s.symbol);
  const places = (step) => (step.split('.')[1] || '').replace(/0+$/, '').length;
  const tick = places(filters.find((f) => f.filterType === 'PRICE_FILTER').tickSize);
  const lot = places(filters.find((f) => f.filterType === 'LOT_SIZE').stepSize);
  const digits = (text) => (text.split('.')[1] || '').length;
  const bad = [...s.asks, ...s.bids].find((r) => digits(r[0]) !== tick || digits(r[1]) > Math.max(lot, 0));
  if (bad) throw new Error(`level ${JSON.stringify(bad)}: price not at ${tick} places or quantity past ${lot}`);
  return `${tick} price places, at most ${lot} quantity places, e.g. ${s.asks[0][0]} × ${s.asks[0][1]}`;
});

await check('trade tape gains rows over time', async () => {
  const before = new Set((await page.evaluate(snapshot)).trades.map((t) => t.id));
  const fresh = await until(page, (ids) => {
    const rows = [...document.querySelectorAll('#trades tbody tr')];
    const n = rows.filter((tr) => !ids.includes(tr.dataset.id ?? tr.innerText)).length;
    return n > 0 ? { n, total: rows.length } : null;
  }, [...before], 'a new row in #trades');
  const s = await page.evaluate(snapshot);
  if (s.trades.length > 50) throw new Error(`${s.trades.length} rows in the tape (at most 50)`);
  const top = s.trades[0];
  return `${fresh.n} new row(s), ${fresh.total} in all; newest ${top.cells.join(' ')} (${top.cls})`;
});

await check('ladder content changes over time', async () => {
  const a = await page.evaluate(ladderText);
  await until(page, (prev) => {
    const now = document.getElementById('asks').innerText + '|' + document.getElementById('bids').innerText;
    return now !== prev && now.length > 1;
  }, a, 'a change in #asks/#bids');
  return 'changed';
});

// ---- Symbol switch on the same socket ----
const [first, second] = [await page.evaluate(() => window.rltop.symbol), symbols.find((s, i) => i === 1)];
let switchAt = 0;
let switchSocket = null;
await check(`switch symbol ${first} → ${second} on the same socket`, async () => {
  if (first === second) throw new Error(`page is already on ${second}`);
  await page.evaluate(() => {
    window.__test = { socket: window.rltop.socket, minTrades: Infinity, oldRowsAfterEmpty: 0 };
    const tb = document.querySelector('#trades tbody');
    const note = () => { window.__test.minTrades = Math.min(window.__test.minTrades, tb.rows.length); };
    new MutationObserver(note).observe(tb, { childList: true });
  });
  switchSocket = sockets[sockets.length - 1];
  switchAt = Date.now();
  await page.selectOption('#symbol', second);
  await until(page, (sym) => window.rltop.symbol === sym, second, `window.rltop.symbol === ${second}`);
  if (!(await page.evaluate(() => window.rltop.socket === window.__test.socket))) {
    throw new Error('the page opened a new socket instead of (UN)SUBSCRIBE on the same one');
  }
  // What went over the wire: UNSUBSCRIBE of the old streams, SUBSCRIBE of the new, replies.
  const oldS = first.toLowerCase();
  const newS = second.toLowerCase();
  const unsub = await waitNode(() => switchSocket.sent.find((m) => m.method === 'UNSUBSCRIBE'
    && (m.params || []).some((p) => p.startsWith(oldS + '@'))), 'an UNSUBSCRIBE frame');
  const sub = await waitNode(() => switchSocket.sent.find((m) => m.method === 'SUBSCRIBE'
    && (m.params || []).some((p) => p.startsWith(newS + '@'))), 'a SUBSCRIBE frame');
  for (const req of [unsub, sub]) {
    const reply = await waitNode(() => switchSocket.received.find((m) => m.id === req.id && m.stream === undefined),
      `the reply to ${req.method} id ${req.id}`);
    if (reply.error || reply.result !== null) {
      throw new Error(`reply to ${req.method} id ${req.id}: ${JSON.stringify({ result: reply.result, error: reply.error })}`);
    }
  }
  const streams = await waitNode(() => {
    const seen = new Set(switchSocket.received.filter((m) => m.t >= switchAt && m.stream && m.stream.startsWith(newS + '@')).map((m) => m.stream.slice(newS.length + 1)));
    return seen.has('depth20@100ms') && seen.has('trade') ? [...seen] : null;
  }, `${newS}@depth20@100ms and ${newS}@trade frames`);
  return `UNSUBSCRIBE ${JSON.stringify(unsub.params)} → result null; SUBSCRIBE ${JSON.stringify(sub.params)} → result null; frames on ${streams.join(', ')}`;
});

await check(`ladder shows ${second} and updates`, async () => {
  await until(page, (sym) => document.getElementById('asks').dataset.symbol === sym
    && document.getElementById('bids').dataset.symbol === sym
    && document.querySelectorAll('#asks tbody tr').length > 0
    && document.querySelectorAll('#bids tbody tr').length > 0, second, `rows in #asks/#bids for ${second}`);
  const a = await page.evaluate(ladderText);
  await until(page, (prev) => (document.getElementById('asks').innerText + '|' + document.getElementById('bids').innerText) !== prev, a, `a change of the ${second} ladder`);
  const b = bestOf(await page.evaluate(snapshot));
  if (!(b.ask > b.bid)) throw new Error(`best ask ${b.askText} is not above best bid ${b.bidText}`);
  // No frame for the old symbol once the UNSUBSCRIBE was answered (a little grace for frames in flight).
  const unsub = switchSocket.sent.find((m) => m.method === 'UNSUBSCRIBE');
  const reply = switchSocket.received.find((m) => m.id === unsub.id && m.stream === undefined);
  const late = switchSocket.received.filter((m) => m.t > reply.t + 250 && m.stream && m.stream.startsWith(first.toLowerCase() + '@'));
  if (late.length) throw new Error(`${late.length} frame(s) for ${first} after UNSUBSCRIBE was answered (e.g. ${late[0].stream})`);
  return `${b.bidText} / ${b.askText}`;
});

await check(`trade tape cleared and refilled with ${second}`, async () => {
  const min = await page.evaluate(() => window.__test.minTrades);
  if (min !== 0) throw new Error(`the tape was never empty after the switch (fewest rows seen: ${min})`);
  await until(page, (sym) => {
    const rows = [...document.querySelectorAll('#trades tbody tr')];
    return rows.length > 0 && rows.every((tr) => tr.dataset.symbol === sym);
  }, second, `rows of ${second} only in #trades`);
  const before = (await page.evaluate(snapshot)).trades.map((t) => t.id);
  await until(page, (ids) => [...document.querySelectorAll('#trades tbody tr')].some((tr) => !ids.includes(tr.dataset.id)), before, `a new ${second} trade`);
  const s = await page.evaluate(snapshot);
  const other = s.trades.filter((t) => t.symbol !== second);
  if (other.length) throw new Error(`${other.length} row(s) of another symbol in the tape`);
  return `${s.trades.length} row(s), newest ${s.trades[0].cells.join(' ')}`;
});

// ---- Reconnect ----
await check('socket.close() → reconnecting → live, frames flow again', async () => {
  await page.evaluate(() => {
    window.__test.seen = [];
    window.__test.old = window.rltop.socket;
    const st = document.getElementById('status');
    const note = () => { const t = st.textContent.trim(); if (window.__test.seen[window.__test.seen.length - 1] !== t) window.__test.seen.push(t); };
    note();
    new MutationObserver(note).observe(st, { childList: true, characterData: true, subtree: true });
    window.rltop.socket.close();
  });
  const closedAt = Date.now();
  await until(page, () => window.__test.seen.includes('reconnecting'), null, "#status 'reconnecting'");
  await until(page, () => {
    const s = window.__test.seen;
    return s.lastIndexOf('live') > s.indexOf('reconnecting') && window.rltop.state === 'live'
      && window.rltop.socket !== window.__test.old && window.rltop.socket.readyState === 1;
  }, null, "#status back to 'live' on a new socket");
  const back = Date.now() - closedAt;
  const m0 = await page.evaluate(() => window.rltop.messages);
  await until(page, (m) => window.rltop.messages > m + 5, m0, 'frames on the new socket');
  const ws = sockets[sockets.length - 1];
  if (ws === switchSocket) throw new Error('no new WebSocket was opened');
  const streams = new URL(ws.url).searchParams.get('streams') || '';
  const wantSym = second.toLowerCase();
  const resub = streams.includes(wantSym + '@') || ws.sent.some((m) => m.method === 'SUBSCRIBE' && (m.params || []).some((p) => p.startsWith(wantSym + '@')));
  if (!resub) throw new Error(`the new socket did not subscribe ${second}: ${ws.url}`);
  const seen = await page.evaluate(() => window.__test.seen.join(' → '));
  const sym = await page.evaluate(() => window.rltop.symbol);
  if (sym !== second) throw new Error(`symbol after reconnect is ${sym}, not ${second}`);
  await until(page, (sym2) => {
    const rows = [...document.querySelectorAll('#trades tbody tr')];
    return rows.length > 0 && rows.every((tr) => tr.dataset.symbol === sym2);
  }, second, `the tape of ${second} after reconnecting`);
  return `${seen}; live again after ${secs(back)} s; new socket ${new URL(ws.url).pathname}?streams=${streams}`;
});

await check(`screenshot → ${shotPath}`, async () => {
  await page.waitForTimeout(600); // let a few more updates land
  await page.screenshot({ path: shotPath });
  const s = await page.evaluate(snapshot);
  return `${s.symbol}, ${s.asks.length}+${s.bids.length} levels, ${s.trades.length} trades, ${s.messages} frames`;
});

await check('no uncaught errors in the page', async () => {
  if (pageErrors.length) throw new Error(pageErrors.join(' | '));
  return consoleErrors.length ? `${consoleErrors.length} console error(s): ${consoleErrors.slice(0, 3).join(' | ')}` : 'none';
});

clearTimeout(overall);
await browser.close();
console.log(`RESULT: PASS, ${checks} checks in ${secs(Date.now() - t0)} s`);
process.exit(0);
