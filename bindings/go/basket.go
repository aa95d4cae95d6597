package pricecache

/*
#include <stdlib.h>
#include <string.h>
#include <pricecache.h>
#include "pcgo.h"

static pcgo_rc pcgo_basket_single(pc_reader *r, _GoString_ chain, _GoString_ store,
                                  const pc_basket_item *items, size_t n,
                                  const pc_basket_opts *opts, pc_basket_result **out)
{
	char c[PC_CHAIN_MAX + 1], s[PC_ID_MAX + 1];
	size_t cl = _GoStringLen(chain), sl = _GoStringLen(store);
	*out = NULL;
	if (cl > PC_CHAIN_MAX || sl > PC_ID_MAX || (cl && memchr(_GoStringPtr(chain), 0, cl)) ||
	    (sl && memchr(_GoStringPtr(store), 0, sl)))
		return pcgo_own(PC_EINVAL);
	if (cl)
		memcpy(c, _GoStringPtr(chain), cl);
	c[cl] = 0;
	if (sl)
		memcpy(s, _GoStringPtr(store), sl);
	s[sl] = 0;
	return pcgo_ret(pc_basket_single(r, c, s, items, n, opts, out));
}

static pcgo_rc pcgo_basket_multi(pc_reader *r, _GoString_ chain, const char *const *stores,
                                 size_t nstores, const pc_basket_item *items, size_t n,
                                 const pc_basket_opts *opts, pc_basket_result **out)
{
	char c[PC_CHAIN_MAX + 1];
	size_t cl = _GoStringLen(chain);
	*out = NULL;
	if (cl > PC_CHAIN_MAX || (cl && memchr(_GoStringPtr(chain), 0, cl)))
		return pcgo_own(PC_EINVAL);
	if (cl)
		memcpy(c, _GoStringPtr(chain), cl);
	c[cl] = 0;
	return pcgo_ret(pc_basket_multi(r, c, stores, nstores, items, n, opts, out));
}
*/
import "C"

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// Limits of a basket (pricecache.h): larger ones answer ErrTooMany.
const (
	BasketMaxItems  = C.PC_BASKET_MAX_ITEMS
	BasketMaxStores = C.PC_BASKET_MAX_STORES
)

// BasketItem is one line of a basket: an item id and how many units.
// An id may appear on several lines; each is priced on its own.
type BasketItem struct {
	Item string
	Qty  int64 // > 0, else ErrQuantity
}

// BasketOptions tune pricing and the store search (pc_basket_opts). Start
// from DefaultBasketOptions and change what you need; a nil *BasketOptions
// means the defaults.
type BasketOptions struct {
	// PenaltyMult: the per-unit penalty of an item with no price where the
	// basket is bought is the chain's mean base price times this (>= 0,
	// finite; default 2.0).
	PenaltyMult float64
	// FallbackCents: the per-unit penalty when the chain has no mean
	// (>= 0; default 10000).
	FallbackCents int64
	// MaxStores: BasketMulti visits at most this many stores (>= 1;
	// default 2).
	MaxStores int
	// ExactMaxItems and ExactMaxStores: the exact search runs only up to
	// this many items and candidate stores (defaults 10 and 15; 0 items:
	// always greedy).
	ExactMaxItems  int
	ExactMaxStores int
	// Budget: how long the exact search may take, whole milliseconds
	// (rounded up; default 100 ms; 0: the greedy search answers at once,
	// labelled as a timeout fallback).
	Budget time.Duration
}

// DefaultBasketOptions returns the library's defaults (pc_basket_opts_init).
func DefaultBasketOptions() BasketOptions {
	var o C.pc_basket_opts
	C.pc_basket_opts_init(&o)
	return BasketOptions{
		PenaltyMult:    float64(o.penalty_mult),
		FallbackCents:  int64(o.fallback_cents),
		MaxStores:      int(o.max_stores),
		ExactMaxItems:  int(o.exact_max_items),
		ExactMaxStores: int(o.exact_max_stores),
		Budget:         time.Duration(o.budget_ms) * time.Millisecond,
	}
}

