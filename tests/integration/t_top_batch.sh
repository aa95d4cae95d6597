# pricecache-top -b: plain-text frames a script can parse, with exact figures,
# the lookup rate and hit ratio from the shared statistics, and the events
# between frames; bad arguments and a missing terminal are refused.
seed_basic
printf '[bus]\nevents = ipc://%s/events.ipc\n' "$W" >>"$CONF"
start_daemon
top() { "$B/pricecache-top" -D "$CACHE" "$@"; }

assert_exit 2 top -d 0
assert_contains "$W/last.err" "-d 0: a number of seconds"
assert_exit 2 top -b -n x
assert_exit 2 top -s nosuch -b
assert_contains "$W/last.err" "no such column"
assert_exit 2 top </dev/null              # stdout is a file here, not a terminal
assert_contains "$W/last.err" "use -b"

top -b -n 4 -d 1 -s version- >"$W/frames.out" 2>"$W/frames.err" &
TP=$!
echo $TP >>"$W/pids"
wait_until 'grep -q "^pricecache-top frame 1 at " "$W/frames.out"' 10
sleep 0.3 # the subscription must reach the publisher (PUB drops for absent subscribers)
# 40,000 lookups, one in four a miss, between two frames; a price change.
for i in $(seq 1 10000); do printf 'item1\nitem2\nitem3\nnosuch\n'; done | pc many acme s1 >/dev/null || true
sql "UPDATE chain_prices SET price_cents = 9 WHERE chain_slug = 'beta' AND item_id = 'b2'"
wait $TP || fail "batch mode exited $?: $(cat "$W/frames.err")"
[ ! -s "$W/frames.err" ] || fail "stderr: $(cat "$W/frames.err")"

assert_eq 4 "$(grep -c '^pricecache-top frame [0-9]* at ' "$W/frames.out")" "frames"
# The last frame, parsed.
awk '/^pricecache-top frame 4 /{on=1} on' "$W/frames.out" >"$W/last.frame"
field() { sed -n "s/^$1: //p" "$W/last.frame"; }
assert_eq ready "$(field daemon)" "daemon state"
assert_eq ok "$(field db)" "db state"
assert_eq 2 "$(field chains)" "chains"
[ "$(field map_size_bytes)" = $((64 << 20)) ] || fail "map size: $(field map_size_bytes)"
echo "$(field readers)" | grep -qE '^[0-9]+/[0-9]+$' || fail "readers: $(field readers)"
# Table: title row, then one row per chain, sorted by version descending.
awk 'NF==0{n++} n==1 && NF>0' "$W/last.frame" >"$W/table"
head -1 "$W/table" | grep -qE '^CHAIN +VERSION +BASE_ROWS +STORE_ROWS +AGE_S +LOAD_MS +LOADS_OK +LOADS_FAILED +REJECTED +BREAKER$' \
    || fail "title row: $(head -1 "$W/table")"
row() { awk -v c="$1" '$1 == c' "$W/table"; }
assert_eq "acme $(info acme version) 100 10" "$(row acme | awk '{print $1, $2, $3, $4}')" "acme row"
assert_eq "beta $(info beta version) 10 0" "$(row beta | awk '{print $1, $2, $3, $4}')" "beta row"
assert_eq "1 0 0 closed" "$(row acme | awk '{print $7, $8, $9, $10}')" "acme loads and breaker"
[ "$(sed -n 2p "$W/table" | awk '{print $1}')" = beta ] || fail "not sorted by version, descending: $(cat "$W/table")"
# The lookups: a rate in some frame, and the ratio of that interval.
awk '/^lookups_per_s: [0-9]/ {print $2}' "$W/frames.out" | sort -n | tail -1 >"$W/rate"
awk '{exit !($1 >= 5000)}' "$W/rate" || fail "lookup rate: $(grep -E 'lookups|hit' "$W/frames.out")"
grep -qE '^hit_ratio: 0\.7[45]' "$W/frames.out" || fail "hit ratio: $(grep -E 'lookups|hit' "$W/frames.out")"
# The price change arrived as an event in one of the frames.
grep -qE '^event: [0-9:]{8} publish +beta v[0-9]+ ' "$W/frames.out" || fail "no event: $(grep event "$W/frames.out")"
stop_daemon
