'use strict';
// README's Node.js example: one price, a miss, many prices from one
// version, and a basket, read from the cache on this host.
const pricecache = require('pricecache');

async function main() {
  const reader = pricecache.open(); // $PRICECACHE_PATH, else /var/lib/pricecache
  await reader.waitReady(30000); // rejects with code 'PC_ETIMEDOUT'

  const p = reader.get('acme', 's1', 'item10');
  console.log('item10 at s1:', p.cents, 'cents, store exception:', p.storeException);

  console.log('no-such-item:', reader.get('acme', 's1', 'no-such-item')); // null: no price

  const { version, prices } = reader.getMany('acme', '', ['item1', 'item2']);
  console.log('version', version, 'item1', prices[0].cents, 'item2', prices[1].cents);

  const b = reader.basket('acme', 's1', [{ item: 'item10', qty: 2 }, { item: 'item11', qty: 1 }]);
  console.log('basket at s1:', b.totalCents, 'cents,', b.found, 'lines priced');
  reader.close();
}

main().catch((e) => { console.error(e.code, e.message); process.exit(1); });