// toC converts the options; the string says which one is out of range
// (negative, or too large for C's unsigned).
func (o *BasketOptions) toC(c *C.pc_basket_opts) string {
	c.penalty_mult = C.double(o.PenaltyMult)
	c.fallback_cents = C.int64_t(o.FallbackCents)
	u := func(name string, v int64, dst *C.uint) string {
		if v < 0 || v > math.MaxUint32 {
			return name + " is " + strconv.FormatInt(v, 10) + ", out of range"
		}
		*dst = C.uint(v)
		return ""
	}
	ms := int64(o.Budget / time.Millisecond)
	if o.Budget > 0 && o.Budget%time.Millisecond != 0 {
		ms++
	}
	if o.Budget < 0 {
		ms = -1
	}
	for _, p := range []string{
		u("MaxStores", int64(o.MaxStores), &c.max_stores),
		u("ExactMaxItems", int64(o.ExactMaxItems), &c.exact_max_items),
		u("ExactMaxStores", int64(o.ExactMaxStores), &c.exact_max_stores),
		u("Budget (ms)", ms, &c.budget_ms),
	} {
		if p != "" {
			return p
		}
	}
	switch {
	case math.IsNaN(o.PenaltyMult) || math.IsInf(o.PenaltyMult, 0) || o.PenaltyMult < 0:
		return "PenaltyMult must be finite and >= 0"
	case o.FallbackCents < 0:
		return "FallbackCents must be >= 0"
	case o.MaxStores < 1:
		return "MaxStores must be >= 1"
	}
	return ""
}

// LineSource says where a basket line's price came from.
type LineSource int

// Sources of a line (pc_basket_line.source).
const (
	LineBase    LineSource = C.PC_LINE_BASE    // the chain's base price
	LineStore   LineSource = C.PC_LINE_STORE   // the store's exception
	LinePenalty LineSource = C.PC_LINE_PENALTY // no price where bought: the penalty
)

func (s LineSource) String() string {
	switch s {
	case LineBase:
		return "base"
	case LineStore:
		return "store"
	case LinePenalty:
		return "penalty"
	}
	return "unknown"
}

// Algorithm says which search answered a basket.
type Algorithm int

// Algorithms (pc_basket_result.algorithm); Basket.AlgorithmName has the
// library's name for each.
const (
	AlgorithmSingle         Algorithm = C.PC_BASKET_SINGLE          // "single": BasketSingle
	AlgorithmOptimal        Algorithm = C.PC_BASKET_OPTIMAL         // "optimal": exact search
	AlgorithmGreedy         Algorithm = C.PC_BASKET_GREEDY          // "greedy": too large for the exact search
	AlgorithmGreedyFallback Algorithm = C.PC_BASKET_GREEDY_FALLBACK // "greedy_timeout_fallback": budget ran out
)

// BasketLine is one priced line, in the order asked.
type BasketLine struct {
	Item      string
	Qty       int64
	Source    LineSource
	Store     int       // index in Basket.Stores where bought; -1 when penalised
	UnitCents int64     // unit price, or the per-unit penalty
	LineCents int64     // Qty × UnitCents
	UpdatedAt time.Time // of the price row; the zero Time when penalised
}

// Basket is the full answer of BasketSingle or BasketMulti. Every price
// comes from one version of the chain.
type Basket struct {
	Version           uint64 // the chain version every price was read from
	Algorithm         Algorithm
	AlgorithmName     string // "single", "optimal", "greedy", "greedy_timeout_fallback"
	TotalCents        int64  // sum of the lines, penalties included
	PenaltyTotalCents int64  // the part of the total that is penalties
	PenaltyCents      int64  // per-unit penalty of this basket
	PenaltyFallback   bool   // PenaltyCents is FallbackCents (the chain has no mean)
	AvgCents          int64  // the chain's mean base price at Version
	Found             int    // lines priced
	Missing           int    // lines penalised
	Coverage          float64
	Lines             []BasketLine
	// Stores: BasketSingle: the store asked for ("" for base prices);
	// BasketMulti: the stores to visit, those where at least one line is
	// bought, in candidate order (none when every line is penalised).
	Stores []string
}

