# Fault matrix: PostgreSQL frozen with SIGSTOP (every process of the
# cluster): no RST, no FIN, TCP keeps acknowledging; only the daemon's
# round trip with its deadline can tell.  Within 5 s every side says the
# database is down; after SIGCONT the daemon is back within 5 s and
# resynchronises.
. "$ROOT/tests/lib/dbfault.sh"
pg_pids() {
    local pm
    pm=$(head -1 "$PG_DIR/data/postmaster.pid")
    echo "$pm"
    ps -o pid= --ppid "$pm"
}
FROZEN=""
thaw() {
    local p
    # Children first: a postmaster woken first would find them stopped.
    for p in $FROZEN; do [ "$p" = "${FROZEN%% *}" ] || kill -CONT "$p" 2>/dev/null || true; done
    [ -z "$FROZEN" ] || kill -CONT "${FROZEN%% *}" 2>/dev/null || true
    FROZEN=""
}
# Never leave the cluster frozen: the next scenarios share it.
trap 'rc=$?; thaw; for p in $(cat "$W/pids" 2>/dev/null); do kill -9 $p 2>/dev/null || true; done; exit $rc' EXIT
dbf_start
dbf_silent_change 3
assert_eq 1 "$(dbf_gen)" "the daemon did not hear the change"
FROZEN=$(pg_pids | tr '\n' ' ')
t0=$(now_ms)
for p in $FROZEN; do kill -STOP "$p"; done
dbf_watch_down "$t0" frozen
grep -q 'no answer to a round trip' "$W/daemon.log" || fail "the frozen server was not found by the round trip: $(grep listen "$W/daemon.log" | tail -3)"
# Stay frozen until a reconnect has given up too (connect_timeout_s = 2):
# the daemon keeps trying, and readers keep reading, however long it lasts.
wait_until 'grep -q "listen connection: cannot connect" "$W/daemon.log"' 15
assert_eq down "$(dbf_probe db)" "still down while frozen"
thaw
t1=$(now_ms)
dbf_watch_up "$t1" frozen 3
dbf_finish 3
stop_daemon
