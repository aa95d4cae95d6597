package pricecache_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"pricecache.dev/pricecache"
)

// next waits for an event that satisfies want, up to d.
func next(t *testing.T, s *pricecache.Subscription, d time.Duration, what string, want func(pricecache.Event) bool) pricecache.Event {
	t.Helper()
	ctx, cancel := ctxTimeout(d)
	defer cancel()
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if want(ev) {
			return ev
		}
	}
}

func TestEventsAfterUpdate(t *testing.T) {
	ev, _, err := rd.BusAddrs()
	if err != nil || ev != os.Getenv("PC_TEST_EVENTS") {
		t.Fatalf("BusAddrs: %q, %v; want %q", ev, err, os.Getenv("PC_TEST_EVENTS"))
	}
	s, err := rd.Subscribe("acme")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The subscription is up once acme's heartbeat (every second) comes.
	next(t, s, 15*time.Second, "a heartbeat of acme", func(e pricecache.Event) bool {
		return e.Kind == pricecache.EventHeartbeat && e.Chain == "acme"
	})
	sql(t, "UPDATE chain_prices SET price_cents = 555 WHERE chain_slug = 'acme' AND item_id = 'item5'")
	defer func() { // the other tests count on acme as seeded
		sql(t, "UPDATE chain_prices SET price_cents = 105 WHERE chain_slug = 'acme' AND item_id = 'item5'")
		waitFor(t, "item5 back at 105", 15*time.Second, func() bool {
			p, err := rd.Get("acme", "", "item5")
			return err == nil && p.Cents == 105
		})
	}()
	sql(t, "UPDATE chain_prices SET price_cents = 5 WHERE chain_slug = 'gm' AND item_id = 'g1'")
	pub := next(t, s, 15*time.Second, "a publish of acme", func(e pricecache.Event) bool {
		if e.Chain != "acme" && e.Chain != "" {
			t.Errorf("an event of %q reached a subscriber of acme: %+v", e.Chain, e)
		}
		return e.Kind == pricecache.EventPublish
	})
	if pub.Kind.String() != "publish" || pub.Version == 0 || pub.Seq == 0 || pub.Run == 0 || time.Since(pub.Time) > time.Minute {
		t.Fatalf("publish event %+v", pub)
	}
	ci, err := rd.ChainInfo("acme")
	if err != nil || ci.Version < pub.Version {
		t.Fatalf("chain at %d after the event of version %d (%v)", ci.Version, pub.Version, err)
	}
	if p, err := rd.Get("acme", "", "item5"); err != nil || p.Cents != 555 {
		t.Fatalf("item5 after the event: %v %v", p, err)
	}
}

func TestEventsWaitHonoursContext(t *testing.T) {
	s, err := pricecache.Subscribe(os.Getenv("PC_TEST_EVENTS"), "nomean") // a chain that only heartbeats
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A deadline: the wait ends on time, and says so both ways.
	ctx, cancel := ctxTimeout(50 * time.Millisecond)
	t0 := time.Now()
	var nerr error
	for nerr == nil {
		_, nerr = s.Next(ctx)
	}
	cancel()
	if !errors.Is(nerr, context.DeadlineExceeded) || !errors.Is(nerr, pricecache.ErrTimeout) || time.Since(t0) > 2*time.Second {
		t.Fatalf("deadline: %v after %v", nerr, time.Since(t0))
	}
	// A cancel from elsewhere ends the wait at once, with no C call blocked.
	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(150 * time.Millisecond); cancel() }()
	t0 = time.Now()
	for nerr = nil; nerr == nil; {
		_, nerr = s.Next(ctx)
	}
	if !errors.Is(nerr, context.Canceled) || time.Since(t0) > 2*time.Second {
		t.Fatalf("cancel: %v after %v", nerr, time.Since(t0))
	}
	// Close while another goroutine waits: it returns ErrClosed.
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := s.Next(context.Background()); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, pricecache.ErrClosed) {
			t.Fatalf("Next after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still waiting 5 s after Close")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSubscribeErrors(t *testing.T) {
	if _, err := pricecache.Subscribe("nosuchscheme://x"); !errors.Is(err, pricecache.ErrInvalid) {
		t.Errorf("bad address: %v", err)
	}
	if _, err := pricecache.Subscribe(os.Getenv("PC_TEST_EVENTS"), "Not A Slug"); !errors.Is(err, pricecache.ErrInvalid) {
		t.Errorf("bad chain: %v", err)
	}
	if _, err := pricecache.Subscribe("ipc:///x\x00y"); !errors.Is(err, pricecache.ErrInvalid) {
		t.Errorf("NUL in address: %v", err)
	}
	for k, name := range map[pricecache.EventKind]string{
		pricecache.EventPublish: "publish", pricecache.EventBreaker: "breaker", pricecache.EventFailed: "failed",
		pricecache.EventRefused: "refused", pricecache.EventRemoved: "removed", pricecache.EventHeartbeat: "heartbeat",
		pricecache.EventResync: "resync", pricecache.EventDatabase: "database",
	} {
		if k.String() != name {
			t.Errorf("kind %d is %q, want %q", k, k, name)
		}
	}
}

// A restarted daemon starts a new run: a subscriber that followed the old
// one hands out a resync for each chain before trusting new events.
//
// It runs in a go test process of its own (the scenario's second
// invocation, PC_TEST_RESTART=1): it restarts the daemon under the other
// tests' feet, and in a process that had opened and closed other
// subscribers before, the subscriber was seen not to reconnect to the
// restarted daemon (no event in 30 s; not yet explained, see the README).
func TestResyncAfterDaemonRestart(t *testing.T) {
	if os.Getenv("PC_TEST_RESTART") == "" {
		t.Skip("run on its own by the scenario, with PC_TEST_RESTART=1")
	}
	s, err := pricecache.Subscribe(os.Getenv("PC_TEST_EVENTS"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hb := next(t, s, 15*time.Second, "a heartbeat", func(e pricecache.Event) bool {
		return e.Kind == pricecache.EventHeartbeat && e.Chain == "acme"
	})
	restartDaemon(t)
	rs := next(t, s, 30*time.Second, "a resync of acme", func(e pricecache.Event) bool {
		t.Logf("after the restart: %s %q run %d seq %d version %d %q", e.Kind, e.Chain, e.Run, e.Seq, e.Version, e.Text)
		return e.Kind == pricecache.EventResync && e.Chain == "acme"
	})
	if rs.Text == "" || rs.Kind.String() != "resync" {
		t.Fatalf("resync event %+v", rs)
	}
	if rs.Run == hb.Run {
		t.Logf("resync %+v (run unchanged: %d)", rs, rs.Run)
	}
	// Reads went on through the restart, and still do.
	if p, err := rd.Get("acme", "s1", "item10"); err != nil || p.Cents != 1 {
		t.Fatalf("Get after the restart: %v %v", p, err)
	}
}
