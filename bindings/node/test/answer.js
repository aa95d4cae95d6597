#!/usr/bin/env node
'use strict';
// answer.js - the cross-language check's Node.js side (BINDINGS.md): reads
// lookups `chain<TAB>store<TAB>item` (store empty: base price only) from
// stdin, prints per line `ok<TAB>cents<TAB>updated_at<TAB>flags`,
// `notfound`, `nochain` or `error<TAB>CODE`.  Cache: $PRICECACHE_PATH.
const fs = require('node:fs');
const pricecache = require('..');

const r = pricecache.open(undefined, { bigint: true });
const input = fs.readFileSync(0, 'utf8');
const lines = input.split('\n');
if (lines[lines.length - 1] === '') lines.pop();
const out = [];
for (const line of lines) {
  const [chain = '', store = '', item = ''] = line.split('\t');
  try {
    const p = r.get(chain, store, item);
    // flags: pc_price.flags; PC_PRICE_STORE (1) is its only bit.
    out.push(p === null ? 'notfound' : `ok\t${p.cents}\t${p.updatedAt}\t${p.storeException ? 1 : 0}`);
  } catch (e) {
    if (e.code === 'PC_ENOCHAIN') out.push('nochain');
    else if (typeof e.code === 'string' && e.code.startsWith('PC_')) out.push(`error\t${e.code}`);
    else throw e;
  }
}
r.close();
fs.writeFileSync(1, out.length ? out.join('\n') + '\n' : '');
