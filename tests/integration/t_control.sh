# The control channel against the real daemon: status, metrics, reload (rate
# limited), breaker reset, accept; a request resent by nanomsg's REQ (daemon
# stopped past the resend interval) or by a script with the same id runs once;
# malformed, oversized and unknown requests get an error and change nothing.
seed_basic
CTL="ipc://$W/run/control.ipc"
printf '[bus]\ncontrol = %s\n[breaker]\nfailures = 2\nreset_s = 600\n' "$CTL" >>"$CONF"
start_daemon
[ "$(stat -c %a "$W/run")" = 750 ] || fail "socket directory mode $(stat -c %a "$W/run")"
[ "$(stat -c %a "$W/run/control.ipc")" = 660 ] || fail "socket mode $(stat -c %a "$W/run/control.ipc")"

# status: the address comes from the cache (pc_bus_addrs), no --control needed
assert_exit 0 pc status
assert_contains "$W/last.out" "daemon state=ready ready=1"
assert_contains "$W/last.out" "chain=acme version="
grep -q '^chain=beta .*breaker=closed last_result=ok' "$W/last.out" || fail "status: $(cat "$W/last.out")"
assert_exit 0 pc metrics
assert_contains "$W/last.out" 'pricecache_loads_total{chain="acme",result="ok"}'
PRICECACHE_CONTROL="ipc://$W/nowhere.ipc" assert_exit 4 pc status -t 300   # env wins; no daemon there
assert_contains "$W/last.err" "timed out"

audits() { pc audit | grep -c -- "$1" || true; }

# reload, resent by REQ itself: the daemon is stopped longer than the 1 s
# resend interval, so it finds the request twice on the connection
v0=$(info acme version)
# (nanomsg 1.1.5 leaks the chunk of the stale second reply that its REQ
# drops: LeakSanitizer is off for this one client under SAN=asan)
printf 'PCCTL1 id=resent01 uid=0 user=root pid=1\nreload acme' |
    ASAN_OPTIONS=detect_leaks=0 "$B/itest/ctlraw" "$CTL" --pause "$DAEMON_PID" >"$W/reload.out"
assert_contains "$W/reload.out" "OK reload of acme queued"
wait_until '[ "$(info acme version)" -gt "$v0" ]' 10
wait_until 'grep -q "request resent01 from uid 0 resent: answered from the stored reply" "$W/daemon.log"' 5
assert_eq 1 "$(audits 'action=reload chain=acme')" "reload audited once"

# rate limit: a second reload of acme within 5 s
assert_exit 6 pc reload acme
assert_contains "$W/last.err" "ERR rate_limited"
assert_contains "$W/last.err" "retry after"
assert_eq 1 "$(audits 'action=reload chain=acme')" "refused reload not executed"
assert_exit 6 pc reload nosuch
assert_contains "$W/last.err" "ERR no_chain"
assert_exit 2 pc reload 'Bad Slug'

# a script's retry: the same id twice gets the same answer, executed once
REQ="PCCTL1 id=feedface0001 uid=0 user=root pid=1
reload beta"
printf '%s' "$REQ" | "$B/itest/ctlraw" "$CTL" >"$W/r1"
printf '%s' "$REQ" | "$B/itest/ctlraw" "$CTL" >"$W/r2"
assert_contains "$W/r1" "OK reload of beta queued (audit #"
cmp -s "$W/r1" "$W/r2" || fail "retry answered differently: $(cat "$W/r1") / $(cat "$W/r2")"
assert_eq 1 "$(audits 'req=feedface0001')" "retried request audited once"

# malformed, oversized, unknown: an error each, nothing changes
wait_until '[ "$(info beta last_result)" = ok ]' 10
sleep 0.5
before="$(pc chains --tsv | cut -f1-3) $(pc audit | wc -l)"
printf 'hello' | "$B/itest/ctlraw" "$CTL" >"$W/m1"
assert_contains "$W/m1" "ERR bad_request"
{ printf 'PCCTL1 id=big1 uid=0 user=root pid=1\nreload '; head -c 70000 /dev/zero | tr '\0' a; } |
    "$B/itest/ctlraw" "$CTL" >"$W/m2"
