# scenario.sh - helpers for integration scenarios (sourced by tests/integration/run.sh).
# Each scenario runs with: B (build dir), W (its work dir), DB (its database),
# DSN, CACHE (cache dir), CONF (config file).

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# skip REASON: this scenario cannot run here (not root, a tool missing); it
# ends now and is reported as skipped with REASON, never as passed.
skip() {
    echo "$*" >"$W/skipped"
    echo "SKIP: $*"
    exit 0
}

# skip_part REASON: a part of the scenario cannot run here; the rest goes on
# and the part is reported as skipped.
skip_part() {
    echo "$*" >>"$W/skipped_parts"
    echo "SKIP (part): $*"
}

assert_eq() { # expected actual [what]
    [ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

assert_ne() {
    [ "$1" != "$2" ] || fail "${3:-value}: did not expect '$1'"
}

assert_ge() {
    [ "$2" -ge "$1" ] || fail "${3:-value}: expected >= $1, got $2"
}

assert_le() {
    [ "$2" -le "$1" ] || fail "${3:-value}: expected <= $1, got $2"
}

assert_exit() { # code cmd...
    local want=$1 got=0
    shift
    "$@" >"$W/last.out" 2>"$W/last.err" || got=$?
    [ "$got" = "$want" ] || fail "'$*' exited $got, expected $want; stderr: $(head -c 400 "$W/last.err")"
}

assert_contains() { # file text
    grep -qF -- "$2" "$1" || fail "$1 does not contain '$2': $(head -c 600 "$1")"
}

assert_not_contains() {
    if grep -qF -- "$2" "$1"; then fail "$1 contains '$2'"; fi
}

# wait_until 'shell condition' [seconds]: poll, never a fixed sleep.
wait_until() {
    local cond=$1 secs=${2:-10} i=0
    local n=$((secs * 20))
    while ! eval "$cond" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -ge $n ] && fail "timed out after ${secs}s waiting for: $cond"
        sleep 0.05
    done
}

sql() { psql_q "$DB" "$@"; }

pc() { "$B/pricecache" -d "$CACHE" "$@"; }

# Field of `pricecache info CHAIN`.
info() { pc info "$1" 2>/dev/null | sed -n "s/^$2: //p"; }

write_conf() { # extra lines appended (e.g. "[load]" "refresh_s = 1")
    {
        echo "[database]"
        echo "dsn = $DSN"
        echo "connect_timeout_s = 2"
        echo "[cache]"
        echo "path = $CACHE"
        echo "map_size_mb = 64"
        local l
        for l in "$@"; do echo "$l"; done
    } >"$CONF"
}

migrate() {
    "$B/pricecached" -c "$CONF" --migrate 2>>"$W/migrate.log" || fail "migrate failed: $(tail -3 "$W/migrate.log")"
}

DAEMON_PID=""
start_daemon() { # waits until ready
    local n0
    n0=$(cat "$W/daemon.log" 2>/dev/null | grep -c '"msg":"daemon: starting -> ' || true)
    "$B/pricecached" -c "$CONF" 2>>"$W/daemon.log" &
    DAEMON_PID=$!
    echo "$DAEMON_PID" >>"$W/pids"
    "$B/pricecache" -d "$CACHE" wait -t 20000 >/dev/null 2>&1 || fail "daemon not ready in 20 s"
    # With snapshots on disk, wait answers at once (that is the contract),
    # maybe before this daemon even reached main: a signal sent next would
    # kill it. Wait for this run to leave "starting" too.
    wait_until "[ \"\$(grep -c '\"msg\":\"daemon: starting -> ' \"\$W/daemon.log\")\" -gt $n0 ]" 20
}

start_daemon_nowait() {
    "$B/pricecached" -c "$CONF" 2>>"$W/daemon.log" &
    DAEMON_PID=$!
    echo "$DAEMON_PID" >>"$W/pids"
}

stop_daemon() { # graceful; checks exit 0
    [ -n "$DAEMON_PID" ] || return 0
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    local rc=0
    wait "$DAEMON_PID" || rc=$?
    DAEMON_PID=""
    [ "$rc" = 0 ] || fail "daemon exited $rc on SIGTERM"
}

kill9_daemon() {
    [ -n "$DAEMON_PID" ] || return 0
    kill -9 "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=""
}

once() { "$B/pricecached" -c "$CONF" --once 2>>"$W/daemon.log"; }

# Standard sample: chain acme with 100 items priced 100+k, store s1
# exceptions on every 10th item (price 1), chain beta with 10 items.
seed_basic() {
    sql "INSERT INTO chains(slug) VALUES ('acme'), ('beta');
         INSERT INTO chain_prices(chain_slug, item_id, price_cents, updated_at)
           SELECT 'acme', 'item' || g, 100 + g, to_timestamp(1700000000 + g) FROM generate_series(0, 99) g;
         INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents, updated_at)
           SELECT 'acme', 's1', 'item' || g, 1, to_timestamp(1700000000) FROM generate_series(0, 99, 10) g;
         INSERT INTO chain_prices(chain_slug, item_id, price_cents)
           SELECT 'beta', 'b' || g, 50 FROM generate_series(1, 10) g;"
}

