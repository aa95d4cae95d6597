'use strict';
// pricecache - in-process, lock-free reads of the prices pricecached
// publishes: a thin layer over libpricecache (the native addon in src/).

const { EventEmitter } = require('node:events');
const native = require('../build/Release/pricecache.node');

const DEFAULT_DIR = '/var/lib/pricecache';
const DEFAULT_EVENTS = 'ipc:///run/pricecache/events.ipc';
const { codes } = native;

// get() leaves its answer here (see src/common.h): no object is made in
// C++ on the hot path, and cents beyond 2^53 are read exactly as int64.
const scratchF = new Float64Array(native.scratch);
const scratchB = new BigInt64Array(native.scratch);

function pcError(Ctor, code, message) {
  const err = new Ctor(`pricecache: ${message}`);
  err.code = code;
  if (codes[code] !== undefined) err.errno = codes[code];
  return err;
}

function checkTimeout(ms, what) {
  if (typeof ms !== 'number' || !Number.isInteger(ms)) {
    throw pcError(TypeError, 'PC_EINVAL', `${what}: timeoutMs must be an integer (negative: no limit)`);
  }
}

// The cache directory: the one given, else $PRICECACHE_PATH, else
// /var/lib/pricecache (the C library takes no default of its own).
function resolveDir(dir) {
  if (dir === undefined || dir === null || dir === '') {
    const env = process.env.PRICECACHE_PATH;
    return env ? env : DEFAULT_DIR;
  }
  if (typeof dir !== 'string') {
    throw pcError(TypeError, 'PC_EINVAL', 'open: the cache directory must be a string');
  }
  return dir;
}

// Basket lines [{item, qty}] as two arrays for the addon (which checks them).
function splitItems(items) {
  if (!Array.isArray(items)) {
    throw pcError(TypeError, 'PC_EINVAL', 'items must be an array of {item, qty}');
  }
  const n = items.length;
  const ids = new Array(n);
  const qtys = new Array(n);
  for (let i = 0; i < n; i++) {
    const line = items[i];
    if (typeof line !== 'object' || line === null || Array.isArray(line)) {
      throw pcError(TypeError, 'PC_EINVAL', `items[${i}] must be an object {item, qty}`);
    }
    ids[i] = line.item;
    qtys[i] = line.qty;
  }
  return [ids, qtys];
}

const SOURCES = ['base', 'store', 'penalty'];

// The addon's flat basket answer (layout: src/reader.cc, basket_result) as objects.
function basketResult([buf, stores, algorithm], ids, bigint) {
  const len = buf.byteLength / 16;
  const f = new Float64Array(buf, 0, len);
  const x = new BigInt64Array(buf, len * 8, len);
  const int64 = (k) => (bigint || !Number.isSafeInteger(f[k]) ? x[k] : f[k]);
  const lines = new Array(ids.length);
  for (let i = 0, k = 9; i < ids.length; i++, k += 6) {
    const at = f[k + 2];
    lines[i] = {
      item: ids[i],
      qty: int64(k),
      source: SOURCES[f[k + 1]],
      store: at >= 0 ? stores[at] : null,
      unitCents: int64(k + 3),
      lineCents: int64(k + 4),
      updatedAt: at >= 0 ? int64(k + 5) : null,
    };
  }
  return {
    version: int64(0),
    algorithm,
    stores,
    totalCents: int64(1),
    found: f[5],
    missing: f[6],
    coverage: f[7],
    penaltyTotalCents: int64(2),
    penaltyCents: int64(3),
    penaltyFallback: f[8] !== 0,
    avgCents: int64(4),
    lines,
  };
}

class Reader {
  #native;
  #bigint;
  #closed = false;
  #subscriptions = new Set();

  /** @internal use open() */
  constructor(nativeReader, bigint) {
    this.#native = nativeReader;
    this.#bigint = bigint;
  }

