#!/bin/sh
# build.sh - `make deb`: build the Debian packages from a staging copy of the
# tree (build/deb/pricecache-VERSION, with packaging/deb/debian as debian/)
# with dpkg-buildpackage -us -uc -b; the .debs land in build/deb/.
# Works as root and as a user (Rules-Requires-Root: no).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=$(cat "$ROOT/VERSION")
REVISION=${DEB_REVISION:-1}
OUT=$ROOT/build/deb
SRC=$OUT/pricecache-$VERSION

rm -rf "$OUT"
mkdir -p "$SRC"
(cd "$ROOT" && tar --exclude=./build --exclude=./.git -cf - .) | (cd "$SRC" && tar -xf -)
cp -R "$ROOT/packaging/deb/debian" "$SRC/debian"

# The console's package exists once the console has sources.
if ls "$ROOT"/tui/*.c >/dev/null 2>&1; then
    cat "$ROOT/packaging/deb/pricecache-top.control" >>"$SRC/debian/control"
fi

# The version comes from the VERSION file only; the entry's date is the last
# commit's, so that two builds of one commit are alike.
maintainer=$(sed -n 's/^Maintainer: //p' "$SRC/debian/control")
date=$(git -C "$ROOT" log -1 --format=%aD 2>/dev/null || date -R)
cat >"$SRC/debian/changelog" <<CHANGELOG
pricecache ($VERSION-$REVISION) unstable; urgency=medium

  * Built from the pricecache source tree, version $VERSION.

 -- $maintainer  $date
CHANGELOG

cd "$SRC"
dpkg-buildpackage -us -uc -b
cd "$OUT"
ls -1 ./*.deb
