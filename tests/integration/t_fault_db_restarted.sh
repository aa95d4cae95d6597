# Fault matrix: PostgreSQL restarted (a fast stop, then a start): the
# daemon notices the outage at once (its immediate reconnect is refused),
# tells the bus and its record, is back within 5 s of the database, and
# resynchronises; its load connections are made again, so no load fails on
# a connection of before.
. "$ROOT/tests/lib/dbfault.sh"
dbf_start
dbf_silent_change 4
assert_eq 1 "$(dbf_gen)" "the daemon did not hear the change"
failed0=$(info gen loads_failed)
t0=$(now_ms)
pg_down
pg_up || fail "PostgreSQL does not start again"
t1=$(now_ms)
# The down and the up event, in that order, with the daemon's times.
wait_until '[ "$(dbf_events 1)" -ge 1 ]' 15
grep -E '^[^ ]+ database ' "$W/events.out" >"$W/db.events"
head -1 "$W/db.events" | grep -q ' value=2 database unreachable: ' || fail "first database event is not down: $(cat "$W/db.events")"
sed -n 2p "$W/db.events" | grep -q ' value=1 database reachable again after ' || fail "second database event is not up: $(cat "$W/db.events")"
ev_ms() { # unix ms of event line $1 (its timestamp, the daemon's clock)
    local ts
    ts=$(sed -n "$1p" "$W/db.events" | cut -d' ' -f1)
    echo $(( $(date -d "${ts%.*}Z" +%s) * 1000 + 10#$(echo "$ts" | sed 's/.*\.\([0-9]*\)Z/\1/') ))
}
down_ms=$(( $(ev_ms 1) - t0 ))
echo "restarted: down told on the bus $down_ms ms after the stop began; the restart took $((t1 - t0)) ms"
assert_le "$DBF_LIMIT_MS" "$down_ms" "ms from the stop to the down event"
dbf_watch_up "$t1" restarted 4
assert_eq "$failed0" "$(info gen loads_failed)" "loads failed on connections of before the restart"
dbf_finish 4
stop_daemon
