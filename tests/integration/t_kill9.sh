# kill -9 of the daemon in the middle of loads, many times: the environment
# always opens and every chain is one complete version.
N=20000
for c in k1 k2 k3; do
    sql "INSERT INTO chains VALUES ('$c');
         INSERT INTO chain_prices(chain_slug,item_id,price_cents) SELECT '$c','g'||g,1 FROM generate_series(0,$N-1) g;
         INSERT INTO store_prices(chain_slug,store_id,item_id,price_cents) SELECT '$c','s1','g'||g,1 FROM generate_series(0,$N-1,5) g"
done
printf '[load]\nrefresh_s = 1\n' >>"$CONF"
# Every chain on disk first, so that each kill below meets snapshots to
# keep whatever the machine's speed (under ASan on a busy machine, a
# daemon killed within 0.3 s had often published nothing yet).
start_daemon
stop_daemon
kills=0
seen=0
for i in $(seq 1 30); do
    sql "BEGIN; UPDATE chain_prices SET price_cents = $((i + 1)); UPDATE store_prices SET price_cents = $((i + 1)); COMMIT"
    start_daemon_nowait
    sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
    kill9_daemon
    kills=$((kills + 1))
    [ -f "$CACHE/data.mdb" ] || continue
    pc chains >/dev/null || fail "environment does not open after kill -9 #$i"
    for c in k1 k2 k3; do
        if pc info $c >/dev/null 2>&1; then
            "$B/itest/consistency" "$CACHE" $c $N check >"$W/check.out" 2>&1 \
                || fail "chain $c after kill -9 #$i: $(cat "$W/check.out")"
            seen=$((seen + 1))
        fi
    done
done
assert_eq 30 "$kills"
assert_eq 90 "$seen" "chains checked after kills (3 chains x 30)"
# and the daemon recovers to the latest data
start_daemon
wait_until '"$B/itest/consistency" "$CACHE" k1 $N check | grep -q "generation=31 "' 20
stop_daemon
