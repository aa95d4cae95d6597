package pricecache_test

// The tests run against a real cache written by a real daemon: the
// scenario tests/integration/t_binding_go.sh seeds PostgreSQL, starts
// pricecached and runs `go test` with these variables:
//
//	PRICECACHE_PATH            the cache directory
//	PC_TEST_BIN                the build directory (pricecache, pricecached)
//	PC_TEST_CONF               the daemon's configuration
//	PC_TEST_DSN                the database, for UPDATEs through psql
//	PC_TEST_EVENTS             the daemon's events address
//	PC_TEST_DAEMON_PID         the daemon (the resync test restarts it)
//	PC_TEST_WORK               the scenario's work directory ($W)
//	PC_TEST_GOROUTINE_SECONDS  how long 1,000 goroutines read (default 10)
//
// Run them with: bash tests/integration/run.sh build binding_go

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pricecache.dev/pricecache"
)

var rd *pricecache.Reader // shared by the tests, as a service would share one

func TestMain(m *testing.M) {
	for _, v := range []string{"PRICECACHE_PATH", "PC_TEST_BIN", "PC_TEST_CONF", "PC_TEST_DSN", "PC_TEST_WORK"} {
		if os.Getenv(v) == "" {
			fmt.Fprintf(os.Stderr, "%s is not set: these tests need a running daemon; run them with\n"+
				"  bash tests/integration/run.sh build binding_go\n", v)
			os.Exit(2)
		}
	}
	var err error
	if rd, err = pricecache.Open(""); err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	code := m.Run()
	rd.Close()
	os.Exit(code)
}

// command is exec.Command for the programs the tests start (psql, the CLI,
// the daemon): under a sanitizer build of the library (make SAN=asan
// check) this test binary runs with the sanitizer's runtime preloaded
// (tests/lib/scenario.sh, san_exec); the programs it starts must not
// inherit that (psql hangs with it), and get the scenario's ASAN_OPTIONS
// back (PC_TEST_ASAN_OPTIONS).
func command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LD_PRELOAD=") && !strings.HasPrefix(kv, "ASAN_OPTIONS=") {
			env = append(env, kv)
		}
	}
	if o, ok := os.LookupEnv("PC_TEST_ASAN_OPTIONS"); ok {
		env = append(env, "ASAN_OPTIONS="+o)
	} else if o, ok := os.LookupEnv("ASAN_OPTIONS"); ok {
		env = append(env, "ASAN_OPTIONS="+o)
	}
	cmd.Env = env
	return cmd
}

// sql runs statements through psql against the scenario's database.
func sql(t testing.TB, stmt string) string {
	t.Helper()
	out, err := command("psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", os.Getenv("PC_TEST_DSN"), "-c", stmt).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v: %s", stmt, err, out)
	}
	return strings.TrimSpace(string(out))
}

func bin(name string) string { return filepath.Join(os.Getenv("PC_TEST_BIN"), name) }

// waitFor polls cond every 20 ms until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// daemonPID is the running daemon: the scenario's, or the one a restart
// started.
func daemonPID(t testing.TB) int {
	s := os.Getenv("PC_TEST_DAEMON_PID")
	if b, err := os.ReadFile(filepath.Join(os.Getenv("PC_TEST_WORK"), "go-daemon.pid")); err == nil {
		s = strings.TrimSpace(string(b))
	}
	pid, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("daemon pid %q: %v", s, err)
	}
	return pid
}

// gone reports whether pid has exited (a zombie counts: its parent, the
// scenario's shell, reaps it later).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// restartDaemon stops the daemon gracefully and starts a new one, records
// its pid for the harness, and waits until it is running and ready.
func restartDaemon(t testing.TB) {
	t.Helper()
	old := daemonPID(t)
	if err := syscall.Kill(old, syscall.SIGTERM); err != nil {
		t.Fatalf("kill %d: %v", old, err)
	}
	waitFor(t, "the daemon to exit", 30*time.Second, func() bool { return gone(old) })
	work := os.Getenv("PC_TEST_WORK")
	log, err := os.OpenFile(filepath.Join(work, "daemon.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := command(bin("pricecached"), "-c", os.Getenv("PC_TEST_CONF"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	go cmd.Wait() // reap it if it dies while we run
	pids, err := os.OpenFile(filepath.Join(work, "pids"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(pids, pid)
	pids.Close()
	if err := os.WriteFile(filepath.Join(work, "go-daemon.pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(" pid=%d ", pid)
	waitFor(t, "the new daemon to be ready", 30*time.Second, func() bool {
		out, err := command(bin("pricecache"), "-d", os.Getenv("PRICECACHE_PATH"), "status", "-t", "1000").Output()
		return err == nil && strings.Contains(string(out), want) && strings.Contains(string(out), " ready=1 ")
	})
}

// readerSlots lists the LMDB reader slots this process holds, from
// `mdb_stat -r` (another process reading the lock file): one entry per
// slot, "THREAD TXNID", TXNID "-" for an idle slot (no read transaction
// open). A thread holds one slot per Reader it used.
func readerSlots(t testing.TB) []string {
	t.Helper()
	// mdb_stat exits 1 after the table when it cannot go on to the
	// statistics (the environment is another process's): the table is what
	// counts.
	out, err := command("mdb_stat", "-r", os.Getenv("PRICECACHE_PATH")).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "Reader Table Status") {
		t.Fatalf("mdb_stat -r: %v: %s", err, out)
	}
	me := strconv.Itoa(os.Getpid())
	var slots []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == me {
			slots = append(slots, f[1]+" "+f[2])
		}
	}
	return slots
}

// osThreads is the number of OS threads of this process.
func osThreads(t testing.TB) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Threads:") {
			n, _ := strconv.Atoi(strings.TrimSpace(l[len("Threads:"):]))
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

func ctxTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func sqlErr(stmt string) ([]byte, error) {
	return command("psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", os.Getenv("PC_TEST_DSN"), "-c", stmt).CombinedOutput()
}
