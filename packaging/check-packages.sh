#!/usr/bin/env bash
# check-packages.sh - `make check-packages`: build the .debs and the RPMs,
# lint them, install the .debs on this machine, run the installed daemon as
# its unit would (user pricecache, no new privileges) against a throwaway
# PostgreSQL, read a price with the installed CLI and with a client built
# against the installed header, upgrade in place, purge, and check that
# nothing is left behind; then check the RPMs' file lists and requirements
# and install them into an alternate root. Needs root (apt-get, setpriv).
# The packages are purged at the end even on failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VERSION=$(cat VERSION)
ARCH=$(dpkg --print-architecture)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -ne 0 ]; then
    echo "check-packages: needs root (installs and purges packages)" >&2
    exit 1
fi

T0=$(date +%s)
WORK=$(mktemp -d /tmp/pccheck-pkg.XXXXXX)
chmod 755 "$WORK"
DEBS_INSTALLED=0
DAEMON_PID=""
STRACE_PID=""
LISTENER_PID=""
. "$ROOT/tests/lib/pg.sh"

purge_debs() {
    local p installed=()
    for p in python3-pricecache pricecache-top libpricecache-dev pricecache libpricecache1; do
        dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | has '^[ir]' && installed+=("$p")
    done
    [ ${#installed[@]} -eq 0 ] || apt-get purge -y -qq "${installed[@]}" >"$WORK/purge.log" 2>&1
}

cleanup() {
    local rc=$?
    [ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null
    # The traced daemon first: killing strace alone would leave it running.
    [ -n "$STRACE_PID" ] && kill -9 $(pgrep -P "$STRACE_PID") "$STRACE_PID" 2>/dev/null
    [ -n "$LISTENER_PID" ] && kill -9 "$LISTENER_PID" 2>/dev/null
    if [ "$DEBS_INSTALLED" = 1 ]; then
        purge_debs || echo "check-packages: purge failed: $(tail -5 "$WORK/purge.log")" >&2
    fi
    pg_cleanup
    if [ $rc -ne 0 ]; then
        echo "check-packages: FAILED after $(( $(date +%s) - T0 )) s (logs were in $WORK)" >&2
        [ -f "$WORK/daemon.log" ] && tail -5 "$WORK/daemon.log" >&2
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM PIPE

step() { echo "== check-packages: $*"; }
# grep -q at the end of a pipe may exit before the writer is done, which
# pipefail reports as the writer's failure: has reads everything.
has() { grep "$@" >/dev/null; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# The installed daemon as pricecached.service runs it: its user and group,
# umask 0007, no new privileges, no capabilities.
service_exec() {
    umask 0007
    exec setpriv --reuid=pricecache --regid=pricecache --init-groups \
        --no-new-privs --inh-caps=-all --bounding-set=-all -- "$@"
}
as_service() { (service_exec "$@"); }
# Waits (at most $2 seconds) for the condition in $1, never a fixed sleep.
wait_for() {
    local i=0
    until eval "$1" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt $(( ${2:-20} * 20 )) ] || fail "timed out waiting for: $1"
        sleep 0.05
    done
}

# Packages from an earlier, interrupted run would hide what this one installs.
purge_debs

# ---------------------------------------------------------------- Debian
step "make deb (symbols must match the library exactly)"
DPKG_GENSYMBOLS_CHECK_LEVEL=4 sh packaging/deb/build.sh >"$WORK/deb.log" 2>&1 || {
    tail -40 "$WORK/deb.log"
    grep -q 'dpkg-gensymbols' "$WORK/deb.log" &&
        echo "check-packages: the library's exports changed: make && sh packaging/deb/update-symbols.sh" >&2
    fail "make deb"
}
DEBS=(build/deb/pricecache_"$VERSION"-1_"$ARCH".deb build/deb/libpricecache1_"$VERSION"-1_"$ARCH".deb
      build/deb/libpricecache-dev_"$VERSION"-1_"$ARCH".deb
      build/deb/python3-pricecache_"$VERSION"-1_"$ARCH".deb)
WITH_TOP=0
if ls tui/*.c >/dev/null 2>&1; then
    WITH_TOP=1
    DEBS+=(build/deb/pricecache-top_"$VERSION"-1_"$ARCH".deb)
fi
for d in "${DEBS[@]}"; do [ -f "$d" ] || fail "$d was not built"; done
echo "built: ${DEBS[*]##*/}"

step "lintian (no error, no warning)"
lintian --fail-on error,warning --tag-display-limit 0 build/deb/pricecache_"$VERSION"-1_"$ARCH".changes \
    >"$WORK/lintian.log" 2>&1 || { cat "$WORK/lintian.log"; fail "lintian"; }
grep -E '^[EW]: ' "$WORK/lintian.log" && fail "lintian"
echo "lintian: clean"

step "apt-get install ./*.deb"
DEBS_INSTALLED=1
apt-get install -y -qq "${DEBS[@]/#/./}" >"$WORK/install.log" 2>&1 ||
    { tail -20 "$WORK/install.log"; fail "apt-get install"; }

step "installed layout"
[ "$(/usr/sbin/pricecached --version)" = "pricecached $VERSION" ] || fail "pricecached --version: $(/usr/sbin/pricecached --version)"
/usr/bin/pricecache --version | has -x "pricecache $VERSION" || fail "pricecache --version: $(/usr/bin/pricecache --version)"
getent passwd pricecache >/dev/null || fail "no user pricecache (sysusers.d)"
getent group pricecache >/dev/null || fail "no group pricecache (sysusers.d)"
[ "$(stat -c '%U:%G %a' /var/lib/pricecache)" = "pricecache:pricecache 750" ] ||
    fail "/var/lib/pricecache is $(stat -c '%U:%G %a' /var/lib/pricecache), expected pricecache:pricecache 750"
[ "$(stat -c '%U:%G %a' /run/pricecache)" = "pricecache:pricecache 750" ] ||
    fail "/run/pricecache is $(stat -c '%U:%G %a' /run/pricecache 2>&1)"
dpkg-query -W -f='${Conffiles}\n' pricecache | has ' /etc/pricecache/pricecached.conf ' ||
    fail "/etc/pricecache/pricecached.conf is not a conffile"
for f in /usr/lib/"$MA"/libpricecache.so.1 /usr/lib/"$MA"/libpricecache.so /usr/lib/"$MA"/libpricecache.a \
         /usr/include/pricecache.h /usr/lib/"$MA"/pkgconfig/pricecache.pc /usr/lib/sysusers.d/pricecache.conf \
         /usr/lib/tmpfiles.d/pricecache.conf /lib/systemd/system/pricecached.service \
         /usr/share/man/man8/pricecached.8.gz /usr/share/man/man5/pricecached.conf.5.gz \
         /usr/share/man/man1/pricecache.1.gz /usr/share/man/man3/libpricecache.3.gz \
         /usr/share/pricecache/pricecache-alerts.yml /usr/share/pricecache/pricecache-dashboard.json; do
    [ -e "$f" ] || fail "$f is not installed"
done
# The installed rules load as they are (the path prometheus.yml names).
if command -v promtool >/dev/null 2>&1; then
    promtool check rules /usr/share/pricecache/pricecache-alerts.yml >/dev/null ||
        fail "promtool check rules /usr/share/pricecache/pricecache-alerts.yml"
fi
[ $WITH_TOP = 0 ] || [ -x /usr/bin/pricecache-top ] || fail "pricecache-top is not installed"
[ $WITH_TOP = 0 ] || [ -e /usr/share/man/man1/pricecache-top.1.gz ] || fail "pricecache-top.1 is not installed"
# The daemon's dependencies come from its shlibs, the -dev's from the symbols.
dpkg-query -W -f='${Depends}\n' pricecache | has 'libsystemd0' || fail "pricecache does not depend on libsystemd0"
grep -q "^libpricecache.so.1 libpricecache1 #MINVER#" /var/lib/dpkg/info/libpricecache1:"$ARCH".symbols ||
    fail "libpricecache1 ships no symbols file"
echo "binaries, library, header, pkg-config, unit, sysusers, tmpfiles, man pages, alerts, dashboard: in place"

step "systemd-analyze verify (any output is a failure)"
out=$(systemd-analyze verify /lib/systemd/system/pricecached.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify said: $out"
unit=/lib/systemd/system/pricecached.service
for k in Type=notify User=pricecache Group=pricecache StateDirectory=pricecache RuntimeDirectory=pricecache \
         'ExecReload=/bin/kill -HUP $MAINPID' WatchdogSec= ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
         NoNewPrivileges=yes 'CapabilityBoundingSet=' RestrictAddressFamilies= SystemCallFilter=@system-service; do
    grep -q "^$k" "$unit" || fail "the unit has no $k"
done
echo "unit: verified"

step "the shipped configuration without a DSN: fails fast and says what to set"
rc=0
as_service /usr/sbin/pricecached -c /etc/pricecache/pricecached.conf >"$WORK/nodsn.out" 2>&1 || rc=$?
[ $rc = 2 ] || fail "pricecached without a DSN exited $rc, expected 2: $(cat "$WORK/nodsn.out")"
grep -q '\[database\] dsn is required' "$WORK/nodsn.out" || fail "no '[database] dsn is required': $(cat "$WORK/nodsn.out")"
grep -q 'PRICECACHE_DATABASE_DSN' "$WORK/nodsn.out" || fail "the message does not name PRICECACHE_DATABASE_DSN"
grep -v 'dsn is required' "$WORK/nodsn.out" && fail "the shipped file has other errors"
# Every key of the daemon's table (daemon/config.c) is documented in it.
grep -oE '^ *\{ "[a-z]+", +"[a-z_]+"' daemon/config.c | sed -E 's/.*"([a-z]+)", +"([a-z_]+)"/\1 \2/' | sort >"$WORK/keys.want"
awk '/^\[/ { gsub(/[][]/, ""); sec = $0 } /^#?[a-z_]+ =/ { k = $1; sub(/^#/, "", k); print sec, k }' \
    /etc/pricecache/pricecached.conf | sort >"$WORK/keys.got"
[ -s "$WORK/keys.want" ] || fail "no keys found in daemon/config.c"
diff -u "$WORK/keys.want" "$WORK/keys.got" >&2 || fail "keys of daemon/config.c (-) and of the shipped file (+) differ"
echo "$(cut -c1-160 "$WORK/nodsn.out")..."

step "the installed daemon as the service user against a test PostgreSQL"
pg_start >"$WORK/pg.log" 2>&1 || { cat "$WORK/pg.log"; fail "cannot start PostgreSQL"; }
pg_createdb prices
# The operator's change to the conffile: the DSN and a free HTTP port.
HTTP_PORT=$(_pg_free_port)
sed -i -e "s|^#dsn = .*|dsn = host=127.0.0.1 port=$PGPORT user=postgres dbname=prices|" \
       -e "s|^#listen = .*|listen = 127.0.0.1:$HTTP_PORT|" /etc/pricecache/pricecached.conf
grep -q "^dsn = host=127.0.0.1 port=$PGPORT" /etc/pricecache/pricecached.conf || fail "cannot set the DSN"
as_service /usr/sbin/pricecached -c /etc/pricecache/pricecached.conf --migrate >"$WORK/migrate.log" 2>&1 ||
    { cat "$WORK/migrate.log"; fail "pricecached --migrate"; }
psql_q prices "INSERT INTO chains(slug) VALUES ('acme');
    INSERT INTO chain_prices(chain_slug, item_id, price_cents, updated_at)
      SELECT 'acme', 'item' || g, 100 + g, to_timestamp(1700000000) FROM generate_series(1, 500) g;
    INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents, updated_at)
      VALUES ('acme', 's1', 'item7', 5, to_timestamp(1700000100))" \
    >/dev/null

# systemd's side of Type=notify: a datagram socket that the service user may
# write to, as /run/systemd/notify is.
NOTIFY="$WORK/notify.sock"
/usr/bin/python3 -u - "$NOTIFY" >"$WORK/notify.msgs" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
while True:
    print(s.recv(4096).decode().strip().replace("\n", "|"), flush=True)
PY
LISTENER_PID=$!
wait_for "test -S '$NOTIFY'" 5

start_daemon() {
    # exec: $! is the daemon itself, as $MAINPID would be.
    (NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=120000000 \
        service_exec /usr/sbin/pricecached -c /etc/pricecache/pricecached.conf 2>>"$WORK/daemon.log") &
    DAEMON_PID=$!
}
stop_daemon() {
    kill -TERM "$DAEMON_PID"
    local rc=0
    wait "$DAEMON_PID" || rc=$?
    DAEMON_PID=""
    [ $rc = 0 ] || fail "the daemon exited $rc on SIGTERM: $(tail -3 "$WORK/daemon.log")"
}
start_daemon
wait_for "grep -q READY=1 '$WORK/notify.msgs'" 30
grep -q 'STATUS=ready: 1 chains, 0 breakers open' "$WORK/notify.msgs" || fail "no ready STATUS: $(cat "$WORK/notify.msgs")"
[ "$(stat -c %U "/proc/$DAEMON_PID")" = pricecache ] || fail "the daemon does not run as pricecache"
grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$DAEMON_PID/status" || fail "the daemon may gain privileges"
echo "READY=1 from the daemon running as user pricecache"

# DESIGN: data.mdb 0640, lock.mdb 0660, group pricecache; the bus socket.
[ "$(stat -c '%U:%G %a' /var/lib/pricecache/data.mdb)" = "pricecache:pricecache 640" ] ||
    fail "data.mdb is $(stat -c '%U:%G %a' /var/lib/pricecache/data.mdb)"
[ "$(stat -c '%G %a' /var/lib/pricecache/lock.mdb)" = "pricecache 660" ] ||
    fail "lock.mdb is $(stat -c '%G %a' /var/lib/pricecache/lock.mdb)"
[ -S /run/pricecache/events.ipc ] || fail "no event socket in /run/pricecache"
# Issue 13: the lookup statistics are files, never a shared mapping.
[ "$(stat -c '%U:%G %a' /var/lib/pricecache/stats)" = "pricecache:pricecache 1770" ] ||
    fail "the statistics directory is $(stat -c '%U:%G %a' /var/lib/pricecache/stats)"
[ ! -e /var/lib/pricecache/stats.shm ] || fail "a stats.shm was made"

step "read a price with the installed CLI, as a member of group pricecache"
got=$(setpriv --reuid=nobody --regid=pricecache --clear-groups -- /usr/bin/pricecache get acme s1 item7)
[ "$got" = "$(printf '5\t1700000100\tstore')" ] ||
    fail "pricecache get acme s1 item7: '$got'"
got=$(setpriv --reuid=nobody --regid=pricecache --clear-groups -- /usr/bin/pricecache get acme '' item9)
[ "$got" = "$(printf '109\t1700000000\tbase')" ] || fail "pricecache get acme '' item9: '$got'"
# ...and with the installed Python module (python3-pricecache).
got=$(cd / && setpriv --reuid=nobody --regid=pricecache --clear-groups -- /usr/bin/python3 -c '
import pricecache
with pricecache.open() as r:
    print(r.get("acme", "s1", "item7"), r.get("acme", None, "item9").cents)')
[ "$got" = "Price(cents=5, updated_at=1700000100, is_store_exception=True) 109" ] ||
    fail "python3 -c pricecache: '$got'"
# ...and not as someone outside the group.
rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups -- /usr/bin/pricecache get acme '' item9 >/dev/null 2>&1 || rc=$?
[ $rc != 0 ] || fail "a user outside group pricecache read the cache"
# The control channel: the group may use it, nobody else.
setpriv --reuid=nobody --regid=pricecache --clear-groups -- /usr/bin/pricecache status >"$WORK/status.out" 2>&1 ||
    fail "pricecache status as a member of group pricecache: $(cat "$WORK/status.out")"
[ "$(stat -c '%G %a' /run/pricecache/control.ipc)" = "pricecache 660" ] ||
    fail "control socket is $(stat -c '%G %a' /run/pricecache/control.ipc)"
rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups -- /usr/bin/pricecache -d /nonexistent status \
    --control ipc:///run/pricecache/control.ipc >/dev/null 2>&1 || rc=$?
[ $rc = 7 ] || fail "pricecache status outside group pricecache exited $rc, expected 7 (permission denied)"
curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null || fail "/readyz of the installed daemon"
# To a file first: grep -q would end the pipe early, and pipefail would
# count curl's broken pipe as a failure.
curl -fsS -o "$WORK/metrics.txt" "http://127.0.0.1:$HTTP_PORT/metrics" || fail "/metrics of the installed daemon"
grep -q '^pricecache_rows{chain="acme",kind="base"} 500$' "$WORK/metrics.txt" ||
    fail "/metrics has no 500 base rows for acme: $(grep pricecache_rows "$WORK/metrics.txt")"
echo "pricecache get: $got; status over the control socket; a user outside the group is refused both"
if [ $WITH_TOP = 1 ]; then
    /usr/bin/pricecache-top --version | has -x "pricecache-top $VERSION" || fail "pricecache-top --version"
    setpriv --reuid=nobody --regid=pricecache --clear-groups -- /usr/bin/pricecache-top -b -n 2 -d 0.2 \
        >"$WORK/top.out" 2>&1 || fail "pricecache-top -b: $(cat "$WORK/top.out")"
    grep -q acme "$WORK/top.out" || fail "pricecache-top -b shows no chain acme: $(cat "$WORK/top.out")"
    echo "pricecache-top -b: $(grep -c acme "$WORK/top.out") frames with chain acme"
fi

step "a client built against the installed header and library (pkg-config)"
cat >"$WORK/client.c" <<'C'
#include <stdio.h>
#include <pricecache.h>

int main(int argc, char **argv)
{
    pc_reader *r;
    pc_price p;
    int rc = pc_open(argv[1], &r);
    if (rc != PC_OK) {
        fprintf(stderr, "pc_open: %s\n", pc_strerror(rc));
        return 1;
    }
    rc = pc_get(r, "acme", argc > 2 ? argv[2] : "", "item42", &p);
    if (rc == PC_OK)
        printf("%lld %s %s\n", (long long)p.cents, p.flags & PC_PRICE_STORE ? "store" : "base", pc_version());
    else
        fprintf(stderr, "pc_get: %s\n", pc_strerror(rc));
    pc_close(r);
    return rc == PC_OK ? 0 : 1;
}
C
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -o "$WORK/client" "$WORK/client.c" $(pkg-config --cflags --libs pricecache)
so=$(ldd "$WORK/client" | awk '$1 == "libpricecache.so.1" { print $3 }')
[ -n "$so" ] && [ "$(readlink -f "$so")" = "$(readlink -f /usr/lib/"$MA"/libpricecache.so.1)" ] ||
    fail "the client does not use the installed library: $(ldd "$WORK/client")"
chmod 755 "$WORK/client"
got=$(setpriv --reuid=nobody --regid=pricecache --clear-groups -- "$WORK/client" /var/lib/pricecache)
[ "$got" = "142 base $VERSION" ] || fail "client: '$got'"
# The static archive links too, with the private libraries pkg-config lists.
# shellcheck disable=SC2046
cc -std=c11 -o "$WORK/client-static" "$WORK/client.c" $(pkg-config --cflags pricecache) \
    -Wl,-Bstatic -lpricecache -Wl,-Bdynamic $(pkg-config --static --libs-only-l pricecache | sed 's/-lpricecache//')
ldd "$WORK/client-static" | has libpricecache && fail "client-static uses the shared library"
got=$("$WORK/client-static" /var/lib/pricecache)
[ "$got" = "142 base $VERSION" ] || fail "client-static: '$got'"
echo "client (shared and static): $got"
# The member's lookups were counted in a file of its own (nobody's, 0644).
got=$(/usr/bin/pricecache stats | sed -n 's/^hits: //p')
[ "${got:-0}" -ge 2 ] || fail "lookups of the clients not counted: $(/usr/bin/pricecache stats)"

step "SIGHUP re-reads the configuration, SIGTERM stops cleanly"
kill -HUP "$DAEMON_PID"
wait_for "grep -q 'configuration /etc/pricecache/pricecached.conf re-read' '$WORK/daemon.log'" 10
kill -0 "$DAEMON_PID" || fail "the daemon died on SIGHUP"
stop_daemon
grep -q 'STOPPING=1' "$WORK/notify.msgs" || fail "no STOPPING=1"
ver1=$(/usr/bin/pricecache info acme | sed -n 's/^version: //p')
[ -n "$ver1" ] || fail "no version for acme after the run: $(/usr/bin/pricecache info acme 2>&1)"

step "upgrade to a newer revision: the operator's configuration and the cache stay"
# The cache as a release of format 1 left it (no lookup tables, format
# record 1: tests/integration/pcformat.c), run as the daemon's user; the
# upgraded daemon must convert it and serve it.
# (Copied under $WORK: the clone's path may be closed to that user.)
make -s -C "$ROOT" build/itest/pcformat >/dev/null
install -m 755 "$ROOT/build/itest/pcformat" "$WORK/pcformat"
setpriv --reuid=pricecache --regid=pricecache --init-groups -- \
    "$WORK/pcformat" v1 /var/lib/pricecache >/dev/null || fail "pcformat v1"
"$WORK/pcformat" show /var/lib/pricecache | has '^format 1$' ||
    fail "the cache is not format 1: $("$WORK/pcformat" show /var/lib/pricecache)"
# The same files repacked as revision 2: dpkg runs a real upgrade (old
# prerm/postrm upgrade, conffile merge, new postinst configure OLD-VERSION).
mkdir -p "$WORK/up"
UPDEBS=()
for d in "${DEBS[@]}"; do
    x="$WORK/up/x"
    rm -rf "$x"
    dpkg-deb -R "$d" "$x"
    sed -i "s/\b$VERSION-1\b/$VERSION-2/g" "$x/DEBIAN/control"
    b=$(basename "$d")
    dpkg-deb -b --root-owner-group "$x" "$WORK/up/${b/_$VERSION-1_/_$VERSION-2_}" >/dev/null
    UPDEBS+=("$WORK/up/${b/_$VERSION-1_/_$VERSION-2_}")
done
apt-get install -y -qq "${UPDEBS[@]}" >"$WORK/upgrade.log" 2>&1 ||
    { tail -20 "$WORK/upgrade.log"; fail "upgrade"; }
[ "$(dpkg-query -W -f='${Version}' pricecache)" = "$VERSION-2" ] || fail "pricecache was not upgraded"
[ "$(dpkg-query -W -f='${Version}' libpricecache-dev)" = "$VERSION-2" ] || fail "libpricecache-dev was not upgraded"
grep -q "^dsn = host=127.0.0.1 port=$PGPORT" /etc/pricecache/pricecached.conf || fail "the upgrade lost the operator's DSN"
[ ! -e /etc/pricecache/pricecached.conf.dpkg-new ] && [ ! -e /etc/pricecache/pricecached.conf.dpkg-old ] ||
    fail "the upgrade left .dpkg-new/.dpkg-old files"
[ "$(/usr/bin/pricecache info acme | sed -n 's/^version: //p')" = "$ver1" ] || fail "the upgrade lost the cache"
start_daemon
wait_for "[ \$(grep -c READY=1 '$WORK/notify.msgs') -ge 2 ]" 30
got=$(/usr/bin/pricecache get acme '' item9)
[ "$got" = "$(printf '109\t1700000000\tbase')" ] || fail "after the upgrade: '$got'"
grep -q 'converted from format 1 to 2' "$WORK/daemon.log" || fail "the format 1 cache was not converted"
wait_for "'$WORK/pcformat' show /var/lib/pricecache | grep -q '^table acme '" 30
stop_daemon
echo "configuration kept, cache version $ver1 kept (format 1 converted, tables built), daemon runs again"

step "the unit's sandbox: system calls, address families, memory, writes (strace)"
# systemd is not PID 1 here, so the sandbox cannot be applied; instead every
# system call of a run (warm-up, a reload over the control socket, SIGHUP,
# SIGTERM) is checked against what the unit allows.
expand_filter() { # @group...: the system call names systemd puts in them
    local g
    for g in "$@"; do
        systemd-analyze syscall-filter "$g" | sed -e 's/#.*//' -e 's/^ *//' | grep -v "^$g\$" |
            while read -r n; do
                [ -n "$n" ] || continue
                case $n in @*) expand_filter "$n" ;; *) echo "$n" ;; esac
            done
    done
}
filter=$(sed -n 's/^SystemCallFilter=//p' "$unit")
# shellcheck disable=SC2086
expand_filter $filter | sort -u >"$WORK/allowed"
[ "$(wc -l <"$WORK/allowed")" -gt 100 ] || fail "cannot expand SystemCallFilter=$filter"
(umask 0007 && NOTIFY_SOCKET=$NOTIFY exec strace -f -qq -o "$WORK/strace.log" -- setpriv --reuid=pricecache \
    --regid=pricecache --init-groups --no-new-privs --inh-caps=-all --bounding-set=-all -- \
    /usr/sbin/pricecached -c /etc/pricecache/pricecached.conf 2>>"$WORK/daemon.log") &
STRACE_PID=$!
wait_for "[ \$(grep -c READY=1 '$WORK/notify.msgs') -ge 3 ]" 30
DAEMON_PID=$(pgrep -P "$STRACE_PID" -x pricecached)
[ -n "$DAEMON_PID" ] || fail "no pricecached under strace $STRACE_PID"
npub=$(grep -c 'published version' "$WORK/daemon.log")
/usr/bin/pricecache reload acme >/dev/null || fail "pricecache reload acme"
wait_for "[ \$(grep -c 'published version' '$WORK/daemon.log') -gt $npub ]" 10
kill -HUP "$DAEMON_PID"
wait_for "[ \$(grep -c 're-read' '$WORK/daemon.log') -ge 2 ]" 10
kill -TERM "$DAEMON_PID"
wait "$STRACE_PID" || fail "the daemon under strace exited $?"
DAEMON_PID=""
STRACE_PID=""
# The daemon's own calls: from its execve on (setpriv's are not the unit's).
awk '/execve\("\/usr\/sbin\/pricecached"/ { on = 1 } on' "$WORK/strace.log" >"$WORK/daemon.strace"
[ -s "$WORK/daemon.strace" ] || fail "no execve of pricecached in the trace"
grep -oE '^[0-9]+ +[a-z_0-9]+\(' "$WORK/daemon.strace" | sed -E 's/^[0-9]+ +//; s/\($//' | sort -u >"$WORK/used"
comm -23 "$WORK/used" "$WORK/allowed" >"$WORK/denied"
[ ! -s "$WORK/denied" ] || fail "system calls outside SystemCallFilter=$filter: $(tr '\n' ' ' <"$WORK/denied")"
families=$(grep -oE 'socket\(AF_[A-Z0-9]+' "$WORK/daemon.strace" | sed 's/socket(//' | sort -u | tr '\n' ' ')
allowed_af=$(sed -n 's/^RestrictAddressFamilies=//p' "$unit")
for af in $families; do
    case " $allowed_af " in *" $af "*) ;; *) fail "socket($af) is outside RestrictAddressFamilies=$allowed_af" ;; esac
