# Reader threads and processes check that every item of a chain carries the
# same generation while PostgreSQL rewrites all of them again and again and
# the daemon publishes: zero mixed answers.  Chain "gen" is too big for a
# notification's key list (full reloads, plus SIGUSR1); chain "small" goes
# through the incremental path (one delta per statement).
sql "INSERT INTO chains VALUES ('gen'), ('small');
     INSERT INTO chain_prices(chain_slug,item_id,price_cents) SELECT 'gen','g'||g,1 FROM generate_series(0,3999) g;
     INSERT INTO store_prices(chain_slug,store_id,item_id,price_cents) SELECT 'gen','s1','g'||g,1 FROM generate_series(0,3999,3) g;
     INSERT INTO chain_prices(chain_slug,item_id,price_cents) SELECT 'small','g'||g,1 FROM generate_series(0,59) g;
     INSERT INTO store_prices(chain_slug,store_id,item_id,price_cents) SELECT 'small','s1','g'||g,1 FROM generate_series(0,59,3) g"
start_daemon
"$B/itest/consistency" "$CACHE" gen 4000 watch 2 1 8 >"$W/gen.out" 2>"$W/gen.err" &
C1=$!
"$B/itest/consistency" "$CACHE" small 60 watch 1 1 8 >"$W/small.out" 2>"$W/small.err" &
C2=$!
g=2
while kill -0 $C1 2>/dev/null || kill -0 $C2 2>/dev/null; do
    sql "BEGIN; UPDATE chain_prices SET price_cents = $g;
         UPDATE store_prices SET price_cents = $g; COMMIT"
    [ $((g % 4)) = 0 ] && kill -USR1 "$DAEMON_PID"
    g=$((g + 1))
    sleep 0.05
done
rc1=0; wait $C1 || rc1=$?
rc2=0; wait $C2 || rc2=$?
echo "gen: $(cat "$W/gen.out")  small: $(cat "$W/small.out")"
[ $rc1 = 0 ] || fail "gen: $(cat "$W/gen.out") $(head -3 "$W/gen.err")"
[ $rc2 = 0 ] || fail "small: $(cat "$W/small.out") $(head -3 "$W/small.err")"
for f in gen small; do
    gens=$(sed -n 's/.*generations=\([0-9]*\).*/\1/p' "$W/$f.out")
    assert_ge 5 "$gens" "$f: generations observed (the data must move under the readers)"
done
grep -q 'chain small: applied [0-9]* changed keys' "$W/daemon.log" || fail "no delta was applied"
grep -q 'chain gen: published version' "$W/daemon.log" || fail "no full reload happened"
stop_daemon
