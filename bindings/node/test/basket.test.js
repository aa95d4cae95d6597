'use strict';
// Baskets through the binding against the C library's own answers
// (`pricecache basket --json`, the CLI on the same cache), every option,
// and the errors.
const test = require('node:test');
const assert = require('node:assert/strict');
const pricecache = require('..');
const { cli } = require('./helpers');

const r = pricecache.open();
test.after(() => r.close());

// The CLI's JSON in the binding's names.
function fromC(chain, stores, lines) {
  const input = lines.map((l) => `${l.item} ${l.qty}\n`).join('');
  const c = JSON.parse(cli(['basket', '--json', chain, ...stores], input));
  return {
    version: c.version,
    algorithm: c.algorithm,
    stores: c.stores,
    totalCents: c.total_cents,
    found: c.found,
    missing: c.missing,
    coverage: c.coverage,
    penaltyTotalCents: c.penalty_total_cents,
    penaltyCents: c.penalty_cents,
    penaltyFallback: c.penalty_fallback,
    avgCents: c.avg_cents,
    lines: c.lines.map((l) => ({
      item: l.item,
      qty: l.qty,
      source: l.source,
      store: l.store,
      unitCents: l.unit_cents,
      lineCents: l.line_cents,
      updatedAt: l.updated_at,
    })),
  };
}

function same(js, c) {
  // The CLI prints coverage with 6 significant digits.
  assert.ok(Math.abs(js.coverage - c.coverage) < 1e-5, `coverage ${js.coverage} vs ${c.coverage}`);
  assert.deepEqual({ ...js, coverage: 0 }, { ...c, coverage: 0 });
}

const lines = [
  { item: 'item10', qty: 2 },
  { item: 'item11', qty: 1 },
  { item: 'nope', qty: 1 },
  { item: 'item20', qty: 3 },
  { item: 'item10', qty: 1 },
];

test('single store, base prices only and multi-store equal the C library', () => {
  const one = r.basket('acme', 's1', lines);
  same(one, fromC('acme', ['s1'], lines));
  assert.equal(one.algorithm, 'single');
  assert.equal(one.totalCents, 2 + 111 + 300 + 3 + 1);
  assert.deepEqual(one.lines[2], { item: 'nope', qty: 1, source: 'penalty', store: null, unitCents: 300, lineCents: 300, updatedAt: null });
  same(r.basket('acme', '', lines), fromC('acme', [''], lines));
  same(r.basket('acme', null, lines), fromC('acme', [''], lines));
  const multi = r.basketMulti('acme', ['s1', 's2', 's3'], lines);
  same(multi, fromC('acme', ['s1', 's2', 's3'], lines));
  assert.equal(multi.algorithm, 'optimal');
  // A 30-item basket over many stores.
  const big = Array.from({ length: 30 }, (_, i) => ({ item: `item${i * 3}`, qty: 1 + (i % 4) }));
  same(r.basketMulti('acme', ['s1', 's2'], big), fromC('acme', ['s1', 's2'], big));
  same(r.basket('odd', 'störe\t1', [{ item: 'café-ü€😀', qty: 1 }]), fromC('odd', ['störe\t1'], [{ item: 'café-ü€😀', qty: 1 }]));
});

test('every option reaches the C library', () => {
  const base = r.basket('acme', 's1', lines);
  const doubled = r.basket('acme', 's1', lines, { penaltyMult: 4 });
  assert.equal(doubled.penaltyCents, 600);
  assert.equal(doubled.totalCents, base.totalCents + 300);
  const fb = r.basket('nobase', 's1', [{ item: 'gone', qty: 2 }], { fallbackCents: 7 });
  assert.equal(fb.penaltyFallback, true);
  assert.equal(fb.totalCents, 14);
  const stores = ['s1', 's2', 's3'];
  const one = r.basketMulti('acme', stores, lines, { maxStores: 1 });
  assert.ok(one.stores.length <= 1);
  assert.equal(r.basketMulti('acme', stores, lines, { exactMaxItems: 0 }).algorithm, 'greedy');
  assert.equal(r.basketMulti('acme', stores, lines, { exactMaxStores: 2 }).algorithm, 'greedy');
  assert.equal(r.basketMulti('acme', stores, lines, { budgetMs: 0 }).algorithm, 'greedy_timeout_fallback');
  assert.equal(r.basketMulti('acme', stores, lines, { budgetMs: 1000, maxStores: 3 }).algorithm, 'optimal');
  assert.equal(r.basket('acme', 's1', [{ item: 'item1', qty: 2n }]).totalCents, 202);
});

