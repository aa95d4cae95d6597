# pricecache-top when things break: the database stopped opens the breaker
# (shown in red, with the time to the next probe, and the event), the daemon
# stopped or killed shows "down" while the chains LMDB holds stay on screen.
. "$ROOT/tests/lib/top.sh"
seed_basic
printf '[bus]\nevents = ipc://%s/events.ipc\n[breaker]\nfailures = 1\nreset_s = 60\n' "$W" >>"$CONF"
start_daemon
v=$(info acme version)
top_start -R 60
wait_screen "^ acme +$v +100 +10 .* closed"
sleep 1.2 # the subscription must reach the publisher (PUB drops for absent subscribers)

pg_down
kill -USR1 "$DAEMON_PID"
wait_until '[ "$(info acme breaker)" = open ]' 20
# The next probe in about 60 s (the daemon jitters it by 20%): "open 5xs".
wait_screen "^ acme +$v +100 +10 .* open [0-9]+s *$"
wait_screen 'db failing'
wait_screen 'breaker +acme closed -> open'
wait_screen 'daemon +DEGRADED'
# Colour: beta's open breaker in red (SGR 31); acme's row is the selected one
# (reverse video throughout).
wait_screen "^ beta .* open [0-9]+s *$"
tm capture-pane -e -p | grep 'beta.*open' | grep -q $'\e\\[[0-9;]*31m *open' \
    || fail "open breaker not red: $(tm capture-pane -e -p | grep 'beta.*open' | cat -v)"

# The daemon stopped: down, and the data still there.
stop_daemon
wait_screen 'daemon +DOWN'
wait_screen 'daemon is down: showing what LMDB still holds'
screen | grep -qE "^ acme +$v +100 +10 " || fail "acme gone from the screen: $(screen)"
screen | grep -qE "^ beta +$(info beta version) +10 +0 " || fail "beta gone from the screen: $(screen)"

# Killed with -9 (the record still says running): down too.
pg_up
start_daemon
wait_screen 'daemon +(READY|DEGRADED)' 20
kill9_daemon
wait_screen 'daemon +DOWN'
screen | grep -qE "^ acme +[0-9]+ +100 +10 " || fail "acme gone after kill -9: $(screen)"
keys q
wait_until '! tm has-session 2>/dev/null' 5
[ ! -s "$W/top.err" ] || fail "stderr: $(cat "$W/top.err")"
