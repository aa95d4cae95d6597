# The LISTEN connection killed (pg_terminate_backend): changes made while it
# was gone still arrive after the resync, with no refresh to help.
seed_basic
start_daemon
listener="SELECT pid FROM pg_stat_activity WHERE application_name = 'pricecached' AND query LIKE 'LISTEN%'"
wait_until '[ -n "$(sql "$listener")" ]' 5
sql "SELECT pg_terminate_backend(pid) FROM ($listener) l" >/dev/null
sql "UPDATE chain_prices SET price_cents = 31337 WHERE item_id = 'b2'"
wait_until '[ "$(pc get beta "" b2 | cut -f1)" = 31337 ]' 15
grep -q 'listen connection: lost' "$W/daemon.log" || fail "loss not logged"
grep -q 'resynchronising every chain' "$W/daemon.log" || fail "no resync logged"
stop_daemon
