'use strict';
// bench.js CACHE CHAIN KEYS DUMP REDIS_SOCK MODE... - the Node.js side of
// bench.sh; prints "MODE NS" lines (ns per call).
//   get     reader.get over every KEYS lookup
//   basket  a 30-item basket: the first 30 KEYS items at the first store
//           of KEYS (base prices when KEYS has no store)
//   map     the same lookups in Maps built from DUMP (exception, then base)
//   redis   ioredis MGET "chain:store:item" "chain::item" per lookup
const fs = require('node:fs');
const path = require('node:path');
const pricecache = require(path.resolve(__dirname, '..'));

const [cache, chain, keysFile, dumpFile, redisSock, ...modes] = process.argv.slice(2);

function lines(file) {
  const t = fs.readFileSync(file, 'utf8').split('\n');
  if (t[t.length - 1] === '') t.pop();
  return t.map((l) => l.split('\t'));
}

const keys = lines(keysFile);
const stores = keys.map((k) => k[0]);
const items = keys.map((k) => k[1]);
const n = keys.length;

// Passes over the keys until at least minMs went by; ns per lookup.
function timeLoop(fn, minMs) {
  fn(); // warm-up pass
  let calls = 0;
  const t0 = process.hrtime.bigint();
  let dt = 0n;
  do {
    calls += fn();
    dt = process.hrtime.bigint() - t0;
  } while (dt < BigInt(minMs) * 1000000n);
  return Number(dt) / calls;
}

async function main() {
  const r = pricecache.open(cache);
  let sink = 0;
  for (const mode of modes) {
    if (mode === 'get') {
      const ns = timeLoop(() => {
        for (let i = 0; i < n; i++) {
          const p = r.get(chain, stores[i], items[i]);
          if (p !== null) sink += typeof p.cents === 'number' ? p.cents : 1;
        }
        return n;
      }, 1000);
      console.log(`get ${ns.toFixed(1)}`);
    } else if (mode === 'basket') {
      const store = stores.find((s) => s !== '') || '';
      const lines30 = items.slice(0, 30).map((item) => ({ item, qty: 1 }));
      const ns = timeLoop(() => {
        for (let i = 0; i < 200; i++) sink += r.basket(chain, store, lines30).found;
        return 200;
      }, 1000);
      console.log(`basket ${ns.toFixed(1)}`);
    } else if (mode === 'map') {
      // The per-process cache a service keeps today: base and per-store Maps.
      const base = new Map();
      const byStore = new Map();
      for (const [s, item, cents] of lines(dumpFile)) {
        const c = Number(cents);
        if (s === '') base.set(item, c);
        else {
          let m = byStore.get(s);
          if (!m) byStore.set(s, (m = new Map()));
          m.set(item, c);
        }
      }
      const ns = timeLoop(() => {
        for (let i = 0; i < n; i++) {
          const m = stores[i] === '' ? undefined : byStore.get(stores[i]);
          let c = m === undefined ? undefined : m.get(items[i]);
          if (c === undefined) c = base.get(items[i]);
          if (c !== undefined) sink += c;
        }
        return n;
      }, 1000);
      console.log(`map ${ns.toFixed(1)}`);
    } else if (mode === 'redis') {
      const Redis = require('ioredis');
      const redis = new Redis({ path: redisSock, lazyConnect: true, enableOfflineQueue: false });
      await redis.connect();
      const m = Math.min(n, 20000);
      for (let i = 0; i < Math.min(m, 1000); i++) await redis.mget(`${chain}:${stores[i]}:${items[i]}`, `${chain}::${items[i]}`);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < m; i++) {
        const [ex, b] = await redis.mget(`${chain}:${stores[i]}:${items[i]}`, `${chain}::${items[i]}`);
        const v = ex !== null ? ex : b;
        if (v !== null) sink += Number(v);
      }
      const ns = Number(process.hrtime.bigint() - t0) / m;
      redis.disconnect();
      console.log(`redis ${ns.toFixed(1)}`);
    } else {
      throw new Error(`unknown mode ${mode}`);
    }
  }
  r.close();
  if (sink === -1) console.log('');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
