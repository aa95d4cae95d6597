// Type declarations of the pricecache package (lib/index.js).
/// <reference types="node" />
import { EventEmitter } from 'node:events';

/**
 * An int64 from the cache: a number when it lies within
 * ±Number.MAX_SAFE_INTEGER, else a bigint (never rounded).  With
 * `open(dir, { bigint: true })` every such value is a bigint.
 */
export type Int64 = number | bigint;

/** A price: `cents` in minor units, `updatedAt` in unix seconds. */
export interface Price<N extends Int64 = Int64> {
  cents: N;
  updatedAt: N;
  /** true when the price is the store's exception, false for the base price */
  storeException: boolean;
}

export interface ManyPrices<N extends Int64 = Int64> {
  /** the chain version every price was read from */
  version: N;
  /** in the order asked; null where the item has no price */
  prices: Array<Price<N> | null>;
}

export interface ChainInfo<N extends Int64 = Int64> {
  version: N;
  /** unix milliseconds of the publish */
  loadedAt: N;
  baseRows: N;
  storeRows: N;
  /** mean base price, used for missing-item penalties */
  avgCents: N;
  breaker: 'closed' | 'open' | 'half-open';
}

export interface BusAddresses {
  /** nanomsg address of the event bus, '' when off */
  events: string;
  /** nanomsg address of the control socket, '' when off */
  control: string;
}

/** One basket line: `qty` units of `item` (qty > 0). */
export interface BasketItem {
  item: string;
  qty: number | bigint;
}

/** pc_basket_opts; leave out what should keep its default. */
export interface BasketOptions {
  /** per-unit penalty = chain mean × this; >= 0 (default 2.0) */
  penaltyMult?: number;
  /** per-unit penalty when the chain has no mean; >= 0 (default 10000) */
  fallbackCents?: number | bigint;
  /** basketMulti: stores visited at most, >= 1 (default 2) */
  maxStores?: number;
  /** exact search only up to this many items (default 10; 0: always greedy) */
  exactMaxItems?: number;
  /** ... and this many candidate stores (default 15) */
  exactMaxStores?: number;
  /** time the exact search may take, ms (default 100; 0: greedy at once) */
  budgetMs?: number;
}

export interface BasketLine<N extends Int64 = Int64> {
  item: string;
  qty: N;
  /** where the price came from; 'penalty' when the item has none where bought */
  source: 'base' | 'store' | 'penalty';
  /** the store the line is bought at ('' for base prices), null when penalised */
  store: string | null;
  /** unit price, or the per-unit penalty */
  unitCents: N;
  /** qty × unitCents */
  lineCents: N;
  /** unix seconds of the price row, null when penalised */
  updatedAt: N | null;
}

export interface BasketResult<N extends Int64 = Int64> {
  /** the chain version every price was read from */
  version: N;
  algorithm: 'single' | 'optimal' | 'greedy' | 'greedy_timeout_fallback';
  /** basket: the store asked for ('' for base prices); basketMulti: the stores to visit */
  stores: string[];
  /** sum of the lines, penalties included */
  totalCents: N;
  /** lines priced */
  found: number;
  /** lines penalised */
  missing: number;
  /** found / lines, 0 .. 1 */
  coverage: number;
  penaltyTotalCents: N;
  /** the per-unit penalty of this basket */
  penaltyCents: N;
  /** true when penaltyCents is fallbackCents (the chain has no mean) */
  penaltyFallback: boolean;
  avgCents: N;
  /** in the order asked */
  lines: Array<BasketLine<N>>;
}

export type EventKind = 'publish' | 'breaker' | 'failed' | 'refused' | 'removed' | 'heartbeat' | 'resync' | 'database';

export interface PriceEvent<N extends Int64 = Int64> {
  kind: EventKind;
  /** the chain, '' for events of no chain */
  chain: string;
  /** per chain, grows by one per event within one daemon run */
  seq: N;
  /** the daemon run (its start, unix ms) */
  run: N;
  /** when the daemon sent it, unix ms */
  tsMs: N;
  /** publish, heartbeat: the chain's version; else 0 */
  version: N;
  /** kind-specific: breaker state, load result, rows */
  value: number;
  /** detail for humans */
  text: string;
}

export interface SubscribeOptions {
  /** nanomsg address; default $PRICECACHE_EVENTS, else the one the daemon announced, else ipc:///run/pricecache/events.ipc */
  address?: string;
  /** false: the subscription does not keep the process alive (default true) */
  ref?: boolean;
}

/**
 * The daemon's events.  Emits 'event' for each, and the event's kind by
 * name ('publish', 'resync', ...); 'error' when the bus fails; 'close'.
 * Also an async iterable.  The descriptor is watched by libuv: waiting
 * never blocks the event loop.
 */
