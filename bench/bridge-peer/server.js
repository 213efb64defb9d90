#!/usr/bin/env node
// The benchmark peer of the RLTOP bridge: a plain Node `ws` broadcast server that replays a
// recorded stream of Binance-style events and serves them as Binance combined streams.
//
//   node server.js --port P --events FILE [--speed X] [--loop] [--stamp]
//                  [--host H] [--wait-clients N] [--max-buffered BYTES]
//
// FILE: JSON lines {"t_ns": <source time, ns>, "stream": "<name>", "data": <payload>}.
// Clients connect to /stream?streams=a/b and receive, for each event of a stream they named,
// exactly the text {"stream":"<name>","data":<payload>}, with <payload> the bytes of the file.
// See README.md.
'use strict';

const fs = require('fs');
const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');

// ---- arguments ----------------------------------------------------------------------------

function usage(msg) {
  if (msg) console.error(`server.js: ${msg}`);
  console.error('usage: node server.js --port P --events FILE [--speed X] [--loop] [--stamp] ' +
    '[--host H] [--wait-clients N] [--max-buffered BYTES]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { host: '127.0.0.1', speed: 1, loop: false, stamp: false, waitClients: 0,
    maxBuffered: 64 * 1024 * 1024 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const num = (s, name, min) => {
      const n = Number(s);
      if (!Number.isFinite(n) || n < min) usage(`${name}: ${s} is not a number >= ${min}`);
      return n;
    };
    switch (a) {
      case '--port': o.port = num(val(), a, 0); break;
      case '--host': o.host = val(); break;
      case '--events': o.events = val(); break;
      case '--speed': o.speed = num(val(), a, 0); break;
      case '--loop': o.loop = true; break;
      case '--stamp': o.stamp = true; break;
      case '--wait-clients': o.waitClients = num(val(), a, 0); break;
      case '--max-buffered': o.maxBuffered = num(val(), a, 0); break;
      case '-h': case '--help': usage();
      // eslint-disable-next-line no-fallthrough
      default: usage(`unknown argument ${a}`);
    }
  }
  if (o.port === undefined || !Number.isInteger(o.port) || o.port > 65535) usage('--port P');
  if (!o.events) usage('--events FILE');
  return o;
}

// ---- reading the events ---------------------------------------------------------------------

// The end (exclusive) of the JSON value starting at or after `i` (after whitespace). Only
// finds the span: the line as a whole is validated by JSON.parse.
function skipWs(s, i) {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  return i;
}

function valueEnd(s, i) {
  i = skipWs(s, i);
  const c = s[i];
  if (c === '"') {
    for (i++; i < s.length; i++) {
      if (s[i] === '\\') i++;
      else if (s[i] === '"') return i + 1;
    }
    throw new Error('unterminated string');
  }
  if (c === '{' || c === '[') {
    let depth = 0;
    for (; i < s.length; i++) {
      const d = s[i];
      if (d === '"') { i = valueEnd(s, i) - 1; continue; }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') { depth--; if (depth === 0) return i + 1; }
    }
    throw new Error('unterminated object or array');
  }
  while (i < s.length && !',}] \t\r\n'.includes(s[i])) i++;
  return i;
}

// The raw text of each top-level member of a JSON object: Map name -> [start, end) of its value.
function members(s, start = 0) {
  const out = new Map();
  let i = skipWs(s, start);
  if (s[i] !== '{') throw new Error('not an object');
  i = skipWs(s, i + 1);
  if (s[i] === '}') return out;
  for (;;) {
    const kEnd = valueEnd(s, i);
    const key = JSON.parse(s.slice(i, kEnd));
    i = skipWs(s, kEnd);
    if (s[i] !== ':') throw new Error('expected :');
    const vStart = skipWs(s, i + 1);
    const vEnd = valueEnd(s, vStart);
    out.set(key, [vStart, vEnd]);
    i = skipWs(s, vEnd);
    if (s[i] === ',') { i = skipWs(s, i + 1); continue; }
    if (s[i] === '}') return out;
    throw new Error('expected , or }');
  }
}

// One event: its time, its stream, and its frame text pre-rendered (or, with --stamp, the text
// around the top-level "E" value, joined with Date.now() at send time).
function loadEvents(path, stamp) {
  const text = fs.readFileSync(path, 'utf8');
  const events = [];
  let lineNo = 0;
  let unstamped = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    let obj;
    let m;
    try {
      obj = JSON.parse(line);
      m = members(line);
    } catch (e) {
      throw new Error(`${path}:${lineNo}: not a JSON object: ${e.message}`);
    }
    if (typeof obj.stream !== 'string' || !m.has('data') || !m.has('t_ns')) {
      throw new Error(`${path}:${lineNo}: needs "t_ns", "stream" and "data"`);
    }
    const [ts, te] = m.get('t_ns');
    const tRaw = line.slice(ts, te).replace(/"/g, '');
    if (!/^\d+$/.test(tRaw)) throw new Error(`${path}:${lineNo}: t_ns ${tRaw} is not an integer`);
    const tNs = BigInt(tRaw); // beyond 2^53: not through a double
    const [ds, de] = m.get('data');
    const data = line.slice(ds, de);
    const head = `{"stream":${JSON.stringify(obj.stream)},"data":`;
    const ev = { tNs, stream: obj.stream, text: `${head}${data}}`, before: null, after: null };
    if (stamp) {
      const dm = line[ds] === '{' ? members(line, ds) : new Map();
      if (dm.has('E')) {
        const [es, ee] = dm.get('E');
        ev.before = head + line.slice(ds, es);
        ev.after = line.slice(ee, de) + '}';
      } else {
        unstamped++;
      }
    }
    events.push(ev);
  }
  if (events.length === 0) throw new Error(`${path}: no events`);
  return { events, unstamped };
}

