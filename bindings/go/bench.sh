#!/usr/bin/env bash
# bench.sh CACHE CHAIN KEYS DUMP REDIS_SOCK - the Go binding beside C, over
# the same lookups, in one run (the bindings section of tests/bench/run.sh).
#
#   PC_BENCH_BIN  the build directory (bench/bench_keyfile, libpricecache.so.1)
#   ROUNDS        rounds (default 5): each runs the C baseline and the Go
#                 program once, alternating which goes first; medians shown
#
# KEYS (STORE<TAB>ITEM) and DUMP (STORE<TAB>ITEM<TAB>CENTS) come from
# `bench_keyfile --write-keys/--write-dump`. Redis at REDIS_SOCK holds the
# chain as "chain:store:item" / "chain::item" keys (loaded from DUMP when
# it does not). Go and the library are staged under /tmp (cgo and
# pkg-config do not survive a space in the clone's path). Offline: redigo
# comes from Debian's golang-github-gomodule-redigo-dev.
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: bench.sh CACHE CHAIN KEYS DUMP REDIS_SOCK" >&2; exit 2; }
CACHE=$1 CHAIN=$2 KEYS=$3 DUMP=$4 SOCK=$5
B=${PC_BENCH_BIN:?PC_BENCH_BIN must name the build directory}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-5}
REDIGO=/usr/share/gocode/src/github.com/gomodule/redigo
command -v go >/dev/null || { echo "bench.sh: go not found (golang-go)" >&2; exit 1; }
[ -d "$REDIGO/redis" ] || { echo "bench.sh: $REDIGO missing (golang-github-gomodule-redigo-dev)" >&2; exit 1; }

T=$(mktemp -d /tmp/pcgobench.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 130' HUP INT TERM PIPE
# The library as installed, the binding, its benchmark and redigo's redis
# package side by side, as bench/go.mod's replace paths expect.
mkdir -p "$T/stage/usr/include" "$T/stage/usr/lib/pkgconfig" "$T/redigo"
cp "$ROOT/include/pricecache.h" "$T/stage/usr/include/"
cp "$B/libpricecache.so.1" "$T/stage/usr/lib/"
ln -s libpricecache.so.1 "$T/stage/usr/lib/libpricecache.so"
sed -e 's|@PREFIX@|/usr|g' -e 's|@LIBDIR@|/usr/lib|g' -e 's|@INCDIR@|/usr/include|g' \
    -e "s|@VERSION@|$(cat "$ROOT/VERSION")|g" "$ROOT/packaging/common/pricecache.pc.in" \
    >"$T/stage/usr/lib/pkgconfig/pricecache.pc"
cp -R "$ROOT/bindings/go" "$T/pricecache"
mv "$T/pricecache/bench" "$T/bench"
cp -R "$REDIGO/redis" "$T/redigo/"
rm -f "$T/redigo/redis/"*_test.go
printf 'module github.com/gomodule/redigo\n\ngo 1.14\n' >"$T/redigo/go.mod"
export PKG_CONFIG_PATH="$T/stage/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$T/stage" \
    LD_LIBRARY_PATH="$T/stage/usr/lib" GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on \
    GOCACHE="$T/gocache" GOPATH="$T/gopath" CGO_ENABLED=1
(cd "$T/bench" && go build -o "$T/pcbench" .)

field() { # LABEL FILE: the number after "LABEL: "
    sed -n "s/^$1: \([0-9.]*\) .*/\1/p" "$2"
}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
for r in $(seq 1 "$ROUNDS"); do
    c() { "$B/bench/bench_keyfile" "$CACHE" "$CHAIN" "$KEYS" 1 >>"$T/c.out"; }
    g() { "$T/pcbench" "$CACHE" "$CHAIN" "$KEYS" "$DUMP" "$SOCK" 1 >>"$T/go.out"; }
    if [ $((r % 2)) = 1 ]; then c; g; else g; c; fi
done
cget=$(field "C pc_get" "$T/c.out" | median)
cbasket=$(field "C basket30" "$T/c.out" | median)
gget=$(field "go get" "$T/go.out" | median)
graw=$(field "go raw cgo pc_get" "$T/go.out" | median)
gmap=$(field "go map" "$T/go.out" | median)
gredis=$(field "go redis" "$T/go.out" | median)
gbasket=$(field "go basket30" "$T/go.out" | median)
n=$(wc -l <"$KEYS")
echo "Go $(go env GOVERSION), $n lookups of chain $CHAIN (bench_keys.h), median of $ROUNDS rounds, C and Go alternating"
awk -v g="$gget" -v c="$cget" -v w="$graw" -v m="$gmap" -v r="$gredis" -v gb="$gbasket" -v cb="$cbasket" 'BEGIN {
    printf "go get: %.0f ns/call; C pc_get: %.0f ns/call; ratio %.2f (target <= 1.3: %s)\n", g, c, g / c, g / c <= 1.3 ? "met" : "NOT met"
    printf "  of which cgo itself: a bare cgo call of pc_get %.0f ns/call (ratio %.2f); the binding adds %.0f ns\n", w, w / c, g - w
    printf "go map (map[struct{store, item}]int64, exception then base): %.0f ns/call; go get / map: %.1fx\n", m, g / m
    printf "go redis (redigo, one MGET per lookup): %.0f ns/call; redis / go get: %.1fx\n", r, r / g
    printf "go basket30: %.0f ns/basket; C basket30: %.0f ns/basket; ratio %.2f\n", gb, cb, gb / cb
}'
