#!/usr/bin/env python3
"""answer.py - the cross-language check's Python side (docs: BINDINGS.md).

Reads lookups from stdin, one per line "chain<TAB>store<TAB>item" (store
empty: base price only), and prints one line per lookup:
"ok<TAB>cents<TAB>updated_at<TAB>flags", "notfound", "nochain" or
"error<TAB>PC_NAME".  The cache is $PRICECACHE_PATH (pricecache.open()).
Ids are bytes: lines are read and split as bytes, so any id the C tool
reads is passed through unchanged.
"""
import sys

import pricecache

PC_PRICE_STORE = 0x1


def main() -> int:
    out = []
    with pricecache.open() as r:
        for raw in sys.stdin.buffer:
            line = raw[:-1] if raw.endswith(b"\n") else raw
            parts = line.split(b"\t")
            if len(parts) != 3:
                out.append("error\tPC_EINVAL")
                continue
            chain, store, item = parts
            try:
                p = r.get(chain, store or None, item)
            except pricecache.NoChain:
                out.append("nochain")
                continue
            except pricecache.Error as e:
                out.append(f"error\t{e.code_name}")
                continue
            if p is None:
                out.append("notfound")
            else:
                flags = PC_PRICE_STORE if p.is_store_exception else 0
                out.append(f"ok\t{p.cents}\t{p.updated_at}\t{flags}")
    sys.stdout.write("".join(s + "\n" for s in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
