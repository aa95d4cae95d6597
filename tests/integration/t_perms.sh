# Permissions: the control socket lives in a directory of mode 0750 owned by
# the daemon's group, the socket is 0660; a member of that group can send
# requests, a user outside it cannot (PC_EACCES, exit 7), and nothing he
# tried is executed.  Real users: created with useradd when missing (as root),
# the client run as them with setpriv.  Not root: via sudo -n, else skipped.
seed_basic
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        skip "needs root or passwordless sudo to create users and switch to them"
    fi
fi
GRP=pctestsvc
$SUDO getent group $GRP >/dev/null || $SUDO groupadd -r $GRP
for u in pctestop pctestout; do
    id $u >/dev/null 2>&1 || $SUDO useradd -r -M -d /nonexistent -s /usr/sbin/nologin $u
done
$SUDO usermod -a -G $GRP pctestop
GID=$(getent group $GRP | cut -d: -f3)
as_user() { local u=$1; shift; $SUDO setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"; }

CTL="ipc://$W/run/control.ipc"
printf '[bus]\ncontrol = %s\n' "$CTL" >>"$CONF"
chmod 755 "$W"
# the daemon runs with the service group as its group, under the common umask
umask 022
$SUDO setpriv --regid="$GID" --clear-groups -- "$B/pricecached" -c "$CONF" 2>>"$W/daemon.log" &
DAEMON_PID=$!
echo "$DAEMON_PID" >>"$W/pids"
pc wait -t 20000 >/dev/null || fail "daemon not ready"
wait_until '[ -S "$W/run/control.ipc" ]' 5
assert_eq "750 $GRP" "$(stat -c '%a %G' "$W/run")" "socket directory"
assert_eq "660 $GRP" "$(stat -c '%a %G' "$W/run/control.ipc")" "socket"
# the environment, whatever the umask (022 here): readers of the group take
# a slot in lock.mdb, nobody but the daemon writes data.mdb
assert_eq "660 $GRP" "$(stat -c '%a %G' "$CACHE/lock.mdb")" "lock.mdb"
assert_eq "640 $GRP" "$(stat -c '%a %G' "$CACHE/data.mdb")" "data.mdb"
as_user pctestop "$B/pricecache" -d "$CACHE" get acme s1 item10 >"$W/get.out" 2>&1 ||
    fail "group member cannot read a price: $(cat "$W/get.out")"
assert_eq "1" "$(cut -f1 "$W/get.out")" "the member's lookup of acme/s1/item10"

# a member of the group: allowed
as_user pctestop "$B/pricecache" -d "$CACHE" status --control "$CTL" >"$W/op.out" 2>"$W/op.err" ||
    fail "group member refused: $(cat "$W/op.err")"
assert_contains "$W/op.out" "daemon state=ready"
as_user pctestop "$B/pricecache" -d "$CACHE" reload --control "$CTL" acme >"$W/op2.out" 2>&1 ||
    fail "group member's reload: $(cat "$W/op2.out")"
assert_contains "$W/op2.out" "reload of acme queued"

# outside the group: refused before anything reaches the daemon
n0=$(pc audit | wc -l)
rc=0
as_user pctestout "$B/pricecache" -d "$CACHE" reload --control "$CTL" beta >"$W/out.out" 2>"$W/out.err" || rc=$?
assert_eq 7 "$rc" "outsider's exit status"
assert_contains "$W/out.err" "permission denied"
rc=0
as_user pctestout "$B/pricecache" -d "$CACHE" status --control "$CTL" -t 1000 >/dev/null 2>"$W/out2.err" || rc=$?
assert_eq 7 "$rc" "outsider's status"
# even talking nanomsg directly: no connection is ever made, no answer comes
rc=0
printf 'PCCTL1 id=intruder uid=0 user=root pid=1\nreload beta' |
    as_user pctestout "$B/itest/ctlraw" "$CTL" >/dev/null 2>"$W/raw.err" || rc=$?
assert_eq 1 "$rc" "outsider's raw request"
assert_contains "$W/raw.err" "no answer"
assert_eq "$n0" "$(pc audit | wc -l)" "audit records after the outsider"
grep -q "req=intruder" "$W/daemon.log" && fail "the outsider's request reached the daemon"
grep -q "user=pctestop.*action=reload chain=acme" <(pc audit) || fail "member's reload not audited: $(pc audit)"
stop_daemon
