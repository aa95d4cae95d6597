# Contract (refused loads and accept): a load the guards refuse is not a
# database failure, so it does not open the breaker even with
# [breaker] failures = 1; the operator's `accept` then publishes at once,
# recorded once in the audit log with the version; a second accept has
# nothing to accept and changes nothing.
seed_basic
CTL="ipc://$W/run/control.ipc"
printf '[bus]\ncontrol = %s\n[http]\nlisten =\n[breaker]\nfailures = 1\nreset_s = 600\n' "$CTL" >>"$CONF"
start_daemon
v0=$(info beta version)
# Without NOTIFY (triggers off in this session): the change must reach the
# cache through the full reloads below, which the shrink guard refuses, not
# through a delta that could run first.
sql "SET session_replication_role = replica;
     DELETE FROM chain_prices WHERE chain_slug = 'beta' AND item_id <> 'b1'"
for i in 1 2; do   # refused twice: still no breaker
    kill -USR1 "$DAEMON_PID"
    wait_until '[ "$(info beta loads_failed)" -ge '$i' ]' 10
done
assert_eq refused "$(info beta last_result)" "last result"
assert_eq closed "$(info beta breaker)" "breaker after refused loads"
assert_eq "$v0" "$(info beta version)" "version kept"
pc metrics >"$W/m1.txt" || fail "pricecache metrics"
assert_contains "$W/m1.txt" 'pricecache_accept_pending{chain="beta"} 1'
assert_contains "$W/m1.txt" 'pricecache_accept_pending{chain="acme"} 0'
assert_exit 0 pc accept beta
wait_until '[ "$(info beta base_rows)" = 1 ]' 5
assert_ne "$v0" "$(info beta version)" "version after accept"
v1=$(info beta version)
assert_eq 1 "$(pc audit | grep -c "action=accept chain=beta result=published .*version=$v1")" "accept audit record"
pc metrics >"$W/m2.txt" || fail "pricecache metrics"
assert_contains "$W/m2.txt" 'pricecache_accept_pending{chain="beta"} 0'
assert_exit 6 pc accept beta
assert_contains "$W/last.err" "nothing_to_accept"
assert_eq 1 "$(pc audit | wc -l)" "audit records"
assert_exit 0 pc audit verify
stop_daemon