// StoreOf returns the store a line is bought at, and false when the line
// is penalised.
func (b *Basket) StoreOf(l BasketLine) (string, bool) {
	if l.Store < 0 || l.Store >= len(b.Stores) {
		return "", false
	}
	return b.Stores[l.Store], true
}

// BasketSingle prices items at store in chain ("" for the chain's base
// prices only), all from one version. Missing items are not an error: they
// are penalised (see BasketOptions) and counted in Missing. opts nil means
// the defaults; only the penalty options matter here.
//
// Errors, checked in this order as the C library does: ErrInvalid (chain,
// store or options), ErrNoItems, ErrTooMany, ErrInvalid or ErrQuantity (the
// first bad line, named in the error), ErrNoChain, ErrOverflow,
// ErrOverloaded, ErrIO.
func (r *Reader) BasketSingle(chain, store string, items []BasketItem, opts *BasketOptions) (*Basket, error) {
	return r.basket("basket_single", chain, store, nil, items, opts)
}

// BasketMulti chooses at most opts.MaxStores of the candidate stores, and
// which item to buy where, for the lowest total (penalties included). The
// answer says which search answered (Algorithm); every search returns a
// complete, consistent answer. The call takes about opts.Budget at most in
// the exact search. Errors as BasketSingle, where ErrInvalid also covers no
// stores or a bad store id, and ErrTooMany more than BasketMaxStores.
func (r *Reader) BasketMulti(chain string, stores []string, items []BasketItem, opts *BasketOptions) (*Basket, error) {
	if stores == nil {
		stores = []string{}
	}
	return r.basket("basket_multi", chain, "", stores, items, opts)
}

func (r *Reader) basket(op, chain, store string, stores []string, items []BasketItem, opts *BasketOptions) (*Basket, error) {
	fail := func(rc C.int, item, detail string) error {
		return &Error{Op: op, Chain: chain, Store: store, Item: item, Detail: detail, Err: Code(rc)}
	}
	var copts C.pc_basket_opts
	var popts *C.pc_basket_opts
	if opts != nil {
		if p := opts.toC(&copts); p != "" {
			return nil, fail(C.PC_EINVAL, "", p)
		}
		popts = &copts
	}
	// One C allocation: the item lines, the store pointers, then every id.
	itemSize := unsafe.Sizeof(C.pc_basket_item{})
	ptrSize := unsafe.Sizeof((*C.char)(nil))
	size := uintptr(len(items))*itemSize + uintptr(len(stores))*ptrSize + 1
	for _, it := range items {
		size += uintptr(len(it.Item)) + 1
	}
	for _, s := range stores {
		size += uintptr(len(s)) + 1
	}
	buf := C.malloc(C.size_t(size))
	if buf == nil {
		return nil, fail(C.PC_ENOMEM, "", "")
	}
	defer C.free(buf)
	mem := unsafe.Slice((*byte)(buf), size)
	var citems []C.pc_basket_item
	if len(items) > 0 {
		citems = unsafe.Slice((*C.pc_basket_item)(buf), len(items))
	}
	var cstores []*C.char
	if len(stores) > 0 {
		cstores = unsafe.Slice((**C.char)(unsafe.Pointer(&mem[uintptr(len(items))*itemSize])), len(stores))
	}
	off := uintptr(len(items))*itemSize + uintptr(len(stores))*ptrSize
	str := func(s string) *C.char {
		if strings.IndexByte(s, 0) >= 0 {
			// C would see a shorter id: hand it an empty one, which it
			// refuses (PC_EINVAL) at the same place in its checks.
			s = ""
		}
		p := (*C.char)(unsafe.Pointer(&mem[off]))
		copy(mem[off:], s)
		mem[off+uintptr(len(s))] = 0
		off += uintptr(len(s)) + 1
		return p
	}
	for i, it := range items {
		citems[i].item = str(it.Item)
		citems[i].qty = C.int64_t(it.Qty)
	}
	for i, s := range stores {
		cstores[i] = str(s)
	}
	var pi *C.pc_basket_item
	if len(citems) > 0 {
		pi = &citems[0]
	}
	var res *C.pc_basket_result
	r.mu.RLock()
	if r.c == nil {
		r.mu.RUnlock()
		return nil, &Error{Op: op, Chain: chain, Store: store, Err: ErrClosed}
	}
	var ret C.pcgo_rc
	if stores == nil {
		ret = C.pcgo_basket_single(r.c, chain, store, pi, C.size_t(len(items)), popts, &res)
	} else {
		var ps **C.char
		if len(cstores) > 0 {
			ps = &cstores[0]
		}
		ret = C.pcgo_basket_multi(r.c, chain, ps, C.size_t(len(stores)), pi, C.size_t(len(items)), popts, &res)
	}
	r.mu.RUnlock()
	if rc := ret.rc; rc != C.PC_OK {
		item, detail := basketProblem(rc, chain, store, stores, items)
		if w := why(ret.why); w != "" {
			detail = w
		}
		return nil, fail(rc, item, detail)
	}
	defer C.pc_basket_free(res)
	return basketOf(res), nil
}

