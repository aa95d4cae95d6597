# dbfault.sh - the database rows of the fault matrix (issue 13), sourced by
# the scenarios t_fault_db_*.sh: a daemon watched from every side an
# operator looks at (/metrics, /readyz, control status, the daemon record
# through the admin API, the console's batch frame, the bus), readers that
# check whole versions all along, a change the daemon cannot hear, and the
# time from a fault to what each side says.  Everything polls with a
# deadline; the times printed are the lead's figures for README.

DBF_N=200           # items of chain "gen", all at the same price (the generation)
DBF_LIMIT_MS=5000   # the promise: down within 5 s, back within 5 s

now_ms() { date +%s%3N; }

dbf_metric() { curl -s "http://127.0.0.1:$DBF_PORT/metrics" | sed -n "s/^$1 //p"; }
dbf_readyz() { curl -s -o "$W/readyz.body" -w '%{http_code}' "http://127.0.0.1:$DBF_PORT/readyz"; }
dbf_probe() { "$B/itest/admin_probe" "$CACHE" daemon 2>/dev/null | sed -n "s/^$1=//p"; }
dbf_status() { pc status 2>/dev/null | head -1; }
dbf_top() { "$B/pricecache-top" -D "$CACHE" -b -n 1 2>/dev/null | sed -n "s/^$1: //p"; }
# The generation every reader gets now (one whole version), empty if none.
dbf_gen() { "$B/itest/consistency" "$CACHE" gen "$DBF_N" check 2>/dev/null | sed -n 's/^generation=\([0-9-]*\) .*/\1/p'; }
# Events of kind database with value 2 (down) or 1 (up) seen so far.
dbf_events() { grep -cE "^[^ ]+ database +\\* +seq=[0-9]+ version=0 value=$1 " "$W/events.out" || true; }

# Seed, configure and start the daemon (no periodic refresh: only a resync
# can bring a change made without NOTIFY), a bus subscriber and a reader.
dbf_start() {
    seed_basic
    sql "INSERT INTO chains VALUES ('gen');
         INSERT INTO chain_prices(chain_slug, item_id, price_cents)
           SELECT 'gen', 'g' || g, 1 FROM generate_series(0, $DBF_N - 1) g"
    DBF_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >>"$CONF" <<C
[bus]
events = ipc://$W/run/events.ipc
control = ipc://$W/run/control.ipc
[http]
listen = 127.0.0.1:$DBF_PORT
[load]
refresh_s = 0
C
    start_daemon
    wait_until '[ "$(dbf_metric pricecache_database_up)" = 1 ]' 10
    assert_eq up "$(dbf_probe db)" "database state recorded by the daemon"
    assert_eq 0 "$(dbf_probe db_derived)" "recorded, not derived"
    "$B/pricecache" events -a "ipc://$W/run/events.ipc" --heartbeats >"$W/events.out" 2>"$W/events.err" &
    echo $! >>"$W/pids"
    wait_until 'grep -q " heartbeat " "$W/events.out"' 10
    rm -f "$W/stop" "$W/stop.started"
    "$B/itest/dbreader" "$CACHE" gen "$DBF_N" "$W/stop" >"$W/readers.out" 2>"$W/readers.err" &
    DBF_READER=$!
    echo "$DBF_READER" >>"$W/pids"
    wait_until '[ -e "$W/stop.started" ]' 10
    DBF_V_ACME=$(info acme version)
    DBF_V_BETA=$(info beta version)
}

# A change of every item of "gen" to generation $1 that sends no NOTIFY:
# what a change made while the daemon was not listening amounts to.
dbf_silent_change() {
    sql "BEGIN; ALTER TABLE chain_prices DISABLE TRIGGER USER;
         UPDATE chain_prices SET price_cents = $1 WHERE chain_slug = 'gen';
         ALTER TABLE chain_prices ENABLE TRIGGER USER; COMMIT"
}

