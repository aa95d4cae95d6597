# Fleet, a lagging replica (issue 14): max_lag_s = 1.  Replay paused on
# replica1 while the primary writes: its measured lag passes 1 s, loads move
# to replica2; both paused: to the primary; resumed: back to the replicas.
# Each transition is logged once, not once per load or per sample; /readyz
# stays ready throughout.
. "$ROOT/tests/lib/pgrepl.sh"
. "$ROOT/tests/lib/fleet.sh"
seed_basic
pgr_add_ready r1 r2
fl_conf "$DSN" "$(pgr_dsn r1 "$DB");$(pgr_dsn r2 "$DB")" "[database]" "max_lag_s = 1" "lag_sample_ms = 200"
start_daemon
wait_until '[ "$(fl_up replica1)" = 1 ] && [ "$(fl_up replica2)" = 1 ]' 10
readyz() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$FL_PORT/readyz"; }
lag_s() { local v; v=$(fl_metric pricecache_replica_lag_seconds "source=$1"); echo "${v%%.*}"; }
wait_until '[ "$(fl_metric pricecache_replica_lag_bytes source=replica1)" = 0 ] && [ "$(lag_s replica1)" = 0 ]' 10
# a write the paused replica will not replay (beta only: acme is what we reload)
bump() { sql "UPDATE chain_prices SET price_cents = price_cents + 1 WHERE chain_slug = 'beta' AND item_id = 'b1'"; }
# reload_on SOURCE: every chain reloaded, and those loads read on SOURCE alone
reload_on() {
    local s l0 a b c
    for s in primary replica1 replica2; do eval "l0_$s=\$(fl_reads $s load)"; done
    kill -USR1 "$DAEMON_PID"
    wait_until '[ "$(fl_reads '"$1"' load)" -ge $((l0_'"$1"' + 2)) ]' 10
    a=$(fl_reads primary load); b=$(fl_reads replica1 load); c=$(fl_reads replica2 load)
    echo "reload: primary +$((a - l0_primary)), replica1 +$((b - l0_replica1)), replica2 +$((c - l0_replica2))"
    for s in primary replica1 replica2; do
        [ "$s" = "$1" ] && continue
        eval "[ \"\$(fl_reads $s load)\" = \"\$l0_$s\" ]" || fail "a load read on $s, expected $1 only"
    done
}
mark=$(wc -l <"$W/daemon.log")
pgr_pause r1
bump
wait_until '[ "$(lag_s replica1)" -ge 1 ]' 10
wait_until 'tail -n +"$((mark + 1))" "$W/daemon.log" | grep -q "source replica1 lagging"' 10
echo "replica1 paused: lag $(fl_metric pricecache_replica_lag_seconds source=replica1) s, $(fl_metric pricecache_replica_lag_bytes source=replica1) bytes"
[ "$(fl_metric pricecache_replica_lag_bytes source=replica1)" -gt 0 ] || fail "lag bytes of the paused replica"
reload_on replica2
assert_eq 200 "$(readyz)" "/readyz with one replica lagging"
pgr_pause r2
bump
wait_until '[ "$(lag_s replica2)" -ge 1 ]' 10
wait_until 'tail -n +"$((mark + 1))" "$W/daemon.log" | grep -q "source replica2 lagging"' 10
reload_on primary
assert_eq 200 "$(readyz)" "/readyz with both replicas lagging (the primary serves)"
# more samples, loads and a delta while both lag: no new transition lines
reload_on primary
reload_on primary
bump
wait_until '[ "$(pc get beta "" b1 | cut -f1)" = 53 ]' 5
since() { tail -n +"$((mark + 1))" "$W/daemon.log" | grep -c "$1" || true; }
assert_eq 1 "$(since 'source replica1 lagging')" "'source replica1 lagging' lines"
assert_eq 1 "$(since 'source replica2 lagging')" "'source replica2 lagging' lines"
assert_eq 1 "$(since 'loads: reading from primary')" "'loads: reading from primary' lines over three reloads"
assert_le 1 "$(since 'deltas: reading from primary')" "'deltas: reading from primary' lines"
pgr_resume r1
pgr_resume r2
pgr_wait_caught_up r1
pgr_wait_caught_up r2
wait_until '[ "$(lag_s replica1)" = 0 ] && [ "$(lag_s replica2)" = 0 ]' 10
r=0
for s in replica1 replica2; do r=$((r + $(fl_reads $s load))); done
kill -USR1 "$DAEMON_PID"
wait_until '[ $(( $(fl_reads replica1 load) + $(fl_reads replica2 load) )) -ge $((r + 2)) ]' 10
wait_until '[ "$(since "loads: reading from replica")" -ge 2 ]' 5
echo "transitions logged: $(tail -n +"$((mark + 1))" "$W/daemon.log" | grep -o 'source replica[12] [a-z]*\|reading from [a-z0-9]*'  | tr '\n' ',')"
# the worker connections opened for the fallback are not kept (FLEET14.md:
# "closed (or at least not kept) once replicas serve again")
for i in $(seq 1 300); do [ "$(pgr_activity "$DB" | wc -l)" = 1 ] && break; sleep 0.05; done
[ "$(pgr_activity "$DB" | wc -l)" = 1 ] || fail "15 s after the replicas serve again, the primary still holds: $(pgr_activity "$DB" | tr '\n' ';')"
stop_daemon