// basketProblem names the argument behind a refused basket, as far as the
// binding can tell: the first bad line for ErrInvalid and ErrQuantity.
func basketProblem(rc C.int, chain, store string, stores []string, items []BasketItem) (item, detail string) {
	switch rc {
	case C.PC_EINVAL:
		if p := idProblem("chain", chain, ChainMax, true); p != "" {
			return "", p
		}
		if !isSlug(chain) {
			return "", "chain is not a slug ([a-z0-9_-]{1,64})"
		}
		if p := idProblem("store", store, IDMax, false); p != "" {
			return "", p
		}
		if stores != nil && len(stores) == 0 {
			return "", "no candidate stores"
		}
		for i, s := range stores {
			if p := idProblem("store", s, IDMax, true); p != "" {
				return "", "candidate " + strconv.Itoa(i) + ": " + p
			}
		}
		for i, it := range items {
			if p := idProblem("item", it.Item, IDMax, true); p != "" {
				return it.Item, "line " + strconv.Itoa(i) + ": " + p
			}
		}
	case C.PC_EQUANTITY:
		for i, it := range items {
			if it.Qty <= 0 {
				return it.Item, "line " + strconv.Itoa(i) + ": quantity " + strconv.FormatInt(it.Qty, 10)
			}
		}
	case C.PC_ETOOMANY:
		return "", strconv.Itoa(len(items)) + " items, " + strconv.Itoa(len(stores)) + " candidate stores"
	}
	return "", ""
}

func basketOf(res *C.pc_basket_result) *Basket {
	b := &Basket{
		Version:           uint64(res.version),
		Algorithm:         Algorithm(res.algorithm),
		AlgorithmName:     C.GoString(res.algorithm_name),
		TotalCents:        int64(res.total_cents),
		PenaltyTotalCents: int64(res.penalty_total_cents),
		PenaltyCents:      int64(res.penalty_cents),
		PenaltyFallback:   res.penalty_fallback != 0,
		AvgCents:          int64(res.avg_cents),
		Found:             int(res.nfound),
		Missing:           int(res.nmissing),
		Coverage:          float64(res.coverage),
		Lines:             make([]BasketLine, int(res.nlines)),
		Stores:            make([]string, int(res.nstores)),
	}
	if res.nlines > 0 {
		for i, l := range unsafe.Slice(res.lines, int(res.nlines)) {
			bl := BasketLine{
				Item:      C.GoString(l.item),
				Qty:       int64(l.qty),
				Source:    LineSource(l.source),
				Store:     int(l.store),
				UnitCents: int64(l.unit_cents),
				LineCents: int64(l.line_cents),
			}
			if bl.Source != LinePenalty {
				bl.UpdatedAt = time.Unix(int64(l.updated_at), 0)
			}
			b.Lines[i] = bl
		}
	}
	if res.nstores > 0 {
		for i, s := range unsafe.Slice(res.stores, int(res.nstores)) {
			b.Stores[i] = C.GoString(s)
		}
	}
	return b
}
