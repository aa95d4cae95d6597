'use strict';
// Lookups, metadata, argument errors, bigint cents and the reader's life
// cycle, against the daemon's cache (data: t_binding_node.sh).
const test = require('node:test');
const assert = require('node:assert/strict');
const v8 = require('node:v8');
const vm = require('node:vm');
const pricecache = require('..');
const { env } = require('./helpers');

const r = pricecache.open();
test.after(() => r.close());

test('store exception, base price, not found, unknown chain', () => {
  assert.deepEqual(r.get('acme', 's1', 'item10'), { cents: 1, updatedAt: 1700000000, storeException: true });
  assert.deepEqual(r.get('acme', 's1', 'item11'), { cents: 111, updatedAt: 1700000011, storeException: false });
  assert.deepEqual(r.get('acme', '', 'item10'), { cents: 110, updatedAt: 1700000010, storeException: false });
  assert.deepEqual(r.get('acme', null, 'item10'), r.get('acme', undefined, 'item10'));
  assert.equal(r.get('acme', 's1', 'nope'), null);
  assert.equal(r.get('acme', 'nosuchstore', 'nope'), null);
  assert.equal(r.get('nobase', '', 'only'), null);
  assert.equal(r.get('nobase', 's1', 'only').cents, 42);
  assert.throws(() => r.get('nosuch', 's1', 'item1'), (e) => {
    assert.equal(e.constructor, Error);
    assert.equal(e.code, 'PC_ENOCHAIN');
    assert.equal(e.errno, pricecache.codes.PC_ENOCHAIN);
    assert.match(e.message, /nosuch\/s1\/item1/);
    return true;
  });
});

test('odd ids: UTF-8, tabs, 200 bytes; 201 bytes is a RangeError', () => {
  assert.equal(r.get('odd', '', 'café-ü€😀').cents, 777);
  assert.deepEqual(r.get('odd', 'störe\t1', 'café-ü€😀'), { cents: 1, updatedAt: 1700000009, storeException: true });
  assert.equal(r.get('odd', '', 'tab\there').cents, 778);
  assert.equal(r.get('odd', '', 'x'.repeat(200)).cents, 779);
  assert.equal(r.get('odd', '', 'é'.repeat(100)).cents, 780); // 200 bytes in UTF-8
  for (const long of ['x'.repeat(201), 'é'.repeat(100) + 'x', '😀'.repeat(51), 'y'.repeat(5000)]) {
    assert.throws(() => r.get('odd', '', long), { name: 'RangeError', code: 'PC_EINVAL' });
    assert.throws(() => r.get('odd', long, 'a'), { name: 'RangeError', code: 'PC_EINVAL' });
  }
  assert.throws(() => r.get('c'.repeat(65), '', 'a'), { name: 'RangeError', code: 'PC_EINVAL' });
});

test('bad arguments are TypeError or RangeError, never a crash', () => {
  const bad = [
    [() => r.get(1, '', 'a'), TypeError],
    [() => r.get('acme', 5, 'a'), TypeError],
    [() => r.get('acme', '', null), TypeError],
    [() => r.get('acme', '', {}), TypeError],
    [() => r.get('acme'), TypeError],
    [() => r.get('acme', '', ''), RangeError],
    [() => r.get('', '', 'a'), RangeError],
    [() => r.get('acme', '', 'a\0b'), RangeError],
    [() => r.get('acme', 's\0', 'a'), RangeError],
    [() => r.get('ac\0me', '', 'a'), RangeError],
    [() => r.getMany('acme', '', 'item1'), TypeError],
    [() => r.getMany('acme', '', ['item1', 2]), TypeError],
    [() => r.getMany('acme', '', ['item1', 'x'.repeat(201)]), RangeError],
    [() => r.chainInfo(null), TypeError],
    [() => r.waitReadySync('1'), TypeError],
    [() => r.subscribe(5), TypeError],
    [() => pricecache.open(42), TypeError],
    [() => pricecache.open(env.cache, 'x'), TypeError],
  ];
  for (const [f, Ctor] of bad) {
    assert.throws(f, (e) => e instanceof Ctor && e.code === 'PC_EINVAL', f.toString());
  }
});

