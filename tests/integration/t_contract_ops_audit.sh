# Contract (audit log, edges): verify on an empty log; 1,000 records (one
# per reload of 1,000 chains) listed and verified, with the time it takes;
# the log survives a daemon restart and the chain continues; tampering with
# the first, a middle and the last record, deleting the first or a middle
# one: each named, exit 8.  Deleting or resealing the LAST record cannot be
# seen inside the cache (nothing follows it): verify passes, but its last
# hash no longer matches the daemon's journal, which is what README says
# to compare it with.
CTL="ipc://$W/run/control.ipc"
printf '[bus]\ncontrol = %s\n[http]\nlisten =\n[load]\nconcurrency = 2\n' "$CTL" >>"$CONF"
N=1000
sql "INSERT INTO chains(slug) SELECT 'c' || g FROM generate_series(1, $N) g;
     INSERT INTO chain_prices(chain_slug, item_id, price_cents) SELECT 'c' || g, 'i', 1 FROM generate_series(1, $N) g;"
start_daemon
assert_exit 0 pc audit
[ -s "$W/last.out" ] && fail "a new cache's audit log is not empty: $(head -3 "$W/last.out")"
assert_exit 0 pc audit verify
assert_contains "$W/last.out" "audit: 0 records, hash chain intact"

# One reload per chain through the library (the CLI's control path).
t0=$(date +%s%N)
for g in $(seq 1 $N); do pc reload "c$g" >/dev/null 2>>"$W/reload.err" || fail "reload c$g: $(tail -1 "$W/reload.err")"; done
echo "$N reload requests: $((($(date +%s%N) - t0) / 1000000)) ms"
assert_eq $N "$(pc audit | wc -l)" "audit records"
# Exactly once each, in order, with who/what/when/result.
assert_eq "$(seq 1 $N | tr '\n' ' ')" "$(pc audit | cut -f1 | tr '\n' ' ')" "sequence numbers"
assert_eq $N "$(pc audit | grep -cE '^[0-9]+	[0-9a-f]{16}	ts=20[0-9-]+T[0-9:]+Z uid=[0-9]+ user=[^ ]+ pid=[0-9]+ \(stated\) req=[0-9a-f]+ action=reload chain=c[0-9]+ result=queued$')" "well-formed records"
assert_eq $N "$(pc audit | sed -n 's/.* chain=\(c[0-9]*\) .*/\1/p' | sort -u | wc -l)" "one record per chain"
t0=$(date +%s%N)
assert_exit 0 pc audit verify
ms=$((($(date +%s%N) - t0) / 1000000))
echo "audit verify of $N records: $ms ms"
assert_le 2000 "$ms" "audit verify of $N records (ms)"
assert_contains "$W/last.out" "audit: $N records, hash chain intact"

# A restart: the log stays and grows from its last record.
stop_daemon
start_daemon
assert_exit 0 pc reload c1
assert_exit 0 pc audit verify
assert_contains "$W/last.out" "audit: $((N + 1)) records, hash chain intact"
last=$(sed -n 's/.*last hash //p' "$W/last.out")
assert_contains "$W/daemon.log" "audit record $((N + 1)) committed, sha256 $last"
stop_daemon
M=$((N + 1))

copy() { rm -rf "$W/c2"; cp -a "$CACHE" "$W/c2"; }
verify2() { "$B/pricecache" -d "$W/c2" audit verify; }
bad() { # what seq [args for audit_tamper]
    local what=$1 seq=$2
    shift 2
    echo "tamper: $seq $*"
    copy
    if [ "$1" = --reseal ]; then # altered, then its own hash recomputed
        "$B/itest/audit_tamper" "$W/c2" "$seq" "$X" || fail "audit_tamper $seq"
    fi
    "$B/itest/audit_tamper" "$W/c2" "$seq" "$@" || fail "audit_tamper $seq $*"
    assert_exit 8 verify2
    assert_contains "$W/last.err" "record #$what is bad"
}
X="ts=2026-01-01T00:00:00Z uid=0 user=x pid=1 (stated) req=1 action=reload chain=c1 result=queued"
bad 1 1 "$X"
bad 500 500 "$X"
bad $M $M "$X"
bad 2 1 --reseal
bad 501 500 --reseal
bad 2 1 --delete          # the first one due is #1: "#2 ... a record is missing"
assert_contains "$W/last.err" "a record is missing"
bad 501 500 --delete
assert_contains "$W/last.err" "a record is missing"
# The last record: invisible inside the cache, visible against the journal.
for how in --delete --reseal; do
    copy
    [ "$how" = --reseal ] && "$B/itest/audit_tamper" "$W/c2" $M "$X"
    "$B/itest/audit_tamper" "$W/c2" $M $how
    assert_exit 0 verify2
    l2=$(sed -n 's/.*last hash //p' "$W/last.out")
    assert_ne "$last" "$l2" "last hash after $how of the last record"
done
