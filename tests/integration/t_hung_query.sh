# A hung query (pg_sleep in a custom query, or a lock held by another
# session) fails the load on time and is cancelled on the server.
seed_basic
printf '[load]\ntimeout_s = 1\n' >>"$CONF"
once
cat >>"$CONF" <<'C'
base_query = SELECT item_id, price_cents, updated_at FROM chain_prices
   WHERE chain_slug = $1 AND (chain_slug <> 'beta' OR pg_sleep(20) IS NOT NULL)
C
t0=$(date +%s%N)
assert_exit 1 "$B/pricecached" -c "$CONF" --once
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_le 4000 "$dt" "ms until --once gave up on the hung query"
assert_contains "$W/last.err" "chain beta: load failed"
assert_contains "$W/last.err" "deadline of 1 s exceeded"
assert_eq timeout "$(info beta last_result)"
assert_eq ok "$(info acme last_result)"
assert_eq 0 "$(sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(20)%' AND pid <> pg_backend_pid()")" "hung queries left running"
# a lock held by another session
sed -i '/base_query/,$d' "$CONF"
psql -X -q -d "$DB" -c "BEGIN; LOCK TABLE store_prices IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(8); COMMIT" >/dev/null 2>&1 &
LP=$!
wait_until '[ "$(sql "SELECT count(*) FROM pg_locks WHERE mode = '"'AccessExclusiveLock'"' AND relation = '"'store_prices'"'::regclass")" = 1 ]' 5
t0=$(date +%s%N)
assert_exit 1 "$B/pricecached" -c "$CONF" --once
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_le 4000 "$dt" "ms until --once gave up on the lock"
assert_contains "$W/last.err" "deadline of 1 s exceeded"
assert_eq 0 "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pricecached' AND state = 'active'")" "our queries left running"
kill $LP 2>/dev/null || true
wait $LP 2>/dev/null || true
