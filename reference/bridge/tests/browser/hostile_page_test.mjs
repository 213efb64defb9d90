// The page against hostile symbols: a bridge whose feed defines instruments named with
// markup, quotes and backslashes (served with --symbol-alphabet printable).
//
//   node hostile_page_test.mjs <url> <screenshot.png> '<JSON array of every symbol>'
//
// The picker must list every symbol as the exact text the wire had; choosing each one must
// show it verbatim (chart title, error banner) and never as markup: no element the names
// spell may appear, and the page must raise no error. Exit 0 only if all of it holds.
import { chromium } from 'playwright-core';

const STEP_MS = 20_000;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const [url, shotPath, symbolsJson] = process.argv.slice(2);
if (!url || !shotPath || !symbolsJson) {
  console.error("usage: node hostile_page_test.mjs <url> <screenshot.png> '<JSON symbols>'");
  process.exit(2);
}
const expected = JSON.parse(symbolsJson);

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
const pageErrors = [];
let passed = 0;
function ok(what) { passed++; console.log(`ok   ${passed} ${what}`); }
async function fail(what) {
  console.log(`FAIL ${what}`);
  if (pageErrors.length) console.log(`     page errors: ${pageErrors.join(' | ')}`);
  console.log(`RESULT: FAIL after ${passed} passing check(s)`);
  await browser.close();
  process.exit(1);
}
const overall = setTimeout(() => fail('whole test exceeded 60 s'), 60_000);

const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
page.on('pageerror', (e) => pageErrors.push(String(e.message || e)));
// Replies to the page's requests on its sockets (`{"result":…,"id":N}` or an error).
let replies = 0;
page.on('websocket', (ws) => ws.on('framereceived', (f) => {
  try { if (JSON.parse(f.payload).id !== undefined) replies++; } catch (_) { /* not JSON */ }
}));
const answered = (path, symbol) => page.waitForResponse((r) => {
  const u = new URL(r.url());
  return u.pathname.endsWith(path) && u.searchParams.get('symbol') === symbol;
}, { timeout: STEP_MS });

// Elements a name would create if it were parsed as HTML.
const injected = () => document.querySelectorAll('#p, #symbol b, #symbol i, h1 b, h2 b, #error b, #error i').length;

try {
  const res = await page.goto(url, { waitUntil: 'load', timeout: STEP_MS });
  if (!res || !res.ok()) await fail(`page: HTTP ${res ? res.status() : 'no response'}`);
  ok('page opens');

  const options = (await page.waitForFunction((n) => {
    const o = [...document.querySelectorAll('#symbol option')];
    return o.length === n ? o.map((x) => ({ value: x.value, text: x.textContent })) : null;
  }, expected.length, { timeout: STEP_MS, polling: 50 })).jsonValue();
  const got = await options;
  const want = [...expected].sort();
  const values = got.map((o) => o.value).sort();
  const texts = got.map((o) => o.text).sort();
  if (JSON.stringify(values) !== JSON.stringify(want)) await fail(`option values ${JSON.stringify(values)} != ${JSON.stringify(want)}`);
  if (JSON.stringify(texts) !== JSON.stringify(want)) await fail(`option texts ${JSON.stringify(texts)} != ${JSON.stringify(want)}`);
  if (await page.evaluate(injected)) await fail('a symbol was parsed as markup in the picker');
  ok(`the picker lists every symbol verbatim: ${JSON.stringify(values)}`);

  for (const symbol of expected) {
    const before = replies;
    const history = Promise.all(['/api/v3/depth', '/api/v3/trades', '/api/v3/klines'].map((p) => answered(p, symbol)));
    await page.selectOption('#symbol', symbol);
    await page.waitForFunction((s) => document.getElementById('chart-title')?.textContent === s
      && window.rltop?.symbol === s, symbol, { timeout: STEP_MS, polling: 50 })
      .catch(() => fail(`chart title never showed ${JSON.stringify(symbol)}`));
    // The history and the answer to the page's SUBSCRIBE have come back and been shown.
    await history.catch(() => fail(`no history requests for ${JSON.stringify(symbol)}`));
    const end = Date.now() + STEP_MS;
    while (replies === before) {
      if (Date.now() > end) await fail(`no reply to the subscription of ${JSON.stringify(symbol)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    if (await page.evaluate(injected)) await fail(`${JSON.stringify(symbol)} was parsed as markup`);
    const banner = await page.evaluate(() => document.getElementById('error')?.textContent || '');
    ok(`${JSON.stringify(symbol)} shown as text${banner ? `; banner: ${JSON.stringify(banner)}` : ''}`);
  }
  if (pageErrors.length) await fail('the page raised errors');
  await page.screenshot({ path: shotPath });
  ok(`no page error; screenshot ${shotPath}`);
} catch (e) {
  await fail(String((e && e.message) || e).split('\n')[0]);
}
clearTimeout(overall);
console.log(`RESULT: ${passed} passed, 0 failed`);
await browser.close();
