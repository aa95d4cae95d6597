package pricecache_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"pricecache.dev/pricecache"
)

func TestGet(t *testing.T) {
	cases := []struct {
		store, item string
		cents       int64
		updated     int64
		store_      bool
	}{
		{"s1", "item10", 1, 1700000000, true},  // the store's exception
		{"", "item10", 110, 1700000010, false}, // "" asks for the base price
		{"s2", "item10", 110, 1700000010, false},
		{"s1", "item11", 111, 1700000011, false},
	}
	for _, c := range cases {
		p, err := rd.Get("acme", c.store, c.item)
		if err != nil {
			t.Fatalf("Get(acme, %q, %q): %v", c.store, c.item, err)
		}
		if p.Cents != c.cents || p.UpdatedAt.Unix() != c.updated || p.FromStore() != c.store_ {
			t.Errorf("Get(acme, %q, %q) = %+v, want %d cents at %d, store %v", c.store, c.item, p, c.cents, c.updated, c.store_)
		}
	}
}

func TestGetNotFoundAndNoChain(t *testing.T) {
	_, err := rd.Get("acme", "s1", "nosuchitem")
	if !errors.Is(err, pricecache.ErrNotFound) || errors.Is(err, pricecache.ErrNoChain) {
		t.Fatalf("missing item: %v", err)
	}
	var pe *pricecache.Error
	if !errors.As(err, &pe) || pe.Chain != "acme" || pe.Store != "s1" || pe.Item != "nosuchitem" || pe.Op != "get" {
		t.Fatalf("error does not name what was asked: %#v", err)
	}
	_, err = rd.Get("nosuchchain", "s1", "item10")
	if !errors.Is(err, pricecache.ErrNoChain) || errors.Is(err, pricecache.ErrNotFound) {
		t.Fatalf("unknown chain: %v", err)
	}
	if c, ok := pricecache.CodeOf(err); !ok || c.String() != "PC_ENOCHAIN" {
		t.Fatalf("CodeOf: %v %v", c, ok)
	}
	if !strings.Contains(err.Error(), `"nosuchchain"`) {
		t.Fatalf("message does not name the chain: %s", err)
	}
}

func TestOddIDs(t *testing.T) {
	x200 := strings.Repeat("x", 200)
	st := "st\tö" + strings.Repeat("s", 195) // 200 bytes with a tab and UTF-8
	if len(st) != 200 {
		t.Fatalf("store id is %d bytes", len(st))
	}
	for _, c := range []struct {
		store, item string
		cents       int64
	}{
		{"", "café-€-🙂", 700},
		{"", "a\tb", 701},
		{"", x200, 702},
		{st, x200, 703},
		{"other", x200, 702},
	} {
		p, err := rd.Get("odd", c.store, c.item)
		if err != nil || p.Cents != c.cents {
			t.Errorf("Get(odd, %q, %q) = %v, %v; want %d", c.store, c.item, p.Cents, err, c.cents)
		}
	}
	// 201 bytes, NUL bytes inside, empty ids, bad slugs: ErrInvalid with the
	// reason, never a truncated lookup (item10\x00junk must not find item10).
	for _, c := range []struct{ chain, store, item, detail string }{
		{"odd", "", x200 + "x", "201 bytes"},
		{"odd", st + "s", x200, "store is 201 bytes"},
		{"acme", "", "item10\x00junk", "NUL"},
		{"acme", "s1\x00", "item10", "store holds a NUL"},
		{"acme\x00", "s1", "item10", "NUL"},
		{"acme", "", "", "item is empty"},
		{"", "", "item10", "chain is empty"},
		{"Bad Slug", "", "item10", "not a slug"},
		{strings.Repeat("a", 65), "", "item10", "65 bytes"},
	} {
		_, err := rd.Get(c.chain, c.store, c.item)
		if !errors.Is(err, pricecache.ErrInvalid) || !strings.Contains(err.Error(), c.detail) {
			t.Errorf("Get(%q, %q, %q): %v; want ErrInvalid saying %q", c.chain, c.store, c.item, err, c.detail)
		}
	}
}

func TestChainInfoAndChains(t *testing.T) {
	ci, err := rd.ChainInfo("acme")
	if err != nil {
		t.Fatal(err)
	}
	if ci.BaseRows != 100 || ci.StoreRows != 10 || ci.AvgCents != 150 || ci.Breaker != pricecache.BreakerClosed || ci.Version == 0 {
		t.Fatalf("ChainInfo(acme) = %+v", ci)
	}
	if age := time.Since(ci.LoadedAt); age < 0 || age > time.Hour {
		t.Fatalf("LoadedAt %v", ci.LoadedAt)
	}
	if ci.Breaker.String() != "closed" {
		t.Fatalf("breaker %s", ci.Breaker)
	}
	if _, err := rd.ChainInfo("nosuch"); !errors.Is(err, pricecache.ErrNoChain) {
		t.Fatalf("ChainInfo(nosuch): %v", err)
	}
	if _, err := rd.ChainInfo("Bad"); !errors.Is(err, pricecache.ErrInvalid) {
		t.Fatalf("ChainInfo(Bad): %v", err)
	}
	chains, err := rd.Chains()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(chains, ","); got != "acme,beta,gm,nomean,odd" {
		t.Fatalf("Chains() = %s", got)
	}
}

func TestWaitReady(t *testing.T) {
	ctx, cancel := ctxTimeout(10 * time.Second)
	defer cancel()
	if err := rd.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if pricecache.Version() == "" {
		t.Fatal("no library version")
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := pricecache.Open(t.TempDir()); err == nil {
		t.Fatal("opened an empty directory")
	} else if !errors.Is(err, pricecache.ErrNotReady) && !errors.Is(err, pricecache.ErrIO) {
		t.Fatalf("empty directory: %v", err)
	}
	if _, err := pricecache.Open("/tmp/a\x00b"); !errors.Is(err, pricecache.ErrInvalid) {
		t.Fatalf("NUL in path: %v", err)
	}
	r, err := pricecache.Open(os.Getenv("PRICECACHE_PATH"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Dir() != os.Getenv("PRICECACHE_PATH") {
		t.Fatalf("Dir() = %s", r.Dir())
	}
	r.Close()
}

// A closed reader answers ErrClosed from every method, and Close racing
// calls on other goroutines is safe: each call either completes or sees
// ErrClosed.
func TestClosedReader(t *testing.T) {
	r, err := pricecache.Open("")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				_, err := r.Get("acme", "s1", "item10")
				if err != nil {
					if !errors.Is(err, pricecache.ErrClosed) {
						errs <- err
					}
					return
				}
			}
		}()
	}
	close(start)
	time.Sleep(20 * time.Millisecond)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Get racing Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	checks := map[string]error{}
	_, checks["Get"] = r.Get("acme", "s1", "item10")
	_, _, checks["GetMany"] = r.GetMany("acme", "s1", []string{"item10"})
	_, checks["ChainInfo"] = r.ChainInfo("acme")
	_, checks["Chains"] = r.Chains()
	checks["WaitReady"] = r.WaitReady(context.Background())
	_, checks["BasketSingle"] = r.BasketSingle("acme", "s1", []pricecache.BasketItem{{Item: "item1", Qty: 1}}, nil)
	_, _, checks["BusAddrs"] = r.BusAddrs()
	for name, err := range checks {
		if !errors.Is(err, pricecache.ErrClosed) {
			t.Errorf("%s on a closed reader: %v", name, err)
		}
	}
}
