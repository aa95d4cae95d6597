// Compiled with `tsc --noEmit` (t_binding_node.sh): index.d.ts against a
// TypeScript user of every call.  Never run.
import * as pricecache from '..';
import type { BasketResult, Price, PriceEvent, PricecacheError } from '..';

async function main(): Promise<void> {
  const r = pricecache.open();
  await r.waitReady(5000);
  r.waitReadySync(0);
  const ready: boolean = r.isReady();
  const p: Price | null = r.get('acme', 's1', 'item1');
  if (p !== null) {
    const cents: number | bigint = p.cents;
    const flag: boolean = p.storeException;
    console.log(cents, flag, p.updatedAt, ready);
  }
  const many = r.getMany('acme', null, ['a', 'b']);
  console.log(many.version, many.prices[0]?.cents);
  const info = r.chainInfo('acme');
  const b: 'closed' | 'open' | 'half-open' = info.breaker;
  console.log(b, info.loadedAt, r.chains().join(','), r.busAddresses()?.events);
  const res: BasketResult = r.basket('acme', 's1', [{ item: 'x', qty: 1 }, { item: 'y', qty: 2n }], {
    penaltyMult: 2, fallbackCents: 10000, maxStores: 2, exactMaxItems: 10, exactMaxStores: 15, budgetMs: 100,
  });
  const multi = r.basketMulti('acme', ['s1', 's2'], [{ item: 'x', qty: 1 }]);
  console.log(res.totalCents, res.lines[0].source, res.lines[0].store, multi.algorithm, multi.stores);

  const big = pricecache.open(undefined, { bigint: true });
  const exact: bigint | undefined = big.get('acme', '', 'x')?.cents;
  console.log(exact);

  const sub = r.subscribe(['acme'], { ref: false });
  sub.on('publish', (ev: PriceEvent) => console.log(ev.chain, ev.version));
  sub.on('error', (err: PricecacheError) => console.log(err.code));
  for await (const ev of sub) {
    if (ev.kind === 'resync') break;
  }
  const next: PriceEvent | null = await sub.next(100);
  console.log(next?.kind, sub.fd, sub.closed);
  sub.unref().ref().close();
  try {
    r.get('nosuch', '', 'x');
  } catch (e) {
    const err = e as PricecacheError;
    if (err.code === 'PC_ENOCHAIN') console.log(err.errno, pricecache.strerror(pricecache.codes.PC_ENOCHAIN));
  }
  console.log(pricecache.libraryVersion, pricecache.limits.ID_MAX);
  r.close();
  big.close();
}

void main;
