# Foreground daemon: SIGUSR1 reloads, SIGHUP re-reads the configuration, SIGTERM exits 0.
seed_basic
start_daemon
v=$(info acme version)
kill -USR1 "$DAEMON_PID"
wait_until '[ "$(info acme version)" -gt "$v" ]' 10
printf '[log]\nlevel = debug\n' >>"$CONF"
kill -HUP "$DAEMON_PID"
wait_until 'grep -q "re-read" "$W/daemon.log"' 10
echo '[nonsense' >>"$CONF"
kill -HUP "$DAEMON_PID"
wait_until 'grep -q "keeping the configuration in force" "$W/daemon.log"' 10
kill -0 "$DAEMON_PID" || fail "daemon died on a bad configuration reload"
stop_daemon
assert_contains "$W/daemon.log" "SIGTERM: stopping"
assert_contains "$W/daemon.log" "cache closed cleanly"
assert_exit 0 pc get acme s1 item10
