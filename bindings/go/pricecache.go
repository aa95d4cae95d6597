// Package pricecache reads the retail prices that the pricecached daemon
// publishes on this host, in-process and lock-free, through libpricecache.
//
// A lookup is one cgo call into the C library, about a microsecond: no
// network hop, no lock shared with other readers or with the daemon.
//
//	r, err := pricecache.Open("") // $PRICECACHE_PATH, else /var/lib/pricecache
//	if err != nil { ... }
//	defer r.Close()
//	p, err := r.Get("acme", "s1", "item10")
//	switch {
//	case errors.Is(err, pricecache.ErrNotFound): // no price: an ordinary answer
//	case err != nil: // ErrNoChain, ErrOverloaded, ErrInvalid, ...
//	default: fmt.Println(p.Cents, p.UpdatedAt, p.FromStore())
//	}
//
// Semantics: price(chain, store, item) is the store's exception if one
// exists, else the chain's base price, else ErrNotFound. A store of ""
// asks for the base price only. A chain that is not in the cache answers
// ErrNoChain, which is distinct from ErrNotFound.
//
// Goroutines and threads: a Reader may be shared by any number of
// goroutines. The C library keeps one LMDB read transaction per OS thread,
// renewed at the start of each call and reset at its end, and every method
// here is a single cgo call, so no transaction outlives a call and a
// goroutine that moves to another thread between calls is harmless: no
// runtime.LockOSThread is needed. Each OS thread that has called into a
// Reader holds one idle LMDB reader slot until the thread exits or the
// Reader is closed; the Go runtime keeps few threads (about GOMAXPROCS,
// plus those blocked in system calls), however many goroutines read.
//
// Do not use a Reader in a child process after fork (Go programs rarely
// fork without exec; os/exec is fine).
package pricecache

