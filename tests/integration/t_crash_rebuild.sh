# Durability of the cache (daemon/durable.c): commits are visible before
# they are on disk, and a sync thread follows them. While the daemon runs,
# <cache>/unsynced holds this boot's id; a clean stop removes it.
# - kill -9 of the daemon (same boot): the page cache holds every commit;
#   readers keep reading the last snapshots, and the next start trusts them.
# - A marker from another boot (the system went down with the daemon
#   running; simulated by writing another boot id): readers refuse the
#   cache (not ready, never a torn file), the next start removes it and
#   loads every chain again.
seed_basic
start_daemon
boot=$(cat /proc/sys/kernel/random/boot_id)
[ -f "$CACHE/unsynced" ] || fail "no unsynced marker while the daemon runs"
assert_eq "$boot" "$(cat "$CACHE/unsynced")" "the marker holds this boot's id"
# Changes after the start, so that commits were made with the marker set.
sql "UPDATE chain_prices SET price_cents = 4242 WHERE item_id = 'item3'"
wait_until '[ "$(pc get acme "" item3 | cut -f1)" = 4242 ]' 10
stop_daemon
[ ! -e "$CACHE/unsynced" ] || fail "a clean stop left the unsynced marker"
assert_eq 4242 "$(pc get acme '' item3 | cut -f1)" "served after a clean stop"

# kill -9: same boot, nothing lost, served without the daemon.
start_daemon
sql "UPDATE chain_prices SET price_cents = 4343 WHERE item_id = 'item3'"
wait_until '[ "$(pc get acme "" item3 | cut -f1)" = 4343 ]' 10
kill9_daemon
[ -f "$CACHE/unsynced" ] || fail "kill -9 should leave the marker"
assert_eq 4343 "$(pc get acme '' item3 | cut -f1)" "served after kill -9 of the daemon"
assert_eq 105 "$(pc get acme s1 item5 | cut -f1)" "an untouched item after kill -9"
assert_eq 1 "$(pc get acme s1 item10 | cut -f1)" "a store exception after kill -9"
start_daemon
assert_not_contains "$W/daemon.log" "every chain is loaded again"
assert_eq 4343 "$(pc get acme '' item3 | cut -f1)" "warm start after kill -9"

# The system went down with the daemon running: another boot's marker.
kill9_daemon
echo "00000000-0000-4000-8000-000000000000" >"$CACHE/unsynced"
assert_exit 4 pc get acme '' item3
assert_exit 4 pc chains
assert_exit 4 pc wait -t 300
sql "UPDATE chain_prices SET price_cents = 4444 WHERE item_id = 'item3'"
start_daemon
assert_contains "$W/daemon.log" "was writing it when the system went down (boot 00000000-0000-4000-8000-000000000000)"
assert_contains "$W/daemon.log" "every chain is loaded again"
assert_eq "$boot" "$(cat "$CACHE/unsynced")" "the marker holds this boot's id again"
wait_until '[ "$(pc get acme "" item3 | cut -f1)" = 4444 ]' 20
wait_until 'pc get beta "" b1 >/dev/null 2>&1' 20
assert_eq 1 "$(pc get acme s1 item10 | cut -f1)" "a store exception after the rebuild"
assert_eq 100 "$(info acme base_rows)" "acme whole after the rebuild"
stop_daemon
[ ! -e "$CACHE/unsynced" ] || fail "a clean stop left the unsynced marker"
