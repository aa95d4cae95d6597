# Fault matrix: the disk fills during a publish.  The cache directory is a
# small tmpfs of its own; a filler file leaves a few pages free, and a
# change that needs hundreds of new pages cannot be written: LMDB aborts the
# transaction, the last snapshot stays and is served whole, no breaker
# opens (the data in PostgreSQL is healthy; the breaker guards the
# database), and every side an operator looks at says "disk full" (the
# metric pricecache_disk_full, /readyz, control status, the chain's error,
# the console's alarm, the log).  When the filler goes, the daemon sees the
# space back and publishes by itself; every side clears.  Readers check
# whole versions all along; nothing published before is lost.
[ "$(id -u)" = 0 ] || skip "mounting a small tmpfs for the cache directory needs root"
command -v fallocate >/dev/null 2>&1 || skip "fallocate (util-linux) not installed"
. "$ROOT/tests/lib/dbfault.sh"

mkdir -p "$CACHE"
mount -t tmpfs -o size=8m,mode=0755 pricecache-diskfull "$CACHE" 2>"$W/mount.err" \
    || skip "cannot mount a tmpfs here: $(head -1 "$W/mount.err")"
# Every process using the mount ends before it goes, whatever happens (the
# harness's own trap would only kill them).
df_cleanup() {
    local p i=0
    for p in $(cat "$W/pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    while mountpoint -q "$CACHE" && ! umount "$CACHE" 2>/dev/null && [ $i -lt 100 ]; do
        i=$((i + 1))
        sleep 0.05
    done
    if mountpoint -q "$CACHE"; then umount -l "$CACHE" 2>/dev/null || true; fi
}
trap 'rc=$?; df_cleanup; exit $rc' EXIT

# Fewer failures open a breaker than retries will run: that it stays
# closed then says something.
cat >>"$CONF" <<C
[breaker]
failures = 2
C
dbf_start
# The chain gen grows by NEW items whose ids are long: the publish needs
# far more pages than the free list and the few free bytes can give.
NEW=4000
free_bytes() { df --output=avail -B1 "$CACHE" | tail -1 | tr -d ' '; }
failed_loads() { dbf_metric 'pricecache_loads_total{chain="gen",result="failed"}'; }
# The console's alarms in the last of 3 batch frames a second apart (the
# first may come before any heartbeat).
alarms() { "$B/pricecache-top" -D "$CACHE" -b -n 3 -d 1 2>/dev/null | sed -n 's/^alarms: //p' | tail -1; }
echo "cache on tmpfs: $(free_bytes) bytes free, data.mdb $(stat -c %s "$CACHE/data.mdb") bytes"
assert_eq 0 "$(dbf_metric pricecache_disk_full)" "disk_full at start"
assert_eq 1 "$(dbf_gen)" "generation before the fault"

# Fill: leave 4 pages.
avail=$(free_bytes)
fallocate -l $((avail - 16384)) "$CACHE/filler" || fail "fallocate: the filler cannot be made"
echo "filled: $(free_bytes) bytes free"
assert_le 16384 "$(free_bytes)" "bytes free after the filler"

t0=$(now_ms)
sql "BEGIN;
     UPDATE chain_prices SET price_cents = 2 WHERE chain_slug = 'gen';
     INSERT INTO chain_prices(chain_slug, item_id, price_cents)
       SELECT 'gen', 'x' || lpad(g::text, 120, '0'), 7 FROM generate_series(1, $NEW) g;
     COMMIT"
# Poll every side until each says disk full; each time is from the commit
# of the change (an upper bound by one poll).
m="" s="" r="" c="" e="" l=""
deadline=$(($(now_ms) + 30000))
while :; do
    t=$(now_ms)
    [ -n "$m" ] || { [ "$(dbf_metric pricecache_disk_full)" = 1 ] && m=$(($(now_ms) - t0)); }
    [ -n "$s" ] || { dbf_status | grep -q ' disk=full .*note="disk full: No space left on device"' && s=$(($(now_ms) - t0)); }
    [ -n "$r" ] || { [ "$(dbf_readyz)" = 503 ] && grep -q '"reason":"disk full: publishes fail, the last snapshots are served"' "$W/readyz.body" && r=$(($(now_ms) - t0)); }
    [ -n "$c" ] || { pc status 2>/dev/null | grep '^chain=gen ' | grep -q 'error="disk full: No space left on device (' && c=$(($(now_ms) - t0)); }
    [ -n "$e" ] || { info gen last_error | grep -q '^disk full: No space left on device' && e=$(($(now_ms) - t0)); }
    [ -n "$l" ] || { grep -q 'disk full: No space left on device (chain gen: publish failed' "$W/daemon.log" && l=$(($(now_ms) - t0)); }
    [ -n "$m" ] && [ -n "$s" ] && [ -n "$r" ] && [ -n "$c" ] && [ -n "$e" ] && [ -n "$l" ] && break
    [ "$t" -lt "$deadline" ] || fail "not every side says disk full after 30 s (metric '$m' status '$s' readyz '$r' chain '$c' info '$e' log '$l'): $(dbf_status); $(tail -3 "$W/daemon.log")"
    sleep 0.05
done
echo "disk full: detected in $l ms (log); /metrics $m ms, status $s ms, /readyz $r ms, chain error $c ms, pricecache info $e ms"
ca=$(now_ms)
alarms >"$W/alarms.full"
grep -q '^disk_full ' "$W/alarms.full" || fail "console alarms: $(cat "$W/alarms.full")"
echo "disk full: console alarm seen $(($(now_ms) - t0)) ms after the change (a batch run of 3 frames, started at $((ca - t0)) ms)"
dbf_status >"$W/status.full"
assert_contains "$W/status.full" "daemon state=degraded"
assert_contains "$W/status.full" " map=ok disk=full "
# The daemon record is written in the cache itself: told, not asserted (a
# small write may still fit in pages LMDB reuses; the heartbeat's alarm is
# what does not depend on it).
echo "daemon record while the disk is full: state=$(dbf_probe state)"
# Retries fail (more than breaker.failures = 2 of them); the breaker stays
# closed: a full disk is not the database's fault.
wait_until '[ "$(failed_loads)" -ge 3 ]' 30
assert_eq 0 "$(dbf_metric 'pricecache_circuit_breaker_state{chain="gen"}')" "breaker of gen"
assert_eq 1 "$(dbf_metric pricecache_disk_full)" "disk_full while the filler stays"
# The retries kept to their backoff: no sample of the space taken before
# the disk filled made them run at once.
assert_eq 0 "$(grep -c 'retrying the failed publishes now' "$W/daemon.log" || true)" "retries at once while the disk is full"
assert_le 6 "$(failed_loads)" "failed loads in the first seconds (backoff 0.5, 1, 2, 4 s)"
# The last snapshot, whole: generation 1, its 200 items and no new one.
assert_eq 1 "$(dbf_gen)" "generation served while the disk is full"
assert_eq "$DBF_N" "$(info gen base_rows)" "rows of gen while the disk is full"
assert_exit 1 pc get gen '' "x$(printf '%0120d' 1)"
# Other chains are served, by a process that opens the cache now.
assert_eq 103 "$(pc get acme '' item3 | cut -f1)" "acme while the disk is full"

# The space comes back: the daemon publishes by itself.
t1=$(now_ms)
rm -f "$CACHE/filler"
m="" s="" r="" g="" n="" deadline=$(($(now_ms) + 30000))
while :; do
    t=$(now_ms)
    [ -n "$g" ] || { [ "$(dbf_gen)" = 2 ] && g=$(($(now_ms) - t1)); }
    [ -n "$m" ] || { [ "$(dbf_metric pricecache_disk_full)" = 0 ] && m=$(($(now_ms) - t1)); }
    [ -n "$s" ] || { dbf_status | grep -q ' map=ok disk=ok store=ok ' && s=$(($(now_ms) - t1)); }
    [ -n "$r" ] || { [ "$(dbf_readyz)" = 200 ] && r=$(($(now_ms) - t1)); }
    [ -n "$n" ] || { [ "$(info gen base_rows)" = $((DBF_N + NEW)) ] && n=$(($(now_ms) - t1)); }
    [ -n "$m" ] && [ -n "$s" ] && [ -n "$r" ] && [ -n "$g" ] && [ -n "$n" ] && break
    [ "$t" -lt "$deadline" ] || fail "not recovered after 30 s (metric '$m' status '$s' readyz '$r' generation '$g' rows '$n'): $(dbf_status); $(tail -3 "$W/daemon.log")"
    sleep 0.05
done
echo "disk full: recovered in $g ms after the space came back (the change served); /metrics $m ms, status $s ms, /readyz $r ms"
grep -q 'disk no longer full after' "$W/daemon.log" || fail "recovery not logged"
assert_eq 7 "$(pc get gen '' "x$(printf '%0120d' "$NEW")" | cut -f1)" "a new item after the recovery"
[ -z "$(info gen last_error | grep -v '^-$')" ] || fail "gen's last error stays: $(info gen last_error)"
# Each look takes 3 s: a deadline, not wait_until's count of polls.
deadline=$(($(now_ms) + 20000))
until [ "$(alarms)" = none ]; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "console alarms after the recovery: $(alarms)"
done
dbf_finish 2
stop_daemon
# The environment opens and holds every chain after a clean stop.
assert_eq 2 "$(dbf_gen)" "generation after the stop"