done
grep -E 'PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE|PROT_READ\|PROT_WRITE\|PROT_EXEC' "$WORK/daemon.strace" &&
    fail "writable and executable memory (MemoryDenyWriteExecute=yes)"
# ProtectSystem=strict: writes only in the state and runtime directories
# (and /dev/null, /tmp which PrivateTmp makes private).
grep -E '(openat|open)\(.*"[^"]*".*O_(WRONLY|RDWR|CREAT)|(mkdir|unlink|rename|renameat2?|mkdirat|unlinkat)\(' \
    "$WORK/daemon.strace" | grep -vE '"(/var/lib/pricecache|/run/pricecache|/dev/null|/tmp)(/|")' |
    grep -v '= -1 ' && fail "writes outside /var/lib/pricecache and /run/pricecache (ProtectSystem=strict)"
echo "$(wc -l <"$WORK/used") distinct system calls, all in $filter; socket families: $families; no W+X memory; writes only in its directories"

step "purge: nothing is left behind"
purge_debs
DEBS_INSTALLED=0
for p in pricecache libpricecache1 libpricecache-dev pricecache-top; do
    if dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | has '^[a-z]'; then
        st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p")
        [ "${st:1:1}" = n ] || fail "$p is still known to dpkg: '$st'"
    fi
done
# apt's archives and logs, man-db's page cache (filled by the man: checks of
# systemd-analyze verify) and this tree, wherever CI checked it out, are not
# the packages' leftovers.
left=$(find /etc /usr /lib /var /run -xdev \( -path "$ROOT" -o -path /var/cache/apt -o -path /var/log \
       -o -path /var/cache/man \) -prune -o \( -name '*pricecache*' -o -name 'pricecached*' \) -print \
       2>/dev/null || true)
