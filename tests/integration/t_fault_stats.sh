# Fault matrix, statistics files: a reader's file truncated, resized and
# filled with random bytes, junk planted (random bytes, a symlink, a FIFO,
# a 1 TiB sparse file) while readers read and /metrics is scraped every
# 50 ms: every reader and the daemon survive, every answer is right, the
# sums seen by the scrapes never go back and come out exact, each bad file
# is rejected (pricecache_stats_files_rejected_total) and logged.
# Part 1: one user (the file's owner; as root also "root did it").
# Part 2: two users, as root: a member cannot truncate, remove or replace
# another member's file; she can only spoil her own, which is rejected.
seed_basic
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[http]\nlisten = 127.0.0.1:%s\n' "$PORT" >>"$CONF"
M="http://127.0.0.1:$PORT/metrics"
metric() { curl -sf "$M" | sed -n "s/^pricecache_$1 //p"; }
lookups_total() { curl -sf "$M" | awk '/^pricecache_lookups_total\{/ {s += $2} END {print s + 0}'; }
stat_of() { pc stats | sed -n "s/^$1: //p"; }
now_ms() { date +%s%3N; }
STOP="$W/stop"
RUN="" # setpriv ... -- in part 2: it execs, so $! is the reader's pid
TWO=0
if [ "$(id -u)" -eq 0 ]; then
    TWO=1
    GRP=pctestsvc
    getent group $GRP >/dev/null || groupadd -r $GRP
    for u in pctestop pctestmb; do
        id $u >/dev/null 2>&1 || useradd -r -M -d /nonexistent -s /usr/sbin/nologin $u
        usermod -a -G $GRP $u
    done
    GID=$(getent group $GRP | cut -d: -f3)
    chmod 755 "$W"
    umask 022
    setpriv --regid="$GID" --clear-groups -- "$B/pricecached" -c "$CONF" 2>>"$W/daemon.log" &
    DAEMON_PID=$!
    echo "$DAEMON_PID" >>"$W/pids"
    pc wait -t 20000 >/dev/null || fail "daemon not ready"
else
    start_daemon
fi
wait_until 'curl -sf "$M" >/dev/null' 10
[ "$(stat -c %a "$CACHE/stats")" = 1770 ] || fail "stats directory mode $(stat -c %a "$CACHE/stats")"
REJ_LOG="$W/rejections"
: >"$REJ_LOG"

# spoil FILE HOW: (its writer stopped by the caller, so that it cannot
# repair the file at its next write) spoil the file as $RUN says, wait
# for /metrics to count the rejection and note how long that took.
spoil() {
    local file=$1 how=$2 r0 t0
    r0=$(metric stats_files_rejected_total)
    t0=$(now_ms)
    case $how in
    truncate) $RUN truncate -s 0 "$file" ;;
    resize)   $RUN truncate -s 1M "$file" ;;
    random)   $RUN sh -c 'head -c 192 /dev/urandom >"$1"' sh "$file" ;;
    esac
    wait_until "[ \"\$(metric stats_files_rejected_total)\" -gt $r0 ]" 10
    echo "$how $(( $(now_ms) - t0 )) ms" >>"$REJ_LOG"
}

# readers AS N: start N readers as user AS (their pids in $W/readers.AS).
readers() {
    local as=$1 n=$2 _
    for _ in $(seq 1 "$n"); do
        $RUN "$B/itest/statsload" "$CACHE" acme item1 101 "$STOP" >>"$W/load.$as.out" 2>>"$W/load.err" &
        echo $! >>"$W/pids"
        echo $! >>"$W/readers.$as"
    done
}

# scraper: /metrics every 50 ms until STOP; a failed scrape is written as -1.
scraper() {
    while [ ! -e "$STOP" ]; do
        curl -sf "$M" | awk '/^pricecache_lookups_total\{/ {s += $2} END {print (NR ? s + 0 : -1)}' >>"$W/scrapes.$1"
        sleep 0.05
    done
}

