# Fault matrix: the LISTEN backend killed with pg_terminate_backend.  The
# database is fine, so the daemon does not call it down: it reconnects at
# once, resynchronises every chain (the NOTIFYs of the gap are lost), and
# the change it could not hear shows; database_up stays 1 throughout.
. "$ROOT/tests/lib/dbfault.sh"
dbf_start
dbf_silent_change 5
assert_eq 1 "$(dbf_gen)" "the daemon did not hear the change"
resync0=$(dbf_metric 'pricecache_invalidations_total{reason="resync"}')
since0=$(dbf_probe db_since_ms)
listener="SELECT pid FROM pg_stat_activity WHERE application_name = 'pricecached' AND query LIKE 'LISTEN%'"
wait_until '[ -n "$(sql "$listener")" ]' 5
t0=$(now_ms)
sql "SELECT pg_terminate_backend(pid) FROM ($listener) l" >/dev/null
r="" g="" deadline=$(($(now_ms) + 20000))
while :; do
    t=$(now_ms)
    [ "$(dbf_metric pricecache_database_up)" = 1 ] || fail "database_up went to 0 for a killed LISTEN backend"
    [ -n "$r" ] || { [ "$(dbf_metric 'pricecache_invalidations_total{reason="resync"}')" -gt "$resync0" ] && r=$(($(now_ms) - t0)); }
    [ -n "$g" ] || { [ "$(dbf_gen)" = 5 ] && g=$(($(now_ms) - t0)); }
    [ -n "$r" ] && [ -n "$g" ] && break
    [ "$t" -lt "$deadline" ] || fail "no resync after 20 s (resync '$r' change '$g')"
    sleep 0.05
done
echo "listen killed: reconnected and resynchronising after $r ms (invalidations_total{reason=\"resync\"}); the change made unheard shows after $g ms; database_up stayed 1"
assert_le "$DBF_LIMIT_MS" "$r" "ms from the kill to the resync"
assert_le "$DBF_LIMIT_MS" "$g" "ms from the kill to the change"
grep -q 'listen connection: lost' "$W/daemon.log" || fail "loss not logged"
grep -q 'again; resynchronising every chain' "$W/daemon.log" || fail "no resync logged"
assert_eq up "$(dbf_probe db)" "database state"
assert_eq "$since0" "$(dbf_probe db_since_ms)" "database state unchanged since before the kill"
assert_eq 0 "$(dbf_events 2)" "down events"
dbf_status | grep -q ' db=ok ' || fail "status: $(dbf_status)"
dbf_finish 5
stop_daemon
