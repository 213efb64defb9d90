// What the Node client tests share: the bridge's URLs from RLTOP_BRIDGE_URL, and plain GETs.
// Without RLTOP_BRIDGE_URL every test fails with that message (nothing is skipped).

export function bridgeUrl() {
  const url = (process.env.RLTOP_BRIDGE_URL || '').trim().replace(/\/+$/, '');
  if (!/^https?:\/\//.test(url)) {
    throw new Error(
      `RLTOP_BRIDGE_URL=${JSON.stringify(url)}: set it to the running bridge, e.g. http://127.0.0.1:P`,
    );
  }
  return url;
}

export function wsUrl() {
  return bridgeUrl().replace(/^http/, 'ws');
}

export async function getJson(path) {
  const r = await fetch(bridgeUrl() + path, { signal: AbortSignal.timeout(10000) });
  if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}
