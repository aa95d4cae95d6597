#!/usr/bin/env bash
# bench.sh CACHE CHAIN KEYS DUMP REDIS_SOCK - the Python binding beside C over
# the same lookups (interface: BINDINGS.md; tests/bench/run.sh calls it).
#   env PC_BENCH_BIN  build dir holding bench/bench_keyfile and the library
#       ROUNDS        rounds (default 5): C and Python alternate, medians
# Prints: python get vs C pc_get (ratio), the same with the GIL released
# around pc_get (a second build of the extension, -DPCPY_GET_NOGIL), 4
# threads with and without the GIL held, a dict of the same data, redis-py
# MGET on the local Redis, and a 30-line basket vs C.
set -eu
[ $# -eq 5 ] || { echo "usage: bench.sh CACHE CHAIN KEYS DUMP REDIS_SOCK" >&2; exit 2; }
CACHE=$1 CHAIN=$2 KEYS=$3 DUMP=$4 SOCK=$5
BIN=${PC_BENCH_BIN:?set PC_BENCH_BIN to the build directory}
ROUNDS=${ROUNDS:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
[ -x "$BIN/bench/bench_keyfile" ] || { echo "bench.sh: no $BIN/bench/bench_keyfile" >&2; exit 1; }

# The library staged under /tmp as a package lays it out, the binding built
# twice against it (GIL held / released around pc_get) from a copy.
T=$(mktemp -d /tmp/pcbench-py.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/stage/usr/include" "$T/stage/usr/lib/pkgconfig"
cp "$ROOT/include/pricecache.h" "$T/stage/usr/include/"
cp "$BIN/libpricecache.so.1" "$T/stage/usr/lib/"
ln -s libpricecache.so.1 "$T/stage/usr/lib/libpricecache.so"
sed -e 's|@PREFIX@|/usr|g' -e 's|@LIBDIR@|/usr/lib|g' -e 's|@INCDIR@|/usr/include|g' \
    -e "s|@VERSION@|$(cat "$ROOT/VERSION")|g" "$ROOT/packaging/common/pricecache.pc.in" \
    >"$T/stage/usr/lib/pkgconfig/pricecache.pc"
build() { # target-dir [CFLAGS]
    rm -rf "$T/src"
    cp -R "$HERE" "$T/src"
    rm -rf "$T/src/build" "$T/src/src/pricecache.egg-info"
    (cd "$T/src" && CFLAGS="${2:-}" PKG_CONFIG_PATH="$T/stage/usr/lib/pkgconfig" \
        PKG_CONFIG_SYSROOT_DIR="$T/stage" "$PY" -m pip install -q --no-build-isolation \
        --no-index --no-cache-dir --target "$1" . >"$T/pip.log" 2>&1) ||
        { cat "$T/pip.log" >&2; exit 1; }
}
build "$T/gil"
build "$T/nogil" -DPCPY_GET_NOGIL
export LD_LIBRARY_PATH="$T/stage/usr/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
pyb() { PYTHONPATH="$1" "$PY" "$HERE/bench.py" "$CACHE" "$CHAIN" "$KEYS" "$DUMP" "$SOCK" "$2"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$T/r_c_get"; : >"$T/r_c_basket"
# Figures in $T/r_*: one line per round.
for what in get nogil get4 nogil4 dict redis basket; do : >"$T/r_$what"; done
for _ in $(seq "$ROUNDS"); do
    "$BIN/bench/bench_keyfile" "$CACHE" "$CHAIN" "$KEYS" 1 >"$T/c.out"
    sed -n 's/^C pc_get: \([0-9.]*\) ns.*/\1/p' "$T/c.out" >>"$T/r_c_get"
    sed -n 's/^C basket30: \([0-9.]*\) ns.*/\1/p' "$T/c.out" >>"$T/r_c_basket"
    pyb "$T/gil" get >>"$T/r_get"
    pyb "$T/nogil" get >>"$T/r_nogil"
    pyb "$T/gil" get4 >>"$T/r_get4"
    pyb "$T/nogil" get4 >>"$T/r_nogil4"
    pyb "$T/gil" dict >>"$T/r_dict"
    if [ -S "$SOCK" ]; then pyb "$T/gil" redis >>"$T/r_redis"; fi
    pyb "$T/gil" basket >>"$T/r_basket"
done
m() { median <"$T/r_$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
C=$(m c_get) G=$(m get) N=$(m nogil) G4=$(m get4) N4=$(m nogil4) D=$(m dict) CB=$(m c_basket) PB=$(m basket)
echo "python get: $G ns/call; C pc_get: $C ns/call; ratio $(ratio "$G" "$C")"
echo "python get, GIL released around pc_get: $N ns/call; ratio $(ratio "$N" "$C") (vs GIL held: $(ratio "$N" "$G"))"
echo "python get, 4 threads: GIL held $G4 ns/call, GIL released $N4 ns/call (wall time / all calls)"
echo "python dict (same data, exception then base): $D ns/call; python get / dict: $(ratio "$G" "$D")"
if [ -s "$T/r_redis" ]; then
    R=$(m redis)
    echo "python redis-py MGET (unix socket): $R ns/call; redis / python get: $(ratio "$R" "$G")"
else
    echo "python redis-py MGET: skipped (no Redis socket at $SOCK)"
fi
echo "python basket30: $PB ns/basket; C basket30: $CB ns/basket; ratio $(ratio "$PB" "$CB")"
echo "(medians of $ROUNDS rounds, C and Python alternating; $(wc -l <"$KEYS") lookups)"