[ -z "$left" ] || fail "left behind after purge: $left"
echo "no file named after pricecache in /etc /usr /lib /var /run (the system user pricecache stays, as Debian keeps system users)"

# ---------------------------------------------------------------- RPM
step "make rpm"
sh packaging/rpm/build.sh >"$WORK/rpm.log" 2>&1 || { tail -40 "$WORK/rpm.log"; fail "make rpm"; }
RARCH=$(rpm --eval '%{_arch}')
RPMS=(build/rpm/RPMS/"$RARCH"/pricecache{,-libs,-devel}-"$VERSION"-1."$RARCH".rpm)
[ $WITH_TOP = 0 ] || RPMS+=(build/rpm/RPMS/"$RARCH"/pricecache-top-"$VERSION"-1."$RARCH".rpm)
for r in "${RPMS[@]}"; do [ -f "$r" ] || fail "$r was not built"; done
PYRPM=build/rpm/RPMS/"$RARCH"/python3-pricecache-"$VERSION"-1."$RARCH".rpm
[ -f "$PYRPM" ] || fail "$PYRPM was not built"
echo "built: ${RPMS[*]##*/} ${PYRPM##*/}"

step "rpmlint (no error, no warning; filters in packaging/rpm/rpmlint.toml say why)"
rpmlint -c packaging/rpm/rpmlint.toml "${RPMS[@]}" >"$WORK/rpmlint.log" 2>&1 || { cat "$WORK/rpmlint.log"; fail "rpmlint"; }
grep -q ' 0 errors, 0 warnings' "$WORK/rpmlint.log" || { cat "$WORK/rpmlint.log"; fail "rpmlint"; }
tail -1 "$WORK/rpmlint.log"

