package pricecache

import (
	"os"
	"testing"
)

// Next waits on Go's poller, holding no OS thread, only if the bus made
// the subscriber's descriptor non-blocking (else it falls back to polling
// by timer): check that it did.
func TestSubscriptionWaitsOnPoller(t *testing.T) {
	s, err := Subscribe(os.Getenv("PC_TEST_EVENTS"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.f == nil {
		t.Fatal("the subscriber's descriptor is not on Go's poller")
	}
}
