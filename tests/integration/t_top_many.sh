# pricecache-top with 300 chains: End, PgUp, Home and j scroll the table
# with the selection on screen; / narrows it; ? shows the help drawn from
# the key table; NO_COLOR gives a monochrome screen (reverse video only).
. "$ROOT/tests/lib/top.sh"
sql "INSERT INTO chains(slug) SELECT 'c' || lpad(g::text, 3, '0') FROM generate_series(0, 299) g;
     INSERT INTO chain_prices(chain_slug, item_id, price_cents)
       SELECT 'c' || lpad(g::text, 3, '0'), 'i', g FROM generate_series(0, 299) g"
start_daemon
TOP_ENV="NO_COLOR=1" top_start
wait_screen ' 300/300 chains  sort CHAIN'
# 100x30: the table has rows 5..22 (18 of them).
assert_eq ' c000' "$(screen_line 5 | cut -c1-5)" "first row"
assert_eq ' c017' "$(screen_line 22 | cut -c1-5)" "last row shown"
keys End
wait_until 'screen_line 22 | grep -q "^ c299 "' 5
assert_eq ' c282' "$(screen_line 5 | cut -c1-5)" "first row after End"
keys PPage
wait_until 'screen_line 5 | grep -q "^ c281 "' 5
keys Home j j
wait_until 'screen_line 5 | grep -q "^ c000 "' 5
# The selection (reverse video) is on the third row, c002.
tm capture-pane -e -p | sed -n 7p | grep -q $'^\e\\[7m.*c002 ' || fail "selection: $(tm capture-pane -e -p | sed -n 7p | cat -v)"
# Monochrome: no colour at all on the screen.
if tm capture-pane -e -p | grep -qE $'\e\\[([0-9;]*;)?[34][0-7](;[0-9;]*)?m'; then
    fail "colours with NO_COLOR: $(tm capture-pane -e -p | grep -E $'\e\\[([0-9;]*;)?[34][0-7]m' | head -3 | cat -v)"
fi
keys / 2 9 Enter
wait_screen ' 13/300 chains'   # c029, c129, c229, c290..c299
keys '?'
wait_screen 'pricecache-top - keys'
screen | grep -qE '^ PgUp \^B +one page up' || fail "help: $(screen)"
screen | grep -qE '^ r +reload the selected chain' || fail "help: $(screen)"
keys x
wait_screen ' 13/300 chains'
keys q
wait_until '! tm has-session 2>/dev/null' 5
[ ! -s "$W/top.err" ] || fail "stderr: $(cat "$W/top.err")"
stop_daemon
