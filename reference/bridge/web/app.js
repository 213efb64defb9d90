// RLTOP bridge — live page.
//
// Talks to the bridge exactly as a client talks to Binance's spot market-data API:
// REST history from /api/v3/{exchangeInfo,depth,klines,trades}, then one combined-stream
// WebSocket (/stream?streams=...) kept up to date with SUBSCRIBE / UNSUBSCRIBE when the
// symbol changes. Prices and quantities are decimal strings and are shown as given; they
// are parsed only to draw (chart, depth bars) and for exact decimal arithmetic (spread,
// cumulative depth) done on BigInt.
//
// Plain ES2020, no dependencies: the bridge embeds this file in its binary.
'use strict';

(() => {
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const MAX_TRADES = 50;
  const MAX_CANDLES = 500;
  const DEPTH_LEVELS = 20;
  const KLINE_LIMIT = 100;
  const REST_TIMEOUT_MS = 10000;
  const STATUS_STREAM = '!bridgeStatus';

  const $ = (id) => document.getElementById(id);
  const els = {
    status: $('status'),
    detail: $('detail'),
    source: $('source'),
    error: $('error'),
    symbol: $('symbol'),
    lastPrice: $('last-price'),
    lastQty: $('last-qty'),
    asks: $('asks').tBodies[0],
    bids: $('bids').tBodies[0],
    asksTable: $('asks'),
    bidsTable: $('bids'),
    spread: $('spread'),
    bookId: $('book-id'),
    trades: $('trades').tBodies[0],
    tradesTable: $('trades'),
    tradeCount: $('trade-count'),
    chart: $('chart'),
    chartTitle: $('chart-title'),
    ohlc: $('ohlc'),
  };

  // ---- Query parameters: the access token is passed on to every request. ----
  const pageParams = new URLSearchParams(location.search);
  const token = pageParams.get('token');

  function withToken(url) {
    if (token !== null) url.searchParams.set('token', token);
    return url;
  }

  function restUrl(path, params) {
    const url = new URL(path, location.href);
    for (const [k, v] of Object.entries(params || {})) url.searchParams.set(k, String(v));
    return withToken(url);
  }

  function streamsFor(symbol) {
    const s = symbol.toLowerCase();
    return [`${s}@depth${DEPTH_LEVELS}@100ms`, `${s}@trade`, `${s}@kline_1m`];
  }

  function wsUrl(streams) {
    const url = new URL('stream', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    // Stream names contain '@' and '!'; Binance takes them unescaped, '/'-separated.
    const q = 'streams=' + streams.join('/');
    const t = token !== null ? '&token=' + encodeURIComponent(token) : '';
    url.search = '?' + q + t;
    return url.toString();
  }

  // ---- Exact decimals (BigInt) for spread and cumulative depth. ----
  function dec(str) {
    let s = String(str).trim();
    let neg = false;
    if (s[0] === '-' || s[0] === '+') { neg = s[0] === '-'; s = s.slice(1); }
    if (!/^\d*\.?\d*$/.test(s) || s === '' || s === '.') return null;
    const [a, b = ''] = s.split('.');
    const v = BigInt((a || '0') + b);
    return { v: neg ? -v : v, s: b.length };
  }
  function rescale(d, s) { return d.v * 10n ** BigInt(s - d.s); }
  function decFormat(v, s) {
    const neg = v < 0n;
    let t = (neg ? -v : v).toString();
    if (s > 0) {
      t = t.padStart(s + 1, '0');
      t = t.slice(0, t.length - s) + '.' + t.slice(t.length - s);
    }
    return (neg ? '-' : '') + t;
  }
  // A decimal string with the instrument's places: the bridge writes 8 as Binance does
  // ("133.20000000"); shown with a tick of 0.01 it is "133.20". Only zeros past the places
  // are cut, from the text itself: no digit that matters is dropped or rounded.
  function places(text, n) {
    const s = String(text);
    const dot = s.indexOf('.');
    if (dot < 0 || n == null) return s;
    let end = s.length;
    while (end > dot + 1 + n && s[end - 1] === '0') end--;
    return end === dot + 1 ? s.slice(0, dot) : s.slice(0, end);
  }
  const info = () => model.info.get(rltop.symbol) || {};
  const price = (text) => places(text, info().tickDecimals);
  const qty = (text) => places(text, info().stepDecimals);

  function decimalsOf(str) {
    const s = String(str);
    const i = s.indexOf('.');
    if (i < 0) return 0;
    return s.slice(i + 1).replace(/0+$/, '').length;
  }

  // ---- State ----
  const rltop = {
    socket: null,
    state: 'connecting',
    symbol: null,
    messages: 0,
  };
  window.rltop = rltop;

  const model = {
    symbols: [],            // exchangeInfo symbols
    info: new Map(),        // symbol -> {tickDecimals, stepDecimals}
    bids: [], asks: [],     // [[price, qty], ...] as given
    lastUpdateId: null,
    wsDepthSeen: false,     // a live snapshot arrived since the last (re)load: REST depth is older
    trades: [],             // newest first: {id, price, qty, time, m, symbol, fresh}
    tradeIds: new Set(),
    candles: [],            // {t, T, o, h, l, c, v, x, os, hs, ls, cs, vs}
    lastTrade: null,        // {price (string), p (number), m}
    prevLastPrice: null,
  };

  let sourceState = null;   // last !bridgeStatus state
  let sourceInfo = null;    // last !bridgeStatus payload
  let connected = false;    // socket open
  let everConnected = false;
  let backoff = BACKOFF_MIN_MS;
  let reconnectTimer = null;
  let reconnectAt = 0;
  let subscribed = new Set(); // streams the current socket carries (URL + SUBSCRIBE - UNSUBSCRIBE)
  let nextId = 1;
  const pending = new Map();  // request id -> description
  let historyGen = 0;
  let connGen = 0;            // +1 per opened socket; live trades and candles carry it

  // ---- Connection state shown in #status ----
  function computeState() {
    if (!connected) return everConnected ? 'reconnecting' : 'connecting';
    if (sourceState === 'stale' || sourceState === 'ended') return 'stale';
    if (sourceState === 'starting') return 'connecting';
    return 'live';
  }

  function updateStatus() {
    const st = computeState();
    rltop.state = st;
    if (els.status.textContent !== st) els.status.textContent = st;
    els.status.dataset.state = st;
    let title = '';
    if (st === 'reconnecting' && reconnectTimer) {
      const secs = Math.max(0, (reconnectAt - Date.now()) / 1000);
      els.detail.textContent = `retry in ${secs.toFixed(1)} s`;
    } else {
      els.detail.textContent = '';
    }
    if (sourceInfo) {
      const reason = sourceInfo.reason ? ` — ${sourceInfo.reason}` : '';
      els.source.textContent = `${sourceInfo.source || 'source'}: ${sourceInfo.state}${reason}`;
      title = `${sourceInfo.source || 'source'} ${sourceInfo.state}${reason}`;
      els.source.title = title;
      els.source.dataset.state = sourceInfo.state;
    }
  }
  setInterval(() => { if (reconnectTimer) updateStatus(); }, 250);

  function showError(msg) {
    if (msg) {
      els.error.textContent = msg;
      els.error.hidden = false;
    } else {
      els.error.hidden = true;
      els.error.textContent = '';
    }
  }

  // ---- REST ----
  async function getJson(path, params) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), REST_TIMEOUT_MS);
    try {
      const res = await fetch(restUrl(path, params), { cache: 'no-store', signal: ctl.signal });
      if (!res.ok) {
        let body = '';
        try { body = (await res.text()).slice(0, 200); } catch (_) { /* ignore */ }
        throw new Error(`${path}: HTTP ${res.status}${body ? ' ' + body : ''}`);
      }
      return await res.json();
    } finally {
      clearTimeout(timer);
    }
  }

  async function loadSymbols() {
    for (let delay = BACKOFF_MIN_MS; ; delay = Math.min(delay * 2, BACKOFF_MAX_MS)) {
      try {
        const info = await getJson('api/v3/exchangeInfo');
        const syms = (info.symbols || []).filter((s) => s && s.symbol);
        if (syms.length === 0) throw new Error('exchangeInfo lists no symbols');
        showError(null);
        return syms;
      } catch (e) {
        showError(`Cannot load symbols: ${e.message} (retrying)`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  function applySymbols(syms) {
    model.symbols = syms;
    model.info.clear();
    for (const s of syms) {
      const filters = s.filters || [];
      const pf = filters.find((f) => f.filterType === 'PRICE_FILTER');
      const ls = filters.find((f) => f.filterType === 'LOT_SIZE');
      model.info.set(s.symbol, {
        tickDecimals: pf && pf.tickSize ? decimalsOf(pf.tickSize) : null,
        tick: pf && parseFloat(pf.tickSize) > 0 ? parseFloat(pf.tickSize) : null,
        stepDecimals: ls && ls.stepSize ? decimalsOf(ls.stepSize) : null,
        base: s.baseAsset, quote: s.quoteAsset, status: s.status,
      });
    }
    const sel = els.symbol;
    sel.textContent = '';
    for (const s of syms) {
      const o = document.createElement('option');
      o.value = s.symbol;
      o.textContent = s.status && s.status !== 'TRADING' ? `${s.symbol} (${s.status})` : s.symbol;
      sel.appendChild(o);
    }
    sel.disabled = false;
  }

  async function loadHistory(symbol) {
    const gen = ++historyGen;
    const current = () => gen === historyGen && rltop.symbol === symbol;
    const tasks = [
      getJson('api/v3/depth', { symbol, limit: DEPTH_LEVELS }).then((d) => {
        if (!current() || model.wsDepthSeen) return;
        setDepth(d, symbol);
      }),
      getJson('api/v3/trades', { symbol, limit: MAX_TRADES }).then((list) => {
        if (!current()) return;
        const items = (Array.isArray(list) ? list : []).map((t) => ({
          id: t.id, price: t.price, qty: t.qty, time: t.time, m: !!t.isBuyerMaker, symbol, fresh: false, gen: -1,
        }));
        // The history replaces what the tape held, but not trades received live on this socket.
        model.trades = model.trades.filter((t) => t.gen === connGen);
        model.tradeIds = new Set(model.trades.map((t) => t.id));
        mergeTrades(items, true);
        if (!model.lastTrade && model.trades.length) {
          const t = model.trades[0];
          setLastTrade(t.price, t.qty, t.m);
        }
      }),
      getJson('api/v3/klines', { symbol, interval: '1m', limit: KLINE_LIMIT }).then((rows) => {
        if (!current()) return;
        const fromRest = (Array.isArray(rows) ? rows : []).map((r) => candle(r[0], r[6], r[1], r[2], r[3], r[4], r[5], true, -1));
        // Candles updated live on this socket may be newer than the history (they can arrive
        // first): they win over their REST copy and are kept after it. Older ones are replaced.
        const liveNow = model.candles.filter((c) => c.gen === connGen);
        const lastT = fromRest.length ? fromRest[fromRest.length - 1].t : -Infinity;
        const newer = liveNow.filter((c) => c.t > lastT);
        const live = new Map(liveNow.map((c) => [c.t, c]));
        model.candles = fromRest.map((c) => live.get(c.t) || c).concat(newer).slice(-MAX_CANDLES);
        scheduleRender('chart');
      }),
    ];
    const results = await Promise.allSettled(tasks);
    if (!current()) return;
    const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason && r.reason.message);
    showError(failed.length ? `History for ${symbol}: ${failed.join('; ')}` : null);
  }

  // ---- Model updates ----
  function setDepth(d, symbol) {
    if (!d || symbol !== rltop.symbol) return;
    model.bids = Array.isArray(d.bids) ? d.bids : [];
    model.asks = Array.isArray(d.asks) ? d.asks : [];
    model.lastUpdateId = d.lastUpdateId != null ? d.lastUpdateId : null;
    scheduleRender('book');
  }

  function mergeTrades(items, force) {
    let added = !!force;
    for (const t of items) {
      if (t.id == null || model.tradeIds.has(t.id)) continue;
      model.trades.push(t);
      model.tradeIds.add(t.id);
      added = true;
    }
    if (!added) return;
    model.trades.sort((a, b) => (b.time - a.time) || (b.id - a.id));
    if (model.trades.length > MAX_TRADES) {
      for (const t of model.trades.splice(MAX_TRADES)) model.tradeIds.delete(t.id);
    }
    scheduleRender('trades');
  }

  function candle(t, T, o, h, l, c, v, x, gen) {
    return {
      t: Number(t), T: Number(T), x: !!x, gen,
      o: parseFloat(o), h: parseFloat(h), l: parseFloat(l), c: parseFloat(c), v: parseFloat(v),
      os: String(o), hs: String(h), ls: String(l), cs: String(c), vs: String(v),
    };
  }

  function applyKline(k) {
    const c = candle(k.t, k.T, k.o, k.h, k.l, k.c, k.v, k.x, connGen);
    const cs = model.candles;
    const last = cs[cs.length - 1];
    if (!last || c.t > last.t) {
      cs.push(c);
      if (cs.length > MAX_CANDLES) cs.splice(0, cs.length - MAX_CANDLES);
    } else if (c.t === last.t) {
      cs[cs.length - 1] = c;
    } else {
      const i = cs.findIndex((e) => e.t === c.t);
      if (i >= 0) cs[i] = c;
      else return;
    }
    scheduleRender('chart');
  }

  function setLastTrade(price, qty, m) {
    const p = parseFloat(price);
    model.prevLastPrice = model.lastTrade ? model.lastTrade.p : null;
    model.lastTrade = { price: String(price), qty: String(qty), p, m };
    scheduleRender('last');
    scheduleRender('chart');
  }

  function resetSymbolData() {
    model.bids = [];
    model.asks = [];
    model.lastUpdateId = null;
    model.wsDepthSeen = false;
    model.trades = [];
    model.tradeIds.clear();
    model.candles = [];
    model.lastTrade = null;
    model.prevLastPrice = null;
    // Cleared at once (not on the next frame), so the switch is visible immediately.
    renderBook();
    renderTrades();
    renderLast();
    renderChart();
  }

  // ---- WebSocket ----
  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    const streams = rltop.symbol ? streamsFor(rltop.symbol) : [];
    streams.push(STATUS_STREAM);
    let ws;
    try {
      ws = new WebSocket(wsUrl(streams));
    } catch (e) {
      showError(`WebSocket: ${e.message}`);
      scheduleReconnect();
      return;
    }
    rltop.socket = ws;
    subscribed = new Set(streams);
    pending.clear();

    ws.onopen = () => {
      if (ws !== rltop.socket) return;
      const reconnected = everConnected;
      connected = true;
      everConnected = true;
      connGen++;
      backoff = BACKOFF_MIN_MS;
      updateStatus();
      reconcileSubscriptions();
      if (reconnected && rltop.symbol) {
        // Fill what was missed while the socket was down.
        model.wsDepthSeen = false;
        loadHistory(rltop.symbol);
      }
    };
    ws.onmessage = (ev) => {
      if (ws !== rltop.socket) return;
      rltop.messages++;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (_) { return; }
      handleFrame(msg);
    };
    ws.onerror = () => { /* onclose follows */ };
    ws.onclose = (ev) => {
      if (ws !== rltop.socket) return;
      connected = false;
      if (ev && ev.code === 1008) showError(`Bridge refused the connection: ${ev.reason || 'policy violation'}`);
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (reconnectTimer) return;
    const delay = backoff;
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    reconnectAt = Date.now() + delay;
    reconnectTimer = setTimeout(connect, delay);
    updateStatus();
  }

  function send(method, params) {
    const ws = rltop.socket;
    if (!ws || ws.readyState !== WebSocket.OPEN || params.length === 0) return;
    const id = nextId++;
    pending.set(id, `${method} ${params.join(',')}`);
    ws.send(JSON.stringify({ method, params, id }));
  }

  // Bring the socket's streams in line with the current symbol.
  function reconcileSubscriptions() {
    const ws = rltop.socket;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const want = new Set(rltop.symbol ? streamsFor(rltop.symbol) : []);
    want.add(STATUS_STREAM);
    const drop = [...subscribed].filter((s) => !want.has(s));
    const add = [...want].filter((s) => !subscribed.has(s));
    send('UNSUBSCRIBE', drop);
    send('SUBSCRIBE', add);
    subscribed = want;
  }

  function handleFrame(msg) {
    if (!msg || typeof msg !== 'object') return;
    if (typeof msg.stream !== 'string') {
      // A reply to SUBSCRIBE / UNSUBSCRIBE: {"result":null,"id":N} or an error.
      if (msg.id != null) {
        const what = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) showError(`${what || 'request ' + msg.id}: ${msg.error.msg || JSON.stringify(msg.error)}`);
      } else if (msg.error) {
        showError(`Bridge: ${msg.error.msg || JSON.stringify(msg.error)}`);
      }
      return;
    }
    const data = msg.data;
    if (msg.stream === STATUS_STREAM) {
      if (data && typeof data === 'object') {
        sourceInfo = data;
        sourceState = data.state || null;
        updateStatus();
      }
      return;
    }
    const at = msg.stream.indexOf('@');
    if (at < 0 || !rltop.symbol) return;
    const sym = msg.stream.slice(0, at);
    const kind = msg.stream.slice(at + 1);
    // Late frames of a symbol just unsubscribed are dropped.
    if (sym !== rltop.symbol.toLowerCase() || !data) return;
    if (kind.startsWith('depth')) {
      model.wsDepthSeen = true;
      setDepth(data, rltop.symbol);
    } else if (kind === 'trade') {
      mergeTrades([{ id: data.t, price: data.p, qty: data.q, time: data.T, m: !!data.m, symbol: rltop.symbol, fresh: true, gen: connGen }]);
      setLastTrade(data.p, data.q, !!data.m);
    } else if (kind.startsWith('kline') && data.k) {
      applyKline(data.k);
    }
  }

  // ---- Symbol switching ----
  function selectSymbol(symbol) {
    if (!symbol || symbol === rltop.symbol) return;
    rltop.symbol = symbol;
    if (els.symbol.value !== symbol) els.symbol.value = symbol;
    els.chartTitle.textContent = symbol;
    els.asksTable.dataset.symbol = symbol;
    els.bidsTable.dataset.symbol = symbol;
    els.tradesTable.dataset.symbol = symbol;
    const url = new URL(location.href);
    url.searchParams.set('symbol', symbol);
    history.replaceState(null, '', url);
    resetSymbolData();
    reconcileSubscriptions();
    loadHistory(symbol);
  }

  els.symbol.addEventListener('change', () => selectSymbol(els.symbol.value));

  // ---- Rendering (coalesced to one pass per animation frame) ----
  const dirty = new Set();
  let rafPending = false;
  function scheduleRender(what) {
    dirty.add(what);
    if (rafPending) return;
    rafPending = true;
    const run = () => {
      rafPending = false;
      const d = [...dirty];
      dirty.clear();
      if (d.includes('book')) renderBook();
      if (d.includes('trades')) renderTrades();
      if (d.includes('last')) renderLast();
      if (d.includes('chart')) renderChart();
    };
    // Hidden tabs get no animation frames; fall back to a timer there.
    if (document.hidden) setTimeout(run, 100);
    else requestAnimationFrame(run);
  }

  function ensureRows(tbody, n, cells) {
    while (tbody.rows.length < n) {
      const tr = tbody.insertRow();
      for (let i = 0; i < cells; i++) tr.insertCell();
    }
    while (tbody.rows.length > n) tbody.deleteRow(-1);
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  function cumulative(levels) {
    // Exact running totals of the quantities, in the side's widest scale.
    const parsed = levels.map((l) => dec(l[1]));
    let scale = 0;
    for (const d of parsed) if (d && d.s > scale) scale = d.s;
    let acc = 0n;
    return parsed.map((d) => {
      if (d) acc += rescale(d, scale);
      return { v: acc, s: scale };
    });
  }

  function renderBook() {
    const asks = model.asks.slice(0, DEPTH_LEVELS);
    const bids = model.bids.slice(0, DEPTH_LEVELS);
    const askCum = cumulative(asks);
    const bidCum = cumulative(bids);
    const num = (c) => Number(c.v) / 10 ** c.s;
    const maxCum = Math.max(askCum.length ? num(askCum[askCum.length - 1]) : 0,
      bidCum.length ? num(bidCum[bidCum.length - 1]) : 0) || 1;

    // Asks: highest price on top, best ask next to the spread.
    ensureRows(els.asks, asks.length, 3);
    for (let i = 0; i < asks.length; i++) {
      const j = asks.length - 1 - i;
      fillLevel(els.asks.rows[i], asks[j], askCum[j], num(askCum[j]) / maxCum);
    }
    ensureRows(els.bids, bids.length, 3);
    for (let i = 0; i < bids.length; i++) {
      fillLevel(els.bids.rows[i], bids[i], bidCum[i], num(bidCum[i]) / maxCum);
    }

    if (asks.length && bids.length) {
      const a = dec(asks[0][0]);
      const b = dec(bids[0][0]);
      if (a && b) {
        const s = Math.max(a.s, b.s);
        const spread = rescale(a, s) - rescale(b, s);
        const mid = (parseFloat(asks[0][0]) + parseFloat(bids[0][0])) / 2;
        const bps = mid > 0 ? (Number(spread) / 10 ** s / mid) * 1e4 : 0;
        setText(els.spread, `Spread ${price(decFormat(spread, s))}  (${bps.toFixed(1)} bps)`);
        els.spread.classList.toggle('crossed', spread <= 0n);
      }
    } else {
      setText(els.spread, rltop.symbol ? 'waiting for the book…' : '—');
      els.spread.classList.remove('crossed');
    }
    setText(els.bookId, model.lastUpdateId != null ? `#${model.lastUpdateId}` : '');
  }

  function fillLevel(tr, level, cum, frac) {
    const c = tr.cells;
    setText(c[0], price(level[0]));
    setText(c[1], qty(level[1]));
    setText(c[2], qty(decFormat(cum.v, cum.s)));
    tr.style.setProperty('--w', `${Math.max(0, Math.min(1, frac)) * 100}%`);
  }

  const tradeRows = new Map(); // trade (model object) -> tr; ids can repeat after a bridge restart
  function renderTrades() {
    const tbody = els.trades;
    const keep = new Set();
    let before = null;
    // New rows flash once, unless so many arrive at once that the whole tape would.
    let arriving = 0;
    for (const t of model.trades) if (!tradeRows.has(t)) arriving++;
    const flash = arriving <= 3;
    // Walk the model newest first, reusing rows; new rows flash once.
    for (let i = 0; i < model.trades.length; i++) {
      const t = model.trades[i];
      keep.add(t);
      let tr = tradeRows.get(t);
      if (!tr) {
        tr = document.createElement('tr');
        tr.dataset.id = String(t.id);
        tr.dataset.symbol = t.symbol;
        tr.className = (t.m ? 'sell' : 'buy') + (t.fresh && flash ? ' new' : '');
        tr.title = t.m ? 'seller was the aggressor (buyer is maker)' : 'buyer was the aggressor';
        const td0 = tr.insertCell(); td0.textContent = fmtTime(t.time);
        const td1 = tr.insertCell(); td1.textContent = price(t.price);
        const td2 = tr.insertCell(); td2.textContent = qty(t.qty);
        tradeRows.set(t, tr);
      }
      const at = before ? before.nextSibling : tbody.firstChild;
      if (at !== tr) tbody.insertBefore(tr, at);
      before = tr;
    }
    for (const [t, tr] of tradeRows) {
      if (!keep.has(t)) { tr.remove(); tradeRows.delete(t); }
    }
    setText(els.tradeCount, model.trades.length ? `${model.trades.length}` : '');
  }

  function pad(n, w = 2) { return String(n).padStart(w, '0'); }
  function fmtTime(ms) {
    const d = new Date(Number(ms));
    if (isNaN(d.getTime())) return '';
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function renderLast() {
    const lt = model.lastTrade;
    if (!lt) {
      setText(els.lastPrice, '—');
      setText(els.lastQty, '');
      els.lastPrice.className = 'num';
      document.title = rltop.symbol ? `${rltop.symbol} · RLTOP bridge` : 'RLTOP bridge';
      return;
    }
    setText(els.lastPrice, price(lt.price));
    setText(els.lastQty, `× ${qty(lt.qty)}`);
    const prev = model.prevLastPrice;
    const dir = prev == null || lt.p === prev ? (lt.m ? 'down' : 'up') : lt.p > prev ? 'up' : 'down';
    els.lastPrice.className = `num ${dir}`;
    document.title = `${price(lt.price)} ${rltop.symbol} · RLTOP bridge`;
  }

  // ---- Chart ----
  const ctx = els.chart.getContext('2d');
  const COLORS = {
    grid: 'rgba(255,255,255,0.06)',
    axis: '#7d8797',
    up: '#2ebd85',
    down: '#f6465d',
    volUp: 'rgba(46,189,133,0.28)',
    volDown: 'rgba(246,70,93,0.28)',
    text: '#c9d1dc',
    labelBg: '#1c222b',
  };

  function niceStep(range, target) {
    const raw = range / Math.max(1, target);
    const mag = 10 ** Math.floor(Math.log10(raw));
    const f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  }

  function renderChart() {
    const canvas = els.chart;
    const dpr = window.devicePixelRatio || 1;
    const cssW = canvas.clientWidth;
    const cssH = canvas.clientHeight;
    if (cssW <= 0 || cssH <= 0) return;
    const w = Math.round(cssW * dpr);
    const h = Math.round(cssH * dpr);
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    ctx.font = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
    ctx.textBaseline = 'middle';

    const info = rltop.symbol ? model.info.get(rltop.symbol) : null;
    const cs = model.candles;
    const lt = model.lastTrade;
    const axisW = 72;
    const timeH = 20;
    const plotX = 8;
    const plotW = cssW - axisW - plotX;
    const plotY = 10;
    const plotH = cssH - timeH - plotY;
    const volH = Math.round(plotH * 0.16);
    const priceH = plotH - volH - 6;

    if (cs.length === 0 && !lt) {
      ctx.fillStyle = COLORS.axis;
      ctx.textAlign = 'center';
      ctx.fillText(rltop.symbol ? 'waiting for candles…' : '', cssW / 2, cssH / 2);
      renderOhlc(null);
      return;
    }

    // px per candle: wider while there are few, never under 9 (older candles scroll out).
    const slot = Math.min(14, Math.max(9, Math.floor(plotW / Math.max(cs.length, 1))));
    const n = Math.max(1, Math.min(cs.length, Math.floor(plotW / slot)));
    const vis = cs.slice(-n);
    let lo = Infinity; let hi = -Infinity; let vmax = 0;
    for (const c of vis) {
      if (c.l < lo) lo = c.l;
      if (c.h > hi) hi = c.h;
      if (c.v > vmax) vmax = c.v;
    }
    if (lt && isFinite(lt.p)) { lo = Math.min(lo, lt.p); hi = Math.max(hi, lt.p); }
    if (!isFinite(lo) || !isFinite(hi)) return;
    if (hi - lo < 1e-12) { const pad = Math.abs(hi) * 0.001 || 1; lo -= pad; hi += pad; }
    const padY = (hi - lo) * 0.08;
    lo -= padY; hi += padY;
    const y = (p) => plotY + (hi - p) / (hi - lo) * priceH;
    const decimals = info && info.tickDecimals != null ? info.tickDecimals : 2;

    // Last-trade price (drawn last); axis labels under its tag are left out.
    const lastPrice = lt ? lt.p : vis.length ? vis[vis.length - 1].c : null;
    const lastText = lt ? price(lt.price) : vis.length ? price(vis[vis.length - 1].cs) : null;
    const lastY = lastPrice != null && isFinite(lastPrice) ? Math.round(y(lastPrice)) + 0.5 : null;

    // Horizontal grid + price axis.
    // Grid steps of whole ticks at least, so no two labels read the same.
    const tick = info && info.tick ? info.tick : 0;
    let step = niceStep(hi - lo, Math.max(3, Math.floor(priceH / 55)));
    if (tick && step < tick) step = tick;
    const labelDecimals = Math.min(12, Math.max(decimals, Math.ceil(-Math.log10(step) - 1e-9)));
    ctx.textAlign = 'left';
    ctx.lineWidth = 1;
    for (let p = Math.ceil(lo / step) * step; p <= hi; p += step) {
      const yy = Math.round(y(p)) + 0.5;
      ctx.strokeStyle = COLORS.grid;
      ctx.beginPath(); ctx.moveTo(plotX, yy); ctx.lineTo(plotX + plotW, yy); ctx.stroke();
      if (lastY !== null && Math.abs(yy - lastY) < 14) continue;
      ctx.fillStyle = COLORS.axis;
      ctx.fillText(p.toFixed(Math.max(labelDecimals, 0)), plotX + plotW + 8, yy);
    }

    // Candles, right-aligned.
    const x0 = plotX + plotW - vis.length * slot;
    const bodyW = slot - 3;
    const volBase = plotY + plotH;
    const labelEvery = [1, 2, 5, 10, 15, 30, 60, 120, 240, 720, 1440].find((m) => m * slot >= 70) || 1440;
    ctx.textAlign = 'center';
    for (let i = 0; i < vis.length; i++) {
      const c = vis[i];
      const cx = x0 + i * slot + slot / 2;
      const up = c.c >= c.o;
      const col = up ? COLORS.up : COLORS.down;
      // Time grid and label.
      const minute = Math.floor(c.t / 60000);
      if (minute % labelEvery === 0) {
        const gx = Math.round(cx) + 0.5;
        ctx.strokeStyle = COLORS.grid;
        ctx.beginPath(); ctx.moveTo(gx, plotY); ctx.lineTo(gx, volBase); ctx.stroke();
        const d = new Date(c.t);
        ctx.fillStyle = COLORS.axis;
        ctx.fillText(`${pad(d.getHours())}:${pad(d.getMinutes())}`, cx, volBase + timeH / 2 + 1);
      }
      // Volume.
      if (vmax > 0) {
        const vh = Math.max(1, (c.v / vmax) * volH);
        ctx.fillStyle = up ? COLORS.volUp : COLORS.volDown;
        ctx.fillRect(cx - bodyW / 2, volBase - vh, bodyW, vh);
      }
      // Wick and body.
      ctx.strokeStyle = col;
      ctx.beginPath();
      ctx.moveTo(Math.round(cx) + 0.5, y(c.h));
      ctx.lineTo(Math.round(cx) + 0.5, y(c.l));
      ctx.stroke();
      const top = y(Math.max(c.o, c.c));
      const bh = Math.max(1, y(Math.min(c.o, c.c)) - top);
      ctx.fillStyle = col;
      ctx.fillRect(Math.round(cx - bodyW / 2), top, bodyW, bh);
    }

    // Last-trade line with its price, as given, on the axis.
    if (lastY !== null) {
      const yy = lastY;
      const up = lt ? !lt.m : true;
      const col = up ? COLORS.up : COLORS.down;
      ctx.save();
      ctx.setLineDash([4, 3]);
      ctx.strokeStyle = col;
      ctx.globalAlpha = 0.9;
      ctx.beginPath(); ctx.moveTo(plotX, yy); ctx.lineTo(plotX + plotW, yy); ctx.stroke();
      ctx.restore();
      const tw = ctx.measureText(lastText).width + 10;
      ctx.fillStyle = col;
      ctx.fillRect(plotX + plotW + 2, yy - 9, Math.max(tw, axisW - 4), 18);
      ctx.fillStyle = '#0b0e11';
      ctx.textAlign = 'left';
      ctx.fillText(lastText, plotX + plotW + 7, yy + 0.5);
    }
    renderOhlc(cs[cs.length - 1] || null);
  }

  function renderOhlc(c) {
    if (!c) { setText(els.ohlc, ''); return; }
    const dir = c.c >= c.o ? 'up' : 'down';
    const key = `${c.t}|${c.os}|${c.hs}|${c.ls}|${c.cs}|${c.vs}`;
    if (els.ohlc.dataset.key === key) return;
    els.ohlc.dataset.key = key;
    els.ohlc.textContent = '';
    for (const [k, v] of [['O', c.os], ['H', c.hs], ['L', c.ls], ['C', c.cs], ['V', c.vs]]) {
      const lab = document.createElement('span');
      lab.className = 'muted';
      lab.textContent = k;
      const val = document.createElement('span');
      val.className = k === 'V' ? '' : dir;
      val.textContent = k === 'V' ? qty(v) : price(v);
      els.ohlc.append(lab, val);
    }
  }

  if (typeof ResizeObserver === 'function') {
    new ResizeObserver(() => scheduleRender('chart')).observe(els.chart);
  } else {
    window.addEventListener('resize', () => scheduleRender('chart'));
  }

  // ---- Start ----
  async function start() {
    updateStatus();
    const syms = await loadSymbols();
    applySymbols(syms);
    const wanted = pageParams.get('symbol');
    const first = syms.find((s) => s.symbol === wanted) || syms.find((s) => s.status === 'TRADING') || syms[0];
    selectSymbol(first.symbol);
    connect();
  }

  start();
})();