assert_contains "$W/m2" "ERR bad_request: 70044 bytes, more than 65536"
printf 'PCCTL1 id=u1 uid=0 user=root pid=1\nfrobnicate acme' | "$B/itest/ctlraw" "$CTL" >"$W/m3"
assert_contains "$W/m3" "ERR unknown_command"
printf 'PCCTL1 id=u2 uid=0 user=root pid=1\nreload acme beta' | "$B/itest/ctlraw" "$CTL" >"$W/m4"
assert_contains "$W/m4" "ERR usage"
printf 'PCCTL1 id=u3 uid=0 user=root pid=1\nreload \001cme' | "$B/itest/ctlraw" "$CTL" >"$W/m5"
assert_contains "$W/m5" "ERR bad_request"
printf 'PCCTL1 id=u4 uid=zero user=root pid=1\nstatus' | "$B/itest/ctlraw" "$CTL" >"$W/m6"
assert_contains "$W/m6" "ERR bad_request"
sleep 0.5
after="$(pc chains --tsv | cut -f1-3) $(pc audit | wc -l)"
assert_eq "$before" "$after" "cache and audit after bad requests"

# accept: rejected rows make acme's load refused; the operator publishes it
assert_exit 6 pc accept acme
assert_contains "$W/last.err" "ERR nothing_to_accept"
va=$(info acme version)
sql "UPDATE chain_prices SET price_cents = -1 WHERE chain_slug = 'acme' AND item_id IN
     ('item1','item2','item3','item4','item5','item6','item7','item8','item9')"
wait_until '[ "$(info acme last_result)" = refused ]' 15
assert_eq "$va" "$(info acme version)" "refused load not published"
assert_eq 101 "$(pc get acme '' item1 | cut -f1)" "old price served while refused"
assert_exit 0 pc accept acme
assert_contains "$W/last.out" "skips the refuse guards once"
wait_until '[ "$(info acme last_result)" = ok ]' 15
vb=$(info acme version)
assert_exit 1 pc get acme '' item1    # the bad row is still rejected, alone
assert_eq 150 "$(pc get acme '' item50 | cut -f1)"
pc audit | grep 'action=accept chain=acme result=published guards="9 of 110 rows rejected' >"$W/acc" ||
    fail "no accept record: $(pc audit)"
assert_contains "$W/acc" "version=$vb"   # written by the publish transaction itself
pc status | grep -q '^chain=acme .*accept=0' || fail "accept still pending: $(pc status)"
# breaker reset: the database goes away, beta's breaker opens (failures = 2: the first probe after the
# restart may meet a connection the restart broke)
pg_down
sleep 5.1 # past beta's rate limit
assert_exit 0 pc reload beta
wait_until 'pc status | grep -q "^chain=beta .*breaker=open"' 15
pg_up
assert_exit 0 pc breaker reset beta
assert_contains "$W/last.out" "breaker of beta: open -> closed; load queued (audit #"
wait_until 'pc status | grep -q "^chain=beta .*breaker=closed last_result=ok"' 15
assert_exit 0 pc breaker reset beta
assert_contains "$W/last.out" "already closed"

assert_exit 0 pc audit verify
stop_daemon
# with the daemon down, a request times out and says so
assert_exit 4 pc status -t 500
assert_contains "$W/last.err" "no answer"
# with the bus off, the daemon announces no control socket and tools say so
# (the daemon record of the last run still says ready: wait for the new
# daemon's announcement)
write_conf
start_daemon
wait_until 'pc status -t 300 2>&1 | grep -q "announced no control socket"' 10
assert_exit 4 pc status
assert_contains "$W/last.err" "announced no control socket"
stop_daemon
