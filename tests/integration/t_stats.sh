# Lookup statistics: the daemon creates stats/ (01770); every CLI lookup is
# counted as a hit, a miss or an error, except in a process started with
# PRICECACHE_STATS=0; `pricecache stats` and /metrics (promtool clean) show
# the sums; a reader killed with -9 stops counting as a process but its
# counts stay; the sums survive a daemon restart.
seed_basic
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[http]\nlisten = 127.0.0.1:%s\n' "$PORT" >>"$CONF"
stat_of() { pc stats | sed -n "s/^$1: //p"; }
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | sed -n "s/^pricecache_lookups_total{result=\"$1\"} //p"; }
assert_exit 4 pc stats
start_daemon
[ "$(stat -c %a "$CACHE/stats")" = 1770 ] || fail "stats directory mode $(stat -c %a "$CACHE/stats")"
assert_eq 0 "$(stat_of lookups)" "lookups before any"
assert_eq 16384 "$(stat_of slots)" "slots (process files read)"
for i in 1 2 3; do pc get acme "" item1 >/dev/null; done
pc get acme s1 item10 >/dev/null
assert_exit 1 pc get acme "" nope
assert_exit 3 pc get nochain "" item1
PRICECACHE_STATS=0 pc get acme "" item2 >/dev/null
PRICECACHE_STATS=0 pc get acme "" nope2 >/dev/null || true
printf 'item1\nitem2\nnope\n' | pc many acme "" >/dev/null || true
assert_eq 6 "$(stat_of hits)" "hits"
assert_eq 2 "$(stat_of misses)" "misses"
assert_eq 1 "$(stat_of errors)" "errors"
assert_eq 0 "$(stat_of processes)" "processes after the CLI exited"
assert_eq 6 "$(metric hit)" "lookups_total hit"
assert_eq 2 "$(metric miss)" "lookups_total miss"
assert_eq 1 "$(metric error)" "lookups_total error"
curl -s "http://127.0.0.1:$PORT/metrics" >"$W/metrics"
grep -q '^pricecache_lookup_duration_seconds_bucket{le="+Inf"} ' "$W/metrics" || fail "no lookup histogram"
if command -v promtool >/dev/null; then
    promtool check metrics <"$W/metrics" >"$W/promtool.out" 2>&1 || fail "promtool: $(cat "$W/promtool.out")"
fi
# A reader that holds its slot (slowsub waits for events that never come).
"$B/itest/slowsub" "$CACHE" "ipc://$W/none.ipc" 0 0 1 >/dev/null 2>&1 &
R=$!
echo "$R" >>"$W/pids"
wait_until '[ "$(stat_of processes)" = 1 ]' 10
kill -9 "$R"
wait "$R" 2>/dev/null || true
assert_eq 0 "$(stat_of processes)" "processes after kill -9"
assert_eq 6 "$(stat_of hits)" "hits after kill -9"
stop_daemon
start_daemon
assert_eq 6 "$(stat_of hits)" "hits after a daemon restart"
pc get acme "" item1 >/dev/null
assert_eq 7 "$(stat_of hits)" "hits counted after the restart"
stop_daemon
