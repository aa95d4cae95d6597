# Contract (control channel, odd inputs): every malformed, unknown, badly
# argued or oversized request gets an ERR reply and changes nothing (no
# version moves, no audit record); a 64-char slug is a slug, 65 is not;
# "all" only where documented; breaker reset of a closed breaker and accept
# with nothing refused change nothing; several clients at once each get
# their own answer; and status and metrics answer whole for 400 chains.
seed_basic
CTL="ipc://$W/run/control.ipc"
printf '[bus]\ncontrol = %s\n[http]\nlisten =\n' "$CTL" >>"$CONF"
start_daemon
n=0
raw() { # request-body -> reply in $W/r
    n=$((n + 1))
    printf "PCCTL1 id=odd$n uid=0 user=root pid=1\n$1" | "$B/itest/ctlraw" "$CTL" >"$W/r" ||
        fail "no reply to \"$1\""
}
expect_err() { # body reason
    raw "$1"
    grep -q "^ERR $2:" "$W/r" || fail "request \"$1\": expected ERR $2, got: $(head -c 300 "$W/r")"
}
versions() { pc chains --tsv | cut -f1,2 | tr '\n' ' '; }
v0=$(versions)
long64=$(printf 'a%.0s' $(seq 1 64))
long65=$(printf 'a%.0s' $(seq 1 65))
expect_err '' bad_request
expect_err 'frobnicate' unknown_command
expect_err 'STATUS' unknown_command
expect_err 'status now' usage
expect_err 'metrics extra' usage
expect_err 'reload' usage
expect_err 'reload acme beta' usage
expect_err 'reload acme  ' usage
expect_err 'reload  acme' usage
expect_err 'reload ACME' usage
expect_err 'reload acme/x' usage
expect_err "reload $long65" usage
expect_err "reload $long64" no_chain
expect_err 'reload nochain' no_chain
expect_err 'reload acme\r' bad_request
expect_err 'reload acme\tx' bad_request
expect_err 'r\303\251load acme' bad_request
expect_err 'breaker' usage
expect_err 'breaker reset' usage
expect_err 'breaker open acme' usage
expect_err 'breaker reset all' no_chain
expect_err 'breaker reset nochain' no_chain
expect_err 'accept' usage
expect_err 'accept all' no_chain
expect_err 'accept acme' nothing_to_accept
printf 'PCCTL1 id=nul uid=0 user=root pid=1\nreload acme\000' | "$B/itest/ctlraw" "$CTL" >"$W/r"
assert_contains "$W/r" "ERR bad_request"
printf 'PCCTL1 id=crlf uid=0 user=root pid=1\r\nreload acme' | "$B/itest/ctlraw" "$CTL" >"$W/r"
assert_contains "$W/r" "ERR bad_request"
printf '' | "$B/itest/ctlraw" "$CTL" >"$W/r"
assert_contains "$W/r" "ERR bad_request"
{ printf 'PCCTL1 id=big uid=0 user=root pid=1\nreload '; head -c 70000 /dev/zero | tr '\0' a; } |
    "$B/itest/ctlraw" "$CTL" >"$W/r"
assert_contains "$W/r" "ERR bad_request"
# A closed breaker: OK, nothing changed.
raw 'breaker reset acme'
assert_contains "$W/r" "already closed"
sleep 0.3
assert_eq "$v0" "$(versions)" "versions after refused requests"
pc audit >"$W/audit"
[ -s "$W/audit" ] && fail "audit records for requests that changed nothing: $(cat "$W/audit")"

# Several clients at once: each its own answer, each reload once.
for c in acme beta; do
    pc reload "$c" >"$W/par.$c" 2>&1 &
    echo $! >>"$W/pids"
    echo $! >>"$W/par"
done
for i in 1 2 3 4 5 6; do
    pc status >"$W/par.s$i" 2>&1 &
    echo $! >>"$W/pids"
    echo $! >>"$W/par"
done
while read -r p; do wait "$p" || fail "a parallel control client failed"; done <"$W/par"
assert_contains "$W/par.acme" "reload of acme queued"
assert_contains "$W/par.beta" "reload of beta queued"
for i in 1 2 3 4 5 6; do assert_contains "$W/par.s$i" "daemon state="; done
assert_eq 2 "$(pc audit | wc -l)" "audit records after two reloads"

# Clients that send and vanish before the answer: the daemon answers the next.
for i in 1 2 3 4 5; do
    "$B/itest/ctlraw" "$CTL" < <(printf 'PCCTL1 id=gone%s uid=0 user=root pid=1\nstatus' "$i") >/dev/null &
    g=$!
    kill -9 "$g" 2>/dev/null || true
    wait "$g" 2>/dev/null || true
done
assert_exit 0 pc status
assert_contains "$W/last.out" "daemon state=ready"

# 400 chains: status and metrics answer whole.
stop_daemon
sql "INSERT INTO chains(slug) SELECT 'chain_' || lpad(g::text, 4, '0') FROM generate_series(1, 398) g;
     INSERT INTO chain_prices(chain_slug, item_id, price_cents)
       SELECT 'chain_' || lpad(g::text, 4, '0'), 'i1', 10 FROM generate_series(1, 398) g;"
start_daemon
wait_until '[ "$(pc chains --tsv | wc -l)" -ge 400 ]' 30
assert_exit 0 pc status
assert_eq 400 "$(grep -c '^chain=' "$W/last.out")" "status lines for 400 chains"
assert_contains "$W/last.out" "chains=400"
assert_exit 0 pc metrics
assert_eq 400 "$(grep -c '^pricecache_circuit_breaker_state{chain=' "$W/last.out")" "breaker gauges via control"
stop_daemon
