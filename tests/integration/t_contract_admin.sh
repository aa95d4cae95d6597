# The admin API against a running daemon (admin_probe: pricecache.h only):
# the daemon record says running, ready and the database up, then down
# when PostgreSQL stops, then unknown once the daemon is stopped or killed;
# the chain record, the environment, pc_scan in small batches, the audit
# log.  Then the CLI and the console are built from their sources against
# the installed layout alone (header, shared library, pkg-config file:
# stage_lib) and run against this cache: they need nothing private.
seed_basic
mkdir -p "$W/run"
printf '[bus]\nevents = ipc://%s/run/events.ipc\ncontrol = ipc://%s/run/control.ipc\n[breaker]\nfailures = 1\nreset_s = 60\n' "$W" "$W" >>"$CONF"
start_daemon
probe() { "$B/itest/admin_probe" "$CACHE" "$@"; }
field() { sed -n "s/^$1=//p" "$W/probe.out"; }

# The daemon records the database's state from its own check (issue 13)
# within moments of connecting.
wait_until '"$B/itest/admin_probe" "$CACHE" daemon | grep -qx db_derived=0' 10
probe daemon >"$W/probe.out"
assert_eq yes "$(field record)" "daemon record"
assert_eq ready "$(field state)" "daemon state"
assert_eq 1 "$(field running)" "running"
assert_eq "$DAEMON_PID" "$(field pid)" "pid"
assert_eq 1 "$(field ready)" "ready"
[ "$(field ready_ms)" -ge "$(field started_ms)" ] && [ "$(field started_ms)" -gt 0 ] ||
    fail "ready_ms $(field ready_ms) before started_ms $(field started_ms)"
assert_eq $((64 << 20)) "$(field map_size)" "map size"
assert_eq up "$(field db)" "db state"
assert_eq 0 "$(field db_derived)" "db state recorded by the daemon, not derived"
[ "$(field db_since_ms)" -ge "$(field started_ms)" ] || fail "db_since_ms $(field db_since_ms) before the start"
assert_eq "" "$(field db_error)" "db error while up"

probe env >"$W/probe.out"
assert_eq $((64 << 20)) "$(field map_size)" "env map size"
[ "$(field map_used)" -gt 0 ] || fail "map_used $(field map_used)"
[ "$(field readers_used)" -ge 1 ] && [ "$(field readers_max)" -ge "$(field readers_used)" ] ||
    fail "readers $(field readers_used)/$(field readers_max)"

probe chain acme >"$W/probe.out"
assert_eq "$(info acme version)" "$(field version)" "version, as pricecache info says"
assert_eq 100 "$(field base_rows)" "base rows"
assert_eq 10 "$(field store_rows)" "store rows"
assert_eq ok "$(field last_result)" "last result"
assert_eq 0 "$(field rejected_duplicate)" "rejected duplicates"
assert_exit 1 probe chain nosuch

# Batches of 7 rows: 110 rows in 16 batches, all of one version.
probe scan acme 7 >"$W/probe.out"
assert_eq 110 "$(field rows)" "scanned rows"
assert_eq 10 "$(field store_rows)" "scanned store rows"
assert_eq 16 "$(field batches)" "batches"
v=$(info acme version)
assert_eq "$v..$v" "$(field versions)" "versions seen"

# An action is audited; the chain verifies.
pc reload acme >/dev/null
probe verify >"$W/probe.out"
assert_eq 0 "$(field bad_seq)" "audit bad_seq"
[ "$(field intact)" -ge 1 ] || fail "audit: $(cat "$W/probe.out")"
field last | grep -q 'action=reload chain=acme' || fail "last audit record: $(field last)"

# ---- the CLI and the console from the installed layout only ----------
STAGE="$W/stage"
stage_lib "$STAGE"
SANF=""
if nm -D "$B/libpricecache.so.1" | grep -q ' __asan_'; then
    SANF="-fsanitize=address,undefined"
elif nm -D "$B/libpricecache.so.1" | grep -q ' __tsan_'; then
    SANF="-fsanitize=thread"
