# Contract (operator CLI): every command's --help answers on stdout with exit
# 0; the man page names every command and the same exit statuses as the
# code; control commands refuse missing/extra arguments with 2 and the
# daemon's refusals with 6; pricecache-top -b -n 2 prints two parseable
# frames and refuses bad options with 2.
seed_basic
CTL="ipc://$W/run/control.ipc"
printf '[bus]\ncontrol = %s\n[http]\nlisten =\n' "$CTL" >>"$CONF"
MAN="$ROOT/packaging/man/pricecache.1"
cmds="get many chains info dump wait basket events status reload breaker accept metrics audit stats"
for c in $cmds; do
    for h in --help -h; do
        assert_exit 0 pc "$c" "$h"
        assert_contains "$W/last.out" "usage: pricecache [-d DIR] $c"
    done
    sed -n '/^\.SH COMMANDS/,/^\.SH EXIT/p' "$MAN" | grep -Eq "^(\.BI? $c( |\$)|\\\\fB$c(\\\\fR| ))" ||
        fail "man page: COMMANDS does not describe $c"
done
# The exit statuses of --help and of the man page: the same codes.
code=$(pc --help | sed -n '/^Exit status/,$p' | awk '/^  [0-9]/{print $1}' | tr '\n' ' ')
man=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$MAN" | awk 'p{print $2; p=0} /^\.TP/{p=1}' | tr '\n' ' ')
assert_eq "$code" "$man" "exit statuses: --help vs man page"
assert_eq "0 1 2 3 4 5 6 7 8 " "$code" "exit statuses listed"

start_daemon
assert_exit 2 pc reload
assert_exit 2 pc reload acme beta
assert_exit 2 pc breaker
assert_exit 2 pc breaker reset
assert_exit 2 pc breaker open acme
assert_exit 2 pc accept
assert_exit 2 pc audit bogus
assert_exit 2 pc audit verify extra
assert_exit 2 pc reload ACME            # not a slug: refused before sending
assert_exit 2 pc events -t 100 ACME     # not a slug: named as the chain, not the address
assert_contains "$W/last.err" 'chain "ACME"'
for bad in "-n 0" "-n x" "-t -5" "-a" "--bogus"; do
    # shellcheck disable=SC2086
    assert_exit 2 pc events $bad
done
assert_exit 6 pc reload nochain
assert_contains "$W/last.err" "no_chain"
assert_exit 6 pc breaker reset nochain
assert_exit 6 pc accept acme             # nothing was refused
assert_contains "$W/last.err" "nothing_to_accept"
assert_exit 0 pc breaker reset acme      # closed: OK, nothing changed, no audit
assert_contains "$W/last.out" "already closed"
assert_exit 0 pc audit
[ -s "$W/last.out" ] && fail "audit holds records after actions that changed nothing: $(cat "$W/last.out")"
assert_exit 0 pc audit verify

# pricecache-top batch mode: two frames, each with the header keys and a
# row per chain; bad options refused with 2.
"$B/pricecache-top" -b -n 2 -d 0.2 -D "$CACHE" -C "$CTL" >"$W/top.out" 2>"$W/top.err" || fail "pricecache-top -b: $(cat "$W/top.err")"
assert_eq 2 "$(grep -c '^pricecache-top frame ' "$W/top.out")" "frames"
assert_eq 2 "$(grep -c '^daemon: ready$' "$W/top.out")" "daemon lines"
assert_eq 2 "$(grep -c '^acme  *[0-9]' "$W/top.out")" "acme rows"
assert_eq 2 "$(grep -c '^beta  *[0-9]' "$W/top.out")" "beta rows"
for bad in "-x" "-d -1" "-d abc" "-d 0" "-n 0" "-n x" "-s nosuch"; do
    # shellcheck disable=SC2086
    assert_exit 2 "$B/pricecache-top" -b $bad -D "$CACHE"
done
stop_daemon
