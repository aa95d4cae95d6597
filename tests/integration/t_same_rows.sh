# A reload whose rows are all as the daemon last left the chain sorts and
# compares nothing (its log says "none compared"); a change made without a
# notification is still found and published by the next reload; deltas move
# the digest along, so the reload after them again compares nothing; a
# restarted daemon compares every row once.
seed_basic
start_daemon
publishes() { grep -c 'chain acme: published version' "$W/daemon.log" || true; }
# reload: SIGUSR1, then the line of acme's publish it made.
reload() {
    local n
    n=$(publishes)
    kill -USR1 "$DAEMON_PID"
    wait_until "[ \$(publishes) -gt $n ]" 10
    grep 'chain acme: published version' "$W/daemon.log" | tail -1
}
same() { case "$1" in *"none compared"*) return 0 ;; esac; return 1; }
quiet_sql() { # a change PostgreSQL does not notify
    sql "BEGIN; ALTER TABLE chain_prices DISABLE TRIGGER USER; ALTER TABLE store_prices DISABLE TRIGGER USER;
         $1;
         ALTER TABLE chain_prices ENABLE TRIGGER USER; ALTER TABLE store_prices ENABLE TRIGGER USER; COMMIT"
}

line=$(reload)
same "$line" || fail "an unchanged reload compared rows: $line"
assert_eq 107 "$(pc get acme '' item7 | cut -f1)" "item7 after an unchanged reload"
v=$(info acme version)

# Unnotified: the cache cannot know; the reload must.
quiet_sql "UPDATE chain_prices SET price_cents = 555 WHERE chain_slug = 'acme' AND item_id = 'item7'"
assert_eq 107 "$(pc get acme '' item7 | cut -f1)" "item7 before the reload (no notification)"
line=$(reload)
same "$line" && fail "a changed chain was taken as unchanged: $line"
case "$line" in *"(1 put, 0 deleted"*) ;; *) fail "not one row put: $line" ;; esac
assert_eq 555 "$(pc get acme '' item7 | cut -f1)" "item7 after the reload"
[ "$(info acme version)" -gt "$v" ] || fail "no new version"
line=$(reload)
same "$line" || fail "unchanged after the reload that wrote the change, yet compared: $line"

# Deltas: a price, a store exception deleted, a new item.
sql "UPDATE chain_prices SET price_cents = 666 WHERE chain_slug = 'acme' AND item_id = 'item8'"
wait_until '[ "$(pc get acme "" item8 | cut -f1)" = 666 ]' 5
sql "DELETE FROM store_prices WHERE chain_slug = 'acme' AND store_id = 's1' AND item_id = 'item10'"
wait_until '[ "$(pc get acme s1 item10 | cut -f1)" = 110 ]' 5
sql "INSERT INTO chain_prices(chain_slug, item_id, price_cents) VALUES ('acme', 'fresh', 4)"
wait_until '[ "$(pc get acme "" fresh | cut -f1)" = 4 ]' 5
wait_until "[ \$(grep -c 'chain acme: applied' \"\$W/daemon.log\") -ge 3 ]" 5
line=$(reload)
same "$line" || fail "the reload after deltas compared rows: $line"
assert_eq 666 "$(pc get acme '' item8 | cut -f1)" "item8 after the reload"
assert_eq 110 "$(pc get acme s1 item10 | cut -f1)" "s1/item10 after the reload"
assert_eq 101 "$(info acme base_rows)" "base rows after the reload"

# Two prices swapped, unnotified: as many rows, the same prices, other items.
quiet_sql "UPDATE chain_prices SET price_cents = CASE item_id WHEN 'item1' THEN 102 ELSE 101 END
           WHERE chain_slug = 'acme' AND item_id IN ('item1', 'item2')"
line=$(reload)
same "$line" && fail "swapped prices taken as unchanged: $line"
assert_eq 102 "$(pc get acme '' item1 | cut -f1)" "item1 after the swap"
assert_eq 101 "$(pc get acme '' item2 | cut -f1)" "item2 after the swap"

# A new process knows no digest: it compares every row once.
nb=$(publishes)
stop_daemon
start_daemon
line=$(reload)
first=$(grep 'chain acme: published version' "$W/daemon.log" | sed -n "$((nb + 1))p")
same "$first" && fail "the first publish of a restarted daemon compared nothing: $first"
n=$(grep -c 'chain acme: .*none compared' "$W/daemon.log")
quiet_sql "UPDATE store_prices SET price_cents = 2 WHERE chain_slug = 'acme' AND item_id = 'item20'"
line=$(reload)
same "$line" && fail "a changed chain was taken as unchanged after a restart: $line"
assert_eq 2 "$(pc get acme s1 item20 | cut -f1)" "s1/item20 after the reload"
line=$(reload)
same "$line" || fail "unchanged after a restart and a reload, yet compared: $line"
[ "$(grep -c 'chain acme: .*none compared' "$W/daemon.log")" -eq $((n + 1)) ] || fail "none compared counted wrong"
stop_daemon
