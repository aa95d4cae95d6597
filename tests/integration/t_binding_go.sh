# The Go binding (bindings/go) against the real daemon: go vet, then its
# own go test suite (lookups, odd ids, get_many under republishing, baskets
# against the C library's answers, events and a resync after a restart,
# errors, 1,000 goroutines and the reader slots), then pcanswer.
command -v go >/dev/null || fail "go not found: install golang-go (scripts/deps.sh)"
# Odd ids (UTF-8, a tab, 200 bytes), and a chain for get_many whose items
# all share one price per version.
sql "INSERT INTO chains(slug) VALUES ('odd'), ('gm'), ('nomean');
     INSERT INTO chain_prices(chain_slug, item_id, price_cents, updated_at) VALUES
       ('odd', 'caf' || chr(233) || '-' || chr(8364) || '-' || chr(128578), 700, to_timestamp(1700000100)),
       ('odd', 'a' || chr(9) || 'b', 701, to_timestamp(1700000101)),
       ('odd', repeat('x', 200), 702, to_timestamp(1700000102));
     INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents, updated_at) VALUES
       ('odd', 'st' || chr(9) || chr(246) || repeat('s', 195), repeat('x', 200), 703, to_timestamp(1700000103)),
       ('nomean', 's1', 'only', 42, to_timestamp(1700000104));
     INSERT INTO chain_prices(chain_slug, item_id, price_cents, updated_at)
       SELECT 'gm', 'g' || g, 1000, to_timestamp(1700000000) FROM generate_series(1, 300) g;"
seed_basic
EV="ipc://$W/events.ipc"
printf '[bus]\nevents = %s\ncontrol = ipc://%s/control.ipc\n[http]\nlisten =\n' "$EV" "$W" >>"$CONF"
start_daemon

# The installed layout of the library, and the module copied under $W
# (cgo and pkg-config do not survive a space in the clone's path).
stage_lib "$W/stage"
cp -R "$ROOT/bindings/go" "$W/gomod"
export PKG_CONFIG_PATH="$W/stage/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$W/stage" \
    LD_LIBRARY_PATH="$W/stage/usr/lib" GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on \
    GOCACHE="$W/gocache" GOPATH="$W/gopath" CGO_ENABLED=1
SANX=$(san_exec "$W")  # empty unless the library is a sanitizer build
cd "$W/gomod"
[ -z "$(gofmt -l .)" ] || fail "gofmt: $(gofmt -l .)"
go vet ./... || fail "go vet"
PRICECACHE_PATH="$CACHE" PC_TEST_BIN="$B" PC_TEST_CONF="$CONF" PC_TEST_DSN="$DSN" \
    PC_TEST_EVENTS="$EV" PC_TEST_DAEMON_PID="$DAEMON_PID" PC_TEST_WORK="$W" \
    PC_TEST_GOROUTINE_SECONDS="${PC_TEST_GOROUTINE_SECONDS:-10}" \
    go test ${SANX:+-exec "$SANX"} -count=1 -v -timeout 600s ${PC_TEST_RUN:+-run "$PC_TEST_RUN"} ./... 2>&1 | tee "$W/gotest.log" | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|slots|goroutine' || true
grep -q '^ok ' "$W/gotest.log" && ! grep -q -- '^--- FAIL\|^FAIL' "$W/gotest.log" \
    || fail "go test: $(grep -B5 -A20 -- '--- FAIL\|^FAIL\|panic' "$W/gotest.log" | head -80)"
# The resync after a daemon restart, in a process of its own (it restarts
# the daemon; see the test's comment).
PRICECACHE_PATH="$CACHE" PC_TEST_BIN="$B" PC_TEST_CONF="$CONF" PC_TEST_DSN="$DSN" \
    PC_TEST_EVENTS="$EV" PC_TEST_DAEMON_PID="$DAEMON_PID" PC_TEST_WORK="$W" PC_TEST_RESTART=1 \
    go test ${SANX:+-exec "$SANX"} -count=1 -v -run '^TestResyncAfterDaemonRestart$' . >"$W/gorestart.log" 2>&1 \
    || fail "go test (restart): $(tail -30 "$W/gorestart.log")"
grep -q -- '--- PASS: TestResyncAfterDaemonRestart' "$W/gorestart.log" || fail "restart test did not run: $(tail "$W/gorestart.log")"

# pcanswer: the cross-language answer tool.
go build -o "$W/pcanswer" ./cmd/pcanswer
printf 'acme\ts1\titem10\nacme\t\titem10\nacme\ts1\tnope\nnosuch\ts1\titem1\nBad\ts1\titem1\n' \
    | PRICECACHE_PATH="$CACHE" $SANX "$W/pcanswer" >"$W/answers.out"
assert_eq "$(printf 'ok\t1\t1700000000\t1\nok\t110\t1700000010\t0\nnotfound\nnochain\nerror\tPC_EINVAL')" \
    "$(cat "$W/answers.out")" "pcanswer"
cd /

# The test restarted the daemon (resync case): stop the one it left.
if [ -s "$W/go-daemon.pid" ]; then
    wait "$DAEMON_PID" 2>/dev/null || true
    p=$(cat "$W/go-daemon.pid")
    kill -TERM "$p" 2>/dev/null || true
    # Not our child (the test started it), so no wait: its log says it
    # stopped cleanly (the first daemon's stop is the first such line).
    wait_until "[ \"\$(grep -c '\"msg\":\"stopped: ' \"\$W/daemon.log\")\" -ge 2 ]" 20
    DAEMON_PID=""
else
    stop_daemon
fi
