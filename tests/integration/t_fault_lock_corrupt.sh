# Fault: a member of the service group writes bytes into lock.mdb's header
# (0660, as LMDB requires) while readers read: (1) a reader count far
# beyond the table (LMDB would walk past its mapping at the next new slot,
# mdb_reader_check, listing or write), (2) a transaction id beyond
# data.mdb's last commit (readers and the writer take their snapshot from
# it), (3) random bytes over the magic, format, id and count.  Nobody
# crashes: a reader thread with its slot reads on (1), a new thread or a
# fresh process gets PC_EFORMAT with a sentence naming lock.mdb (`audit`
# too: a damaged lock file is not a tampered log); the daemon refuses to
# publish on it (the last snapshot stays), says lock=corrupt in control
# status, pricecache_lock_file_corrupt 1, /readyz 503 and the log, and
# publishes again once the bytes are back.  Readers see only whole
# versions throughout; nothing published is lost.
sql "INSERT INTO chains VALUES ('gen');
     INSERT INTO chain_prices(chain_slug,item_id,price_cents) SELECT 'gen','g'||g,1 FROM generate_series(0,999) g"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CTL="ipc://$W/run/control.ipc"
cat >>"$CONF" <<C
[http]
listen = 127.0.0.1:$PORT
[bus]
control = $CTL
[breaker]
reset_s = 3
C
metric() { curl -s -m 5 "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
code() { curl -s -m 5 -o "$W/body" -w '%{http_code}' "http://127.0.0.1:$PORT$1"; }
version() { info gen version; }
# while lock.mdb is refused, `pricecache status` cannot read the control
# address from the cache: it is given
status() { pc status --control "$CTL" "$@"; }
ctl_version() { status | sed -n 's/^chain=gen version=\([0-9]*\) .*/\1/p'; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
poke() { python3 "$ROOT/tests/integration/lockpoke.py" "$CACHE" "$@"; }
alive() { kill -0 "$DAEMON_PID" 2>/dev/null || fail "the daemon died: $(tail -5 "$W/daemon.log")"; }
# publish generation g (one full reload of every row)
set_gen() { sql "UPDATE chain_prices SET price_cents = $1"; }

start_daemon
wait_until '[ "$(code /readyz)" = 200 ]' 10
poke check >"$W/layout.out" || skip "lock.mdb is not LMDB 0.9's x86-64 layout here: $(cat "$W/layout.out")"
poke save "$W/header.saved"
assert_eq 0 "$(metric pricecache_lock_file_corrupt)" "lock_file_corrupt at start"

# Readers all along: two processes, each reading from a long-lived thread
# and from a new thread every 10 ms.
for i in 1 2; do
    "$B/itest/lockreader" "$CACHE" gen 1000 300 "$W/stop" >"$W/reader$i.out" 2>"$W/reader$i.err" &
    eval "R$i=\$!"
    echo $! >>"$W/pids"
done
wait_until 'grep -q ready "$W/reader1.out" && grep -q ready "$W/reader2.out"' 10

# After the corruption: check that the daemon refuses and says so, restore,
# check that it publishes again.  $1: what the sentence says; $2: the
# version before.
refused_then_restored() {
    local want=$1 v0=$2 t0
    t0=$(date +%s%N)
    wait_until '[ "$(metric pricecache_lock_file_corrupt)" = 1 ]' 10
    echo "  watcher: lock_file_corrupt 1 after $(ms_since "$t0") ms"
    GEN=$((GEN + 1))
    set_gen "$GEN"
    wait_until "grep -q 'publish failed, the previous snapshot stays.*$want' \"\$W/daemon.log\"" 15
    alive
    status >"$W/status.out" 2>"$W/status.err" || fail "status: $(cat "$W/status.err")"
    head -1 "$W/status.out" | grep -q 'lock=corrupt' || fail "status: $(head -1 "$W/status.out")"
    head -1 "$W/status.out" | grep -q "note=\"lock.mdb: $want" || fail "status note: $(head -1 "$W/status.out")"
    [ "$(code /readyz)" = 503 ] || fail "/readyz $(cat "$W/body")"
    grep -q "lock.mdb: $want" "$W/body" || fail "/readyz body: $(cat "$W/body")"
    assert_eq "$v0" "$(ctl_version)" "version while lock.mdb is corrupt (nothing published)"
    # the plain `status` names the refusal when it cannot read the cache
    assert_exit 5 pc status
    assert_contains "$W/last.err" "lock.mdb: "
    # the bytes back: the refused load retries and lands
    poke restore "$W/header.saved"
    t0=$(date +%s%N)
    wait_until "[ \"\$(version)\" -gt $v0 ]" 30
    echo "  published again $(ms_since "$t0") ms after the bytes were back"
    wait_until '[ "$(metric pricecache_lock_file_corrupt)" = 0 ] && [ "$(code /readyz)" = 200 ]' 10
    grep -q 'lock.mdb checks out again' "$W/daemon.log" || fail "no recovery line in the log"
    assert_exit 0 pc get gen '' g1
    alive
}
GEN=1

# ---- (1) a reader count beyond the table --------------------------------
for n in 4294967295 2147483647 100000; do
    echo "reader count $n:"
    v0=$(version)
    poke readers "$n"
    # a fresh process: refused at open, the file and the values named
    assert_exit 5 pc get gen '' g1
    assert_contains "$W/last.err" "lock.mdb: reader count $n beyond the table of"
    # a damaged lock file is named as such, never as a tampered audit log
    assert_exit 5 pc audit verify
    assert_contains "$W/last.err" "lock.mdb: reader count $n beyond the table of"
    refused_then_restored "reader count $n beyond the table" "$v0"
done
# ---- (2) a transaction id beyond data.mdb's last commit ----------------
for id in 18446744073709551615 1073741824; do
    echo "transaction id $id:"
    v0=$(version)
    poke txnid "$id"
    assert_exit 5 pc get gen '' g1
    assert_contains "$W/last.err" "lock.mdb: transaction id $id beyond data.mdb's last commit"
    assert_exit 5 pc audit
    assert_contains "$W/last.err" "lock.mdb: transaction id $id beyond data.mdb's last commit"
    refused_then_restored "last transaction id $id" "$v0"
done
# ---- (3) random bytes over the header words, the id and the count -------
for seed in 1 2 3; do
    poke random "$seed"
    poke show >"$W/random.show"
    echo "random bytes (seed $seed): $(cat "$W/random.show")"
    # whatever the bytes, a fresh process gets an answer or a refusal
    rc=0; pc get gen '' g1 >/dev/null 2>"$W/random.err" || rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 5 ] || fail "pc get after random bytes: exit $rc $(cat "$W/random.err")"
    [ "$rc" = 0 ] || grep -q 'lock.mdb' "$W/random.err" || fail "refusal without the file named: $(cat "$W/random.err")"
    wait_until '[ "$(metric pricecache_lock_file_corrupt)" = 1 ]' 10
    alive
    poke restore "$W/header.saved"
    wait_until '[ "$(metric pricecache_lock_file_corrupt)" = 0 ]' 10
done
GEN=$((GEN + 1))
v0=$(version)
set_gen "$GEN"
wait_until "[ \"\$(version)\" -gt $v0 ]" 20

# The readers: no crash, no mixed version, refusals named and counted.
touch "$W/stop"
rc=0; wait "$R1" || rc=$?
[ $rc = 0 ] || fail "reader 1 exit $rc: $(cat "$W/reader1.out") $(tail -3 "$W/reader1.err")"
rc=0; wait "$R2" || rc=$?
[ $rc = 0 ] || fail "reader 2 exit $rc: $(cat "$W/reader2.out") $(tail -3 "$W/reader2.err")"
cat "$W/reader1.out"
assert_contains "$W/reader1.out" "detail: lock.mdb: reader count  beyond the table of"
assert_contains "$W/reader1.out" "detail: lock.mdb: transaction id  beyond data.mdb's last commit"
# nothing already published is lost, and the last generation is whole
"$B/itest/consistency" "$CACHE" gen 1000 check >"$W/check.out" || fail "check: $(cat "$W/check.out")"
assert_contains "$W/check.out" "generation=$GEN"
if grep -q 'AddressSanitizer\|runtime error' "$W/daemon.log" "$W"/reader*.err; then
    fail "sanitizer report: $(grep -h 'AddressSanitizer\|runtime error' "$W/daemon.log" "$W"/reader*.err | head -3)"
fi
stop_daemon