/*
#cgo pkg-config: pricecache
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pricecache.h>
#include "pcgo.h"

// Copy a Go string into a NUL-terminated buffer of max+1 bytes.  An id
// that would not survive the trip (over-long, or a NUL byte inside, which
// C would silently cut) is refused: the caller then answers PC_EINVAL.
static int pcgo_copy(_GoString_ s, size_t max, char *buf)
{
	size_t n = _GoStringLen(s);
	const char *p = _GoStringPtr(s);
	if (n > max || (n && memchr(p, 0, n)))
		return -1;
	if (n)
		memcpy(buf, p, n);
	buf[n] = 0;
	return 0;
}

typedef struct pcgo_price {
	int      rc;
	pc_price p;
	char    *why; // rc's sentence (pcgo_why), NULL on success
} pcgo_price;

// pc_get with Go strings: copied to the stack (no malloc), answer returned
// by value (nothing escapes to the Go heap).
static pcgo_price pcgo_get(pc_reader *r, _GoString_ chain, _GoString_ store, _GoString_ item)
{
	pcgo_price res;
	char c[PC_CHAIN_MAX + 1], s[PC_ID_MAX + 1], i[PC_ID_MAX + 1];
	memset(&res, 0, sizeof res);
	if (pcgo_copy(chain, PC_CHAIN_MAX, c) || pcgo_copy(store, PC_ID_MAX, s) ||
	    pcgo_copy(item, PC_ID_MAX, i)) {
		res.rc = PC_EINVAL;
		return res;
	}
	res.rc = pc_get(r, c, s, i, &res.p);
	if (res.rc != PC_OK)
		res.why = pcgo_why(res.rc);
	return res;
}

typedef struct pcgo_many {
	int      rc;
	int      why_rc;  // the code why explains: rc, or an item's status
	char    *why;     // pcgo_why, or NULL
	uint64_t version;
} pcgo_many;

// pc_get_many, and the version it read.  pc_get_many answers every item
// from one version but does not say which; the chain's version is read
// before and after it, and the call is repeated until both agree (versions
// only grow, so the answers then come from that version).  Gives up with
// version 0 after 100 attempts (the chain republished during each).  The
// sentence is rc's, or when rc is PC_OK that of the first item the cache
// could not answer, read before the pc_chain_info after it.
static pcgo_many pcgo_get_many(pc_reader *r, _GoString_ chain, _GoString_ store, size_t n,
                               const char *const *items, pc_price *out, int *status)
{
	pcgo_many res = { PC_OK, PC_OK, NULL, 0 };
	char c[PC_CHAIN_MAX + 1], s[PC_ID_MAX + 1];
	if (pcgo_copy(chain, PC_CHAIN_MAX, c) || pcgo_copy(store, PC_ID_MAX, s)) {
		for (size_t k = 0; k < n; k++)
			status[k] = PC_EINVAL;
		res.rc = PC_EINVAL;
		return res;
	}
	for (int tries = 0; tries < 100; tries++) {
		pc_chain_meta m1, m2;
		int rc1 = pc_chain_info(r, c, &m1);
		res.rc = pc_get_many(r, c, s, n, items, out, status);
		free(res.why);
		res.why = NULL;
		if (res.rc != PC_OK) {
			res.why_rc = res.rc;
			res.why = pcgo_why(res.rc);
			return res;
		}
		for (size_t k = 0; k < n && !res.why; k++)
			if (status[k] != PC_OK && status[k] != PC_NOTFOUND && (res.why = pcgo_why(status[k])))
				res.why_rc = status[k];
		if (rc1 == PC_OK && pc_chain_info(r, c, &m2) == PC_OK && m1.version == m2.version) {
			res.version = m1.version;
			return res;
		}
	}
	return res;
}

static pcgo_rc pcgo_chain_info(pc_reader *r, _GoString_ chain, pc_chain_meta *out)
{
	char c[PC_CHAIN_MAX + 1];
	if (pcgo_copy(chain, PC_CHAIN_MAX, c))
		return pcgo_own(PC_EINVAL);
	return pcgo_ret(pc_chain_info(r, c, out));
}

static pcgo_rc pcgo_open(_GoString_ dir, pc_reader **out)
{
	char d[4096];
	*out = NULL;
	if (pcgo_copy(dir, sizeof d - 1, d))
		return pcgo_own(PC_EINVAL);
	return pcgo_ret(pc_open(d, out));
}

static pcgo_rc pcgo_chains(pc_reader *r, char ***out, size_t *n)
{
	return pcgo_ret(pc_chains(r, out, n));
}

static pcgo_rc pcgo_wait_ready(pc_reader *r)
{
	return pcgo_ret(pc_wait_ready(r, 0));
}

static pcgo_rc pcgo_bus_addrs(pc_reader *r, char *ev, size_t ecap, char *ctl, size_t ccap)
{
	return pcgo_ret(pc_bus_addrs(r, ev, ecap, ctl, ccap));
}

static char *pcgo_chain_at(char **v, size_t i) { return v[i]; }
*/
import "C"

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Limits of ids, as in pricecache.h: longer ids answer ErrInvalid.
const (
	ChainMax = C.PC_CHAIN_MAX // longest chain slug, bytes
	IDMax    = C.PC_ID_MAX    // longest store or item id, bytes
)

// DefaultDir is the cache directory used when neither Open's argument nor
// $PRICECACHE_PATH names one.
const DefaultDir = "/var/lib/pricecache"

// Version returns the version of the C library in use (pc_version).
func Version() string { return C.GoString(C.pc_version()) }

// Reader reads prices from one cache directory. It is safe for concurrent
// use by any number of goroutines. Close it when done; a Reader that
// becomes unreachable unclosed is closed by a finalizer.
type Reader struct {
	// mu is held shared by every call and exclusively by Close, so that
	// Close never frees the C reader under a call in flight (which
	// pc_close forbids), and calls after Close get ErrClosed.
	mu  sync.RWMutex
	c   *C.pc_reader
	dir string
}

