// Command example is README's Go example: one price, a miss, many prices
// from one version, and a basket, read from the cache on this host.
package main

import (
	"errors"
	"fmt"
	"log"

	"pricecache.dev/pricecache"
)

func main() {
	r, err := pricecache.Open("") // $PRICECACHE_PATH, else /var/lib/pricecache
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	p, err := r.Get("acme", "s1", "item10")
	if err != nil {
		log.Fatal(err) // ErrNoChain, ErrInvalid, ErrOverloaded, ...
	}
	fmt.Println("item10 at s1:", p.Cents, "cents, store exception:", p.FromStore())

	_, err = r.Get("acme", "s1", "no-such-item")
	fmt.Println("no-such-item is ErrNotFound:", errors.Is(err, pricecache.ErrNotFound))

	res, version, err := r.GetMany("acme", "", []string{"item1", "item2"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("version", version, "item1", res[0].Price.Cents, "item2", res[1].Price.Cents)

	b, err := r.BasketSingle("acme", "s1", []pricecache.BasketItem{
		{Item: "item10", Qty: 2}, {Item: "item11", Qty: 1},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("basket at s1:", b.TotalCents, "cents,", b.Found, "lines priced")
}
