package pricecache_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"pricecache.dev/pricecache"
)

// cliBasket is `pricecache basket --json`: the C library's answer.
type cliBasket struct {
	Version           uint64   `json:"version"`
	Algorithm         string   `json:"algorithm"`
	Stores            []string `json:"stores"`
	TotalCents        int64    `json:"total_cents"`
	Found             int      `json:"found"`
	Missing           int      `json:"missing"`
	Coverage          float64  `json:"coverage"`
	PenaltyTotalCents int64    `json:"penalty_total_cents"`
	PenaltyCents      int64    `json:"penalty_cents"`
	PenaltyFallback   bool     `json:"penalty_fallback"`
	AvgCents          int64    `json:"avg_cents"`
	Lines             []struct {
		Item      string  `json:"item"`
		Qty       int64   `json:"qty"`
		UnitCents int64   `json:"unit_cents"`
		LineCents int64   `json:"line_cents"`
		Source    string  `json:"source"`
		Store     *string `json:"store"`
		UpdatedAt *int64  `json:"updated_at"`
	} `json:"lines"`
}

func cBasket(t *testing.T, chain string, stores []string, items []pricecache.BasketItem) cliBasket {
	t.Helper()
	var in strings.Builder
	for _, it := range items {
		fmt.Fprintf(&in, "%s %d\n", it.Item, it.Qty)
	}
	args := append([]string{"-d", os.Getenv("PRICECACHE_PATH"), "basket", "--json", chain}, stores...)
	cmd := command(bin("pricecache"), args...)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pricecache basket: %v: %s", err, out)
	}
	var b cliBasket
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatalf("pricecache basket --json: %v: %s", err, out)
	}
	return b
}

// sameBasket compares the binding's result with the C library's, field by
// field.
func sameBasket(t *testing.T, what string, g *pricecache.Basket, c cliBasket) {
	t.Helper()
	diff := func(field string, gv, cv interface{}) {
		t.Errorf("%s: %s: Go %v, C %v", what, field, gv, cv)
	}
	if g.Version != c.Version {
		diff("version", g.Version, c.Version)
	}
	if g.AlgorithmName != c.Algorithm {
		diff("algorithm", g.AlgorithmName, c.Algorithm)
	}
	if strings.Join(g.Stores, "|") != strings.Join(c.Stores, "|") {
		diff("stores", g.Stores, c.Stores)
	}
	if g.TotalCents != c.TotalCents || g.PenaltyTotalCents != c.PenaltyTotalCents || g.PenaltyCents != c.PenaltyCents ||
		g.PenaltyFallback != c.PenaltyFallback || g.AvgCents != c.AvgCents || g.Found != c.Found || g.Missing != c.Missing {
		diff("totals", fmt.Sprintf("%+v", *g), fmt.Sprintf("%+v", c))
	}
	if math.Abs(g.Coverage-c.Coverage) > 1e-5 {
		diff("coverage", g.Coverage, c.Coverage)
	}
	if len(g.Lines) != len(c.Lines) {
		diff("lines", len(g.Lines), len(c.Lines))
		return
	}
	for i, gl := range g.Lines {
		cl := c.Lines[i]
		store, bought := g.StoreOf(gl)
		ok := gl.Item == cl.Item && gl.Qty == cl.Qty && gl.UnitCents == cl.UnitCents && gl.LineCents == cl.LineCents &&
			gl.Source.String() == cl.Source && bought == (cl.Store != nil)
		if bought && cl.Store != nil {
			ok = ok && store == *cl.Store && cl.UpdatedAt != nil && gl.UpdatedAt.Unix() == *cl.UpdatedAt
		} else {
			ok = ok && gl.UpdatedAt.IsZero() && gl.Store == -1
		}
		if !ok {
			diff(fmt.Sprintf("line %d", i), fmt.Sprintf("%+v", gl), fmt.Sprintf("%+v", cl))
		}
	}
}

func items(spec ...interface{}) []pricecache.BasketItem {
	var v []pricecache.BasketItem
	for i := 0; i < len(spec); i += 2 {
		v = append(v, pricecache.BasketItem{Item: spec[i].(string), Qty: int64(spec[i+1].(int))})
	}
	return v
}

