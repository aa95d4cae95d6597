# Contract (lookup statistics): exact counts from many processes at once,
# more of them than the area has slots (256): every lookup is still counted;
# a garbage or truncated stats.shm never breaks lookups, `pricecache stats`
# says what is wrong, and the daemon makes a new area on its next start.
seed_basic
stat_of() { pc stats | sed -n "s/^$1: //p"; }
start_daemon
base=$(stat_of hits)
# 300 live processes hold their slots together, then look up 7 times each.
N=300
GO="$W/go"
rm -f "$GO"
for i in $(seq 1 $N); do
    "$B/itest/statsproc" "$CACHE" acme item1 7 "$GO" 2>>"$W/procs.err" &
    echo $! >>"$W/pids"
    echo $! >>"$W/procs"
done
wait_until '[ "$(stat_of processes)" -ge 256 ]' 40
touch "$GO"
bad=0
while read -r p; do wait "$p" || bad=$((bad + 1)); done <"$W/procs"
assert_eq 0 "$bad" "client processes that failed"
assert_eq $((base + N * 7)) "$(stat_of hits)" "hits from $N processes (256 slots)"
assert_eq 0 "$(stat_of processes)" "processes after they all exited"
# Garbage in stats.shm: lookups work, stats says the area is unreadable.
stop_daemon
head -c 4096 /dev/urandom >"$CACHE/stats.shm"
assert_exit 0 pc get acme "" item1
assert_exit 5 pc stats
assert_contains "$W/last.err" "stats.shm is not a statistics area"
# Right size, bad header.
truncate -s 0 "$CACHE/stats.shm"
assert_exit 0 pc get acme "" item1
assert_exit 5 pc stats
# The daemon replaces a bad area on start (pc wait may answer from the
# last run's record first); counting resumes from zero.
start_daemon
wait_until 'pc stats' 10
assert_eq 0 "$(stat_of hits)" "hits in the new area"
pc get acme "" item1 >/dev/null
assert_eq 1 "$(stat_of hits)" "hits counted in the new area"
stop_daemon
