"""bench.py - one round of the Python figures for bench.sh (not installed).

    python3 bench.py CACHE CHAIN KEYS DUMP REDIS_SOCK WHAT

WHAT: get | get4 (4 threads) | dict | redis | basket.  Prints one number:
ns per call (get, dict, redis), ns per call over all threads' calls
divided by wall time (get4), ns per 30-line basket (basket).  Same lookups
and baskets as bench_keyfile (bench.sh alternates the two).
"""
import sys
import threading
import time

import pricecache

BASKET_ITEMS, MAX_BASKETS = 30, 4000


def load_keys(path):
    keys = []
    with open(path, "rb") as f:
        for line in f:
            store, item = line.rstrip(b"\n").split(b"\t")
            keys.append((store.decode() or None, item.decode()))
    return keys


def time_get(r, chain, keys):
    get = r.get
    t0 = time.perf_counter_ns()
    for store, item in keys:
        get(chain, store, item)
    return (time.perf_counter_ns() - t0) / len(keys)


def time_get4(r, chain, keys):
    barrier = threading.Barrier(5)

    def work():
        barrier.wait()
        get = r.get
        for store, item in keys:
            get(chain, store, item)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = time.perf_counter_ns()
    for t in ts:
        t.join()
    return (time.perf_counter_ns() - t0) / (4 * len(keys))


def time_dict(dump, keys):
    # The per-process cache a service keeps today: {(store, item): cents},
    # store '' for base prices; exception first, then base, as pc_get.
    d = {}
    with open(dump, "rb") as f:
        for line in f:
            store, item, cents = line.rstrip(b"\n").split(b"\t")
            d[(store.decode(), item.decode())] = int(cents)
    get = d.get
    t0 = time.perf_counter_ns()
    for store, item in keys:
        v = get((store, item)) if store else None
        if v is None:
            v = get(("", item))
    return (time.perf_counter_ns() - t0) / len(keys)


def time_redis(sock, chain, keys):
    import redis  # python3-redis (redis-py)
    c = redis.Redis(unix_socket_path=sock)
    keys = keys[:20000]  # ~30 us each: enough for a stable median
    t0 = time.perf_counter_ns()
    for store, item in keys:
        a, b = c.mget(f"{chain}:{store or ''}:{item}", f"{chain}::{item}")
        _ = a if a is not None else b
    return (time.perf_counter_ns() - t0) / len(keys)


def time_basket(r, chain, keys):
    nb = min(len(keys) // BASKET_ITEMS, MAX_BASKETS)
    baskets = []
    for b in range(nb):
        lines = [(keys[i][1], 1 + i % BASKET_ITEMS % 3)
                 for i in range(b * BASKET_ITEMS, (b + 1) * BASKET_ITEMS)]
        baskets.append((keys[b * BASKET_ITEMS][0], lines))
    basket = r.basket
    t0 = time.perf_counter_ns()
    for store, lines in baskets:
        basket(chain, store, lines)
    return (time.perf_counter_ns() - t0) / nb


def main():
    cache, chain, keyfile, dump, sock, what = sys.argv[1:7]
    keys = load_keys(keyfile)
    with pricecache.open(cache) as r:
        if what in ("get", "get4", "basket"):
            time_get(r, chain, keys)  # warm-up pass, as bench_keyfile's
        if what == "get":
            ns = time_get(r, chain, keys)
        elif what == "get4":
            ns = time_get4(r, chain, keys)
        elif what == "dict":
            ns = time_dict(dump, keys)
        elif what == "redis":
            ns = time_redis(sock, chain, keys)
        elif what == "basket":
            ns = time_basket(r, chain, keys)
        else:
            sys.exit(f"bench.py: unknown {what}")
    print(f"{ns:.1f}")


if __name__ == "__main__":
    main()
