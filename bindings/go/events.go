package pricecache

/*
#include <stdlib.h>
#include <string.h>
#include <pricecache.h>
#include "pcgo.h"

typedef struct pcgo_event {
	int      rc;
	pc_event ev;
	char    *why; // rc's sentence (pcgo_why), NULL on success
} pcgo_event;

// One non-blocking pc_sub_next: what is queued, or PC_ETIMEDOUT.  Never
// waits inside C, so no OS thread is held while nothing comes.
static pcgo_event pcgo_sub_next(pc_sub *s)
{
	pcgo_event e;
	e.rc = pc_sub_next(s, 0, &e.ev);
	e.why = e.rc == PC_OK || e.rc == PC_ETIMEDOUT ? NULL : pcgo_why(e.rc);
	return e;
}

static pcgo_rc pcgo_sub_open(_GoString_ addr, char *chains, size_t n, pc_sub **out)
{
	// chains: n NUL-terminated slugs back to back (already checked).
	const char *none[1] = { NULL };
	const char **cv = n ? malloc(n * sizeof *cv) : none;
	size_t al = _GoStringLen(addr);
	char *a = malloc(al + 1);
	pcgo_rc rc;
	*out = NULL;
	if (!cv || !a) {
		rc = pcgo_own(PC_ENOMEM);
	} else {
		memcpy(a, _GoStringPtr(addr), al);
		a[al] = 0;
		for (size_t i = 0; i < n; i++) {
			cv[i] = chains;
			chains += strlen(chains) + 1;
		}
		rc = pcgo_ret(pc_sub_open(a, n ? cv : NULL, n, out));
	}
	if (n)
		free(cv);
	free(a);
	return rc;
}
*/
import "C"