  /** The price of one item, or null when there is none. */
  get(chain, store, item) {
    if (!this.#native.get(chain, store, item)) return null;
    const c = scratchF[0];
    const u = scratchF[1];
    return {
      cents: this.#bigint || !Number.isSafeInteger(c) ? scratchB[3] : c,
      updatedAt: this.#bigint || !Number.isSafeInteger(u) ? scratchB[4] : u,
      storeException: (scratchF[2] & 1) !== 0,
    };
  }

  /** Prices of many items of one chain, all from one version. */
  getMany(chain, store, items) {
    return this.#native.getMany(chain, store, items);
  }

  chainInfo(chain) {
    return this.#native.chainInfo(chain);
  }

  chains() {
    return this.#native.chains();
  }

  /** True when the daemon has loaded every chain once; never waits. */
  isReady() {
    return this.#native.waitReady(0);
  }

  /** Blocks the thread up to timeoutMs (negative: no limit); throws PC_ETIMEDOUT. */
  waitReadySync(timeoutMs = -1) {
    checkTimeout(timeoutMs, 'waitReadySync');
    if (!this.#native.waitReady(timeoutMs)) {
      throw pcError(Error, 'PC_ETIMEDOUT', `waitReadySync: not ready after ${timeoutMs} ms`);
    }
  }

  /** Resolves when ready; rejects with PC_ETIMEDOUT.  Checks every 5 ms on
   *  a timer, so the event loop never blocks. */
  async waitReady(timeoutMs = -1) {
    checkTimeout(timeoutMs, 'waitReady');
    const deadline = timeoutMs < 0 ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      if (this.#native.waitReady(0)) return;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw pcError(Error, 'PC_ETIMEDOUT', `waitReady: not ready after ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(5, left)));
    }
  }

  /** The bus addresses the daemon announced, or null. */
  busAddresses() {
    return this.#native.busAddrs();
  }

  basket(chain, store, items, options) {
    const [ids, qtys] = splitItems(items);
    return basketResult(this.#native.basket(chain, store, ids, qtys, options), ids, this.#bigint);
  }

  basketMulti(chain, stores, items, options) {
    const [ids, qtys] = splitItems(items);
    return basketResult(this.#native.basketMulti(chain, stores, ids, qtys, options), ids, this.#bigint);
  }

  /** Follow the daemon's events: every chain, or those given. */
  subscribe(chains, options = {}) {
    if (this.#closed) throw pcError(Error, 'PC_ECLOSED', 'reader is closed');
    if (options === null || typeof options !== 'object') {
      throw pcError(TypeError, 'PC_EINVAL', 'subscribe: options must be an object');
    }
    let list;
    if (chains === undefined || chains === null) list = [];
    else if (typeof chains === 'string') list = [chains];
    else if (Array.isArray(chains)) list = chains;
    else throw pcError(TypeError, 'PC_EINVAL', 'subscribe: chains must be a string or an array of strings');
    let address = options.address;
    if (address === undefined) address = process.env.PRICECACHE_EVENTS || undefined;
    if (address === undefined) {
      const announced = this.#native.busAddrs();
      address = announced && announced.events ? announced.events : DEFAULT_EVENTS;
    }
    const sub = new Subscription(address, list, this.#bigint, options.ref !== false, () =>
      this.#subscriptions.delete(sub));
    this.#subscriptions.add(sub);
    return sub;
  }

  /** Release the reader and the subscriptions made from it.  Idempotent;
   *  any later call throws an Error with code 'PC_ECLOSED'. */
  close() {
    this.#closed = true;
    for (const sub of this.#subscriptions) sub.close();
    this.#native.close();
  }
}

if (Symbol.dispose) Reader.prototype[Symbol.dispose] = Reader.prototype.close;

/** Events of the daemon: an EventEmitter ('event', and each kind by name:
 *  'publish', 'breaker', 'failed', 'refused', 'removed', 'heartbeat',
 *  'resync', 'database'; 'error'; 'close') and an async iterable. */
class Subscription extends EventEmitter {
  #native;
  #closed = false;
  #pull = null; // events kept for next() and iterators, once one asked
  #waiters = [];
  #error = null;
  #onClose;

  /** @internal use Reader.subscribe() */
  constructor(address, chains, bigint, ref, onClose) {
    super();
    if (typeof address !== 'string') {
      throw pcError(TypeError, 'PC_EINVAL', 'subscribe: options.address must be a string');
    }
    this.address = address;
    this.#onClose = onClose;
    this.#native = new native.NativeSubscriber(address, chains, bigint);
    if (!ref) this.#native.unref();
    this.#native.start((err, events) => this.#receive(err, events));
  }

  #receive(err, events) {
    if (err) {
      // The bus failed (PC_EIO): the subscription ends; subscribe again.
      this.#error = err;
      const waiters = this.#waiters.splice(0);
      for (const w of waiters) w.reject(err);
      try {
        if (waiters.length === 0 || this.listenerCount('error') > 0) this.emit('error', err);
      } finally {
        this.close();
      }
      return;
    }
    for (const ev of events) {
      if (this.#waiters.length > 0) this.#waiters.shift().resolve(ev);
      else if (this.#pull) this.#pull.push(ev);
      this.emit('event', ev);
      this.emit(ev.kind, ev);
    }
  }

  /** The next event, or null after timeoutMs (negative: no limit) or once
   *  closed.  Events are kept for next() from its first call on. */
  next(timeoutMs = -1) {
    checkTimeout(timeoutMs, 'next');
    if (this.#pull === null) this.#pull = [];
    if (this.#pull.length > 0) return Promise.resolve(this.#pull.shift());
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed || timeoutMs === 0) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const w = {
        timer: null,
        resolve: (ev) => { clearTimeout(w.timer); resolve(ev); },
        reject: (e) => { clearTimeout(w.timer); reject(e); },
      };
      if (timeoutMs > 0) {
        w.timer = setTimeout(() => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          resolve(null);
        }, timeoutMs);
      }
      this.#waiters.push(w);
    });
  }

  async *[Symbol.asyncIterator]() {
    for (;;) {
      const ev = await this.next(-1);
      if (ev === null) return;
      yield ev;
    }
  }

  /** The subscriber's descriptor (for inspection; the addon polls it). */
  get fd() {
    return this.#native.fd();
  }

  get closed() {
    return this.#closed;
  }

  /** Keep the process alive while subscribed (the default). */
  ref() {
    if (!this.#closed) this.#native.ref();
    return this;
  }

  /** Let the process exit although subscribed. */
  unref() {
    if (!this.#closed) this.#native.unref();
    return this;
  }

  /** Stop: no event after this; pending next() calls answer null. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
    for (const w of this.#waiters.splice(0)) w.resolve(null);
    this.#onClose();
    this.emit('close');
  }
}

if (Symbol.dispose) Subscription.prototype[Symbol.dispose] = Subscription.prototype.close;

/**
 * Open a reader on a cache directory (default $PRICECACHE_PATH, else
 * /var/lib/pricecache).  options.bigint: every int64 comes back a BigInt.
 */
function open(dir, options = {}) {
  if (options === null || typeof options !== 'object') {
    throw pcError(TypeError, 'PC_EINVAL', 'open: options must be an object');
  }
  const bigint = options.bigint === true;
  return new Reader(new native.NativeReader(resolveDir(dir), bigint), bigint);
}

module.exports = {
  open,
  Reader,
  Subscription,
  codes: Object.freeze({ ...codes }),
  limits: Object.freeze({ ...native.limits }),
  libraryVersion: native.libraryVersion,
  strerror: native.strerror,
};
