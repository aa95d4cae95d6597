#!/usr/bin/env bash
# bench.sh CACHE CHAIN KEYS DUMP REDIS_SOCK - the Node.js binding beside C,
# same keys, same run (interface: BINDINGS.md).  PC_BENCH_BIN is the build
# directory holding bench/bench_keyfile (C pc_get and a 30-item basket).
# Rounds alternate C and Node (ROUNDS, default 5); medians are printed:
#   node get: N ns/call; C pc_get: M ns/call; ratio R
#   node Map (in-process, same data): N ns/call; node get / Map: R
#   node ioredis MGET (local Redis, unix socket): N ns/call; Redis / node get: R
#   node 30-item basket: N ns/call; C basket: M ns/call; ratio R
# The addon is built under /tmp against the staged library (npm's cache
# must hold package-lock.json's packages: scripts/deps.sh fills it).
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: bench.sh CACHE CHAIN KEYS DUMP REDIS_SOCK" >&2; exit 2; }
CACHE=$1 CHAIN=$2 KEYS=$3 DUMP=$4 REDIS_SOCK=$5
ROUNDS=${ROUNDS:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=$(cd "${PC_BENCH_BIN:?PC_BENCH_BIN: the build directory}" && pwd)
KEYFILE="$B/bench/bench_keyfile"
[ -x "$KEYFILE" ] || { echo "bench.sh: $KEYFILE missing (make all)" >&2; exit 1; }

W=$(mktemp -d /tmp/pcnodebench.XXXXXX)
trap 'rm -rf "$W"' EXIT
trap 'exit 130' HUP INT TERM PIPE
. "$ROOT/tests/lib/scenario.sh"   # stage_lib
fail() { echo "bench.sh: $*" >&2; exit 1; }
stage_lib "$W/stage"
export PKG_CONFIG_PATH="$W/stage/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$W/stage"
export LD_LIBRARY_PATH="$W/stage/usr/lib"
export npm_config_nodedir
npm_config_nodedir=${npm_config_nodedir:-$(node -p 'require("path").resolve(process.execPath, "../..")')}
mkdir "$W/node"
(cd "$HERE" && cp -r package.json package-lock.json binding.gyp src lib bench "$W/node/")
(cd "$W/node" && npm ci --offline --no-audit --no-fund) >"$W/npm.log" 2>&1 ||
    fail "npm ci --offline failed (scripts/deps.sh fills npm's cache): $(tail -20 "$W/npm.log")"

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The first number before "ns" on the line of bench_keyfile's output that matches $1.
c_figure() { awk -v pat="$1" '$0 ~ pat && match($0, /[0-9.]+ *ns/) { s = substr($0, RSTART, RLENGTH); sub(/ *ns/, "", s); print s; exit }'; }

: >"$W/c_get"; : >"$W/c_basket"; : >"$W/n_get"; : >"$W/n_basket"
for i in $(seq 1 "$ROUNDS"); do
    "$KEYFILE" "$CACHE" "$CHAIN" "$KEYS" 1 >"$W/c.out"
    c_figure 'pc_get' <"$W/c.out" >>"$W/c_get"
    c_figure 'basket' <"$W/c.out" >>"$W/c_basket"
    node "$W/node/bench/bench.js" "$CACHE" "$CHAIN" "$KEYS" "$DUMP" "$REDIS_SOCK" get basket >"$W/n.out"
    sed -n 's/^get //p' "$W/n.out" >>"$W/n_get"
    sed -n 's/^basket //p' "$W/n.out" >>"$W/n_basket"
done
[ -s "$W/c_get" ] || fail "no pc_get figure in bench_keyfile's output: $(cat "$W/c.out")"
node "$W/node/bench/bench.js" "$CACHE" "$CHAIN" "$KEYS" "$DUMP" "$REDIS_SOCK" map redis >"$W/other.out"

cg=$(median <"$W/c_get"); ng=$(median <"$W/n_get")
nb=$(median <"$W/n_basket"); nm=$(sed -n 's/^map //p' "$W/other.out"); nr=$(sed -n 's/^redis //p' "$W/other.out")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "node get: $ng ns/call; C pc_get: $cg ns/call; ratio $(ratio "$ng" "$cg")"
echo "node Map (in-process, same data): $nm ns/call; node get / Map: $(ratio "$ng" "$nm")"
echo "node ioredis MGET (local Redis, unix socket): $nr ns/call; Redis / node get: $(ratio "$nr" "$ng")"
if [ -s "$W/c_basket" ]; then
    cb=$(median <"$W/c_basket")
    echo "node 30-item basket: $nb ns/call; C basket: $cb ns/call; ratio $(ratio "$nb" "$cb")"
else
    echo "node 30-item basket: $nb ns/call; C basket: no figure in bench_keyfile's output"
fi
