# Contract (lookup statistics): exact counts from many processes at once
# (300, more than the 256 slots of the old shared area): every lookup is
# still counted; garbage in the statistics directory never breaks lookups
# nor the sums; a garbage or truncated totals file makes `pricecache stats`
# say what is wrong, and the daemon starts the totals again on its next
# start; the old stats.shm is removed.
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
# Garbage files in the directory: lookups work, the sums ignore them.
stop_daemon
h=$(stat_of hits)
head -c 4096 /dev/urandom >"$CACHE/stats/1-garbage.st"
head -c 192 /dev/urandom >"$CACHE/stats/2-garbage.st"
assert_exit 0 pc get acme "" item1
assert_exit 0 pc stats
assert_eq $((h + 1)) "$(stat_of hits)" "hits beside garbage files"
# Garbage or truncated totals: stats says the directory is unreadable.
cp "$CACHE/stats/totals" "$W/totals.good"
head -c 4096 /dev/urandom >"$CACHE/stats/totals"
assert_exit 0 pc get acme "" item1
assert_exit 5 pc stats
assert_contains "$W/last.err" "stats/ is not a statistics directory"
truncate -s 0 "$CACHE/stats/totals"
assert_exit 0 pc get acme "" item1
assert_exit 5 pc stats
# The old mapped area of earlier versions is removed at start.
head -c 4096 /dev/urandom >"$CACHE/stats.shm"
# The daemon starts bad totals again (logged; pc wait may answer from the
# last run's record first); what the process files hold is still counted
# and counting goes on.
start_daemon
wait_until 'pc stats' 10
[ ! -e "$CACHE/stats.shm" ] || fail "stats.shm left in place"
assert_contains "$W/daemon.log" "totals start again from zero"
h=$(stat_of hits)
pc get acme "" item1 >/dev/null
assert_eq $((h + 1)) "$(stat_of hits)" "hits counted after the restart"
stop_daemon
