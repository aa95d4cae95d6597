# Contract (warm-up, chains): a few hundred small chains all load with at
# most load.concurrency loads at once; deactivated chains leave the cache,
# reactivated ones come back with a higher version; --once says 0.
sql "INSERT INTO chains(slug) SELECT 'c' || lpad(g::text, 3, '0') FROM generate_series(1, 300) g;
     INSERT INTO chain_prices(chain_slug, item_id, price_cents)
       SELECT 'c' || lpad(g::text, 3, '0'), 'i' || k, g * 10 + k FROM generate_series(1, 300) g, generate_series(1, 3) k;
     INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents)
       SELECT 'c' || lpad(g::text, 3, '0'), 's', 'i1', 1 FROM generate_series(1, 300, 7) g"
write_conf "[load]" "concurrency = 4" \
    "base_query = SELECT item_id, price_cents, updated_at FROM chain_prices" \
    "  WHERE chain_slug = \$1 AND pg_sleep(0.02) IS NOT NULL"
start_daemon_nowait
maxc=0
while ! pc wait -t 0 >/dev/null 2>&1; do
    n=$(sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%pg_sleep(0.02)%' AND state = 'active'")
    [ "$n" -gt "$maxc" ] && maxc=$n
    kill -0 "$DAEMON_PID" || fail "daemon died during warm-up"
    sleep 0.02
done
echo "at most $maxc loads at once"
assert_le 4 "$maxc" "loads at once"
assert_ge 2 "$maxc" "loads at once (more than one)"
assert_eq 300 "$(pc chains --tsv | tail -n +2 | wc -l)" "chains in the cache"
for g in 1 8 150 299 300; do
    c=c$(printf '%03d' $g)
    assert_eq $((g * 10 + 2)) "$(pc get "$c" '' i2 | cut -f1)" "$c i2"
done
assert_eq 1 "$(pc get c008 s i1 | cut -f1)" "store exception of c008"
assert_eq 3 "$(info c150 base_rows)" "rows of c150"
# deactivate half, then bring them back
v=$(info c010 version)
sql "UPDATE chains SET active = false WHERE slug <= 'c150'"
wait_until '[ "$(pc chains --tsv | tail -n +2 | wc -l)" = 150 ]' 20
assert_exit 3 pc get c010 '' i1
sql "UPDATE chains SET active = true WHERE slug <= 'c150'"
wait_until '[ "$(pc chains --tsv | tail -n +2 | wc -l)" = 300 ]' 30
assert_eq 102 "$(pc get c010 '' i2 | cut -f1)" "c010 back"
assert_ge $((v + 1)) "$(info c010 version)" "version of a chain back again"
stop_daemon
assert_exit 0 "$B/pricecached" -c "$CONF" --once
