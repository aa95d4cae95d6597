package pricecache_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pricecache.dev/pricecache"
)

// 1,000 goroutines read through one Reader for PC_TEST_GOROUTINE_SECONDS
// (default 10). Goroutines move between OS threads; each thread that
// calls in holds one LMDB reader slot, so the slots this process holds
// stay bounded by its threads, never by its goroutines; none is left with
// an open read transaction between calls; Close gives every slot back.
func TestThousandGoroutines(t *testing.T) {
	secs := 10.0
	if s := os.Getenv("PC_TEST_GOROUTINE_SECONDS"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("PC_TEST_GOROUTINE_SECONDS=%q: %v", s, err)
		}
		secs = v
	}
	before := readerSlots(t)
	r, err := pricecache.Open("")
	if err != nil {
		t.Fatal(err)
	}
	var calls, bad atomic.Int64
	var firstErr atomic.Value
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := 0; g < 1000; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				item := fmt.Sprintf("item%d", (g+i)%100)
				p, err := r.Get("acme", "s1", item)
				if err != nil || p.Cents <= 0 {
					if bad.Add(1) == 1 {
						firstErr.Store(fmt.Sprintf("%s: %v %v", item, p, err))
					}
				}
				calls.Add(1)
				if i%64 == 0 {
					runtime.Gosched()
				}
			}
		}(g)
	}
	// Sample the slot table while they run.
	maxSlots, maxThreads := 0, 0
	end := time.Now().Add(time.Duration(secs * float64(time.Second)))
	for time.Now().Before(end) {
		if n := len(readerSlots(t)); n > maxSlots {
			maxSlots = n
		}
		if n := osThreads(t); n > maxThreads {
			maxThreads = n
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	during := readerSlots(t)
	threads := osThreads(t)
	open := 0
	for _, slot := range during {
		if !strings.HasSuffix(slot, " -") {
			open++
		}
	}
	r.Close()
	after := readerSlots(t)
	t.Logf("1000 goroutines, %.0f s, %d lookups (%.0f/s): reader slots of this process before %d, "+
		"at most %d while reading (OS threads at most %d), %d after the goroutines ended (%d with a read "+
		"transaction open), %d after Close",
		secs, calls.Load(), float64(calls.Load())/secs, len(before), maxSlots, maxThreads, len(during), open, len(after))
	if bad.Load() > 0 {
		t.Fatalf("%d failed lookups, first: %v", bad.Load(), firstErr.Load())
	}
	if calls.Load() < 1000 {
		t.Fatalf("only %d lookups", calls.Load())
	}
	if maxSlots > maxThreads+len(before) || len(during) > threads+len(before) {
		t.Fatalf("more reader slots (%d, %d) than OS threads (%d, %d)", maxSlots, len(during), maxThreads, threads)
	}
	if maxSlots >= 200 {
		t.Fatalf("%d reader slots for one process", maxSlots)
	}
	if open != 0 {
		t.Fatalf("%d read transactions open between calls: %v", open, during)
	}
	if len(after) != len(before) {
		t.Fatalf("Close left slots: before %v, after %v", before, after)
	}
}

// A Reader dropped without Close is closed by its finalizer: its slots come
// back.
func TestFinalizerFreesReader(t *testing.T) {
	before := len(readerSlots(t))
	func() {
		r, err := pricecache.Open("")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread() // a thread of its own, so it takes a slot
				defer runtime.UnlockOSThread()
				if _, err := r.Get("acme", "", "item1"); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := len(readerSlots(t)); n <= before {
			t.Fatalf("no new slot in use (%d, before %d)", n, before)
		}
	}()
	waitFor(t, "the finalizer to give the slots back", 10*time.Second, func() bool {
		runtime.GC()
		return len(readerSlots(t)) == before
	})
}
