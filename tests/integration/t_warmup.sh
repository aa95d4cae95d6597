# Warm-up gate: at most load.concurrency loads at once; clients' wait
# returns only when every active chain has loaded once or failed.
for c in c1 c2 c3 c4 c5; do
    sql "INSERT INTO chains VALUES ('$c'); INSERT INTO chain_prices(chain_slug,item_id,price_cents) VALUES ('$c','x',1)"
done
sql "INSERT INTO chains VALUES ('bad')"
cat >>"$CONF" <<'C'
[load]
concurrency = 2
base_query = SELECT item_id, price_cents, updated_at FROM chain_prices
   WHERE chain_slug = $1 AND pg_sleep(CASE WHEN $1 = 'bad' THEN 0 ELSE 0.6 END) IS NOT NULL
   AND 1 / (CASE WHEN $1 = 'bad' THEN 0 ELSE 1 END) = 1
C
t0=$(date +%s%N)
start_daemon_nowait
assert_exit 4 pc wait -t 300
maxc=0
while ! pc wait -t 0 >/dev/null 2>&1; do
    n=$(sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(CASE%' AND state = 'active' AND pid <> pg_backend_pid()")
    [ "$n" -gt "$maxc" ] && maxc=$n
    sleep 0.05
done
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "ready after $dt ms, at most $maxc loads at once"
assert_le 2 "$maxc" "loads at once"
assert_eq 2 "$maxc" "loads at once (concurrency is used)"
assert_ge 1500 "$dt" "ms to warm 5 chains of 0.6 s two at a time"
for c in c1 c2 c3 c4 c5; do assert_exit 0 pc get $c '' x; done
assert_exit 3 pc get bad '' x
grep -q 'chain bad: load failed' "$W/daemon.log" || fail "bad chain not marked failed"
assert_eq degraded "$(info c1 daemon_state)" "daemon state with a failed chain"
stop_daemon