# dbf_watch_down T0 WHAT: poll every side until each says the database is
# down; print the time each took from T0 (unix ms; taken when the check
# that saw it returned, so an upper bound by one poll), and the daemon's
# own detection time (db_since_ms of its record), which must be within 5 s.
dbf_watch_down() {
    local t0=$1 what=$2 t m="" s="" r="" p="" c="" e="" deadline
    deadline=$(($(now_ms) + 20000))
    while :; do
        t=$(now_ms)
        [ -n "$m" ] || { [ "$(dbf_metric pricecache_database_up)" = 0 ] && m=$(($(now_ms) - t0)); }
        [ -n "$s" ] || { dbf_status | grep -q ' db=down db_since=[1-9][0-9]* db_error="[^"]' && s=$(($(now_ms) - t0)); }
        [ -n "$r" ] || { [ "$(dbf_readyz)" = 503 ] && grep -q '^{"status":"degraded","reason":"database unreachable","serving":"stale snapshots","since":[1-9]' "$W/readyz.body" && r=$(($(now_ms) - t0)); }
        [ -n "$p" ] || { [ "$(dbf_probe db)" = down ] && p=$(($(now_ms) - t0)); }
        [ -n "$c" ] || { [ "$(dbf_top db)" = failing ] && c=$(($(now_ms) - t0)); }
        [ -n "$e" ] || { [ "$(dbf_events 2)" -ge 1 ] && e=$(($(now_ms) - t0)); }
        [ -n "$m" ] && [ -n "$s" ] && [ -n "$r" ] && [ -n "$p" ] && [ -n "$c" ] && [ -n "$e" ] && break
        [ "$t" -lt "$deadline" ] || fail "$what: not every side says the database is down after 20 s (metric '$m' status '$s' readyz '$r' record '$p' console '$c' event '$e'): $(dbf_status)"
        sleep 0.05
    done
    local since
    since=$(dbf_probe db_since_ms)
    DBF_DETECT_MS=$((since - t0))
    echo "$what: detected by the daemon after $DBF_DETECT_MS ms; seen in /metrics after $m ms, status $s ms, /readyz $r ms, pc_daemon_read $p ms, console $c ms, bus event $e ms"
    assert_le "$DBF_LIMIT_MS" "$DBF_DETECT_MS" "$what: ms from the fault to the daemon's detection"
    assert_ge 0 "$DBF_DETECT_MS" "$what: detection before the fault"
    # What the daemon says about it.
    dbf_status >"$W/status.down"
    assert_contains "$W/status.down" "daemon state=degraded"
    [ "$(dbf_metric pricecache_database_down_since_seconds)" = $((since / 1000)) ] \
        || fail "down_since_seconds $(dbf_metric pricecache_database_down_since_seconds), record $since"
    [ -n "$(dbf_probe db_error)" ] || fail "no db_error in the daemon record"
    # Readers meanwhile: the last snapshots, at full speed.
    assert_eq 103 "$(pc get acme '' item3 | cut -f1)" "acme served while the database is $what"
}

# dbf_watch_up T1 WHAT GEN: poll every side until each says the database
# is back, and until the silent change (generation GEN) shows; print the
# times from T1; the daemon's own (db_since_ms) must be within 5 s.
dbf_watch_up() {
    local t1=$1 what=$2 gen=$3 t m="" s="" r="" p="" c="" e="" g="" deadline
    deadline=$(($(now_ms) + 30000))
    while :; do
        t=$(now_ms)
        [ -n "$m" ] || { [ "$(dbf_metric pricecache_database_up)" = 1 ] && [ "$(dbf_metric pricecache_database_down_since_seconds)" = 0 ] && m=$(($(now_ms) - t1)); }
        [ -n "$s" ] || { dbf_status | grep -q ' db=ok db_since=[1-9][0-9]* db_error="" ' && s=$(($(now_ms) - t1)); }
        [ -n "$r" ] || { [ "$(dbf_readyz)" = 200 ] && r=$(($(now_ms) - t1)); }
        [ -n "$p" ] || { [ "$(dbf_probe db)" = up ] && p=$(($(now_ms) - t1)); }
        [ -n "$c" ] || { [ "$(dbf_top db)" = ok ] && c=$(($(now_ms) - t1)); }
        [ -n "$e" ] || { [ "$(dbf_events 1)" -ge 1 ] && e=$(($(now_ms) - t1)); }
        [ -n "$g" ] || { [ "$(dbf_gen)" = "$gen" ] && g=$(($(now_ms) - t1)); }
        [ -n "$m" ] && [ -n "$s" ] && [ -n "$r" ] && [ -n "$p" ] && [ -n "$c" ] && [ -n "$e" ] && [ -n "$g" ] && break
        [ "$t" -lt "$deadline" ] || fail "$what: not back everywhere after 30 s (metric '$m' status '$s' readyz '$r' record '$p' console '$c' event '$e' change '$g'): $(dbf_status)"
        sleep 0.05
    done
    local since
    since=$(dbf_probe db_since_ms)
    DBF_BACK_MS=$((since - t1))
    echo "$what: back for the daemon after $DBF_BACK_MS ms; in /metrics after $m ms, status $s ms, /readyz $r ms, pc_daemon_read $p ms, console $c ms, bus event $e ms; the change made unheard shows after $g ms (resync)"
    assert_le "$DBF_LIMIT_MS" "$DBF_BACK_MS" "$what: ms from the database's return to the daemon's"
    assert_le "$DBF_LIMIT_MS" "$g" "$what: ms from the database's return to the resync's change"
    grep -q 'resynchronising every chain' "$W/daemon.log" || fail "no resync logged"
}

# Stop the reader: whole versions only, nothing published lost, and what
# was cached before the fault is still there.
dbf_finish() {
    local gen=$1
    touch "$W/stop"
    local rc=0
    wait "$DBF_READER" || rc=$?
    echo "readers: $(cat "$W/readers.out")"
    [ "$rc" = 0 ] || fail "reader saw a bad answer: $(cat "$W/readers.out") $(head -5 "$W/readers.err")"
    grep -q " generation=$gen " "$W/readers.out" || fail "reader did not end on generation $gen: $(cat "$W/readers.out")"
    assert_ge "$DBF_V_ACME" "$(info acme version)" "acme version"
    assert_ge "$DBF_V_BETA" "$(info beta version)" "beta version"
    assert_eq 1 "$(pc get acme s1 item10 | cut -f1)" "acme's store price"
    assert_eq 50 "$(pc get beta '' b3 | cut -f1)" "beta's price"
    [ ! -s "$W/events.err" ] || fail "subscriber: $(cat "$W/events.err")"
}
