package pricecache_test

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"pricecache.dev/pricecache"
)

func TestGetMany(t *testing.T) {
	items := []string{"item10", "item11", "nope", "", strings.Repeat("x", 201), "item10\x00"}
	res, version, err := rd.GetMany("acme", "s1", items)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := rd.ChainInfo("acme")
	if err != nil {
		t.Fatal(err)
	}
	if version == 0 || version > ci.Version {
		t.Fatalf("version %d, chain at %d", version, ci.Version)
	}
	if res[0].Err != nil || res[0].Price.Cents != 1 || !res[0].Price.FromStore() {
		t.Errorf("item10: %+v", res[0])
	}
	if res[1].Err != nil || res[1].Price.Cents != 111 || res[1].Price.FromStore() {
		t.Errorf("item11: %+v", res[1])
	}
	if !errors.Is(res[2].Err, pricecache.ErrNotFound) {
		t.Errorf("nope: %v", res[2].Err)
	}
	for i := 3; i < len(items); i++ {
		if !errors.Is(res[i].Err, pricecache.ErrInvalid) {
			t.Errorf("item %q: %v", items[i], res[i].Err)
		}
	}
	if _, _, err := rd.GetMany("nosuch", "", items); !errors.Is(err, pricecache.ErrNoChain) {
		t.Errorf("nosuch chain: %v", err)
	}
	if _, _, err := rd.GetMany("acme", "s1\x00", items); !errors.Is(err, pricecache.ErrInvalid) {
		t.Errorf("NUL in store: %v", err)
	}
	if res, _, err := rd.GetMany("acme", "", nil); err != nil || len(res) != 0 {
		t.Errorf("no items: %v %v", res, err)
	}
}

// All answers of one GetMany come from one version, while the daemon
// republishes the chain: every UPDATE sets all 300 items of chain gm to one
// new price (a delta through NOTIFY), and SIGUSR1 reloads every chain.
// Within one answer all prices must be equal, and one version must always
// come with the same price.
func TestGetManyWhileRepublishing(t *testing.T) {
	items := make([]string, 300)
	for i := range items {
		items[i] = fmt.Sprintf("g%d", i+1)
	}
	// Start from one price for every item (other tests change some).
	sql(t, "UPDATE chain_prices SET price_cents = 1000 WHERE chain_slug = 'gm'")
	waitFor(t, "chain gm at one price", 15*time.Second, func() bool {
		res, _, err := rd.GetMany("gm", "", items)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil || r.Price.Cents != 1000 {
				return false
			}
		}
		return true
	})
	daemon := daemonPID(t)
	var stop atomic.Bool
	writerDone := make(chan error, 1)
	go func() {
		var err error
		defer func() { writerDone <- err }()
		for k := 1; !stop.Load(); k++ {
			out, e := sqlErr(fmt.Sprintf("UPDATE chain_prices SET price_cents = %d WHERE chain_slug = 'gm'", 1000+k))
			if e != nil {
				err = fmt.Errorf("%v: %s", e, out)
				return
			}
			if k%5 == 0 {
				syscall.Kill(daemon, syscall.SIGUSR1)
			}
			time.Sleep(30 * time.Millisecond)
		}
	}()
	seen := map[uint64]int64{}
	calls := 0
	var last uint64
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end) || len(seen) < 5; calls++ {
		if time.Now().After(end.Add(20 * time.Second)) {
			t.Fatalf("only %d versions seen in 24 s: the daemon does not republish", len(seen))
		}
		res, v, err := rd.GetMany("gm", "", items)
		if err != nil {
			t.Fatal(err)
		}
		if v == 0 || v < last {
			t.Fatalf("version %d after %d", v, last)
		}
		last = v
		c := res[0].Price.Cents
		for i, r := range res {
			if r.Err != nil || r.Price.Cents != c {
				t.Fatalf("call %d, version %d: item %s = %d (%v), item g1 = %d: two versions in one call", calls, v, items[i], r.Price.Cents, r.Err, c)
			}
		}
		if prev, ok := seen[v]; ok && prev != c {
			t.Fatalf("version %d answered %d and %d", v, prev, c)
		}
		seen[v] = c
	}
	stop.Store(true)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d GetMany calls of 300 items saw %d versions, each whole", calls, len(seen))
}