step "RPM file lists (rpm -qlp) and requirements (rpm -qp --requires)"
LIB64=$(rpm --eval '%{_libdir}')
expect_files() { # rpm, then the expected list
    local r=$1
    shift
    printf '%s\n' "$@" | sort >"$WORK/want"
    rpm -qlp "$r" | sort >"$WORK/got"
    diff -u "$WORK/want" "$WORK/got" >&2 || fail "file list of ${r##*/} (- expected, + got)"
}
expect_files "${RPMS[0]}" /etc/pricecache /etc/pricecache/pricecached.conf /run/pricecache \
    /usr/bin/pricecache /usr/lib/systemd/system/pricecached.service /usr/lib/sysusers.d/pricecache.conf \
    /usr/lib/tmpfiles.d/pricecache.conf /usr/sbin/pricecached /usr/share/doc/pricecache-"$VERSION" \
    /usr/share/doc/pricecache-"$VERSION"/README.md /usr/share/man/man1/pricecache.1.gz \
    /usr/share/man/man5/pricecached.conf.5.gz /usr/share/man/man8/pricecached.8.gz /var/lib/pricecache \
    /usr/share/pricecache /usr/share/pricecache/pricecache-alerts.yml \
    /usr/share/pricecache/pricecache-dashboard.json
expect_files "${RPMS[1]}" "$LIB64"/libpricecache.so.1
expect_files "${RPMS[2]}" /usr/include/pricecache.h "$LIB64"/libpricecache.a "$LIB64"/libpricecache.so \
    "$LIB64"/pkgconfig/pricecache.pc /usr/share/man/man3/libpricecache.3.gz /usr/share/man/man3/pc_admin.3.gz
