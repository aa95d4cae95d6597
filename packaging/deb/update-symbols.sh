#!/bin/sh
# update-symbols.sh [LIB] - rewrite packaging/deb/debian/libpricecache1.symbols
# from what LIB (default build/libpricecache.so.1) exports. A symbol already
# listed keeps its version; a new one gets the version in VERSION, the first
# release that has it. Run it after adding a pc_ call, and commit the result:
# `make check-packages` fails while the file and the library disagree.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIB=${1:-$ROOT/build/libpricecache.so.1}
SYMS=$ROOT/packaging/deb/debian/libpricecache1.symbols
VERSION=$(cat "$ROOT/VERSION")
[ -f "$LIB" ] || { echo "update-symbols: no $LIB (run make first)" >&2; exit 1; }

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
    echo "libpricecache.so.1 libpricecache1 #MINVER#"
    echo "* Build-Depends-Package: libpricecache-dev"
    # "pc_get@@PRICECACHE_1" -> "pc_get@PRICECACHE_1"; the version node
    # itself shows as "PRICECACHE_1".
    nm -D --defined-only "$LIB" | awk '{ print $3 }' | sed -e 's/@@/@/' \
        -e 's/^\(PRICECACHE_[0-9.]*\)$/\1@\1/' | LC_ALL=C sort | while read -r sym; do
        old=$(awk -v s="$sym" '$1 == s { print $2 }' "$SYMS")
        echo " $sym ${old:-$VERSION}"
    done
} >"$tmp"
if cmp -s "$tmp" "$SYMS"; then
    echo "update-symbols: $SYMS is up to date"
else
    diff -u "$SYMS" "$tmp" || true
    cp "$tmp" "$SYMS"
fi
