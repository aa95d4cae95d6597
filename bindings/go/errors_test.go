package pricecache_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"pricecache.dev/pricecache"
)

// Where LMDB 0.9 keeps lock.mdb's words on Linux x86-64, as
// tests/integration/lockpoke.py and tests/unit/test_lockfile.c write them
// (test_lockfile checks the offsets against LMDB itself).
const (
	lockMagic      = 0xBEEFC0DE
	lockOffTxnid   = 48
	lockOffReaders = 56
)

// isFormat checks that err is ErrFormat however it is asked (errors.Is,
// errors.As to *Error and to Code) and that it carries the library's
// sentence want, in Detail and in the message.
func isFormat(t *testing.T, err error, want string) {
	t.Helper()
	var pe *pricecache.Error
	var code pricecache.Code
	if !errors.Is(err, pricecache.ErrFormat) || !errors.As(err, &pe) || !errors.As(err, &code) ||
		code != pricecache.ErrFormat {
		t.Fatalf("want ErrFormat, got %v", err)
	}
	if !strings.Contains(pe.Detail, want) || !strings.Contains(err.Error(), want) {
		t.Fatalf("want the library's sentence %q, got Detail %q, message %q", want, pe.Detail, err)
	}
}

// The C library's own sentence for a failure (pc_errdetail) reaches the
// error. It is per OS thread, so the binding reads it in the same cgo call
// as the call that failed: a second cgo call may run on another thread.
func TestErrorDetail(t *testing.T) {
	// A data.mdb that is no LMDB file: which file.
	junk := t.TempDir()
	if err := os.WriteFile(filepath.Join(junk, "data.mdb"), bytes.Repeat([]byte("x"), 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := pricecache.Open(junk)
	isFormat(t, err, "data.mdb: not an LMDB file")

	// lock.mdb corrupt, in a copy of the cache that this process alone has
	// open: the daemon's own lock file is left alone.
	if runtime.GOARCH != "amd64" {
		t.Skip("lock.mdb's offsets are known for x86-64 only")
	}
	dir := t.TempDir()
	if out, err := command("mdb_copy", os.Getenv("PRICECACHE_PATH"), dir).CombinedOutput(); err != nil {
		t.Fatalf("mdb_copy: %v: %s", err, out)
	}
	r, err := pricecache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Get("acme", "s1", "item10"); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock.mdb"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hdr [64]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(hdr[:]) != lockMagic {
		t.Skip("lock.mdb is not LMDB 0.9's layout here")
	}
	poke := func(off int64, b []byte) {
		t.Helper()
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	savedReaders := append([]byte(nil), hdr[lockOffReaders:lockOffReaders+4]...)
	savedTxnid := append([]byte(nil), hdr[lockOffTxnid:lockOffTxnid+8]...)
	ff := bytes.Repeat([]byte{0xff}, 8)

	// A reader count beyond the table: opening again (which clears the
	// slots of dead processes, walking the table) is refused.
	poke(lockOffReaders, ff[:4])
	_, err = pricecache.Open(dir)
	poke(lockOffReaders, savedReaders)
	isFormat(t, err, "lock.mdb: reader count 4294967295 beyond the table")

	// A transaction id beyond data.mdb's last commit: every lookup is
	// refused, through Get's and GetMany's C helpers alike.
	poke(lockOffTxnid, ff)
	_, err = r.Get("acme", "s1", "item10")
	_, _, errMany := r.GetMany("acme", "s1", []string{"item10", "item11"})
	poke(lockOffTxnid, savedTxnid)
	isFormat(t, err, "lock.mdb: transaction id 18446744073709551615 beyond data.mdb's last commit")
	isFormat(t, errMany, "lock.mdb: transaction id 18446744073709551615 beyond data.mdb's last commit")

	// The bytes back: reads go on, and a later failure says only its own.
	if p, err := r.Get("acme", "s1", "item10"); err != nil || p.Cents != 1 {
		t.Fatalf("after the bytes were back: %v, %v", p, err)
	}
	_, err = r.Get("nosuchchain", "s1", "item10")
	var pe *pricecache.Error
	if !errors.As(err, &pe) || !errors.Is(err, pricecache.ErrNoChain) {
		t.Fatalf("unknown chain: %v", err)
	}
	if pe.Detail != "" {
		t.Fatalf("unknown chain: Detail %q, from an earlier failure", pe.Detail)
	}
}
