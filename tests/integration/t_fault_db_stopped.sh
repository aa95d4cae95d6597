# Fault matrix: PostgreSQL stopped.  Within 5 s every side an operator
# looks at says the database is down (metric, status, /readyz, the daemon
# record, the console, an event); readers keep the last snapshots; when
# PostgreSQL is back the daemon is back within 5 s and resynchronises: a
# change it could not hear shows.
. "$ROOT/tests/lib/dbfault.sh"
dbf_start
dbf_silent_change 2
assert_eq 1 "$(dbf_gen)" "the daemon did not hear the change"
t0=$(now_ms)
pg_down
dbf_watch_down "$t0" stopped
t1=$(now_ms)
pg_up || fail "PostgreSQL does not start again"
t1=$(now_ms)
dbf_watch_up "$t1" stopped 2
dbf_finish 2
stop_daemon