# finish PART: stop readers and scraper; every reader exited 0 with no bad
# answer; scrapes all answered, never went back; the sums are exact.
finish() {
    local part=$1 base=$2 p bad=0 sum
    # Readers read on while /metrics is scraped, half a second at least.
    wait_until "[ \"\$(wc -l <\"\$W/scrapes.$part\")\" -ge 10 ]" 20
    touch "$STOP"
    for p in $(cat "$W"/readers.* 2>/dev/null); do wait "$p" || bad=$((bad + 1)); done
    wait "$SCRAPER" || true
    assert_eq 0 "$bad" "readers that died or answered wrong ($part): $(head -5 "$W/load.err")"
    grep -q -- '-1' "$W/scrapes.$part" && fail "a scrape failed ($part)"
    awk 'NR > 1 && $1 < prev {print "went back: " prev " -> " $1; exit 1} {prev = $1}' "$W/scrapes.$part" \
        || fail "lookups_total went backwards ($part)"
    sum=$(cat "$W"/load.*.out | sed -n 's/^lookups=\([0-9]*\) bad=0$/\1/p' | awk '{s += $1} END {print s + 0}')
    [ "$sum" -gt 0 ] || fail "no lookups counted by the readers ($part)"
    kill -0 "$DAEMON_PID" || fail "the daemon died ($part)"
    wait_until "[ \"\$(lookups_total)\" = $((base + sum)) ]" 10
    assert_eq $((base + sum)) "$(stat_of lookups)" "pricecache stats lookups ($part)"
    rm -f "$STOP" "$W"/readers.* "$W"/load.*.out
}

# ---- part 1: the owner (or root) spoils a live reader's file -----------
base=$(lookups_total)
readers self 3
wait_until '[ "$(stat_of processes)" -ge 3 ]' 20
scraper 1 &
SCRAPER=$!
echo "$SCRAPER" >>"$W/pids"
V=$(head -1 "$W/readers.self")
VF=$(ls "$CACHE"/stats/"$V"-*.st)
kill -STOP "$V"
for how in truncate resize random; do spoil "$VF" $how; done
kill -CONT "$V"
grep -q "statistics file $(basename "$VF"): size 0, expected" "$W/daemon.log" || fail "truncation not logged"
grep -q "statistics file $(basename "$VF"): size 1048576" "$W/daemon.log" || fail "resize not logged"
# Junk nobody holds: rejected, logged, removed.
r0=$(metric stats_files_rejected_total)
head -c 4096 /dev/urandom >"$CACHE/stats/1-junk.st"
ln -s /etc/passwd "$CACHE/stats/2-link.st"
mkfifo "$CACHE/stats/3-fifo.st"
truncate -s 1T "$CACHE/stats/4-huge.st"
wait_until "[ \"\$(metric stats_files_rejected_total)\" -ge $((r0 + 4)) ]" 10
wait_until '[ -z "$(ls "$CACHE"/stats/[1-4]-*.st 2>/dev/null)" ]' 10
assert_contains "$W/daemon.log" "statistics file 2-link.st: cannot open: a symbolic link"
assert_contains "$W/daemon.log" "statistics file 3-fifo.st: not a regular file"
finish 1 "$base"

# ---- part 2: a member against another member ---------------------------
if [ $TWO -eq 0 ]; then
    skip_part "two users: needs root to create users and switch to them"
else
    as_user() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"; }
    base=$(lookups_total)
    RUN="setpriv --reuid=pctestop --regid=pctestop --init-groups --"
    readers pctestop 2
    RUN="setpriv --reuid=pctestmb --regid=pctestmb --init-groups --"
    readers pctestmb 1
    wait_until '[ "$(stat_of processes)" -ge 3 ]' 20
    scraper 2 &
    SCRAPER=$!
    echo "$SCRAPER" >>"$W/pids"
    V=$(head -1 "$W/readers.pctestop")
    VF=$(ls "$CACHE"/stats/"$V"-*.st)
    assert_eq "pctestop 644" "$(stat -c '%U %a' "$VF")" "a reader's file"
    A=$(head -1 "$W/readers.pctestmb")
    AF=$(ls "$CACHE"/stats/"$A"-*.st)
    # Another member's file: not truncated, removed, replaced or written.
    for try in "truncate -s 0 $VF" "rm -f $VF" "mv -f $AF $VF" "ln -sf /etc/passwd $VF" \
               "cp /dev/null $VF"; do
        if as_user pctestmb $try 2>>"$W/denied.err"; then fail "pctestmb could: $try"; fi
    done
    [ "$(stat -c %s "$VF")" = "$(stat -c %s "$AF")" ] || fail "the victim's file changed size"
    [ -e "$AF" ] || fail "the attacker's own file vanished"
    # Her own file, while her reader is stopped (she may stop her process).
    kill -STOP "$A" # as she could: it is her process
    for how in truncate resize random; do spoil "$AF" $how; done
    kill -CONT "$A"
    r0=$(metric stats_files_rejected_total)
    as_user pctestmb sh -c 'head -c 4096 /dev/urandom >"$1/5-junk.st"; truncate -s 1T "$1/6-huge.st"' sh "$CACHE/stats"
    wait_until "[ \"\$(metric stats_files_rejected_total)\" -ge $((r0 + 2)) ]" 10
    finish 2 "$base"
fi
kill -0 "$DAEMON_PID" || fail "the daemon died"
cp "$REJ_LOG" "$W/out.rejections" 2>/dev/null || true
cat "$REJ_LOG"
stop_daemon
