# pricecache-top in a terminal: the chains with their figures, a price change
# moving the version (and its event in the pane), a resize to 80x24, to a
# tiny 24x6 and back keeping the layout, q quitting cleanly.
. "$ROOT/tests/lib/top.sh"
seed_basic
printf '[bus]\nevents = ipc://%s/events.ipc\ncontrol = ipc://%s/control.ipc\n' "$W" "$W" >>"$CONF"
start_daemon
v1=$(info acme version)
top_start
wait_screen 'daemon +READY'
# CHAIN VERSION BASE STORE AGE LOAD OK FAIL REJ BREAKER
wait_screen "^ acme +$v1 +100 +10 +[0-9.]+[a-z]+ +[0-9.]+m?s +1 +0 +0 +closed"
wait_screen "^ beta +$(info beta version) +10 +0 .* closed"
screen | grep -qE 'readers [0-9]+/[0-9]+ +map [0-9.]+[KMG]/64\.0M' || fail "header: $(screen_line 2)"
screen | grep -qE ' 2/2 chains +sort CHAIN' || fail "message line: $(screen_line 3)"
screen | grep -q 'db ok' || fail "database state: $(screen_line 1)"

# A price change: new version on screen, and the publish in the event pane.
sleep 1.2 # the subscription must reach the publisher first (PUB drops for absent subscribers)
sql "UPDATE chain_prices SET price_cents = 7 WHERE chain_slug = 'acme' AND item_id = 'item3'"
wait_until '[ "$(info acme version)" != "$v1" ]' 10
v2=$(info acme version)
wait_screen "^ acme +$v2 +100 +10 "
wait_screen "publish +acme v$v2 "

# The layout at 80x24, then back.
check_layout() { # width height
    local s; s=$(screen)
    [ "$(printf "%s\n" "$s" | wc -l)" = "$2" ] || fail "not $2 lines: $s"
    printf '%s\n' "$s" | sed -n 1p | grep -q '^ pricecache-top  daemon  READY' || fail "header at $1x$2: $s"
    printf '%s\n' "$s" | sed -n 4p | grep -qE '^ CHAIN +VERSION +BASE +STORE +AGE +LOAD +OK +FAIL +REJ +BREAKER' \
        || fail "column titles at $1x$2: $s"
    printf '%s\n' "$s" | sed -n 5p | grep -qE "^ acme +$v2 +100 +10 .*closed *$" || fail "acme row at $1x$2: $s"
    printf '%s\n' "$s" | grep -q '^ Events' || fail "event pane at $1x$2: $s"
    printf '%s\n' "$s" | tail -1 | grep -q '^?Help sSort /Filter' || fail "footer at $1x$2: $s"
    # The last column (BREAKER, 12 wide) ends where the screen does: the
    # chain column takes what the others leave.
    local at; at=$(printf '%s\n' "$s" | sed -n 4p | awk '{print index($0, "BREAKER")}')
    assert_eq "$(($1 - 11))" "$at" "where BREAKER starts"
}
tm resize-window -x 80 -y 24
wait_until 'screen_line 24 | grep -q "qQuit"' 5
wait_screen "^ acme +$v2 "
check_layout 80 24
# Smaller than anything usable: no crash, whatever fits is drawn.
tm resize-window -x 24 -y 6
wait_until 'screen_line 1 | grep -q "^ pricecache-top  daemon"' 5
tm resize-window -x 100 -y 30
wait_until 'screen_line 30 | grep -q "qQuit"' 5
wait_screen "^ acme +$v2 "
check_layout 100 30

keys q
wait_until '! tm has-session 2>/dev/null' 5
[ ! -s "$W/top.err" ] || fail "stderr: $(cat "$W/top.err")"
stop_daemon
