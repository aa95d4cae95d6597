# Contract (control, retried request across a daemon restart): the replies
# kept for resends die with the daemon, so a request an earlier run carried
# out (reload, breaker reset) and that comes again with the same id - REQ
# resends by itself when the daemon died before answering, a script may
# retry - is recognised in the audit log and not run twice.  The same id
# from another uid is another request.
seed_basic
CTL="ipc://$W/run/control.ipc"
printf '[bus]\ncontrol = %s\n[http]\nlisten =\n[breaker]\nfailures = 1\nreset_s = 600\n' "$CTL" >>"$CONF"
start_daemon
send() { printf 'PCCTL1 id=%s uid=%s user=op pid=7\n%s' "$1" "$2" "$3" | "$B/itest/ctlraw" "$CTL"; }
send r1 1000 "reload acme" >"$W/a1"
assert_contains "$W/a1" "OK reload of acme queued (audit #1)"
stop_daemon
start_daemon
send r1 1000 "reload acme" >"$W/a2"
assert_contains "$W/a2" "already carried out (audit #1)"
assert_eq 1 "$(pc audit | wc -l)" "audit records after a retry across a restart"
send r1 1001 "reload acme" >"$W/a3"      # another uid: its own request
assert_contains "$W/a3" "OK reload of acme queued (audit #2)"
# breaker reset: the database goes, acme's breaker opens, an operator resets it
pg_down
kill -USR1 "$DAEMON_PID"
wait_until '[ "$(info acme breaker)" = open ]' 20
pg_up
send b1 1000 "breaker reset acme" >"$W/b1"
assert_contains "$W/b1" "closed; load queued (audit #3)"
kill9_daemon
start_daemon
send b1 1000 "breaker reset acme" >"$W/b2"
assert_contains "$W/b2" "already carried out (audit #3)"
assert_eq 3 "$(pc audit | wc -l)" "audit records"
assert_exit 0 pc audit verify
stop_daemon