test('basket errors: codes and argument classes', () => {
  const one = [{ item: 'item1', qty: 1 }];
  const cases = [
    [() => r.basket('nosuch', 's1', one), Error, 'PC_ENOCHAIN'],
    [() => r.basket('acme', 's1', []), RangeError, 'PC_ENOITEMS'],
    [() => r.basket('acme', 's1', [{ item: 'item1', qty: 0 }]), RangeError, 'PC_EQUANTITY'],
    [() => r.basket('acme', 's1', [{ item: 'item1', qty: -3 }]), RangeError, 'PC_EQUANTITY'],
    [() => r.basket('acme', 's1', [{ item: 'item1', qty: -3n }]), RangeError, 'PC_EQUANTITY'],
    [() => r.basket('acme', 's1', [{ item: 'item1', qty: 1.5 }]), RangeError, 'PC_EINVAL'],
    [() => r.basket('acme', 's1', [{ item: 'item1', qty: 2 ** 60 }]), RangeError, 'PC_EINVAL'],
    [() => r.basket('acme', 's1', [{ item: 'item1', qty: 2n ** 64n }]), RangeError, 'PC_EINVAL'],
    [() => r.basket('acme', 's1', [{ item: 'item1', qty: '1' }]), TypeError, 'PC_EINVAL'],
    [() => r.basket('acme', 's1', [{ item: 'x'.repeat(201), qty: 1 }]), RangeError, 'PC_EINVAL'],
    [() => r.basket('acme', 's1', [['item1', 1]]), TypeError, 'PC_EINVAL'],
    [() => r.basket('acme', 's1', 'item1'), TypeError, 'PC_EINVAL'],
    [() => r.basket('acme', 's1', one, { penaltyMult: -1 }), RangeError, 'PC_EINVAL'],
    [() => r.basket('acme', 's1', one, { penaltyMult: NaN }), RangeError, 'PC_EINVAL'],
    [() => r.basket('acme', 's1', one, { maxStores: -1 }), RangeError, 'PC_EINVAL'],
    [() => r.basket('acme', 's1', one, { fallbackCents: -1 }), RangeError, 'PC_EINVAL'],
    [() => r.basket('acme', 's1', one, { maxstores: 1 }), TypeError, 'PC_EINVAL'],
    [() => r.basket('acme', 's1', one, 3), TypeError, 'PC_EINVAL'],
    [() => r.basketMulti('acme', [], one), RangeError, 'PC_EINVAL'],
    [() => r.basketMulti('acme', 's1', one), TypeError, 'PC_EINVAL'],
    [() => r.basketMulti('acme', ['s1'], one, { maxStores: 0 }), RangeError, 'PC_EINVAL'],
    [() => r.basketMulti('acme', Array.from({ length: 129 }, (_, i) => `s${i}`), one), RangeError, 'PC_ETOOMANY'],
    [() => r.basket('acme', 's1', Array.from({ length: 10001 }, () => one[0])), RangeError, 'PC_ETOOMANY'],
    [() => r.basket('big', '', [{ item: 'max', qty: 2 }]), Error, 'PC_EOVERFLOW'],
  ];
  for (const [f, Ctor, code] of cases) {
    assert.throws(f, (e) => e instanceof Ctor && e.code === code, f.toString());
  }
});

test('basket amounts beyond 2^53 come back exact', () => {
  const res = r.basket('huge', '', [{ item: 'unsafe', qty: 1 }, { item: 'small', qty: 1 }]);
  assert.equal(res.totalCents, 9007199254740998n);
  assert.equal(res.lines[0].unitCents, 9007199254740993n);
  assert.equal(res.lines[1].unitCents, 5);
});
