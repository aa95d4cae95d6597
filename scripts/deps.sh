#!/bin/sh
# deps.sh - install the Debian packages that build, test, bench and demo need,
# only when some are missing (quiet otherwise).
set -eu
# The npm packages of the Node.js binding, into npm's cache (deps-node.sh).
sh "$(dirname "$0")/deps-node.sh"
PKGS="build-essential clang pkg-config liblmdb-dev lmdb-utils libpq-dev libinih-dev
libnanomsg-dev nettle-dev libncurses-dev libmicrohttpd-dev libsystemd-dev libcmocka-dev
postgresql-15 postgresql-client-15 valgrind tmux python3-pyte python3-yaml libclang-rt-14-dev bc curl prometheus
redis-server libhiredis-dev python3 python3-dev python3-pytest python3-pip python3-setuptools python3-cffi python3-redis
golang-go golang-github-gomodule-redigo-dev"
# `deps.sh packaging`: also what make deb/rpm/check-packages need.
if [ "${1:-}" = packaging ]; then
    PKGS="$PKGS debhelper dpkg-dev fakeroot lintian man-db rpm rpmlint strace dh-python"
fi
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "deps: missing packages:$missing; run as root or install them" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
