'use strict';
// getMany answers every item from one version, and names it, while
// PostgreSQL rewrites the whole chain again and again and the daemon
// republishes (chain "flip": 100 items, one price per generation).
const test = require('node:test');
const assert = require('node:assert/strict');
const pricecache = require('..');
const { sql } = require('./helpers');

test('getMany sees one version while the daemon republishes', async () => {
  const r = pricecache.open();
  const items = Array.from({ length: 100 }, (_, i) => `f${i}`);
  let writing = true;
  const writer = (async () => {
    for (let g = 2; writing; g++) {
      await sql(`UPDATE chain_prices SET price_cents = ${g} WHERE chain_slug = 'flip'`);
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  const versions = new Map(); // version -> generation
  let checks = 0;
  try {
    const end = Date.now() + 4000;
    while (Date.now() < end || versions.size < 5) {
      if (Date.now() > end + 20000) break;
      const { version, prices } = r.getMany('flip', null, items);
      const gen = prices[0].cents;
      for (const p of prices) assert.equal(p.cents, gen, `mixed generations in version ${version}`);
      // One version, one generation, whichever call saw it.
      if (versions.has(version)) assert.equal(versions.get(version), gen, `version ${version}`);
      versions.set(version, gen);
      checks++;
      await new Promise((res) => setImmediate(res));
    }
  } finally {
    writing = false;
    await writer;
    r.close();
  }
  assert.ok(versions.size >= 5, `only ${versions.size} versions seen in ${checks} checks`);
  const seen = [...versions.keys()];
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b), 'versions never go backwards');
});
