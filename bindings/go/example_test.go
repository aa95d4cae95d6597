package pricecache_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"pricecache.dev/pricecache"
)

// Open the cache ($PRICECACHE_PATH, else /var/lib/pricecache) and read a
// price. "No price" is ErrNotFound, an ordinary answer.
func ExampleReader_Get() {
	r, err := pricecache.Open("")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	p, err := r.Get("acme", "s1", "item10")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Cents, p.FromStore(), p.UpdatedAt.Unix())

	p, err = r.Get("acme", "", "item10") // "" asks for the chain's base price
	fmt.Println(p.Cents, p.FromStore(), err)

	_, err = r.Get("acme", "s1", "no-such-item")
	fmt.Println(errors.Is(err, pricecache.ErrNotFound))

	_, err = r.Get("no-such-chain", "s1", "item10")
	fmt.Println(errors.Is(err, pricecache.ErrNoChain))
	fmt.Println(err)
	// Output:
	// 1 true 1700000000
	// 110 false <nil>
	// true
	// true
	// pricecache: get chain "no-such-chain" store "s1" item "item10": chain not in the cache
}

// Errors name what was asked and wrap a sentinel; errors.As gives both.
func ExampleError() {
	r, err := pricecache.Open("")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	_, err = r.Get("acme", "s1", strings.Repeat("x", 201))
	var pe *pricecache.Error
	if errors.As(err, &pe) {
		code, _ := pricecache.CodeOf(err)
		fmt.Println(code.String(), errors.Is(err, pricecache.ErrInvalid), pe.Chain, pe.Detail)
	}
	// Output:
	// PC_EINVAL true acme item is 201 bytes, over the limit of 200
}

// Many items of one chain, all from one version, and that version.
func ExampleReader_GetMany() {
	r, err := pricecache.Open("")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	items := []string{"item10", "item11", "nope"}
	res, version, err := r.GetMany("acme", "s1", items)
	if err != nil {
		log.Fatal(err)
	}
	for i, x := range res {
		if x.Err != nil {
			fmt.Println(items[i], errors.Is(x.Err, pricecache.ErrNotFound))
			continue
		}
		fmt.Println(items[i], x.Price.Cents)
	}
	fmt.Println(version > 0)
	// Output:
	// item10 1
	// item11 111
	// nope true
	// true
}

// Price a basket at one store; a missing item is charged a penalty.
func ExampleReader_BasketSingle() {
	r, err := pricecache.Open("")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	b, err := r.BasketSingle("beta", "", []pricecache.BasketItem{
		{Item: "b1", Qty: 2}, {Item: "b2", Qty: 1}, {Item: "nope", Qty: 1},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range b.Lines {
		fmt.Println(l.Item, l.Qty, l.UnitCents, l.LineCents, l.Source)
	}
	fmt.Println("total", b.TotalCents, "penalties", b.PenaltyTotalCents, "coverage", b.Coverage)
	// Output:
	// b1 2 50 100 base
	// b2 1 50 50 base
	// nope 1 100 100 penalty
	// total 250 penalties 100 coverage 0.6666666666666666
}

// Choose the cheapest store among candidates, with options.
func ExampleReader_BasketMulti() {
	r, err := pricecache.Open("")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	opts := pricecache.DefaultBasketOptions()
	opts.MaxStores = 1
	opts.Budget = 50 * time.Millisecond
	b, err := r.BasketMulti("acme", []string{"s2", "s1"}, []pricecache.BasketItem{
		{Item: "item10", Qty: 1}, {Item: "item20", Qty: 1}, {Item: "item21", Qty: 1},
	}, &opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.AlgorithmName, b.Stores, b.TotalCents)
	// Output:
	// optimal [s1] 123
}

// Follow the daemon's events; on a resync, re-read what you derived from a
// chain. (Not run: events depend on what the daemon does.)
func ExampleSubscription_Next() {
	r, err := pricecache.Open("")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	sub, err := r.Subscribe("acme") // the address the daemon announced
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			log.Print(err) // the context ended, or the subscription failed
			return
		}
		switch ev.Kind {
		case pricecache.EventPublish, pricecache.EventResync:
			info, err := r.ChainInfo(ev.Chain)
			fmt.Println(ev.Kind, ev.Chain, info.Version, err)
		}
	}
}

// Wait until the daemon has loaded every chain once, at most 10 s.
func ExampleReader_WaitReady() {
	r, err := pricecache.Open("")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println(r.WaitReady(ctx))
	// Output:
	// <nil>
}
