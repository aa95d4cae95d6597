# pricecache-top's actions through the daemon's control channel (address
# announced in the cache): r + confirm reloads the selected chain, n cancels,
# the daemon's refusals (rate limit, nothing to accept) are shown, b resets
# an open breaker; / filters and s sorts.
. "$ROOT/tests/lib/top.sh"
seed_basic
mkdir -p "$W/run"
printf '[bus]\nevents = ipc://%s/run/events.ipc\ncontrol = ipc://%s/run/control.ipc\n[breaker]\nfailures = 1\nreset_s = 600\n' \
    "$W" "$W" >>"$CONF"
start_daemon
top_start -R 600
wait_screen "^ acme +[0-9]+ +100 +10 .* 1 +0 +0 +closed"
ok0=$(info acme loads_ok)

# r, then n: nothing sent.
keys r
wait_screen 'Reload chain acme from the database now\? \[y/N\]'
keys n
wait_screen '^ cancelled'
# r, then y: the daemon reloads acme.
keys r
wait_screen 'Reload chain acme from the database now\? \[y/N\]'
keys y
wait_screen '^ reload acme: reload of acme queued'
wait_until '[ "$(info acme loads_ok)" -gt "$ok0" ]' 10
wait_screen "^ acme +$(info acme version) +100 +10 .* $(info acme loads_ok) +0 +0 +closed"
grep -q 'action=reload chain=acme' <("$B/pricecache" -d "$CACHE" audit) || fail "reload not audited"
# Again at once: the daemon's rate limit, shown as its refusal.
keys r
wait_screen 'Reload chain acme'
keys y
wait_screen '^ reload acme refused: ERR rate_limited: .*retry after'
# accept with nothing refused.
keys a
wait_screen "Accept acme's refused load"
keys y
wait_screen '^ accept acme refused: ERR nothing_to_accept'

# Filter, then sort: the selection follows the chain.
keys /
wait_screen '^ filter:'
keys b e t Enter
wait_screen '1/2 chains'
screen | grep -q '^ acme ' && fail "filter kept acme: $(screen)"
keys / C-u Enter
wait_screen '2/2 chains'
keys s
wait_screen 'sort VERSION'

# b on an open breaker: closed again after the reset (the database is back).
pg_down
kill -USR1 "$DAEMON_PID"
wait_until '[ "$(info beta breaker)" = open ]' 20
pg_up
keys / b e t a Enter
wait_screen '^ beta .* open [0-9]+m *$'
keys b
wait_screen 'Reset the breaker of beta'
keys y
wait_screen '^ breaker reset beta: breaker of beta: open -> closed'
grep -q 'chain beta: breaker open -> closed (reset by uid' "$W/daemon.log" || fail "reset not in the daemon's log"
# The transition comes back as an event.  (The load it queues may fail once
# more on a connection the restart of PostgreSQL broke, and open it again.)
wait_screen 'breaker +beta open -> closed'
keys q
wait_until '! tm has-session 2>/dev/null' 5
[ ! -s "$W/top.err" ] || fail "stderr: $(cat "$W/top.err")"
stop_daemon
