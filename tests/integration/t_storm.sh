# A storm of commits from several connections at once — inserts, updates,
# deletes, store exceptions added and removed, one key changed many times
# within and across transactions, a mass update — and the cache converges
# to exactly the database's state: no change lost, none applied out of
# order (a reader watching a key that only ever rises, and the chain's
# version, never sees either step back).
sql "INSERT INTO chains(slug) VALUES ('storm');
     INSERT INTO chain_prices(chain_slug, item_id, price_cents, updated_at)
       SELECT 'storm', 'i' || g, 1000 + g, to_timestamp(1700000000 + g) FROM generate_series(1, 2000) g;
     INSERT INTO chain_prices(chain_slug, item_id, price_cents) VALUES ('storm', 'hot', 0);
     INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents)
       SELECT 'storm', 's' || (g % 7), 'i' || g, 5 FROM generate_series(1, 2000, 13) g;"
start_daemon
"$B/itest/watchmono" "$CACHE" storm hot "$W/stop" >"$W/watch.out" 2>"$W/watch.err" &
WPID=$!
echo "$WPID" >>"$W/pids"

# Writer 1: the hot key, raised one commit at a time (the order watched).
for i in $(seq 1 600); do
    echo "UPDATE chain_prices SET price_cents = $i WHERE chain_slug = 'storm' AND item_id = 'hot';"
done >"$W/w1.sql"
# Writer 2: updates, inserts and deletes of base prices, several per transaction.
for i in $(seq 1 300); do
    a=$(( (i * 7) % 2000 + 1 )); b=$(( (i * 13) % 2000 + 1 ))
    echo "BEGIN;
UPDATE chain_prices SET price_cents = price_cents + $i, updated_at = to_timestamp(1710000000 + $i) WHERE chain_slug = 'storm' AND item_id = 'i$a';
INSERT INTO chain_prices(chain_slug, item_id, price_cents, updated_at) VALUES ('storm', 'n$i', $i, to_timestamp(1720000000))
  ON CONFLICT (chain_slug, item_id) DO UPDATE SET price_cents = EXCLUDED.price_cents;
DELETE FROM chain_prices WHERE chain_slug = 'storm' AND item_id = 'i$b';
COMMIT;"
done >"$W/w2.sql"
# Writer 3: store exceptions added and removed, the same ones again and again.
for i in $(seq 1 300); do
    s=$(( i % 5 )); it=$(( (i * 31) % 2000 + 1 ))
    echo "INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents) VALUES ('storm', 'x$s', 'i$it', $i)
  ON CONFLICT (chain_slug, store_id, item_id) DO UPDATE SET price_cents = EXCLUDED.price_cents;"
    [ $((i % 3)) = 0 ] && echo "DELETE FROM store_prices WHERE chain_slug = 'storm' AND store_id = 'x$(( (i + 1) % 5 ))';"
done >"$W/w3.sql"
# Writer 4: one key changed many times inside one transaction and across
# them; now and then a multi-row update of a slice of the chain.
for i in $(seq 1 200); do
    echo "BEGIN;
UPDATE chain_prices SET price_cents = $i WHERE chain_slug = 'storm' AND item_id = 'i1000';
UPDATE chain_prices SET price_cents = $((i + 1)) WHERE chain_slug = 'storm' AND item_id = 'i1000';
UPDATE chain_prices SET price_cents = $((i + 2)) WHERE chain_slug = 'storm' AND item_id = 'i1000';
COMMIT;"
    # The slice waits for writer 2's open transaction first (a table lock
    # that its row locks conflict with): row by row, the two took the same
    # rows in opposite orders and PostgreSQL aborted one as a deadlock.
    [ $((i % 50)) = 0 ] && echo "BEGIN; LOCK TABLE chain_prices IN SHARE ROW EXCLUSIVE MODE;
UPDATE chain_prices SET price_cents = price_cents + 1 WHERE chain_slug = 'storm' AND item_id LIKE 'i1%';
COMMIT;"
done >"$W/w4.sql"
wpids=""
for n in 1 2 3 4; do
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$W/w$n.sql" >"$W/w$n.log" 2>&1 &
    wpids="$wpids $!"
done
for p in $wpids; do wait "$p" || fail "writer failed: $(cat "$W"/w*.log)"; done

# The database's state in the dump's format (ids here need no escaping).
expect() {
    psql_q "$DB" "SELECT '' AS s, item_id, price_cents, floor(extract(epoch FROM updated_at))::bigint
                    FROM chain_prices WHERE chain_slug = 'storm'
                  UNION ALL
                  SELECT store_id, item_id, price_cents, floor(extract(epoch FROM updated_at))::bigint
                    FROM store_prices WHERE chain_slug = 'storm'" | tr '|' '\t' | LC_ALL=C sort
}
expect >"$W/expect"
converged() { pc dump storm | LC_ALL=C sort >"$W/got"; cmp -s "$W/expect" "$W/got"; }
wait_until converged 30 || true
converged || fail "cache differs from the database: $(diff "$W/expect" "$W/got" | head -20)"
assert_eq 600 "$(pc get storm "" hot | cut -f1)" "the hot key's last value"
assert_eq 203 "$(pc get storm "" i1000 | cut -f1)" "the key changed three times per transaction (202), then +1 by the slice update"
touch "$W/stop"
wait "$WPID" || fail "reader saw a step back: $(cat "$W/watch.err")"
cat "$W/watch.out"
# a change committed after the storm, while nothing else runs, still arrives
sql "UPDATE chain_prices SET price_cents = 601 WHERE chain_slug = 'storm' AND item_id = 'hot'"
wait_until '[ "$(pc get storm "" hot | cut -f1)" = 601 ]' 5
stop_daemon