import (
	"context"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// EventKind is the kind of a bus event.
type EventKind int

// Event kinds (PC_EV_*).
const (
	EventPublish   EventKind = C.PC_EV_PUBLISH   // a chain has a new version
	EventBreaker   EventKind = C.PC_EV_BREAKER   // a breaker changed state (Value)
	EventFailed    EventKind = C.PC_EV_FAILED    // a load failed (Value: result)
	EventRefused   EventKind = C.PC_EV_REFUSED   // a load was refused by a guard
	EventRemoved   EventKind = C.PC_EV_REMOVED   // a chain left the cache
	EventHeartbeat EventKind = C.PC_EV_HEARTBEAT // Seq = last sent, Version = the chain's
	// EventResync is made by the subscriber when it missed events of a
	// chain (a gap, a heartbeat ahead, a restarted daemon): re-read the
	// chain's metadata (ChainInfo) and whatever was derived from it.
	EventResync EventKind = C.PC_EV_RESYNC
	// EventDatabase says that the daemon's continuous check found its
	// database unreachable (Value 2, PC_DB_DOWN) or back (Value 1,
	// PC_DB_UP); Chain is "". Text names the error or the outage's length.
	EventDatabase EventKind = C.PC_EV_DATABASE
)

// String returns the library's name of the kind: "publish", "resync", ...
func (k EventKind) String() string { return C.GoString(C.pc_event_kind_name(C.int(k))) }

// Event is one event of the daemon (or a resync made by the subscriber).
// Events are hints; the cache is the truth: the version ChainInfo reads
// after an event is at least the event's.
type Event struct {
	Kind    EventKind
	Chain   string    // "" for events of no chain
	Seq     uint64    // per chain, grows by one per event within one daemon run
	Run     uint64    // the daemon run (its start, unix ms)
	Time    time.Time // when the daemon sent it (ms precision)
	Version uint64    // EventPublish, EventHeartbeat, EventResync: the chain's version; else 0
	Value   uint32    // kind-specific: breaker state, load result, rows
	Text    string    // detail for humans
}

// Subscription follows the daemon's events. Next may be called from any
// goroutine; calls are serialised (the bus library allows one thread per
// socket at a time).
type Subscription struct {
	mu     sync.Mutex // serialises Next and Close on the C subscriber
	c      *C.pc_sub
	f      *os.File // a dup of the subscriber's fd, on Go's poller; nil: poll by timer
	wakeMu sync.Mutex
	closed bool
}

// Subscribe follows the events the daemon publishes at addr (its [bus]
// events address, e.g. "ipc:///run/pricecache/events.ipc") for the given
// chains, or every chain when none is given; events of no chain always
// come. Connecting is asynchronous: a daemon that is not running yet is
// not an error, events flow once it is (events sent in the first
// milliseconds are missed; the first heartbeat repairs that with a resync).
func Subscribe(addr string, chains ...string) (*Subscription, error) {
	if strings.IndexByte(addr, 0) >= 0 {
		return nil, &Error{Op: "subscribe " + quoteID(addr), Err: ErrInvalid, Detail: "the address holds a NUL byte"}
	}
	var sb strings.Builder
	for _, ch := range chains {
		if !isSlug(ch) {
			return nil, &Error{Op: "subscribe", Chain: ch, Err: ErrInvalid, Detail: "chain is not a slug ([a-z0-9_-]{1,64})"}
		}
		sb.WriteString(ch)
		sb.WriteByte(0)
	}
	var cs *C.char
	if len(chains) > 0 {
		cs = C.CString(sb.String())
		defer C.free(unsafe.Pointer(cs))
	}
	var c *C.pc_sub
	if res := C.pcgo_sub_open(addr, cs, C.size_t(len(chains)), &c); res.rc != C.PC_OK {
		return nil, &Error{Op: "subscribe " + quoteID(addr), Err: Code(res.rc), Detail: why(res.why)}
	}
	s := &Subscription{c: c}
	runtime.SetFinalizer(s, (*Subscription).finalize)
	// Wait for the descriptor on Go's poller (no thread blocked): a dup,
	// since an os.File closes what it holds; only if the bus made it
	// non-blocking, as the poller requires (it never reads it).
	if fd := int(C.pc_sub_fd(c)); fd >= 0 {
		if dup, err := syscall.Dup(fd); err == nil {
			syscall.CloseOnExec(dup)
			if nonblocking(dup) {
				s.f = os.NewFile(uintptr(dup), "pricecache-events")
			} else {
				syscall.Close(dup)
			}
		}
	}
	return s, nil
}

// Subscribe follows the events of the daemon that owns this cache, at the
// address it announced (see BusAddrs): ErrNotFound when the bus is off.
func (r *Reader) Subscribe(chains ...string) (*Subscription, error) {
	ev, _, err := r.BusAddrs()
	if err != nil {
		return nil, err
	}
	if ev == "" {
		return nil, &Error{Op: "subscribe", Err: ErrNotFound, Detail: "the daemon's events bus is off"}
	}
	return Subscribe(ev, chains...)
}

func nonblocking(fd int) bool {
	fl, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
	return errno == 0 && fl&syscall.O_NONBLOCK != 0
}

// pollEvery bounds each wait: the descriptor may stay quiet while an event
// is queued behind ones the filter dropped (pricecache.h, pc_sub_fd).
const pollEvery = 100 * time.Millisecond

// Next returns the next event, waiting until one comes or ctx ends (then
// it returns an *Error wrapping ctx.Err(); a deadline also matches
// ErrTimeout). While it waits no OS thread is held: the subscriber's
// descriptor is watched by Go's poller, and the C call never blocks.
// A malformed message is dropped and waiting goes on. ErrIO: the socket
// failed; close and subscribe again.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return Event{}, &Error{Op: "next", Err: ErrClosed}
	}
	// Wake the wait below as soon as ctx ends.
	done := ctx.Done()
	if done != nil && s.f != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-done:
				s.wakeMu.Lock()
				s.f.SetReadDeadline(time.Unix(1, 0))
				s.wakeMu.Unlock()
			case <-stop:
			}
		}()
	}
	for {
		s.wakeMu.Lock()
		closed := s.closed
		s.wakeMu.Unlock()
		if closed {
			return Event{}, &Error{Op: "next", Err: ErrClosed}
		}
		e := C.pcgo_sub_next(s.c)
		switch e.rc {
		case C.PC_OK:
			return eventOf(&e.ev), nil
		case C.PC_ETIMEDOUT, C.PC_EFORMAT:
			why(e.why) // a malformed message, dropped
		default:
			return Event{}, &Error{Op: "next", Err: Code(e.rc), Detail: why(e.why)}
		}
		if err := ctx.Err(); err != nil {
			return Event{}, &Error{Op: "next", Err: err}
		}
		deadline := time.Now().Add(pollEvery)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		if s.f == nil {
			t := time.NewTimer(time.Until(deadline) / 10)
			select {
			case <-done:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		s.wakeMu.Lock()
		if ctx.Err() != nil || s.closed {
			s.wakeMu.Unlock()
			continue
		}
		s.f.SetReadDeadline(deadline)
		s.wakeMu.Unlock()
		if rc, err := s.f.SyscallConn(); err == nil {
			first := true
			// Returning false once parks until the poller sees the
			// descriptor readable or the deadline passes; nothing is read.
			rc.Read(func(uintptr) bool {
				if first {
					first = false
					return false
				}
				return true
			})
		}
	}
}

// Close closes the subscription. A Next waiting on another goroutine
// returns ErrClosed (or the event it was taking); later calls ErrClosed.
// Closing twice is harmless. An unreachable Subscription is closed by a
// finalizer.
func (s *Subscription) Close() error {
	s.wakeMu.Lock()
	s.closed = true
	if s.f != nil {
		s.f.SetReadDeadline(time.Unix(1, 0))
	}
	s.wakeMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		C.pc_sub_close(s.c)
		s.c = nil
		if s.f != nil {
			s.f.Close()
		}
		runtime.SetFinalizer(s, nil)
	}
	return nil
}

func (s *Subscription) finalize() {
	if s.c != nil {
		C.pc_sub_close(s.c)
		s.c = nil
	}
	if s.f != nil {
		s.f.Close()
	}
}

func eventOf(e *C.pc_event) Event {
	return Event{
		Kind:    EventKind(e.kind),
		Chain:   C.GoString(&e.chain[0]),
		Seq:     uint64(e.seq),
		Run:     uint64(e.run),
		Time:    time.UnixMilli(int64(e.ts_ms)),
		Version: uint64(e.version),
		Value:   uint32(e.value),
		Text:    C.GoString(&e.text[0]),
	}
}
