'use strict';
// Events: a publish after an UPDATE in PostgreSQL while the event loop keeps
// running, a chain filter, resync after a daemon restart, the async
// iterator, ref/unref and close.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const pricecache = require('..');
const { env, sql, waitFor, restartDaemon } = require('./helpers');

const r = pricecache.open();
test.after(() => r.close());

// Resolves with the first event matching pred (EventEmitter side).
function eventWhere(sub, pred, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { sub.off('event', on); reject(new Error(`no ${what} within ${ms} ms`)); }, ms);
    function on(ev) {
      if (pred(ev)) { clearTimeout(timer); sub.off('event', on); resolve(ev); }
    }
    sub.on('event', on);
  });
}

test('a publish after an UPDATE, and the loop keeps ticking meanwhile', async () => {
  const sub = r.subscribe(['acme']);
  const seen = [];
  sub.on('event', (ev) => seen.push(ev));
  try {
    // The first heartbeat shows the subscription reached the daemon.
    await eventWhere(sub, (ev) => ev.kind === 'heartbeat' && ev.chain === 'acme', 10000, 'heartbeat');
    const before = r.chainInfo('acme').version;
    let ticks = 0;
    const iv = setInterval(() => ticks++, 10);
    const t0 = Date.now();
    const published = eventWhere(sub, (ev) => ev.kind === 'publish' && ev.version > before, 15000, 'publish');
    await sql("UPDATE chain_prices SET price_cents = 4242 WHERE chain_slug = 'acme' AND item_id = 'item42'");
    const ev = await published;
    const waited = Date.now() - t0;
    clearInterval(iv);
    assert.equal(ev.chain, 'acme');
    assert.equal(typeof ev.seq, 'number');
    assert.ok(ev.run > 0 && ev.tsMs > 0);
    assert.ok(r.chainInfo('acme').version >= ev.version);
    assert.equal(r.get('acme', '', 'item42').cents, 4242);
    // Timers ran while we waited: the loop was never blocked on the bus.
    assert.ok(ticks >= Math.floor(waited / 10 / 4), `only ${ticks} ticks in ${waited} ms`);
    assert.ok(seen.every((e) => e.chain === 'acme' || e.chain === '' || e.chain === '*'), 'filter: only acme events');
    await sql("UPDATE chain_prices SET price_cents = 142 WHERE chain_slug = 'acme' AND item_id = 'item42'");
  } finally {
    sub.close();
  }
});

test('async iterator and next(timeout)', async () => {
  const sub = r.subscribe('beta');
  try {
    const got = [];
    for await (const ev of sub) {
      got.push(ev);
      if (got.length === 2) break;
    }
    assert.ok(got.every((e) => typeof e.kind === 'string'));
    const ev = await sub.next(5000);
    assert.ok(ev === null || ev.chain === 'beta' || ev.chain === '' || ev.chain === '*');
    const closed = sub.next(-1);
    sub.close();
    assert.equal(await closed, null);
    assert.equal(await sub.next(), null);
  } finally {
    sub.close();
  }
});

test('resync after a daemon restart', async () => {
  const sub = r.subscribe();
  const kinds = new Set();
  sub.on('event', (ev) => kinds.add(ev.kind));
  try {
    await eventWhere(sub, (ev) => ev.kind === 'heartbeat', 10000, 'heartbeat');
    const resync = eventWhere(sub, (ev) => ev.kind === 'resync', 30000, 'resync');
    const resyncEmitted = new Promise((resolve) => sub.once('resync', resolve));
    await restartDaemon();
    const ev = await resync;
    assert.equal(typeof ev.text, 'string');
    assert.equal(await resyncEmitted, ev);
    await r.waitReady(20000);
    assert.equal(r.get('acme', 's1', 'item10').cents, 1);
  } finally {
    sub.close();
  }
  assert.ok(kinds.has('heartbeat') && kinds.has('resync'));
});

// A child process that subscribes and either unrefs or not.
function child(code, ms) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { p.kill('SIGKILL'); }, ms);
    p.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out }); });
  });
}

test('an unref-ed subscription lets the process exit; a ref-ed one keeps it', async () => {
  const lib = JSON.stringify(path.resolve(__dirname, '..'));
  const unref = await child(`const r = require(${lib}).open(); r.subscribe().unref(); r.subscribe(null, { ref: false }); console.log('ok');`, 10000);
  assert.equal(unref.code, 0, unref.out);
  const refd = await child(`const r = require(${lib}).open(); const s = r.subscribe(); s.once('heartbeat', () => { console.log('beat'); s.close(); });`, 15000);
  assert.equal(refd.code, 0, refd.out);
  assert.match(refd.out, /beat/);
  // A subscription left open at exit is closed by the cleanup hook.
  const leftOpen = await child(`const r = require(${lib}).open(); const s = r.subscribe(); s.once('heartbeat', () => process.exit(0));`, 15000);
  assert.equal(leftOpen.code, 0, leftOpen.out);
});

test('close() stops events and closing the reader closes its subscriptions', async () => {
  const r2 = pricecache.open();
  const sub = r2.subscribe();
  let after = 0;
  await eventWhere(sub, (ev) => ev.kind === 'heartbeat', 10000, 'heartbeat');
  r2.close();
  assert.equal(sub.closed, true);
  sub.on('event', () => after++);
  await new Promise((res) => setTimeout(res, 1500));
  assert.equal(after, 0);
  assert.equal(sub.fd, -1);
});

test('subscription errors', () => {
  assert.throws(() => r.subscribe(['Not A Slug']), { code: 'PC_EINVAL' });
  assert.throws(() => r.subscribe([1]), TypeError);
  assert.throws(() => r.subscribe(null, { address: 'bogus://x' }), { code: 'PC_EINVAL' });
  assert.ok(env.work);
});
