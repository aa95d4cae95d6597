# Issue 15: a cache the previous release wrote (format 1: the same records
# without the chains' lookup tables) is read by this library as it is,
# converted by this daemon at start (even with PostgreSQL down), and gets
# its tables from the next load; deltas then keep them.
seed_basic
once || fail "first load"
"$B/itest/pcformat" show "$CACHE" >"$W/fmt.out"
assert_contains "$W/fmt.out" "format 2"
assert_contains "$W/fmt.out" "table acme 110"
assert_contains "$W/fmt.out" "table beta 10"
assert_eq "$(printf '1\t1700000000\tstore')" "$(pc get acme s1 item10)"

# What the previous release wrote.
"$B/itest/pcformat" v1 "$CACHE" >/dev/null || fail "pcformat v1"
"$B/itest/pcformat" show "$CACHE" >"$W/fmt.out"
assert_contains "$W/fmt.out" "format 1"
assert_contains "$W/fmt.out" "notable acme"
# This library reads it: the B-tree answers, misses included.
assert_eq "$(printf '1\t1700000000\tstore')" "$(pc get acme s1 item10)"
assert_eq "$(printf '111\t1700000011\tbase')" "$(pc get acme s1 item11)"
assert_exit 1 pc get acme s1 nosuchitem
assert_exit 3 pc get nosuchchain '' item1

# The new daemon converts it at start, PostgreSQL unreachable or not.
printf '[database]\ndsn = host=127.0.0.1 port=1 dbname=x connect_timeout=1\n[cache]\npath = %s\n' "$CACHE" >"$W/down.conf"
assert_exit 1 "$B/pricecached" -c "$W/down.conf" --once
assert_contains "$W/last.err" "converted from format 1 to 2"
"$B/itest/pcformat" show "$CACHE" >"$W/fmt.out"
assert_contains "$W/fmt.out" "format 2"
assert_contains "$W/fmt.out" "notable acme"
assert_eq "$(printf '111\t1700000011\tbase')" "$(pc get acme s1 item11)"

# The next load writes no price (nothing changed) but builds the tables.
start_daemon
wait_until '"$B/itest/pcformat" show "$CACHE" | grep -q "table acme 110"' 20
"$B/itest/pcformat" show "$CACHE" >"$W/fmt.out"
assert_contains "$W/fmt.out" "table beta 10"
assert_eq "$(printf '111\t1700000011\tbase')" "$(pc get acme s1 item11)"
# Deltas patch them: a changed price, a new item, a removed exception.
sql "UPDATE chain_prices SET price_cents = 4242 WHERE chain_slug = 'acme' AND item_id = 'item11';
     INSERT INTO chain_prices(chain_slug, item_id, price_cents, updated_at)
       VALUES ('acme', 'newitem', 7, to_timestamp(1700000500));
     DELETE FROM store_prices WHERE chain_slug = 'acme' AND store_id = 's1' AND item_id = 'item20'"
wait_until '[ "$(pc get acme s1 item20 | cut -f3)" = base ]' 20
assert_eq "$(printf '4242')" "$(pc get acme s1 item11 | cut -f1)"
assert_eq "$(printf '7\t1700000500\tbase')" "$(pc get acme s9 newitem)"
assert_eq "$(printf '120\t1700000020\tbase')" "$(pc get acme s1 item20)"
"$B/itest/pcformat" show "$CACHE" >"$W/fmt.out"
assert_contains "$W/fmt.out" "table acme 110"
stop_daemon
