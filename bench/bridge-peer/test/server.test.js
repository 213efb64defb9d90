// node --test test/   (PEER_TEST_PORT=P to pin the port; default: any free one)
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const WebSocket = require('ws');

const SERVER = path.join(__dirname, '..', 'server.js');

// Payloads as a bridge or a recorder would write them: key order, spacing and big integers
// must come out byte for byte.
const LINES = [
  '{"t_ns": 1700000000000000000, "stream": "sim1usdt@trade", "data": {"e":"trade","E":1700000000000,"s":"SIM1USDT","t":1,"p":"179.99","q":"0.045","T":1700000000000,"m":true,"M":true}}',
  '{"t_ns":1700000000010000000,"stream":"sim1usdt@depth@100ms","data":{"e": "depthUpdate", "E": 1700000000010, "s": "SIM1USDT", "U": 12345678901234567, "u": 12345678901234568, "b": [["179.99", "0"]], "a": []}}',
  '{"stream":"sim2usdt@trade","data":{"e":"trade","E":1700000000020,"s":"SIM2USDT","t":7,"p":"1.00","q":"2.000","T":1700000000020,"m":false,"M":true},"t_ns":"1700000000020000000"}',
  '{"t_ns":1700000000030000000,"stream":"sim1usdt@trade","data":{"E":1,"nested":{"E":2},"e":"trade"}}',
];
const DATA = [
  '{"e":"trade","E":1700000000000,"s":"SIM1USDT","t":1,"p":"179.99","q":"0.045","T":1700000000000,"m":true,"M":true}',
  '{"e": "depthUpdate", "E": 1700000000010, "s": "SIM1USDT", "U": 12345678901234567, "u": 12345678901234568, "b": [["179.99", "0"]], "a": []}',
  '{"e":"trade","E":1700000000020,"s":"SIM2USDT","t":7,"p":"1.00","q":"2.000","T":1700000000020,"m":false,"M":true}',
  '{"E":1,"nested":{"E":2},"e":"trade"}',
];
const STREAMS = ['sim1usdt@trade', 'sim1usdt@depth@100ms', 'sim2usdt@trade', 'sim1usdt@trade'];

function eventsFile() {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'peer-')), 'events.jsonl');
  fs.writeFileSync(f, LINES.join('\n') + '\n');
  return f;
}

function startServer(extra) {
  const args = [SERVER, '--port', process.env.PEER_TEST_PORT || '0', '--events', eventsFile(),
    ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

function stop(child) {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', resolve);
    child.kill('SIGTERM');
  });
}

function receive(port, streams, count) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/stream?streams=${streams.join('/')}`);
    const got = [];
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`only ${got.length}`)); }, 5000);
    ws.on('message', (data, isBinary) => {
      assert.strictEqual(isBinary, false);
      got.push(data.toString('utf8'));
      if (got.length === count) { clearTimeout(timer); ws.close(); resolve(got); }
    });
    ws.on('error', reject);
  });
}

function get(port, p) {
  return new Promise((resolve, reject) => {
    http.get(`http://127.0.0.1:${port}${p}`, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

test('combined-stream frames carry the file\'s payload bytes, per subscription', async () => {
  const { child, port } = await startServer(['--wait-clients', '2', '--speed', '10']);
  try {
    const a = receive(port, ['sim1usdt@trade', 'sim1usdt@depth@100ms'], 3);
    const b = receive(port, ['sim2usdt@trade'], 1);
    const [ga, gb] = await Promise.all([a, b]);
    const want = (i) => `{"stream":"${STREAMS[i]}","data":${DATA[i]}}`;
    assert.deepStrictEqual(ga, [want(0), want(1), want(3)]);
    assert.deepStrictEqual(gb, [want(2)]);
    const h = await get(port, '/healthz');
    assert.strictEqual(h.status, 200);
    assert.ok(['live', 'ended'].includes(JSON.parse(h.body).status));
  } finally {
    await stop(child);
  }
});

test('--stamp replaces the top-level E only, with the send time', async () => {
  const { child, port } = await startServer(['--wait-clients', '1', '--stamp', '--speed', '10']);
  try {
    const before = Date.now();
    const got = await receive(port, ['sim1usdt@trade'], 2);
    const after = Date.now();
    for (const text of got) {
      const m = JSON.parse(text);
      assert.ok(m.data.E >= before && m.data.E <= after, `E ${m.data.E} not in [${before}, ${after}]`);
    }
    assert.match(got[1], /^\{"stream":"sim1usdt@trade","data":\{"E":\d+,"nested":\{"E":2\},"e":"trade"\}\}$/);
    assert.match(got[0], /"T":1700000000000,/);
  } finally {
    await stop(child);
  }
});

test('--loop replays again; other paths are refused', async () => {
  const { child, port } = await startServer(['--loop', '--speed', '0', '--wait-clients', '1']);
  try {
    const got = await receive(port, ['sim2usdt@trade'], 3);
    assert.strictEqual(new Set(got).size, 1);
    const h = await get(port, '/nope');
    assert.strictEqual(h.status, 404);
    await assert.rejects(new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/sim1usdt@trade`);
      ws.on('open', () => { ws.close(); resolve(); });
      ws.on('error', reject);
    }));
  } finally {
    await stop(child);
  }
});
