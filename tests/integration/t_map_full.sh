# Fault: the map fills (a small [cache] map_max_mb and a stale reader
# pinning the old pages).  Publishes fail for want of space: the daemon
# keeps serving the last snapshot, opens no breaker (the data is healthy),
# says "map full" in /metrics, /readyz and control status, and recovers
# by itself once the reader is gone: the pending publish is retried and
# the newest generation arrives.  Readers see only whole versions
# throughout; nothing published is lost.
sql "INSERT INTO chains VALUES ('gen');
     INSERT INTO chain_prices(chain_slug,item_id,price_cents) SELECT 'gen','g'||g,1 FROM generate_series(0,3999) g;
     INSERT INTO store_prices(chain_slug,store_id,item_id,price_cents) SELECT 'gen','s1','g'||g,1 FROM generate_series(0,3999,3) g"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CTL="ipc://$W/run/control.ipc"
cat >>"$CONF" <<C
[http]
listen = 127.0.0.1:$PORT
[bus]
control = $CTL
C
# Overrides of the harness's map_size_mb = 64: a map that fills quickly.
export PRICECACHE_CACHE_MAP_SIZE_MB=1 PRICECACHE_CACHE_MAP_MAX_MB=2
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
version() { info gen version; }
start_daemon
wait_until '[ "$(metric pricecache_map_full)" = 0 ]' 10

lmdb_hold read hold 7
HP=$HOLD_PID
kill -STOP "$HP"

"$B/itest/consistency" "$CACHE" gen 4000 watch 1 1 20 >"$W/watch.out" 2>"$W/watch.err" 7>&- &
CW=$!
# Publish generations until one does not arrive: the map is full.
g=1
ok_gen=1
while :; do
    g=$((g + 1))
    [ $g -le 200 ] || fail "200 publishes and the map never filled ($(metric pricecache_map_size_bytes) bytes)"
    v=$(version)
    sql "BEGIN; UPDATE chain_prices SET price_cents = $g; UPDATE store_prices SET price_cents = $g; COMMIT"
    wait_until "[ \"\$(version)\" -gt $v ] || [ \"\$(metric pricecache_map_full)\" = 1 ]" 20
    [ "$(metric pricecache_map_full)" = 1 ] && break
    ok_gen=$g
done
T0=$(date +%s%N)
echo "map full after generation $ok_gen (generation $g waits)"
grep -q 'map full at 2 MiB' "$W/daemon.log" || fail "no 'map full' error in the log"
# Said everywhere an operator looks.
code=$(curl -s -o "$W/ready.body" -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")
assert_eq 503 "$code" "/readyz while the map is full"
assert_contains "$W/ready.body" "map full"
pc status >"$W/status.out" || fail "status"
head -1 "$W/status.out" | grep -q 'map=full' || fail "status: $(head -1 "$W/status.out")"
assert_eq "$HP" "$(metric pricecache_oldest_read_txn_pid)" "the pid pinning the map"
# Retries fail (more than breaker.failures = 5 of them), the breaker stays
# closed: a full map is not the database's fault.
wait_until "[ \"\$(curl -s http://127.0.0.1:$PORT/metrics | awk -F' ' '/^pricecache_loads_total\\{chain=\"gen\",result=\"failed\"\\}/ { print \$2 }')\" -ge 6 ]" 60
assert_eq 0 "$(metric 'pricecache_circuit_breaker_state{chain="gen"}')" "breaker of gen"
# The last snapshot is served whole.
"$B/itest/consistency" "$CACHE" gen 4000 check >"$W/check1.out" || fail "check: $(cat "$W/check1.out")"
assert_contains "$W/check1.out" "generation=$ok_gen"

# The reader goes: the daemon recovers by itself.
T1=$(date +%s%N)
kill -CONT "$HP"
exec 7>&-
wait "$HP" || fail "lmdbhold: $(cat "$W/hold.err")"
wait_until '[ "$(metric pricecache_map_full)" = 0 ]' 30
T2=$(date +%s%N)
echo "map full reported for $(( (T1 - T0) / 1000000 )) ms; recovered $(( (T2 - T1) / 1000000 )) ms after the reader ended"
"$B/itest/consistency" "$CACHE" gen 4000 check >"$W/check2.out" || fail "check: $(cat "$W/check2.out")"
assert_contains "$W/check2.out" "generation=$g"
wait_until '[ "$(curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:$PORT/readyz)" = 200 ]' 20
grep -q 'map no longer full' "$W/daemon.log" || fail "recovery not logged"
rc=0; wait "$CW" || rc=$?
[ $rc = 0 ] || fail "readers saw a mixed version: $(cat "$W/watch.out") $(head -3 "$W/watch.err")"
stop_daemon
