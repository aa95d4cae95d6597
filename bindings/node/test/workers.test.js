'use strict';
// worker_threads, each with its own reader (and a subscription), while the
// main thread reads too: the addon keeps its state per environment.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const path = require('node:path');
const pricecache = require('..');

const lib = JSON.stringify(path.resolve(__dirname, '..'));
const body = `
const { parentPort, workerData } = require('node:worker_threads');
const pc = require(${lib});
const r = pc.open();
let sum = 0;
for (let i = 0; i < 20000; i++) {
  const p = r.get('acme', 's1', 'item' + (i % 100));
  sum += p.cents;
}
const many = r.getMany('acme', '', ['item1', 'item2']).prices.map((p) => p.cents);
if (workerData.subscribe) {
  const s = r.subscribe();
  s.once('heartbeat', () => {
    parentPort.postMessage({ sum, many, beat: true });
    // Else the worker ends with it open (unref-ed: an open, ref-ed
    // subscription keeps a worker alive as a socket would).
    if (workerData.close) r.close();
    else if (!workerData.terminate) s.unref();
  });
} else {
  if (workerData.close) r.close();
  parentPort.postMessage({ sum, many });
}
`;

function runWorker(data) {
  return new Promise((resolve, reject) => {
    const w = new Worker(body, { eval: true, workerData: data });
    let msg = null;
    w.on('message', (m) => {
      msg = m;
      if (data.terminate) w.terminate();
    });
    w.on('error', reject);
    w.on('exit', () => (msg ? resolve(msg) : reject(new Error('worker exited without an answer'))));
  });
}

// item k: base 100+k, store s1 has 1 on every 10th item.
let expected = 0;
for (let i = 0; i < 20000; i++) expected += i % 100 % 10 === 0 ? 1 : 100 + (i % 100);

test('workers with their own readers, closed or not, subscribed or not', async () => {
  const r = pricecache.open();
  const jobs = [
    { close: true }, { close: false }, { subscribe: true, close: true },
    { subscribe: true, close: false }, { subscribe: true, terminate: true },
  ].map(runWorker);
  let main = 0;
  for (let i = 0; i < 20000; i++) main += r.get('acme', 's1', 'item' + (i % 100)).cents;
  const results = await Promise.all(jobs);
  assert.equal(main, expected);
  for (const res of results) {
    assert.equal(res.sum, expected);
    assert.deepEqual(res.many, [101, 102]);
  }
  // And again: the addon loads afresh in new workers.
  for (const res of await Promise.all([runWorker({ close: true }), runWorker({ subscribe: true, terminate: true })])) {
    assert.equal(res.sum, expected);
  }
  assert.equal(r.get('acme', '', 'item1').cents, 101);
  r.close();
});
