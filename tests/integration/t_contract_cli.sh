# Contract (command line): pricecached's --help/--version/-c/--once/--migrate
# exit codes, and the pricecache CLI's documented exit statuses, case by case.
seed_basic
D="$B/pricecached"
assert_exit 0 "$D" --help
assert_contains "$W/last.out" "usage: pricecached -c FILE"
assert_exit 0 "$D" -h
assert_exit 0 "$D" --version
assert_eq "pricecached $(cat "$ROOT/VERSION")" "$(cat "$W/last.out")" "--version"
assert_exit 0 "$D" -V
assert_exit 2 "$D"
assert_exit 2 "$D" -c
assert_exit 2 "$D" -c "$CONF" --bogus
assert_exit 2 "$D" -c "$CONF" extra
assert_exit 2 "$D" -c "$CONF" --once --migrate
assert_exit 2 "$D" -c "$W/nonexistent.conf" --once
assert_contains "$W/last.err" "$W/nonexistent.conf"
# --migrate is safe twice; --once: 0 when every chain loaded
assert_exit 0 "$D" -c "$CONF" --migrate
assert_exit 0 "$D" -c "$CONF" --migrate
assert_exit 0 "$D" -c "$CONF" --once
# --once: 1 when a load is refused by a guard (rows fall by more than max_shrink_ratio)
sql "DELETE FROM chain_prices WHERE chain_slug = 'acme' AND item_id <> 'item1'"
assert_exit 1 "$D" -c "$CONF" --once
assert_contains "$W/last.err" "refused"
assert_eq 100 "$(info acme base_rows)" "the refused load left the snapshot"
# pricecache: 0 ok, 1 not found, 2 usage, 3 unknown chain, 4 not ready, 5 other error
P="$B/pricecache"
assert_exit 0 pc get acme s1 item10
assert_exit 0 pc get acme '' item1
assert_exit 1 pc get acme s1 nosuch
assert_exit 3 pc get nosuch s1 item1
assert_exit 3 pc info nosuch
assert_exit 3 pc dump nosuch
assert_exit 2 pc get acme s1
assert_exit 2 pc get acme s1 item1 extra
assert_exit 2 pc get 'Bad Slug' s1 item1
assert_exit 2 pc get "$(printf 'a%.0s' $(seq 65))" s1 item1
assert_exit 2 pc get acme "$(printf 's%.0s' $(seq 201))" item1
assert_exit 2 pc get acme s1 ''
assert_exit 2 "$P"
assert_exit 2 "$P" nosuchcommand
assert_exit 0 "$P" --help
assert_exit 0 "$P" --version
assert_contains "$W/last.out" "$(cat "$ROOT/VERSION")"
assert_exit 2 pc wait -t abc
assert_exit 4 "$P" -d "$W/nonexistent" get acme s1 item1
mkdir -p "$W/notenv"
assert_exit 4 "$P" -d "$W/notenv" get acme s1 item1
assert_exit 4 "$P" -d "$W/notenv" wait -t 50
head -c 8192 /dev/urandom >"$W/notenv/data.mdb"
assert_exit 5 "$P" -d "$W/notenv" get acme s1 item1
PRICECACHE_PATH="$CACHE" assert_exit 0 "$P" get acme s1 item10
# many: 1 if any item is not found or invalid; one version for all
printf 'item10\nitem11\n' >"$W/in"
assert_exit 0 sh -c "'$P' -d '$CACHE' many acme s1 <'$W/in'"
printf 'item10\nnosuch\n' >"$W/in"
assert_exit 1 sh -c "'$P' -d '$CACHE' many acme s1 <'$W/in'"
printf 'item10\n%s\n' "$(printf 'x%.0s' $(seq 201))" >"$W/in"
assert_exit 1 sh -c "'$P' -d '$CACHE' many acme s1 <'$W/in'"
assert_contains "$W/last.out" "INVALID"
assert_exit 3 sh -c "'$P' -d '$CACHE' many nosuch s1 <'$W/in'"
# an environment this user may not read: 5 (not 4: it exists, it is not "not ready")
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    assert_exit 5 setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$P" -d "$CACHE" get acme s1 item10
    assert_contains "$W/last.err" "cache could not be read"
else
    skip_part "exit 5 for a cache this user may not read: needs root and setpriv"
fi
# events without -a: the address the daemon announced in DIR (as status uses)
CACHE="$W/cache_ev"
write_conf "[bus]" "events = ipc://$W/bus/events.ipc" "[http]" "listen ="
start_daemon
# the events socket's directory is made as the control socket's is (it was not: events off)
wait_until '[ -S "$W/bus/events.ipc" ]' 5
assert_eq 750 "$(stat -c %a "$W/bus")" "mode of the events socket's directory"
assert_exit 0 pc events -n 1 -t 5000 --heartbeats
assert_contains "$W/last.out" "heartbeat"
stop_daemon
# control requests: 6 when the daemon refuses, 7 for a user outside the socket's group
CACHE="$W/cache_ctl"
mkdir -m 750 "$W/run"
write_conf "[bus]" "control = ipc://$W/run/control.ipc" "[http]" "listen ="
start_daemon
assert_exit 0 pc reload acme
assert_exit 6 pc reload acme
assert_contains "$W/last.err" "ERR rate_limited"
assert_exit 6 pc breaker reset nosuch
assert_contains "$W/last.err" "ERR no_chain"
assert_exit 6 pc accept acme
assert_contains "$W/last.err" "ERR nothing_to_accept"
assert_exit 2 pc reload 'Bad Slug'
assert_exit 4 pc status --control "ipc://$W/none.ipc" -t 300
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    assert_exit 7 setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$P" status --control "ipc://$W/run/control.ipc"
else
    skip_part "exit 7 for a user outside the socket's group: needs root and setpriv"
fi
stop_daemon
