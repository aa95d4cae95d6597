# An operator outside the service group: the console shows the cache (its
# files are readable through their group) but an action answers with the
# permission error, plainly, and nothing reaches the daemon.
. "$ROOT/tests/lib/top.sh"
[ "$(id -u)" = 0 ] || skip "switching to another user needs root"
seed_basic
mkdir -p "$W/run"
printf '[bus]\nevents = ipc://%s/run/events.ipc\ncontrol = ipc://%s/run/control.ipc\n' "$W" "$W" >>"$CONF"
# The umask of the packaged unit (UMask=0007): lock.mdb stays 0660, which
# readers need (they write their slot).
umask 007
start_daemon
umask 022
# The socket directory belongs to another group than the console's user.
chmod 0750 "$W/run"
chgrp nogroup "$W/run"
ok0=$(info acme loads_ok)
TOP_WRAP="setpriv --reuid=nobody --regid=0 --clear-groups --" top_start
wait_screen "^ acme +[0-9]+ +100 +10 .* closed"
[ "$(ps -o user= -p "$TOP_PID")" = nobody ] || fail "console runs as $(ps -o user= -p "$TOP_PID")"
keys r
wait_screen 'Reload chain acme'
keys y
wait_screen '^ reload acme: permission denied \(control socket .*/run/control.ipc'
grep -q '"reload acme"' "$W/daemon.log" && fail "the request reached the daemon"
assert_eq "$ok0" "$(info acme loads_ok)" "loads of acme"
keys q
wait_until '! tm has-session 2>/dev/null' 5
[ ! -s "$W/top.err" ] || fail "stderr: $(cat "$W/top.err")"
stop_daemon