// Open opens the cache directory dir read-only. An empty dir means
// $PRICECACHE_PATH, else DefaultDir (the C library wants an explicit path;
// the binding resolves the default the way the pricecache CLI does).
//
// Errors: ErrNotReady (the daemon has not created the cache yet: retry
// later), ErrFormat (a newer daemon: upgrade the library), ErrIO (the
// directory or its files cannot be opened: check the path and that the
// process is in the "pricecache" group), ErrInvalid (a NUL byte in dir).
func Open(dir string) (*Reader, error) {
	if dir == "" {
		dir = os.Getenv("PRICECACHE_PATH")
	}
	if dir == "" {
		dir = DefaultDir
	}
	var c *C.pc_reader
	if res := C.pcgo_open(dir, &c); res.rc != C.PC_OK {
		e := &Error{Op: "open " + quoteID(dir), Err: Code(res.rc), Detail: why(res.why)}
		if Code(res.rc) == ErrInvalid {
			e.Detail = "the path holds a NUL byte or is too long"
		}
		return nil, e
	}
	r := &Reader{c: c, dir: dir}
	runtime.SetFinalizer(r, (*Reader).finalize)
	return r, nil
}

func (r *Reader) finalize() {
	// Unreachable: no call can be in flight, no lock needed.
	if r.c != nil {
		C.pc_close(r.c)
		r.c = nil
	}
}

// Dir returns the cache directory the Reader opened.
func (r *Reader) Dir() string { return r.dir }

// Close releases the reader and the LMDB reader slots its threads held.
// It waits for calls in flight on other goroutines to end; calls after it
// return ErrClosed. Closing twice is harmless and returns nil.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c != nil {
		C.pc_close(r.c)
		r.c = nil
		runtime.SetFinalizer(r, nil)
	}
	return nil
}

// Price is one answer of Get.
type Price struct {
	Cents     int64     // price in minor units
	UpdatedAt time.Time // from the source row (whole seconds)
	Flags     uint32    // PriceStore when it is the store's exception
}

// PriceStore is set in Price.Flags when the price is the store's exception
// rather than the chain's base price (PC_PRICE_STORE).
const PriceStore = uint32(C.PC_PRICE_STORE)

// FromStore reports whether the price is the store's exception.
func (p Price) FromStore() bool { return p.Flags&PriceStore != 0 }

func priceOf(p *C.pc_price) Price {
	return Price{Cents: int64(p.cents), UpdatedAt: time.Unix(int64(p.updated_at), 0), Flags: uint32(p.flags)}
}

// Get returns the price of item at store in chain: the store's exception,
// else the chain's base price. store "" asks for the base price only.
//
// A missing price is ErrNotFound; an unknown chain ErrNoChain; a chain
// that is not a slug, an empty item, an id over IDMax bytes or holding a
// NUL byte ErrInvalid; no free LMDB reader slot ErrOverloaded (retry
// later, or raise [cache] max_readers). Errors are *Error values that name
// the chain, store and item. Never blocks on the daemon or the database.
func (r *Reader) Get(chain, store, item string) (Price, error) {
	r.mu.RLock()
	if r.c == nil {
		r.mu.RUnlock()
		return Price{}, &Error{Op: "get", Chain: chain, Store: store, Item: item, Err: ErrClosed}
	}
	res := C.pcgo_get(r.c, chain, store, item)
	r.mu.RUnlock()
	if res.rc != C.PC_OK {
		return Price{}, newError("get", chain, store, item, res.rc, why(res.why))
	}
	return priceOf(&res.p), nil
}

// Result is the answer for one item of GetMany.
type Result struct {
	Price Price // valid when Err is nil
	Err   error // nil, or an *Error wrapping ErrNotFound or ErrInvalid (a bad item id)
}