[ $WITH_TOP = 0 ] || expect_files "${RPMS[3]}" /usr/bin/pricecache-top /usr/share/man/man1/pricecache-top.1.gz
rpm -qp --configfiles "${RPMS[0]}" | has -x /etc/pricecache/pricecached.conf || fail "pricecached.conf is not %config"
req() { rpm -qp --requires "$1" | has -x -- "$2" || fail "${1##*/} does not require '$2': $(rpm -qp --requires "$1" | tr '\n' ' ')"; }
req "${RPMS[0]}" 'libpq.so.5()(64bit)'
req "${RPMS[0]}" 'liblmdb.so.0()(64bit)'
req "${RPMS[0]}" 'libsystemd.so.0()(64bit)'
req "${RPMS[0]}" '/usr/bin/systemd-sysusers'
req "${RPMS[1]}" 'libnanomsg.so.5()(64bit)'
req "${RPMS[2]}" "pricecache-libs$(rpm --eval '%{?_isa}') = $VERSION-1"
rpm -qp --provides "${RPMS[1]}" | has -x 'libpricecache.so.1()(64bit)' || fail "pricecache-libs does not provide libpricecache.so.1()(64bit)"
rpm -qp --provides "${RPMS[2]}" | has -x "pkgconfig(pricecache) = $VERSION" || fail "pricecache-devel does not provide pkgconfig(pricecache)"
[ "$(rpm -qp --qf '%{VERSION}' "${RPMS[0]}")" = "$VERSION" ] || fail "RPM version is not $VERSION"
rpm -qlp "$PYRPM" | grep -q '/pricecache/_pricecache\.cpython-.*\.so$' || fail "python3-pricecache has no extension module"
rpm -qlp "$PYRPM" | grep -q '/pricecache/py\.typed$' || fail "python3-pricecache has no py.typed"
req "$PYRPM" "pricecache-libs$(rpm --eval '%{?_isa}') = $VERSION-1"
echo "file lists and requirements as expected"