# stage_lib DIR: the installed layout of libpricecache (DIR/usr/include,
# DIR/usr/lib with the shared library, DIR/usr/lib/pkgconfig/pricecache.pc)
# copied from the build, as a package lays it out.  The bindings build and
# run against it: PKG_CONFIG_PATH="DIR/usr/lib/pkgconfig"
# PKG_CONFIG_SYSROOT_DIR="DIR" and LD_LIBRARY_PATH="DIR/usr/lib".  DIR must
# be under /tmp (the harness's $W is): cgo, pkg-config and node-gyp do not
# survive a space in a path, and the clone's path may hold one.
stage_lib() {
    local d=$1
    mkdir -p "$d/usr/include" "$d/usr/lib/pkgconfig"
    cp "$ROOT/include/pricecache.h" "$d/usr/include/"
    cp "$B/libpricecache.so.1" "$B/libpricecache.a" "$d/usr/lib/"
    ln -sf libpricecache.so.1 "$d/usr/lib/libpricecache.so"
    sed -e 's|@PREFIX@|/usr|g' -e 's|@LIBDIR@|/usr/lib|g' -e 's|@INCDIR@|/usr/include|g' \
        -e "s|@VERSION@|$(cat "$ROOT/VERSION")|g" "$ROOT/packaging/common/pricecache.pc.in" \
        >"$d/usr/lib/pkgconfig/pricecache.pc"
}

# san_exec DIR: under a sanitizer build of the library (make SAN=asan
# check), a program that is not itself instrumented (Go, Python, Node.js
# and what they build) must load the sanitizer's runtime first; their own
# leaks are not ours to check.  Writes DIR/san-exec, a wrapper that runs
# its arguments so (keeping the scenario's ASAN_OPTIONS in
# PC_TEST_ASAN_OPTIONS for the programs the tests start, which must not
# inherit the preload: psql hangs with it), and prints its path; prints
# nothing for a plain build.  DIR must be free of spaces (`go test -exec`
# splits its argument).
san_exec() {
    local rt
    rt=$(ldd "$B/libpricecache.so.1" 2>/dev/null | awk '/libasan/ {print $3}')
    [ -n "$rt" ] || return 0
    cat >"$1/san-exec" <<EOS
#!/bin/sh
export PC_TEST_ASAN_OPTIONS="\${ASAN_OPTIONS-}"
export LD_PRELOAD="$rt\${LD_PRELOAD:+ \$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0\${ASAN_OPTIONS:+:\$ASAN_OPTIONS}"
exec "\$@"
EOS
    chmod +x "$1/san-exec"
    echo "$1/san-exec"
}

# lmdb_hold MODE NAME FD: run itest/lmdbhold MODE on the cache (read: hold a
# read transaction; write: hold LMDB's writer lock) until this shell closes
# its descriptor FD (`exec FD>&-`), and wait until it holds.  HOLD_PID is
# its pid; its output is $W/NAME.out and .err.
lmdb_hold() {
    local mode=$1 name=$2 fd=$3 want='^txn '
    [ "$mode" = write ] && want='^writer'
    mkfifo "$W/$name.in"
    "$B/itest/lmdbhold" "$mode" "$CACHE" <"$W/$name.in" >"$W/$name.out" 2>"$W/$name.err" 7>&- 8>&- &
    HOLD_PID=$!
    echo "$HOLD_PID" >>"$W/pids"
    eval "exec $fd>\"\$W/$name.in\""
    wait_until "grep -q '$want' \"\$W/$name.out\"" 10
}