export declare class Subscription<N extends Int64 = Int64> extends EventEmitter implements AsyncIterable<PriceEvent<N>> {
  private constructor();
  readonly address: string;
  /** the subscriber's descriptor, -1 once closed */
  readonly fd: number;
  readonly closed: boolean;
  /** the next event; null after timeoutMs (negative: no limit) or once closed */
  next(timeoutMs?: number): Promise<PriceEvent<N> | null>;
  [Symbol.asyncIterator](): AsyncIterator<PriceEvent<N>>;
  ref(): this;
  unref(): this;
  close(): void;
  on(event: 'event' | EventKind, listener: (ev: PriceEvent<N>) => void): this;
  on(event: 'error', listener: (err: PricecacheError) => void): this;
  on(event: 'close', listener: () => void): this;
  once(event: 'event' | EventKind, listener: (ev: PriceEvent<N>) => void): this;
  once(event: 'error', listener: (err: PricecacheError) => void): this;
  once(event: 'close', listener: () => void): this;
}

/** A read-only view of the cache; safe to keep for the life of the process. */
export declare class Reader<N extends Int64 = Int64> {
  private constructor();
  /** The price of item at store (null/'' for the base price only), or null when there is none. */
  get(chain: string, store: string | null | undefined, item: string): Price<N> | null;
  /** The prices of items of one chain, all from one version. */
  getMany(chain: string, store: string | null | undefined, items: readonly string[]): ManyPrices<N>;
  chainInfo(chain: string): ChainInfo<N>;
  /** every chain in the cache, in byte order */
  chains(): string[];
  /** true when the daemon has loaded every chain once; never waits */
  isReady(): boolean;
  /** waits on a timer, never blocking the loop; rejects with code 'PC_ETIMEDOUT', or at
   *  once 'PC_EFORMAT' when the cache cannot be trusted (a damaged lock.mdb) */
  waitReady(timeoutMs?: number): Promise<void>;
  /** blocks the thread up to timeoutMs (negative: no limit); throws code 'PC_ETIMEDOUT',
   *  or at once 'PC_EFORMAT' */
  waitReadySync(timeoutMs?: number): void;
  /** the bus addresses the daemon announced, or null */
  busAddresses(): BusAddresses | null;
  basket(chain: string, store: string | null | undefined, items: readonly BasketItem[], options?: BasketOptions): BasketResult<N>;
  basketMulti(chain: string, stores: readonly string[], items: readonly BasketItem[], options?: BasketOptions): BasketResult<N>;
  /** follow events of every chain (none given) or of those given */
  subscribe(chains?: string | readonly string[] | null, options?: SubscribeOptions): Subscription<N>;
  /** release the reader and its subscriptions; later calls throw code 'PC_ECLOSED' */
  close(): void;
}

export type ErrorCode =
  | 'PC_ENOCHAIN' | 'PC_ENOTREADY' | 'PC_EOVERLOADED' | 'PC_EINVAL' | 'PC_EIO' | 'PC_ETIMEDOUT'
  | 'PC_EFORMAT' | 'PC_ENOMEM' | 'PC_ENOITEMS' | 'PC_EQUANTITY' | 'PC_ETOOMANY' | 'PC_EOVERFLOW'
  | 'PC_EACCES' | 'PC_EREFUSED' | 'PC_ECLOSED';

/**
 * What the package throws: an Error (TypeError for a wrong type,
 * RangeError for a bad value) with `code` ('PC_ENOCHAIN', ...) and, for
 * codes of the C library, `errno` (its number).  The message names the
 * call and gives the code's text, then the C library's own sentence for
 * this failure in parentheses when it gave one (pc_errdetail).
 */
export interface PricecacheError extends Error {
  code: ErrorCode;
  errno?: number;
}

export interface OpenOptions {
  /** every int64 comes back a bigint */
  bigint?: boolean;
}

/** Open a reader on dir (default $PRICECACHE_PATH, else /var/lib/pricecache). */
export declare function open(dir?: string | null, options?: OpenOptions & { bigint?: false }): Reader<Int64>;
export declare function open(dir: string | null | undefined, options: OpenOptions & { bigint: true }): Reader<bigint>;

/** The C library's codes by name (PC_OK, PC_NOTFOUND, PC_ENOCHAIN, ...). */
export declare const codes: Readonly<Record<string, number>>;
export declare const limits: Readonly<{ CHAIN_MAX: number; ID_MAX: number; BASKET_MAX_ITEMS: number; BASKET_MAX_STORES: number }>;
/** libpricecache's version */
export declare const libraryVersion: string;
/** The C library's text for a code. */
export declare function strerror(code: number): string;
