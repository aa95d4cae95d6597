// Command pcbench times the Go binding over the same lookups as the C
// baseline (tests/bench/bench_keyfile), beside a Go map of the same prices
// and Redis GETs through redigo. Run by bindings/go/bench.sh.
//
//	pcbench CACHE CHAIN KEYS DUMP REDIS_SOCK [ROUNDS]
//
// KEYS: lines STORE<TAB>ITEM; DUMP: lines STORE<TAB>ITEM<TAB>CENTS (store
// empty for base prices). Prints one line per figure: "go get: N ns/call",
// "go map: N ns/call", "go redis: N ns/call", "go basket30: N ns/basket".
package main

/*
#cgo pkg-config: pricecache
#include <stdlib.h>
#include <pricecache.h>

// The keys as bench_keyfile holds them: NUL-terminated, one array.
typedef struct rawkey { char store[PC_ID_MAX + 1], item[PC_ID_MAX + 1]; } rawkey;

static long long raw_get(pc_reader *r, const char *chain, const rawkey *k)
{
	pc_price p;
	return pc_get(r, chain, k->store, k->item, &p) == PC_OK ? p.cents : -1;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/gomodule/redigo/redis"
	"pricecache.dev/pricecache"
)

const (
	basketItems = 30
	maxBaskets  = 4000
	redisKeys   = 20000 // a round trip each: a sample is enough
)

var rounds = 5 // timed rounds after a warm-up; the median is printed

type lookup struct{ store, item string }

type mapKey struct{ store, item string }

var sink int64

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "pcbench: "+format+"\n", a...)
	os.Exit(1)
}

// lines calls f with the tab-separated fields of each line of path. The
// fields are substrings of one string holding the whole file, so the keys
// lie in memory in file order, one after the other, as bench_keyfile's
// array does in C: a layout of scattered allocations would add cache
// misses to the Go figures that have nothing to do with the binding.
func lines(path string, f func(fields []string)) {
	b, err := os.ReadFile(path)
	if err != nil {
		die("%v", err)
	}
	all := string(b)
	for len(all) > 0 {
		line := all
		if i := strings.IndexByte(all, '\n'); i >= 0 {
			line, all = all[:i], all[i+1:]
		} else {
			all = ""
		}
		f(strings.Split(line, "\t"))
	}
}

// median of rounds runs of f, which returns ns per operation.
func median(f func() float64) float64 {
	f() // warm-up
	t := make([]float64, rounds)
	for i := range t {
		t[i] = f()
	}
	sort.Float64s(t)
	return t[rounds/2]
}

func main() {
	if len(os.Args) < 6 || len(os.Args) > 7 {
		fmt.Fprintln(os.Stderr, "usage: pcbench CACHE CHAIN KEYS DUMP REDIS_SOCK [ROUNDS]")
		os.Exit(2)
	}
	if len(os.Args) == 7 {
		n, err := strconv.Atoi(os.Args[6])
		if err != nil || n < 1 {
			die("ROUNDS %q", os.Args[6])
		}
		rounds = n
	}
	dir, chain, keysPath, dumpPath, sock := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	var keys []lookup
	lines(keysPath, func(f []string) {
		if len(f) != 2 {
			die("%s: not STORE<TAB>ITEM: %q", keysPath, f)
		}
		keys = append(keys, lookup{f[0], f[1]})
	})
	prices := map[mapKey]int64{}
	lines(dumpPath, func(f []string) {
		c, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if len(f) != 3 || err != nil {
			die("%s: not STORE<TAB>ITEM<TAB>CENTS: %q", dumpPath, f)
		}
		prices[mapKey{f[0], f[1]}] = c
	})
	r, err := pricecache.Open(dir)
	if err != nil {
		die("%v", err)
	}
	defer r.Close()

	// The three must agree before anything is timed.
	rc, err := redis.Dial("unix", sock)
	if err != nil {
		die("redis %s: %v", sock, err)
	}
	defer rc.Close()
	mapGet := func(l lookup) (int64, bool) {
		if l.store != "" {
			if c, ok := prices[mapKey{l.store, l.item}]; ok {
				return c, true
			}
		}
		c, ok := prices[mapKey{"", l.item}]
		return c, ok
	}
	redisGet := func(l lookup) (int64, bool) {
		v, err := redis.Values(rc.Do("MGET", chain+":"+l.store+":"+l.item, chain+"::"+l.item))
		if err != nil {
			die("redis MGET: %v", err)
		}
		for _, x := range v {
			if x != nil {
				c, err := redis.Int64(x, nil)
				if err != nil {
					die("redis value %v: %v", x, err)
				}
				return c, true
			}
		}
		return 0, false
	}
	nr := redisKeys
	if nr > len(keys) {
		nr = len(keys)
	}
	if _, ok := redisGet(keys[0]); !ok {
		// Not loaded (bench.sh run on its own): load the DUMP.
		n := 0
		for k, c := range prices {
			rc.Send("SET", chain+":"+k.store+":"+k.item, c)
			if n++; n%10000 == 0 {
				if err := rc.Flush(); err != nil {
					die("redis load: %v", err)
				}
				for i := 0; i < 10000; i++ {
					if _, err := rc.Receive(); err != nil {
						die("redis load: %v", err)
					}
				}
			}
		}
		if err := rc.Flush(); err != nil {
			die("redis load: %v", err)
		}
		for i := 0; i < n%10000; i++ {
			if _, err := rc.Receive(); err != nil {
				die("redis load: %v", err)
			}
		}
	}
	for i, l := range keys[:nr] {
		p, err := r.Get(chain, l.store, l.item)
		mc, mok := mapGet(l)
		rcents, rok := redisGet(l)
		if errors.Is(err, pricecache.ErrNotFound) {
			if mok || rok {
				die("key %d %v: Get: not found, map %d, redis %d", i, l, mc, rcents)
			}
			continue
		}
		if err != nil || !mok || !rok || p.Cents != mc || p.Cents != rcents {
			die("key %d %v: Get %d (%v), map %d (%v), redis %d (%v)", i, l, p.Cents, err, mc, mok, rcents, rok)
		}
	}

	get := median(func() float64 {
		t0 := time.Now()
		for _, l := range keys {
			p, err := r.Get(chain, l.store, l.item)
			if err == nil {
				sink += p.Cents
			} else if !errors.Is(err, pricecache.ErrNotFound) {
				die("Get %v: %v", l, err)
			}
		}
		return float64(time.Since(t0).Nanoseconds()) / float64(len(keys))
	})
	// The same pc_get through a bare cgo call, keys already in C memory:
	// splits the binding's overhead into cgo's own and the wrapper's.
	var craw *C.pc_reader
	cdir := C.CString(dir)
	if rc := C.pc_open(cdir, &craw); rc != 0 {
		die("pc_open: %d", int(rc))
	}
	ckeys := (*C.rawkey)(C.calloc(C.size_t(len(keys)), C.size_t(unsafe.Sizeof(C.rawkey{}))))
	raw := unsafe.Slice(ckeys, len(keys))
	for i, l := range keys {
		for j := 0; j < len(l.store); j++ {
			raw[i].store[j] = C.char(l.store[j])
		}
		for j := 0; j < len(l.item); j++ {
			raw[i].item[j] = C.char(l.item[j])
		}
	}
	cchain := C.CString(chain)
	rawNs := median(func() float64 {
		t0 := time.Now()
		for i := range raw {
			sink += int64(C.raw_get(craw, cchain, &raw[i]))
		}
		return float64(time.Since(t0).Nanoseconds()) / float64(len(raw))
	})
	C.pc_close(craw)
	mapNs := median(func() float64 {
		t0 := time.Now()
		for _, l := range keys {
			if c, ok := mapGet(l); ok {
				sink += c
			}
		}
		return float64(time.Since(t0).Nanoseconds()) / float64(len(keys))
	})
	redisNs := median(func() float64 {
		t0 := time.Now()
		for _, l := range keys[:nr] {
			if c, ok := redisGet(l); ok {
				sink += c
			}
		}
		return float64(time.Since(t0).Nanoseconds()) / float64(nr)
	})
	nb := len(keys) / basketItems
	if nb > maxBaskets {
		nb = maxBaskets
	}
	baskets := make([][]pricecache.BasketItem, nb)
	for b := range baskets {
		baskets[b] = make([]pricecache.BasketItem, basketItems)
		for i := range baskets[b] {
			baskets[b][i] = pricecache.BasketItem{Item: keys[b*basketItems+i].item, Qty: int64(1 + i%3)}
		}
	}
	basketNs := median(func() float64 {
		t0 := time.Now()
		for b, items := range baskets {
			res, err := r.BasketSingle(chain, keys[b*basketItems].store, items, nil)
			if err != nil {
				die("BasketSingle: %v", err)
			}
			sink += res.TotalCents
		}
		return float64(time.Since(t0).Nanoseconds()) / float64(nb)
	})
	fmt.Printf("go get: %.1f ns/call (%d lookups, median of %d rounds)\n", get, len(keys), rounds)
	fmt.Printf("go raw cgo pc_get: %.1f ns/call (keys in C memory, no wrapper)\n", rawNs)
	fmt.Printf("go map: %.1f ns/call (map of %d prices)\n", mapNs, len(prices))
	fmt.Printf("go redis: %.0f ns/call (redigo MGET over %s, %d lookups)\n", redisNs, sock, nr)
	fmt.Printf("go basket30: %.0f ns/basket (%d baskets of %d lines)\n", basketNs, nb, basketItems)
}
