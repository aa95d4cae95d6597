# The replicas of tests/lib/pgrepl.sh do what the other t_fleet_* scenarios
# take for granted (no daemon here): they stream the primary's data, a
# paused one falls behind and catches up, one killed with kill -9 answers
# nothing and streams again after a restart, and after the primary stops a
# promoted one takes writes that the other, pointed at it, replays.
. "$ROOT/tests/lib/pgrepl.sh"
seed_basic
item1() { pgr_q "$1" "$DB" "SELECT price_cents FROM chain_prices WHERE chain_slug = 'acme' AND item_id = 'item1'"; }
t=$(date +%s%3N); pgr_add r1; echo "r1 streaming after $(( $(date +%s%3N) - t )) ms"
t=$(date +%s%3N); pgr_add r2; echo "r2 streaming after $(( $(date +%s%3N) - t )) ms"
pgr_wait_caught_up r1
pgr_wait_caught_up r2
assert_eq 100 "$(pgr_q r1 "$DB" "SELECT count(*) FROM chain_prices WHERE chain_slug = 'acme'")" "rows on r1"
assert_eq t "$(pgr_q r2 "$DB" "SELECT pg_is_in_recovery()")" "r2 in recovery"
assert_eq 2 "$(psql_q postgres "SELECT count(*) FROM pg_stat_replication WHERE application_name IN ('r1', 'r2') AND state = 'streaming'")" \
    "replicas streaming, seen from the primary"
# paused: behind; resumed: caught up
pgr_pause r1
sql "UPDATE chain_prices SET price_cents = 5 WHERE chain_slug = 'acme' AND item_id = 'item1'"
pgr_wait_caught_up r2
assert_eq 5 "$(item1 r2)" "r2 replays"
assert_eq 101 "$(item1 r1)" "paused r1 keeps the old value"
assert_eq t "$(pgr_q r1 postgres "SELECT pg_last_wal_replay_lsn() < pg_last_wal_receive_lsn()")" "r1 received more than it replayed"
pgr_resume r1
pgr_wait_caught_up r1
assert_eq 5 "$(item1 r1)" "resumed r1 caught up"
# kill -9: nothing answers; restarted: streaming and caught up
pgr_kill9 r2
if pgr_q r2 postgres "SELECT 1" >/dev/null 2>&1; then fail "r2 still answers after kill -9"; fi
t=$(date +%s%3N); pgr_restart r2; echo "r2 streaming again after $(( $(date +%s%3N) - t )) ms"
pgr_wait_caught_up r2
# promotion: the primary stops, r1 takes writes, r2 follows it
t=$(date +%s%3N); pgr_primary_down; pgr_promote r1; echo "r1 promoted after $(( $(date +%s%3N) - t )) ms"
assert_eq f "$(pgr_q r1 postgres "SELECT pg_is_in_recovery()")" "r1 promoted"
pgr_follow r2 "${PGR_PORT[r1]}"
pgr_q r1 "$DB" "UPDATE chain_prices SET price_cents = 6 WHERE chain_slug = 'acme' AND item_id = 'item1'" >/dev/null
wait_until '[ "$(item1 r2)" = 6 ]' 10
