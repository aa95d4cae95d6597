# The Python binding (bindings/python): built from a copy under $W against
# the staged library with Debian's /usr/bin/python3 (the python3 first on
# PATH may be another interpreter that sees no Debian packages), installed
# offline into a target directory, and its pytest suite run against the
# real daemon: lookups, odd ids, get_many during republishes, baskets
# against the CLI, events and a resync after a daemon restart, errors,
# fork, threads, closed readers.
PY=/usr/bin/python3
[ -x "$PY" ] || fail "no $PY: scripts/deps.sh installs python3"
"$PY" -c 'import pytest, setuptools, pip' 2>"$W/py.err" ||
    fail "python3-pytest, python3-setuptools or python3-pip missing (scripts/deps.sh): $(cat "$W/py.err")"
[ -f /usr/include/python3.11/Python.h ] || "$PY" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))' ||
    fail "Python.h missing: python3-dev (scripts/deps.sh)"

stage_lib "$W/stage"
cp -R "$ROOT/bindings/python" "$W/src"
rm -rf "$W/src/build" "$W/src/src/pricecache.egg-info"
(cd "$W/src" && PC_WERROR=1 PKG_CONFIG_PATH="$W/stage/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$W/stage" \
    "$PY" -m pip install --no-build-isolation --no-index --no-cache-dir --target "$W/site" . \
    >"$W/pip.log" 2>&1) || fail "pip install failed: $(tail -20 "$W/pip.log")"

seed_basic
# Odd ids: UTF-8, a tab, exactly PC_ID_MAX (200) bytes.
LONG=$(printf 'L%.0s' $(seq 200))
sql "INSERT INTO chain_prices(chain_slug, item_id, price_cents) VALUES
       ('acme', 'café-ü-€-日本', 7), ('acme', E'a\\tb', 8), ('acme', '$LONG', 9);
     INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents) VALUES ('acme', 's1', '$LONG', 9);"
EV="ipc://$W/events.ipc"
printf '[bus]\nevents = %s\n' "$EV" >>"$CONF"
start_daemon
echo "$DAEMON_PID" >"$W/daemon.pid"

SANX=$(san_exec "$W")  # empty unless the library is a sanitizer build
rc=0
(cd "$W" && PYTHONPATH="$W/site:$W/src/tests" LD_LIBRARY_PATH="$W/stage/usr/lib" \
    PRICECACHE_PATH="$CACHE" PC_TEST_DSN="$DSN" PC_TEST_BIN="$B" PC_TEST_CONF="$CONF" PC_TEST_W="$W" \
    PYTHONDONTWRITEBYTECODE=1 $SANX "$PY" -m pytest -v -p no:cacheprovider "$W/src/tests") || rc=$?
# 0: all passed; 1: some failed; 5: none collected; others: pytest broke.
[ "$rc" = 0 ] || fail "pytest exited $rc"

# The resync test restarted the daemon: that one is not our child, so it
# is stopped by pid and its exit seen in its log.
pid=$(cat "$W/daemon.pid")
if [ "$pid" = "$DAEMON_PID" ]; then
    stop_daemon
else
    kill -TERM "$pid"
    wait_until '! kill -0 "$pid" 2>/dev/null || grep -q "^State:.*zombie" "/proc/$pid/status"' 20
    [ "$(grep -c 'cache closed cleanly (exit 0)' "$W/daemon.log")" -ge 2 ] || fail "restarted daemon did not stop cleanly"
    kill_daemon_pid=$DAEMON_PID
    wait "$kill_daemon_pid" 2>/dev/null || true
    DAEMON_PID=""
fi
