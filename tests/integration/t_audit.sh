# The audit log: every control action that changes something is recorded
# (who as stated, what, when, result), hash-chained; `audit verify` passes on
# the real log and names the first record an intruder altered.
seed_basic
CTL="ipc://$W/run/control.ipc"
printf '[bus]\ncontrol = %s\n' "$CTL" >>"$CONF"
start_daemon
assert_exit 0 pc audit verify
assert_contains "$W/last.out" "audit: 0 records, hash chain intact"
assert_exit 0 pc reload acme
assert_exit 0 pc reload beta
assert_exit 0 pc reload all
assert_exit 0 pc status                  # reads change nothing: not audited
assert_exit 0 pc audit
assert_eq 3 "$(wc -l <"$W/last.out")" "records"
me=$(id -un)
grep -q "^1	[0-9a-f]\{16\}	ts=20[0-9-]*T[0-9:]*Z uid=$(id -u) user=$me pid=[0-9]* (stated) req=[0-9a-f]* action=reload chain=acme result=queued$" "$W/last.out" ||
    fail "record 1: $(head -1 "$W/last.out")"
assert_contains "$W/last.out" "action=reload chain=all result=queued"
assert_exit 0 pc audit verify
assert_contains "$W/last.out" "audit: 3 records, hash chain intact"
# the journal holds each record's hash outside the cache: a truncated or
# rewritten log disagrees with it
last=$(sed -n 's/.*last hash //p' "$W/last.out")
assert_contains "$W/daemon.log" "audit record 3 committed, sha256 $last"
stop_daemon

# an intruder rewrites record 2 (keeping its stored hash)
"$B/itest/audit_tamper" "$CACHE" 2 "ts=2026-01-01T00:00:00Z uid=0 user=nobody pid=1 (stated) req=x action=reload chain=beta result=queued"
assert_exit 8 pc audit verify
assert_contains "$W/last.err" "record #2 is bad: its content does not match its hash"
assert_contains "$W/last.err" "1 records before it are intact"
# ... and then recomputes that record's hash too: the next link breaks
"$B/itest/audit_tamper" "$CACHE" 2 --reseal
assert_exit 8 pc audit verify
assert_contains "$W/last.err" "record #3 is bad: its link to the previous record"
# the daemon extends the log from its last record as stored: the break
# stays visible, new records do not hide it
start_daemon
assert_exit 0 pc reload acme
assert_exit 8 pc audit verify
assert_contains "$W/last.err" "record #3 is bad"
stop_daemon