// GetMany returns the prices of items at store in chain, all read from one
// version of the chain, and that version. Per-item answers are in results
// (ErrNotFound and a bad item id are per item); err is non-nil only when
// the chain could not be read at all (ErrNoChain, ErrInvalid for a bad
// chain or store, ErrOverloaded, ErrIO, ErrClosed), and results is nil then.
//
// The C call reads the version in the same call: version is 0 only in the
// unlikely case that the chain was republished during each of 100 attempts
// (the answers are still from one version).
func (r *Reader) GetMany(chain, store string, items []string) (results []Result, version uint64, err error) {
	n := len(items)
	// The ids go to C in one allocation: n pointers, then the strings.
	size := uintptr(n) * unsafe.Sizeof((*C.char)(nil))
	for _, it := range items {
		size += uintptr(len(it)) + 1
	}
	var buf unsafe.Pointer
	var ptrs []*C.char
	if n > 0 {
		buf = C.malloc(C.size_t(size))
		if buf == nil {
			return nil, 0, &Error{Op: "get_many", Chain: chain, Store: store, Err: ErrNoMemory}
		}
		defer C.free(buf)
		ptrs = unsafe.Slice((**C.char)(buf), n)
		bytes := unsafe.Slice((*byte)(buf), size)
		off := uintptr(n) * unsafe.Sizeof((*C.char)(nil))
		for i, it := range items {
			if strings.IndexByte(it, 0) >= 0 {
				// C would see a shorter id: give it one that it refuses.
				it = ""
			}
			copy(bytes[off:], it)
			bytes[off+uintptr(len(it))] = 0
			ptrs[i] = (*C.char)(unsafe.Pointer(&bytes[off]))
			off += uintptr(len(it)) + 1
		}
	}
	out := make([]C.pc_price, n+1)
	status := make([]C.int, n+1)
	var pp **C.char
	if n > 0 {
		pp = &ptrs[0]
	}
	r.mu.RLock()
	if r.c == nil {
		r.mu.RUnlock()
		return nil, 0, &Error{Op: "get_many", Chain: chain, Store: store, Err: ErrClosed}
	}
	res := C.pcgo_get_many(r.c, chain, store, C.size_t(n), pp, &out[0], &status[0])
	r.mu.RUnlock()
	detail := why(res.why)
	if res.rc != C.PC_OK {
		return nil, 0, newError("get_many", chain, store, "", res.rc, detail)
	}
	results = make([]Result, n)
	for i := range results {
		if status[i] == C.PC_OK {
			results[i].Price = priceOf(&out[i])
		} else if status[i] == res.why_rc {
			results[i].Err = newError("get_many", chain, store, items[i], status[i], detail)
		} else {
			results[i].Err = newError("get_many", chain, store, items[i], status[i], "")
		}
	}
	return results, uint64(res.version), nil
}

// Breaker is the state of a chain's circuit breaker.
type Breaker int

// Breaker states (pc_chain_meta.breaker).
const (
	BreakerClosed   Breaker = C.PC_BREAKER_CLOSED
	BreakerOpen     Breaker = C.PC_BREAKER_OPEN
	BreakerHalfOpen Breaker = C.PC_BREAKER_HALF_OPEN
)

