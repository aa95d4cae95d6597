#!/usr/bin/env bash
# demo.sh BUILD_DIR - a throwaway PostgreSQL with sample data, the daemon, and
# prices read through the CLI; with a terminal it keeps running until Ctrl-C.
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/lib/pg.sh"
W=$(mktemp -d /tmp/pricecache-demo.XXXXXX)
chmod 755 "$W"
DPID=""
LPID=""
cleanup() {
    # KILL: the loop is a subshell that inherited the TERM trap below.
    if [ -n "$LPID" ]; then kill -KILL "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null || true; fi
    [ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    pg_cleanup
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM PIPE

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting a throwaway PostgreSQL 15"
pg_start
pg_createdb prices
cat >"$W/pricecached.conf" <<C
[database]
dsn = $(pg_dsn prices)
[cache]
path = $W/cache
[load]
refresh_s = 60
[bus]
events = ipc://$W/run/events.ipc
control = ipc://$W/run/control.ipc
C
mkdir -m 0750 "$W/run"
"$B/pricecached" -c "$W/pricecached.conf" --migrate 2>/dev/null
say "sample data: 3 chains, 5,000 items each, 500 store exceptions over 20 stores"
psql_q prices "INSERT INTO chains VALUES ('acme'), ('bigmart'), ('corner-shop')"
seed=1
for c in acme bigmart corner-shop; do
    "$B/bench/gendata" base "$c" 5000 $seed | psql -X -q -d prices -c "COPY chain_prices (chain_slug, item_id, price_cents, updated_at) FROM STDIN"
    "$B/bench/gendata" store "$c" 5000 500 20 $seed | psql -X -q -d prices -c "COPY store_prices (chain_slug, store_id, item_id, price_cents, updated_at) FROM STDIN"
    seed=$((seed + 1))
done

say "starting pricecached (log: $W/pricecached.log)"
"$B/pricecached" -c "$W/pricecached.conf" 2>"$W/pricecached.log" &
DPID=$!
"$B/pricecache" -d "$W/cache" wait -t 30000
export PRICECACHE_PATH="$W/cache"

say "pricecache chains"
"$B/pricecache" chains

"$B/pricecache" dump acme >"$W/acme.tsv"
item=$(awk -F'\t' '$1 != "" {print $2; exit}' "$W/acme.tsv")
store=$(awk -F'\t' '$1 != "" {print $1; exit}' "$W/acme.tsv")
say "pricecache get acme $store $item    (the store's exception)"
"$B/pricecache" get acme "$store" "$item"
say "pricecache get acme \"\" $item    (the chain's base price)"
"$B/pricecache" get acme "" "$item"
say "pricecache many acme $store    (five items, one version)"
{ awk -F'\t' '$1 == "" && n++ < 4 {print $2}' "$W/acme.tsv"; echo no-such-item; } \
    | "$B/pricecache" many acme "$store" || true

say "a price change in PostgreSQL reaches the cache through NOTIFY"
psql_q prices "UPDATE chain_prices SET price_cents = 12345 WHERE chain_slug = 'acme' AND item_id = '$item'"
for i in $(seq 1 100); do
    [ "$("$B/pricecache" get acme "" "$item" | cut -f1)" = 12345 ] && break
    sleep 0.01
done
"$B/pricecache" get acme "" "$item"

# Some lookup traffic for the console's lookups/s, hit ratio and sparkline,
# and a price change every 5 s for its event pane.
awk -F'\t' '$1 == "" && n++ < 200 {print $2}' "$W/acme.tsv" >"$W/items"
echo no-such-item >>"$W/items"
(
    n=0
    while sleep 0.2; do
        "$B/pricecache" many acme "$store" <"$W/items" >/dev/null 2>&1 || true
        n=$((n + 1))
        if [ $((n % 25)) = 0 ]; then
            psql_q prices "UPDATE chain_prices SET price_cents = price_cents + 1
                           WHERE chain_slug = 'bigmart' AND item_id =
                             (SELECT min(item_id) FROM chain_prices WHERE chain_slug = 'bigmart')" \
                >/dev/null 2>&1 || true
        fi
    done
) &
LPID=$!

if [ -t 0 ] && [ -t 1 ]; then
    say "the console: pricecache-top (r reload, ? help, q quits and ends the demo)"
    "$B/pricecache-top" -D "$W/cache" || true
else
    say "pricecache-top -b -n 2    (the console's batch mode; in a terminal the demo ends in the console)"
    "$B/pricecache-top" -D "$W/cache" -b -n 2
fi
