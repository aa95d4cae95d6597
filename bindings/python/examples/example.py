"""README's Python example: one price, a miss, many prices from one
version, and a basket, read from the cache on this host."""
import pricecache

with pricecache.open() as cache:  # $PRICECACHE_PATH, else /var/lib/pricecache
    cache.wait_ready(timeout=30)  # raises pricecache.Timeout

    p = cache.get("acme", "s1", "item10")
    print("item10 at s1:", p.cents, "cents, store exception:", p.is_store_exception)

    print("no-such-item:", cache.get("acme", "s1", "no-such-item"))  # None: no price

    version, prices = cache.get_many("acme", None, ["item1", "item2"])
    print("version", version, "item1", prices[0].cents, "item2", prices[1].cents)

    b = cache.basket("acme", "s1", [("item10", 2), ("item11", 1)])
    print("basket at s1:", b.total_cents, "cents,", b.nfound, "lines priced")