func (b Breaker) String() string {
	switch b {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "unknown"
}

// ChainInfo is the metadata of a chain's current snapshot.
type ChainInfo struct {
	Version   uint64    // grows by one or more with every publish
	LoadedAt  time.Time // when the snapshot was published (millisecond precision)
	BaseRows  uint64
	StoreRows uint64
	AvgCents  int64   // mean base price, the basis of basket penalties
	Breaker   Breaker // the database circuit breaker of the chain
}

// ChainInfo returns the metadata of chain's current snapshot: ErrNoChain
// when it is not in the cache.
func (r *Reader) ChainInfo(chain string) (ChainInfo, error) {
	var m C.pc_chain_meta
	r.mu.RLock()
	if r.c == nil {
		r.mu.RUnlock()
		return ChainInfo{}, &Error{Op: "chain_info", Chain: chain, Err: ErrClosed}
	}
	res := C.pcgo_chain_info(r.c, chain, &m)
	r.mu.RUnlock()
	if res.rc != C.PC_OK {
		return ChainInfo{}, newError("chain_info", chain, "", "", res.rc, why(res.why))
	}
	return ChainInfo{
		Version:   uint64(m.version),
		LoadedAt:  time.UnixMilli(int64(m.loaded_at)),
		BaseRows:  uint64(m.base_rows),
		StoreRows: uint64(m.store_rows),
		AvgCents:  int64(m.avg_cents),
		Breaker:   Breaker(m.breaker),
	}, nil
}

// Chains returns the slugs of every chain in the cache, in byte order.
func (r *Reader) Chains() ([]string, error) {
	var v **C.char
	var n C.size_t
	r.mu.RLock()
	if r.c == nil {
		r.mu.RUnlock()
		return nil, &Error{Op: "chains", Err: ErrClosed}
	}
	res := C.pcgo_chains(r.c, &v, &n)
	r.mu.RUnlock()
	if res.rc != C.PC_OK {
		return nil, newError("chains", "", "", "", res.rc, why(res.why))
	}
	defer C.pc_free_chains(v)
	out := make([]string, int(n))
	for i := range out {
		out[i] = C.GoString(C.pcgo_chain_at(v, C.size_t(i)))
	}
	return out, nil
}

// WaitReady waits until the daemon has loaded every active chain once (or
// every chain of a restarted daemon has a snapshot on disk), or until ctx
// ends. It polls every 5 ms as pc_wait_ready does, holding no transaction
// and no OS thread in between. When ctx ends first it returns an *Error
// wrapping ctx.Err(); a deadline also matches ErrTimeout. A cache it
// cannot trust (a damaged lock.mdb) is an *Error matching ErrFormat at
// once, its Detail saying what is wrong.
func (r *Reader) WaitReady(ctx context.Context) error {
	var t *time.Timer
	for {
		r.mu.RLock()
		if r.c == nil {
			r.mu.RUnlock()
			return &Error{Op: "wait_ready", Err: ErrClosed}
		}
		res := C.pcgo_wait_ready(r.c)
		r.mu.RUnlock()
		detail := why(res.why)
		if res.rc == C.PC_OK {
			return nil
		}
		if res.rc != C.PC_ETIMEDOUT {
			return newError("wait_ready", "", "", "", res.rc, detail)
		}
		if t == nil {
			t = time.NewTimer(5 * time.Millisecond)
			defer t.Stop()
		} else {
			t.Reset(5 * time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return &Error{Op: "wait_ready", Err: ctx.Err()}
		case <-t.C:
		}
	}
}

// BusAddrs returns the event and control bus addresses the daemon of this
// cache announced ("" for one that is off). ErrNotFound when none was
// announced (the bus is off, or an older daemon).
func (r *Reader) BusAddrs() (events, control string, err error) {
	var ev, ctl [1024]C.char
	r.mu.RLock()
	if r.c == nil {
		r.mu.RUnlock()
		return "", "", &Error{Op: "bus_addrs", Err: ErrClosed}
	}
	res := C.pcgo_bus_addrs(r.c, &ev[0], C.size_t(len(ev)), &ctl[0], C.size_t(len(ctl)))
	r.mu.RUnlock()
	if res.rc != C.PC_OK {
		return "", "", newError("bus_addrs", "", "", "", res.rc, why(res.why))
	}
	return C.GoString(&ev[0]), C.GoString(&ctl[0]), nil
}

// newError wraps a C code with what was asked, and says what was wrong:
// the library's sentence (detail, from why) when it gave one, else for
// ErrInvalid which argument.
func newError(op, chain, store, item string, rc C.int, detail string) error {
	e := &Error{Op: op, Chain: chain, Store: store, Item: item, Err: Code(rc), Detail: detail}
	if detail == "" && rc == C.PC_EINVAL {
		e.Detail = argProblem(chain, store, item)
	}
	return e
}

// argProblem names the first argument the C library refuses, as far as
// the binding can tell; "" when it cannot.
func argProblem(chain, store, item string) string {
	if p := idProblem("chain", chain, ChainMax, true); p != "" {
		return p
	}
	if chain != "" && !isSlug(chain) {
		return "chain is not a slug ([a-z0-9_-]{1,64})"
	}
	if p := idProblem("store", store, IDMax, false); p != "" {
		return p
	}
	if item != "" || chain != "" {
		return idProblem("item", item, IDMax, true)
	}
	return ""
}

func idProblem(what, s string, max int, required bool) string {
	switch {
	case required && s == "":
		return what + " is empty"
	case len(s) > max:
		return what + " is " + strconv.Itoa(len(s)) + " bytes, over the limit of " + strconv.Itoa(max)
	case strings.IndexByte(s, 0) >= 0:
		return what + " holds a NUL byte"
	}
	return ""
}

func isSlug(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return len(s) > 0 && len(s) <= ChainMax
}
