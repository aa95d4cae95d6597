# A subscriber that is deliberately too slow (tests/integration/slowsub.c):
# 300 chains make 300 heartbeats a second, rounds of updates 300
# publishes each, and the subscriber sleeps after every event, so
# the bus drops events for it.  It must be told to resync, it must never
# read from LMDB a version older than an event announced, and once the
# writer stops and it has caught up, every version it believes must be
# LMDB's.
N=300
sql "INSERT INTO chains SELECT 'c' || g FROM generate_series(1, $N) g;
     INSERT INTO chain_prices(chain_slug, item_id, price_cents)
       SELECT 'c' || g, 'i1', 1 FROM generate_series(1, $N) g"
EV="ipc://$W/events.ipc"
printf '[bus]\nevents = %s\n[load]\nconcurrency = 4\n' "$EV" >>"$CONF"
start_daemon
"$B/itest/slowsub" "$CACHE" "$EV" 5000 20 "$N" >"$W/slow.out" 2>"$W/slow.err" &
S=$!
echo "$S" >>"$W/pids"
sleep 1 # let the subscription reach the publisher
for g in 2 3 4 5 6; do
    sql "UPDATE chain_prices SET price_cents = $g"
    sleep 0.2
done
# The writer is done once the daemon has published the last round
# everywhere: no new publish in the log for a second.
published() { grep -c 'published version\|changed keys as version' "$W/daemon.log" || true; }
last=-1
for i in $(seq 1 60); do
    now=$(published)
    [ "$now" = "$last" ] && break
    last=$now
    sleep 1
done
assert_eq 6 "$(pc get c1 "" i1 | cut -f1)" "c1 price"
assert_eq 6 "$(pc get c$N "" i1 | cut -f1)" "c$N price"
kill -USR1 "$S"
rc=0; wait "$S" || rc=$?
echo "slowsub: $(cat "$W/slow.out")"
[ $rc = 0 ] || fail "slowsub exited $rc: $(head -5 "$W/slow.err") $(cat "$W/slow.out")"
resyncs=$(sed -n 's/.*resyncs=\([0-9]*\).*/\1/p' "$W/slow.out")
chains=$(sed -n 's/.*chains=\([0-9]*\).*/\1/p' "$W/slow.out")
assert_ge 1 "$resyncs" "resyncs seen by the slow subscriber"
assert_eq "$N" "$chains" "chains followed"
stop_daemon
