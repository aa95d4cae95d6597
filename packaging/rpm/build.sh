#!/bin/sh
# build.sh - `make rpm`: build the RPMs from packaging/rpm/pricecache.spec and
# a tarball of the tree, in build/rpm (rpmbuild's _topdir); the .rpm files
# land in build/rpm/RPMS/<arch>/. On Debian, rpm knows no Debian package, so
# build dependencies are not checked (--nodeps): scripts/deps.sh installs them.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=$(cat "$ROOT/VERSION")
TOP=$ROOT/build/rpm
NAME=pricecache-$VERSION

rm -rf "$TOP"
mkdir -p "$TOP/SOURCES" "$TOP/SPECS" "$TOP/stage/$NAME"
(cd "$ROOT" && tar --exclude=./build --exclude=./.git -cf - .) | (cd "$TOP/stage/$NAME" && tar -xf -)
tar -C "$TOP/stage" -czf "$TOP/SOURCES/$NAME.tar.gz" "$NAME"
rm -rf "$TOP/stage"
cp "$ROOT/packaging/common/pricecache.sysusers" "$TOP/SOURCES/"

# The version comes from the VERSION file only; the changelog entry's date
# is the last commit's, so that two builds of one commit are alike.
maintainer=$(sed -n 's/^Maintainer: //p' "$ROOT/packaging/deb/debian/control")
when=$(git -C "$ROOT" log -1 --format=%ad --date=format:'%a %b %d %Y' 2>/dev/null ||
       LC_ALL=C date +'%a %b %d %Y')
{
    cat "$ROOT/packaging/rpm/pricecache.spec"
    printf '* %s %s - %s-1\n- Built from the pricecache source tree, version %s.\n' \
        "$when" "$maintainer" "$VERSION" "$VERSION"
} >"$TOP/SPECS/pricecache.spec"

# The console's package exists once the console has sources (the Makefile
# builds pricecache-top exactly then).
with_top=
if ls "$ROOT"/tui/*.c >/dev/null 2>&1; then
    with_top="--with top"
fi

# shellcheck disable=SC2086
rpmbuild -bb --nodeps $with_top \
    --define "_topdir $TOP" \
    --define "pc_version $VERSION" \
    --define "packager $maintainer" \
    --define "__brp_compress bash /usr/lib/rpm/brp-compress %{_prefix}" \
    "$TOP/SPECS/pricecache.spec"
find "$TOP/RPMS" -name '*.rpm' | sort
