# Contract (metric names): every name of DESIGN.md with exactly its labels,
# per chain where it says so, values that match the cache, promtool clean.
seed_basic
sql "INSERT INTO chain_prices(chain_slug, item_id, price_cents) VALUES ('acme', 'neg', -1)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
write_conf "[http]" "listen = 127.0.0.1:$PORT" "[load]" "max_reject_ratio = 1"
start_daemon
pc get acme s1 item1 >/dev/null
pc get acme s1 nope >/dev/null 2>&1 || true
wait_until 'curl -sf "http://127.0.0.1:$PORT/metrics" >"$W/m.txt" && grep -q "^pricecache_lookups_total" "$W/m.txt"' 10
promtool check metrics <"$W/m.txt" >"$W/promtool.out" 2>&1 || fail "promtool: $(cat "$W/promtool.out")"
[ -s "$W/promtool.out" ] && fail "promtool lint: $(cat "$W/promtool.out")"
# name -> label set, as DESIGN.md lists them
labels() { # metric: the sorted distinct label-name sets of its samples
    grep "^pricecache_$1[{ ]" "$W/m.txt" | sed -n 's/^[^{ ]*{\([^}]*\)}.*/\1/p' \
        | sed 's/="[^"]*"//g' | sort -u | tr '\n' ' '
}
assert_eq "result " "$(labels lookups_total)" "lookups_total labels"
assert_eq "chain,result " "$(labels loads_total)" "loads_total labels"
assert_eq "chain,kind " "$(labels rows)" "rows labels"
assert_eq "chain " "$(labels snapshot_age_seconds)" "snapshot_age_seconds labels"
assert_eq "chain,reason " "$(labels rejected_rows_total)" "rejected_rows_total labels"
assert_eq "reason " "$(labels invalidations_total)" "invalidations_total labels"
assert_eq "chain " "$(labels circuit_breaker_state)" "circuit_breaker_state labels"
for m in readers map_used_bytes map_size_bytes; do
    grep -q "^pricecache_$m [0-9]" "$W/m.txt" || fail "pricecache_$m missing or labelled"
done
grep -q '^# TYPE pricecache_load_duration_seconds histogram' "$W/m.txt" || fail "load_duration_seconds is not a histogram"
grep -q '^pricecache_load_duration_seconds_bucket{le="+Inf"}' "$W/m.txt" || fail "no +Inf bucket"
for t in "lookups_total counter" "loads_total counter" "rows gauge" "snapshot_age_seconds gauge" \
         "rejected_rows_total counter" "invalidations_total counter" "circuit_breaker_state gauge" \
         "readers gauge" "map_used_bytes gauge" "map_size_bytes gauge"; do
    grep -q "^# TYPE pricecache_$t$" "$W/m.txt" || fail "TYPE of pricecache_$t"
done
# Issue 13's database gauges: unlabelled, present from the first scrape.
for m in database_up database_down_since_seconds; do
    grep -q "^# TYPE pricecache_$m gauge$" "$W/m.txt" || fail "TYPE of pricecache_$m"
    grep -q "^pricecache_$m [0-9]" "$W/m.txt" || fail "pricecache_$m missing or labelled"
done
# values agree with the cache
assert_contains "$W/m.txt" 'pricecache_rows{chain="acme",kind="base"} 100'
assert_contains "$W/m.txt" 'pricecache_rows{chain="acme",kind="store"} 10'
assert_contains "$W/m.txt" 'pricecache_rows{chain="beta",kind="base"} 10'
assert_contains "$W/m.txt" 'pricecache_rejected_rows_total{chain="acme",reason="negative_price"} 1'
assert_contains "$W/m.txt" 'pricecache_circuit_breaker_state{chain="acme"} 0'
grep -q '^pricecache_loads_total{chain="acme",result="ok"} [1-9]' "$W/m.txt" || fail "acme ok loads"
# no metric outside the prefix
assert_eq 0 "$(grep -v '^#' "$W/m.txt" | grep -cv '^pricecache_')" "samples without the pricecache_ prefix"
stop_daemon
