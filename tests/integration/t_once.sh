# --once exit codes; a load failure of one chain does not stop the others.
seed_basic
assert_exit 0 "$B/pricecached" -c "$CONF" --once
sql "INSERT INTO chains VALUES ('broken')"
printf '[load]\nbase_query = SELECT item_id, price_cents, updated_at FROM chain_prices WHERE chain_slug = $1 AND 1 / (CASE WHEN $1 = %s THEN 0 ELSE 1 END) = 1\n' "'broken'" >>"$CONF"
assert_exit 1 "$B/pricecached" -c "$CONF" --once
assert_contains "$W/last.err" "chain broken: load failed"
assert_contains "$W/last.err" "division by zero"
assert_exit 3 pc get broken '' x
assert_eq ok "$(info acme last_result)"
# database unreachable: exit 1, and the cache still answers
printf '[database]\ndsn = host=127.0.0.1 port=1 dbname=x connect_timeout=1\n[cache]\npath = %s\n' "$CACHE" >"$W/down.conf"
assert_exit 1 "$B/pricecached" -c "$W/down.conf" --once
assert_exit 0 pc get acme s1 item10