fi
PCF=$(PKG_CONFIG_PATH="$STAGE/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$STAGE" pkg-config --cflags pricecache)
PLIBS=$(PKG_CONFIG_PATH="$STAGE/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$STAGE" pkg-config --libs pricecache)
CURSES=$(pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
WARNF="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla"
VER=$(cat "$ROOT/VERSION")
# shellcheck disable=SC2086 # word lists
cc $WARNF $SANF $PCF -o "$STAGE/pricecache" "$ROOT"/cli/*.c $PLIBS -lm 2>"$W/cc-cli.err" ||
    fail "the CLI does not build against the installed layout: $(head -20 "$W/cc-cli.err")"
# shellcheck disable=SC2086
cc $WARNF $SANF $PCF -DPC_VERSION="\"$VER\"" -o "$STAGE/pricecache-top" "$ROOT"/tui/*.c $PLIBS $CURSES -lm \
    2>"$W/cc-tui.err" || fail "the console does not build against the installed layout: $(head -20 "$W/cc-tui.err")"
export LD_LIBRARY_PATH="$STAGE/usr/lib"
ldd "$STAGE/pricecache" | grep -qF "$STAGE/usr/lib/libpricecache.so.1" || fail "not linked to the staged library: $(ldd "$STAGE/pricecache")"
assert_eq "pricecache $VER" "$("$STAGE/pricecache" --version)" "staged CLI version"
assert_eq "pricecache-top $VER" "$("$STAGE/pricecache-top" --version)" "staged console version"
sp() { "$STAGE/pricecache" -d "$CACHE" "$@"; }
# The same answers as the CLI of the build.
for cmd in "get acme s1 item10" "dump acme" "info acme" "audit" "audit verify" "chains --tsv"; do
    # shellcheck disable=SC2086
    sp $cmd | sed 's/\t[0-9.]*$//' >"$W/staged.out"
    # shellcheck disable=SC2086
    pc $cmd | sed 's/\t[0-9.]*$//' >"$W/built.out"
    cmp -s "$W/staged.out" "$W/built.out" || fail "staged '$cmd' differs: $(diff "$W/built.out" "$W/staged.out" | head)"
done
assert_eq 110 "$(sp dump acme | wc -l)" "staged dump lines"
sp status >"$W/status.out" || fail "staged status: $(cat "$W/status.out")"
grep -q '^daemon state=ready' "$W/status.out" || fail "staged status: $(head -2 "$W/status.out")"
"$STAGE/pricecache-top" -D "$CACHE" -b -n 1 >"$W/frame.out" 2>"$W/frame.err" || fail "staged console: $(cat "$W/frame.err")"
grep -qx 'daemon: ready' "$W/frame.out" || fail "staged console frame: $(head -12 "$W/frame.out")"
grep -qx 'db: ok' "$W/frame.out" || fail "staged console db: $(grep '^db' "$W/frame.out")"
grep -qx 'chains: 2' "$W/frame.out" || fail "staged console chains: $(grep '^chains' "$W/frame.out")"
grep -qE '^acme +[0-9]+ +100 +10 ' "$W/frame.out" || fail "staged console table: $(cat "$W/frame.out")"
unset LD_LIBRARY_PATH

# The database goes away: the next load fails, the state says down.
pg_down
kill -USR1 "$DAEMON_PID"
wait_until '[ "$(info acme last_result)" = failed ] || [ "$(info acme last_result)" = timeout ]' 20
wait_until '"$B/itest/admin_probe" "$CACHE" daemon | grep -qx db=down' 5
probe daemon >"$W/probe.out"
assert_eq down "$(field db)" "db state with PostgreSQL stopped"
[ -n "$(field db_error)" ] || fail "no db_error: $(cat "$W/probe.out")"
pg_up
# The failure opened acme's breaker (failures = 1): a reset loads it.  The
# first load after the restart may still meet a connection the restart
# killed, so reset again (every 2.5 s) until a load succeeds; the state
# the daemon records from its own check is up once it reconnects.
db_up() { "$B/itest/admin_probe" "$CACHE" daemon | grep -qx db=up; }
for i in $(seq 0 119); do
    db_up && break
    [ $((i % 10)) != 0 ] || pc breaker reset acme >/dev/null 2>&1 || true
    sleep 0.25
done
db_up || fail "db state not up again: $("$B/itest/admin_probe" "$CACHE" daemon | grep ^db)"

# Stopped: the record stays, the daemon is not running, the db unknown.
stop_daemon
probe daemon >"$W/probe.out"
assert_eq stopped "$(field state)" "state after SIGTERM"
assert_eq 0 "$(field running)" "running after SIGTERM"
assert_eq unknown "$(field db)" "db state of a stopped daemon"
# Killed: the record still says ready, the pid is gone.
start_daemon
kill9_daemon
probe daemon >"$W/probe.out"
assert_eq 0 "$(field running)" "running after kill -9"
assert_eq unknown "$(field db)" "db state of a killed daemon"