// ---- serving --------------------------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2));
let loaded;
try {
  loaded = loadEvents(opts.events, opts.stamp);
} catch (e) {
  console.error(`server.js: ${e.message}`);
  process.exit(1);
}
const { events } = loaded;
if (opts.stamp && loaded.unstamped > 0) {
  console.error(`server.js: --stamp: ${loaded.unstamped} event(s) have no top-level "E"; ` +
    'sent as recorded');
}

/** stream name -> Set of clients */
const subscribers = new Map();
const stats = { clients: 0, clientsTotal: 0, events: 0, messages: 0, slowCloses: 0, loops: 0 };
let state = 'waiting'; // waiting (for clients) -> live -> ended

function subscribe(ws, names) {
  for (const n of names) {
    let set = subscribers.get(n);
    if (!set) subscribers.set(n, (set = new Set()));
    set.add(ws);
  }
}

function unsubscribe(ws, names) {
  for (const n of names) {
    const set = subscribers.get(n);
    if (set) set.delete(ws);
  }
}

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: state, ...stats, eventsInFile: events.length }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"code":-1,"msg":"not found"}');
});

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://peer');
  const names = (url.searchParams.get('streams') || '').split('/').filter((s) => s !== '');
  if (url.pathname !== '/stream' || names.length === 0) {
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    stats.clients++;
    stats.clientsTotal++;
    subscribe(ws, names);
    ws.on('close', () => {
      stats.clients--;
      unsubscribe(ws, names);
    });
    ws.on('error', () => {});
    ws.on('message', () => {}); // requests are not served; the stream is fixed by the URL
    if (state === 'waiting' && stats.clients >= opts.waitClients) start();
  });
});

// ---- the replay -----------------------------------------------------------------------------

const NS_PER_MS = 1_000_000n;

function broadcast(ev) {
  const set = subscribers.get(ev.stream);
  stats.events++;
  if (!set || set.size === 0) return;
  // One rendering per event; `ws` frames and writes it for each subscriber.
  const text = ev.before === null ? ev.text : ev.before + Date.now() + ev.after;
  for (const ws of set) {
    if (ws.readyState !== WebSocket.OPEN) continue;
    if (opts.maxBuffered > 0 && ws.bufferedAmount > opts.maxBuffered) {
      // Like the bridge: a sequence is never thinned; a consumer that cannot keep up is closed.
      stats.slowCloses++;
      ws.close(1008, 'too slow: send buffer over --max-buffered');
      set.delete(ws);
      continue;
    }
    ws.send(text);
    stats.messages++;
  }
}

// Event i is due at startWall + (t_i - t_0) / speed; with --loop, round k starts where round
// k-1's last event was due (the file's span is added per round).
const t0 = events[0].tNs;
const span = events[events.length - 1].tNs - t0;
// A round lasts the file's span plus one mean gap (so the last and first events of two rounds
// are not sent together); 1 ms for a single event.
const roundNs = events.length > 1 ? span + span / BigInt(events.length - 1) : NS_PER_MS;
let startWall = 0n; // hrtime ns of round 0's first event
let round = 0n;
let next = 0;

function dueNs(i) {
  if (opts.speed === 0) return 0n; // as fast as possible
  const rel = Number(events[i].tNs - t0 + round * roundNs) / opts.speed;
  return startWall + BigInt(Math.round(rel));
}

function pump() {
  const burst = 4096; // events sent before yielding to I/O
  let sent = 0;
  for (;;) {
    if (next >= events.length) {
      if (!opts.loop) {
        state = 'ended';
        console.log(`ended: ${stats.events} events, ${stats.messages} messages`);
        return;
      }
      next = 0;
      round++;
      stats.loops++;
    }
    const now = process.hrtime.bigint();
    const due = dueNs(next);
    if (due > now) {
      const ms = Number((due - now) / NS_PER_MS);
      if (ms >= 1) setTimeout(pump, ms);
      else setImmediate(pump);
      return;
    }
    broadcast(events[next++]);
    if (++sent >= burst) {
      setImmediate(pump);
      return;
    }
  }
}

function start() {
  state = 'live';
  startWall = process.hrtime.bigint();
  console.log(`replaying ${events.length} events from ${opts.events}` +
    ` at speed ${opts.speed === 0 ? 'max' : opts.speed}${opts.loop ? ', looping' : ''}`);
  setImmediate(pump);
}

server.listen(opts.port, opts.host, () => {
  console.log(`listening on ${server.address().port}`);
  if (opts.waitClients === 0) start();
});

function shutdown() {
  console.log(`stopping: ${JSON.stringify(stats)}`);
  for (const ws of wss.clients) ws.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
