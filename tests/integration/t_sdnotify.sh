# systemd Type=notify: the daemon tells NOTIFY_SOCKET that it warms up
# (STATUS=), that it is ready once every chain has loaded (READY=1, not
# before), that it lives (WATCHDOG=1 at least every WATCHDOG_USEC/2, even
# when idle for long) and that it stops (STOPPING=1).
for c in n1 n2 n3; do
    sql "INSERT INTO chains VALUES ('$c'); INSERT INTO chain_prices(chain_slug,item_id,price_cents) VALUES ('$c','x',1)"
done
# Slow loads, one at a time: warm-up takes at least 1.2 s, long enough to
# see a READY=1 that came too early.
cat >>"$CONF" <<'C'
[load]
concurrency = 1
refresh_s = 0
base_query = SELECT item_id, price_cents, updated_at FROM chain_prices
   WHERE chain_slug = $1 AND pg_sleep(0.4) IS NOT NULL
C

SOCK="$W/notify.sock"
MSGS="$W/notify.msgs"
# One line per datagram: seconds since the listener started, then the
# message with its newlines turned into '|'.
/usr/bin/python3 -u - "$SOCK" >"$MSGS" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
t0 = time.monotonic()
while True:
    m = s.recv(4096).decode()
    print("%.3f %s" % (time.monotonic() - t0, m.strip().replace("\n", "|")), flush=True)
PY
echo $! >>"$W/pids"
wait_until "test -S '$SOCK'" 5

export NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=1000000
t0=$(date +%s%N)
start_daemon_nowait
unset NOTIFY_SOCKET WATCHDOG_USEC
wait_until "grep -q 'READY=1' '$MSGS'" 20
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
# Ready means ready for clients too.
assert_exit 0 pc wait -t 0
for c in n1 n2 n3; do assert_exit 0 pc get $c '' x; done
assert_ge 1200 "$dt" "ms until READY=1 (three loads of 0.4 s, one at a time)"
grep -q 'warm-up done: 3 chains' "$W/daemon.log" || fail "no warm-up line in the log"

# Order: warming-up status lines, then READY=1 with or after the ready status.
first_warm=$(grep -n 'STATUS=warming up: ' "$MSGS" | head -1 | cut -d: -f1)
ready_at=$(grep -n 'READY=1' "$MSGS" | head -1 | cut -d: -f1)
[ -n "$first_warm" ] || fail "no 'warming up' STATUS before READY=1: $(cat "$MSGS")"
assert_ge $((first_warm + 1)) "$ready_at" "line of READY=1 after the first warming-up status"
if head -n "$ready_at" "$MSGS" | grep -q 'STATUS=ready'; then :; else
    wait_until "grep -q 'STATUS=ready: 3 chains, 0 breakers open' '$MSGS'" 5
fi
assert_contains "$MSGS" "STATUS=ready: 3 chains, 0 breakers open"
assert_contains "$MSGS" "STATUS=warming up: 0 of 3 chains loaded"
assert_eq 1 "$(grep -c 'READY=1' "$MSGS")" "READY=1 messages"

# Idle (no refresh, no bus): the watchdog still pings, at least every 0.5 s.
n0=$(grep -c 'WATCHDOG=1' "$MSGS" || true)
sleep 2.2
n1=$(grep -c 'WATCHDOG=1' "$MSGS" || true)
echo "watchdog pings in 2.2 s of idling: $((n1 - n0))"
assert_ge 4 $((n1 - n0)) "WATCHDOG=1 pings in 2.2 s with WATCHDOG_USEC=1000000"
# ...and not more often than every quarter of the watchdog period.
assert_le 10 $((n1 - n0)) "WATCHDOG=1 pings in 2.2 s (at most one per 0.25 s)"
gap=$(grep 'WATCHDOG=1' "$MSGS" | awk 'NR > 1 && $1 - p > m { m = $1 - p } { p = $1 } END { printf "%d", m * 1000 }')
echo "longest gap between pings: $gap ms"
assert_le 600 "$gap" "ms between two WATCHDOG=1"

assert_not_contains "$MSGS" "STOPPING=1"
stop_daemon
assert_contains "$MSGS" "STOPPING=1"
assert_contains "$MSGS" "STATUS=stopping (SIGTERM)"

# A restart with snapshots on disk is ready at once, before any load; with
# no WATCHDOG_USEC there are no pings.
: >"$MSGS.2"
n_before=$(wc -l <"$MSGS")
export NOTIFY_SOCKET="$SOCK"
t0=$(date +%s%N)
start_daemon_nowait
unset NOTIFY_SOCKET
wait_until "tail -n +$((n_before + 1)) '$MSGS' | grep -q 'READY=1'" 10
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "restart: READY=1 after $dt ms (three loads of 0.4 s would take 1200)"
assert_le 1100 "$dt" "ms until READY=1 with the cache on disk"
stop_daemon
tail -n +$((n_before + 1)) "$MSGS" >"$MSGS.2"
assert_not_contains "$MSGS.2" "WATCHDOG=1"
assert_contains "$MSGS.2" "STOPPING=1"