step "install the RPMs into an alternate root"
R="$WORK/rpmroot"
mkdir -p "$R"
# Without scripts there is no user pricecache in the root: rpm warns and
# uses root, hence --nouser/--nogroup when verifying.
rpm --root "$R" --dbpath /var/lib/rpm --initdb >"$WORK/rpmroot.log" 2>&1
rpm --root "$R" --dbpath /var/lib/rpm -i --nodeps --noscripts "${RPMS[@]}" "$PYRPM" >>"$WORK/rpmroot.log" 2>&1 ||
    { cat "$WORK/rpmroot.log"; fail "rpm -i into $R"; }
[ "$(rpm --root "$R" --dbpath /var/lib/rpm -qa | grep -c '^pricecache')" = "${#RPMS[@]}" ] || fail "not every RPM is installed in $R"
for f in usr/sbin/pricecached usr/bin/pricecache "${LIB64#/}"/libpricecache.so.1 usr/include/pricecache.h \
         usr/lib/systemd/system/pricecached.service etc/pricecache/pricecached.conf; do
    [ -e "$R/$f" ] || fail "$f is missing in the alternate root"
done
[ "$(readlink "$R$LIB64/libpricecache.so")" = libpricecache.so.1 ] || fail "libpricecache.so is not a link to .so.1"
[ "$(stat -c %a "$R/var/lib/pricecache")" = 750 ] || fail "/var/lib/pricecache in the RPM is not 0750"
grep -q "^prefix=/usr$" "$R$LIB64/pkgconfig/pricecache.pc" && grep -q "^libdir=$LIB64$" "$R$LIB64/pkgconfig/pricecache.pc" ||
    fail "pricecache.pc paths: $(head -3 "$R$LIB64/pkgconfig/pricecache.pc")"
grep -q "^ExecStart=/usr/sbin/pricecached -c /etc/pricecache/pricecached.conf$" "$R/usr/lib/systemd/system/pricecached.service" ||
    fail "the RPM's unit does not start /usr/sbin/pricecached with /etc/pricecache/pricecached.conf"
rpm --root "$R" --dbpath /var/lib/rpm -V --nodeps --nouser --nogroup pricecache pricecache-libs pricecache-devel \
    $([ $WITH_TOP = 0 ] || echo pricecache-top) >"$WORK/rpmv.log" 2>&1 ||
    { cat "$WORK/rpmv.log"; fail "rpm -V in the alternate root"; }
echo "layout in the alternate root as expected"

echo "check-packages: all passed in $(( $(date +%s) - T0 )) s"
