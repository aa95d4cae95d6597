package pricecache

/*
#include <stdlib.h>
#include <pricecache.h>
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"unsafe"
)

// Code is a libpricecache return code (one of the PC_* constants of
// pricecache.h). A Code is an error; the Err… variables below are Codes,
// so errors.Is(err, ErrNoChain) works on every error this package returns,
// and errors.As(err, &code) recovers the code itself.
type Code int

// The PC_* codes of pricecache.h, one sentinel error each.
var (
	ErrNotFound   error = Code(C.PC_NOTFOUND)    // no price for the item (an ordinary answer)
	ErrNoChain    error = Code(C.PC_ENOCHAIN)    // the chain is not in the cache
	ErrNotReady   error = Code(C.PC_ENOTREADY)   // no environment yet, or the daemon has not loaded it once
	ErrOverloaded error = Code(C.PC_EOVERLOADED) // no LMDB reader slot free: retry later
	ErrInvalid    error = Code(C.PC_EINVAL)      // an argument is invalid: a caller bug, do not retry
	ErrIO         error = Code(C.PC_EIO)         // the environment could not be read
	ErrTimeout    error = Code(C.PC_ETIMEDOUT)   // a wait ended before the condition held
	ErrFormat     error = Code(C.PC_EFORMAT)     // unknown environment format: upgrade the library
	ErrNoMemory   error = Code(C.PC_ENOMEM)      // memory could not be allocated
	ErrNoItems    error = Code(C.PC_ENOITEMS)    // a basket with no items
	ErrQuantity   error = Code(C.PC_EQUANTITY)   // a basket line with a quantity of zero or less
	ErrTooMany    error = Code(C.PC_ETOOMANY)    // too many basket items or candidate stores
	ErrOverflow   error = Code(C.PC_EOVERFLOW)   // an amount does not fit in int64 cents
	ErrAccess     error = Code(C.PC_EACCES)      // the control socket is not reachable (permissions)
	ErrRefused    error = Code(C.PC_EREFUSED)    // the daemon refused a request
)

// ErrClosed is returned by every method of a Reader or Subscription after
// Close. The C library would take a closed handle for a stray pointer; the
// binding never hands one to it.
var ErrClosed = errors.New("pricecache: use of a closed handle")

var codeNames = map[Code]string{
	Code(C.PC_OK):          "PC_OK",
	Code(C.PC_NOTFOUND):    "PC_NOTFOUND",
	Code(C.PC_ENOCHAIN):    "PC_ENOCHAIN",
	Code(C.PC_ENOTREADY):   "PC_ENOTREADY",
	Code(C.PC_EOVERLOADED): "PC_EOVERLOADED",
	Code(C.PC_EINVAL):      "PC_EINVAL",
	Code(C.PC_EIO):         "PC_EIO",
	Code(C.PC_ETIMEDOUT):   "PC_ETIMEDOUT",
	Code(C.PC_EFORMAT):     "PC_EFORMAT",
	Code(C.PC_ENOMEM):      "PC_ENOMEM",
	Code(C.PC_ENOITEMS):    "PC_ENOITEMS",
	Code(C.PC_EQUANTITY):   "PC_EQUANTITY",
	Code(C.PC_ETOOMANY):    "PC_ETOOMANY",
	Code(C.PC_EOVERFLOW):   "PC_EOVERFLOW",
	Code(C.PC_EACCES):      "PC_EACCES",
	Code(C.PC_EREFUSED):    "PC_EREFUSED",
}

// Error returns the library's text for the code (pc_strerror).
func (c Code) Error() string {
	return "pricecache: " + C.GoString(C.pc_strerror(C.int(c)))
}

// String returns the C name of the code, e.g. "PC_ENOCHAIN", or
// "PC_?(-7099)" for a code this package does not know.
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("PC_?(%d)", int(c))
}

// Error is the error every call returns: what was asked (the operation,
// chain, store and item as far as they apply), and why it failed. Err is a
// Code (ErrNoChain, ErrInvalid, ...), ErrClosed, or a context error;
// errors.Is and errors.As see through an *Error to it. Detail says more
// than the code when something does: the C library's own sentence for
// this failure (pc_errdetail, e.g. which check of lock.mdb failed), or
// what the binding found wrong in an argument.
type Error struct {
	Op     string // "get", "get_many", "chain_info", "basket_single", ...
	Chain  string // the chain asked for, "" when none
	Store  string // the store asked for, "" when none or the base price
	Item   string // the item asked for, "" when none
	Detail string // the library's sentence, or the argument's problem; "" when none
	Err    error
}

func (e *Error) Error() string {
	s := "pricecache: " + e.Op
	if e.Chain != "" {
		s += " chain " + quoteID(e.Chain)
	}
	if e.Store != "" {
		s += " store " + quoteID(e.Store)
	}
	if e.Item != "" {
		s += " item " + quoteID(e.Item)
	}
	var msg string
	var c Code
	if errors.As(e.Err, &c) {
		msg = C.GoString(C.pc_strerror(C.int(c)))
	} else {
		msg = e.Err.Error()
	}
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return s + ": " + msg
}

// Unwrap returns the Code, ErrClosed or context error.
func (e *Error) Unwrap() error { return e.Err }

// Is makes a wait that ended with its context's deadline also match
// ErrTimeout, as PC_ETIMEDOUT would from C.
func (e *Error) Is(target error) bool {
	return target == ErrTimeout && errors.Is(e.Err, context.DeadlineExceeded)
}

// why takes a failed call's sentence from C (pcgo_why in pcgo.h, read in
// the same cgo call as the failed call) and frees it; "" for none.
func why(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.free(unsafe.Pointer(p))
	return s
}

// quoteID shows an id in an error: quoted, with odd bytes escaped, and
// shortened when long (a 10 kB id must not make a 10 kB log line).
func quoteID(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q…(%d bytes)", s[:64], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// CodeOf returns the PC_* code an error of this package carries, and
// whether it carries one (ErrClosed and context errors do not).
func CodeOf(err error) (Code, bool) {
	var c Code
	ok := errors.As(err, &c)
	return c, ok
}
