# Faults: the daemon hangs.  (1) Another process holds LMDB's writer mutex
# in lock.mdb (any member of the group can): the publish waits; after
# [health] stall_s the daemon says "store blocked for N s" in /readyz,
# control status (which still answers: the main loop never waits for the
# store), /metrics (last_progress_seconds) and the console's alarms; the
# systemd watchdog pings stop, so systemd would restart it; changing
# requests are refused at once; readers keep reading whole versions; when
# the holder goes the publish lands.  (2) The daemon is SIGSTOPped: the
# console says "not responding" within three heartbeats, control requests
# time out with a clear message.
. "$ROOT/tests/lib/top.sh"
sql "INSERT INTO chains VALUES ('gen');
     INSERT INTO chain_prices(chain_slug,item_id,price_cents) SELECT 'gen','g'||g,1 FROM generate_series(0,999) g;
     INSERT INTO store_prices(chain_slug,store_id,item_id,price_cents) SELECT 'gen','s1','g'||g,1 FROM generate_series(0,999,3) g"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
EV="ipc://$W/run/events.ipc"
CTL="ipc://$W/run/control.ipc"
cat >>"$CONF" <<C
[http]
listen = 127.0.0.1:$PORT
[bus]
events = $EV
control = $CTL
[health]
stall_s = 2
C
metric() { curl -s -m 5 "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
code() { curl -s -m 5 -o "$W/body" -w '%{http_code}' "http://127.0.0.1:$PORT$1"; }
version() { info gen version; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

SOCK="$W/notify.sock"
MSGS="$W/notify.msgs"
/usr/bin/python3 -u - "$SOCK" >"$MSGS" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    m = s.recv(4096).decode()
    print("%.3f %s" % (time.monotonic(), m.strip().replace("\n", "|")), flush=True)
PY
echo $! >>"$W/pids"
wait_until "test -S '$SOCK'" 5
export NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=1000000
start_daemon
unset NOTIFY_SOCKET WATCHDOG_USEC
wait_until '[ "$(code /readyz)" = 200 ]' 10
pings() { grep -c 'WATCHDOG=1' "$MSGS" || true; }

# ---- (1) the writer mutex held by another process ---------------------
"$B/itest/consistency" "$CACHE" gen 1000 watch 1 1 12 >"$W/watch.out" 2>"$W/watch.err" &
CW=$!
lmdb_hold write hold 7
HP=$HOLD_PID
v0=$(version)
sql "BEGIN; UPDATE chain_prices SET price_cents = 2; UPDATE store_prices SET price_cents = 2; COMMIT"
T0=$(date +%s%N)
wait_until '[ "$(code /readyz)" = 503 ] && grep -q "store blocked for" "$W/body"' 15
echo "store blocked reported by /readyz $(ms_since "$T0") ms after the publish began (stall_s = 2)"
# control status answers, and says it
t1=$(date +%s%N)
pc status -t 3000 >"$W/status.out" 2>"$W/status.err" || fail "status while the store is blocked: $(cat "$W/status.err")"
echo "status answered in $(ms_since "$t1") ms"
head -1 "$W/status.out" | grep -q 'store=blocked' || fail "status: $(head -1 "$W/status.out")"
head -1 "$W/status.out" | grep -q 'note="store blocked for [0-9]* s"' || fail "status note: $(head -1 "$W/status.out")"
prog=$(metric pricecache_last_progress_seconds)
awk -v p="$prog" 'BEGIN { exit !(p >= 2) }' || fail "last_progress_seconds $prog < 2"
# a changing request is refused at once, nothing waits
t1=$(date +%s%N)
assert_exit 6 pc reload -t 3000 gen
assert_contains "$W/last.err" "store blocked"
echo "reload refused in $(ms_since "$t1") ms"
# the watchdog is not fed while the store is blocked
n0=$(pings)
"$B/pricecache-top" -D "$CACHE" -b -n 3 -d 1 >"$W/batch1.out" 2>&1 || fail "batch: $(cat "$W/batch1.out")"
assert_eq "$n0" "$(pings)" "WATCHDOG=1 pings while the store is blocked"
grep -q '^alarms: store_blocked' "$W/batch1.out" || fail "console alarms: $(grep alarms "$W/batch1.out")"
# readers keep reading the last version
assert_exit 0 pc get gen '' g1
assert_eq "$v0" "$(version)" "version while blocked"
# the holder goes: the publish lands, all is well again
exec 7>&-
wait "$HP" || fail "lmdbhold: $(cat "$W/hold.err")"
wait_until "[ \"\$(version)\" -gt $v0 ]" 15
wait_until '[ "$(code /readyz)" = 200 ]' 10
n1=$(pings)
wait_until "[ \"\$(pings)\" -gt $n1 ]" 5
rc=0; wait "$CW" || rc=$?
[ $rc = 0 ] || fail "readers saw a mixed version: $(cat "$W/watch.out") $(head -3 "$W/watch.err")"
"$B/itest/consistency" "$CACHE" gen 1000 check >"$W/check.out" || fail "check: $(cat "$W/check.out")"
assert_contains "$W/check.out" "generation=2"

# ---- (2) the daemon SIGSTOPped ------------------------------------------
top_start -d 1 -E "$EV"
wait_screen ' READY ' 15
kill -STOP "$DAEMON_PID"
T0=$(date +%s%N)
wait_screen 'NOT RESPONDING' 10
echo "console said NOT RESPONDING $(ms_since "$T0") ms after SIGSTOP"
screen | grep -q 'no heartbeat for' || fail "message line: $(screen_line 3)"
t1=$(date +%s%N)
assert_exit 4 pc status -t 1500
assert_contains "$W/last.err" "no answer within 1500 ms"
echo "status timed out after $(ms_since "$t1") ms: $(cat "$W/last.err")"
assert_exit 0 pc get gen '' g1
kill -CONT "$DAEMON_PID"
wait_screen ' READY ' 10
top_stop
stop_daemon