test('getMany answers from one version and says which', () => {
  const items = ['item10', 'item11', 'nope', 'item10'];
  const { version, prices } = r.getMany('acme', 's1', items);
  assert.equal(version, r.chainInfo('acme').version);
  assert.deepEqual(prices.map((p) => p && p.cents), [1, 111, null, 1]);
  assert.equal(prices[0].storeException, true);
  assert.deepEqual(r.getMany('acme', '', []).prices, []);
  assert.throws(() => r.getMany('nosuch', '', ['a']), { code: 'PC_ENOCHAIN' });
});

test('chain metadata and the list of chains', () => {
  const m = r.chainInfo('acme');
  assert.equal(m.baseRows, 100);
  assert.equal(m.storeRows, 10);
  assert.equal(m.avgCents, 150);
  assert.equal(m.breaker, 'closed');
  assert.ok(Number.isSafeInteger(m.version) && m.version >= 1);
  assert.ok(Math.abs(m.loadedAt - Date.now()) < 3600e3, `loadedAt ${m.loadedAt} is unix ms`);
  assert.deepEqual(r.chains(), ['acme', 'beta', 'big', 'flip', 'huge', 'nobase', 'odd']);
  assert.throws(() => r.chainInfo('nosuch'), { code: 'PC_ENOCHAIN' });
});

test('waitReady: sync, Promise, and the announced bus addresses', async () => {
  r.waitReadySync(1000);
  assert.equal(r.isReady(), true);
  await r.waitReady(1000);
  await r.waitReady();
  const addrs = r.busAddresses();
  assert.equal(addrs.events, `ipc://${env.work}/events.ipc`);
});

test('cents: a number up to Number.MAX_SAFE_INTEGER, a BigInt beyond; bigint: true always', () => {
  assert.equal(r.get('big', '', 'small').cents, 5);
  assert.equal(r.get('big', '', 'safe').cents, Number.MAX_SAFE_INTEGER);
  assert.equal(r.get('big', '', 'unsafe').cents, 9007199254740993n);
  assert.equal(r.get('big', '', 'max').cents, 9223372036854775807n);
  const many = r.getMany('big', null, ['safe', 'unsafe', 'max']).prices;
  assert.deepEqual(many.map((p) => p.cents), [9007199254740991, 9007199254740993n, 9223372036854775807n]);
  const rb = pricecache.open(env.cache, { bigint: true });
  try {
    assert.deepEqual(rb.get('big', '', 'small'), { cents: 5n, updatedAt: 1700000008n, storeException: false });
    assert.equal(rb.get('big', '', 'max').cents, 9223372036854775807n);
    assert.equal(rb.getMany('big', '', ['max']).prices[0].cents, 9223372036854775807n);
    assert.equal(typeof rb.chainInfo('big').version, 'bigint');
    // The CLI (C) agrees on the exact value.
    assert.equal(require('./helpers').cli(['get', 'big', '', 'max']).split('\t')[0], '9223372036854775807');
  } finally {
    rb.close();
  }
});

test('a closed reader throws PC_ECLOSED; close is idempotent', () => {
  const c = pricecache.open();
  assert.equal(c.get('acme', '', 'item1').cents, 101);
  c.close();
  c.close();
  for (const f of [() => c.get('acme', '', 'item1'), () => c.getMany('acme', '', ['item1']),
    () => c.chainInfo('acme'), () => c.chains(), () => c.isReady(), () => c.waitReadySync(0),
    () => c.basket('acme', '', [{ item: 'item1', qty: 1 }]), () => c.subscribe()]) {
    assert.throws(f, { name: 'Error', code: 'PC_ECLOSED' });
  }
});

test('open errors carry codes', () => {
  assert.throws(() => pricecache.open('/nonexistent/pricecache'), (e) =>
    ['PC_ENOTREADY', 'PC_EIO'].includes(e.code) && /nonexistent/.test(e.message));
});

test('readers left open are freed by their finalizer', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  for (let i = 0; i < 200; i++) pricecache.open().get('acme', '', 'item1');
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((res) => setImmediate(res));
  }
  assert.equal(r.get('acme', '', 'item1').cents, 101);
});