func TestBasketsMatchC(t *testing.T) {
	var many []pricecache.BasketItem
	for i := 0; i < 30; i++ {
		many = append(many, pricecache.BasketItem{Item: fmt.Sprintf("item%d", i*3), Qty: int64(1 + i%4)})
	}
	many = append(many, pricecache.BasketItem{Item: "nope", Qty: 2})
	for _, c := range []struct {
		chain  string
		stores []string
		items  []pricecache.BasketItem
	}{
		{"acme", []string{"s1"}, items("item10", 2, "item11", 1, "nope", 1)},
		{"acme", []string{""}, items("item10", 2, "item11", 1)},
		{"acme", []string{"s1"}, many},
		{"acme", []string{"s1", "s2"}, items("item10", 1, "item20", 1)},
		{"acme", []string{"s2", "s1", "s3"}, many[:10]},
		{"acme", []string{"s2", "s1", "s3"}, many}, // too many items for the exact search
		{"nomean", []string{"s1"}, items("only", 1, "none", 3)},
		{"beta", []string{"x", "y"}, items("b1", 1, "b2", 5, "zz", 1)},
	} {
		what := fmt.Sprintf("%s %q %d items", c.chain, c.stores, len(c.items))
		var g *pricecache.Basket
		var err error
		if len(c.stores) == 1 {
			g, err = rd.BasketSingle(c.chain, c.stores[0], c.items, nil)
		} else {
			g, err = rd.BasketMulti(c.chain, c.stores, c.items, nil)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		sameBasket(t, what, g, cBasket(t, c.chain, c.stores, c.items))
	}
}

func TestBasketOptions(t *testing.T) {
	def := pricecache.DefaultBasketOptions()
	if def.PenaltyMult != 2 || def.FallbackCents != 10000 || def.MaxStores != 2 || def.ExactMaxItems != 10 ||
		def.ExactMaxStores != 15 || def.Budget != 100*time.Millisecond {
		t.Fatalf("defaults %+v", def)
	}
	its := items("item10", 1, "item20", 1, "nope", 2)
	o := def
	o.PenaltyMult = 3 // mean 150 -> 450 per unit
	b, err := rd.BasketSingle("acme", "s1", its, &o)
	if err != nil || b.PenaltyCents != 450 || b.PenaltyTotalCents != 900 || b.TotalCents != 902 || b.Missing != 1 ||
		b.Lines[2].Source != pricecache.LinePenalty || b.Lines[2].Store != -1 || b.AlgorithmName != "single" {
		t.Fatalf("PenaltyMult 3: %+v %v", b, err)
	}
	o = def
	o.FallbackCents = 777 // chain nomean has no base rows, hence no mean
	if b, err = rd.BasketSingle("nomean", "s1", items("only", 1, "none", 2), &o); err != nil ||
		!b.PenaltyFallback || b.PenaltyCents != 777 || b.TotalCents != 42+2*777 || b.Coverage != 0.5 {
		t.Fatalf("FallbackCents: %+v %v", b, err)
	}
	// item10 and item20 are s1's exceptions at 1 cent; s2 has none.
	o = def
	o.MaxStores = 1
	if b, err = rd.BasketMulti("acme", []string{"s2", "s1"}, items("item10", 1, "item20", 1, "item21", 1), &o); err != nil ||
		len(b.Stores) != 1 || b.Stores[0] != "s1" || b.TotalCents != 1+1+121 || b.AlgorithmName != "optimal" {
		t.Fatalf("MaxStores 1: %+v %v", b, err)
	}
	o = def
	o.ExactMaxItems = 0
	if b, err = rd.BasketMulti("acme", []string{"s2", "s1"}, its, &o); err != nil || b.AlgorithmName != "greedy" ||
		b.Algorithm != pricecache.AlgorithmGreedy {
		t.Fatalf("ExactMaxItems 0: %+v %v", b, err)
	}
	o = def
	o.ExactMaxStores = 1
	if b, err = rd.BasketMulti("acme", []string{"s2", "s1"}, its, &o); err != nil || b.AlgorithmName != "greedy" {
		t.Fatalf("ExactMaxStores 1: %+v %v", b, err)
	}
	o = def
	o.Budget = 0
	if b, err = rd.BasketMulti("acme", []string{"s2", "s1"}, its, &o); err != nil ||
		b.Algorithm != pricecache.AlgorithmGreedyFallback || b.AlgorithmName != "greedy_timeout_fallback" {
		t.Fatalf("Budget 0: %+v %v", b, err)
	}
	o = def
	o.Budget = 5 * time.Second
	if b, err = rd.BasketMulti("acme", []string{"s2", "s1"}, its, &o); err != nil || b.AlgorithmName != "optimal" ||
		b.TotalCents != 2+2*300 {
		t.Fatalf("Budget 5s: %+v %v", b, err)
	}
}

func TestBasketErrors(t *testing.T) {
	one := items("item10", 1)
	big := make([]pricecache.BasketItem, pricecache.BasketMaxItems+1)
	for i := range big {
		big[i] = pricecache.BasketItem{Item: "item1", Qty: 1}
	}
	stores := make([]string, pricecache.BasketMaxStores+1)
	for i := range stores {
		stores[i] = fmt.Sprintf("s%d", i)
	}
	bad := func(f func(*pricecache.BasketOptions)) *pricecache.BasketOptions {
		o := pricecache.DefaultBasketOptions()
		f(&o)
		return &o
	}
	for _, c := range []struct {
		what   string
		err    error
		detail string
		call   func() (*pricecache.Basket, error)
	}{
		{"no items", pricecache.ErrNoItems, "", func() (*pricecache.Basket, error) { return rd.BasketSingle("acme", "s1", nil, nil) }},
		{"qty 0", pricecache.ErrQuantity, "line 1: quantity 0", func() (*pricecache.Basket, error) {
			return rd.BasketSingle("acme", "s1", items("item1", 1, "item2", 0), nil)
		}},
		{"negative qty", pricecache.ErrQuantity, "quantity -3", func() (*pricecache.Basket, error) {
			return rd.BasketMulti("acme", []string{"s1", "s2"}, items("item1", -3), nil)
		}},
		{"NUL in item", pricecache.ErrInvalid, "line 0: item holds a NUL byte", func() (*pricecache.Basket, error) {
			return rd.BasketSingle("acme", "s1", items("item1\x00x", 1), nil)
		}},
		{"201-byte item", pricecache.ErrInvalid, "201 bytes", func() (*pricecache.Basket, error) {
			return rd.BasketSingle("acme", "s1", items(strings.Repeat("i", 201), 1), nil)
		}},
		{"NUL in store", pricecache.ErrInvalid, "NUL", func() (*pricecache.Basket, error) {
			return rd.BasketMulti("acme", []string{"s1", "s\x002"}, one, nil)
		}},
		{"no chain", pricecache.ErrNoChain, "", func() (*pricecache.Basket, error) { return rd.BasketSingle("nosuch", "s1", one, nil) }},
		{"bad chain", pricecache.ErrInvalid, "not a slug", func() (*pricecache.Basket, error) { return rd.BasketSingle("No", "s1", one, nil) }},
		{"too many items", pricecache.ErrTooMany, "", func() (*pricecache.Basket, error) { return rd.BasketSingle("acme", "s1", big, nil) }},
		{"too many stores", pricecache.ErrTooMany, "", func() (*pricecache.Basket, error) { return rd.BasketMulti("acme", stores, one, nil) }},
		{"no stores", pricecache.ErrInvalid, "no candidate stores", func() (*pricecache.Basket, error) { return rd.BasketMulti("acme", nil, one, nil) }},
		{"MaxStores 0", pricecache.ErrInvalid, "MaxStores", func() (*pricecache.Basket, error) {
			return rd.BasketMulti("acme", []string{"s1"}, one, bad(func(o *pricecache.BasketOptions) { o.MaxStores = 0 }))
		}},
		{"MaxStores -1", pricecache.ErrInvalid, "MaxStores", func() (*pricecache.Basket, error) {
			return rd.BasketMulti("acme", []string{"s1"}, one, bad(func(o *pricecache.BasketOptions) { o.MaxStores = -1 }))
		}},
		{"negative mult", pricecache.ErrInvalid, "PenaltyMult", func() (*pricecache.Basket, error) {
			return rd.BasketSingle("acme", "s1", one, bad(func(o *pricecache.BasketOptions) { o.PenaltyMult = -1 }))
		}},
		{"NaN mult", pricecache.ErrInvalid, "PenaltyMult", func() (*pricecache.Basket, error) {
			return rd.BasketSingle("acme", "s1", one, bad(func(o *pricecache.BasketOptions) { o.PenaltyMult = math.NaN() }))
		}},
		{"negative fallback", pricecache.ErrInvalid, "FallbackCents", func() (*pricecache.Basket, error) {
			return rd.BasketSingle("acme", "s1", one, bad(func(o *pricecache.BasketOptions) { o.FallbackCents = -1 }))
		}},
		{"negative budget", pricecache.ErrInvalid, "Budget", func() (*pricecache.Basket, error) {
			return rd.BasketSingle("acme", "s1", one, bad(func(o *pricecache.BasketOptions) { o.Budget = -time.Second }))
		}},
		{"overflow", pricecache.ErrOverflow, "", func() (*pricecache.Basket, error) {
			return rd.BasketSingle("acme", "", []pricecache.BasketItem{{Item: "item50", Qty: math.MaxInt64 / 100}}, nil)
		}},
	} {
		b, err := c.call()
		if b != nil || !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.detail) {
			t.Errorf("%s: %v, %v; want %v saying %q", c.what, b, err, c.err, c.detail)
		}
	}
}
