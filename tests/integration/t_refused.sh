# Guards: a load that rejects too much, or shrinks too much, is refused; the old snapshot stays.
seed_basic
once
v1=$(info acme version)
assert_eq 150 "$(info acme avg_cents)"
# 90% of the rows gone: refused by max_shrink_ratio (default 0.5)
sql "DELETE FROM store_prices WHERE chain_slug='acme'; DELETE FROM chain_prices WHERE chain_slug='acme' AND price_cents >= 110"
assert_exit 1 "$B/pricecached" -c "$CONF" --once
assert_contains "$W/last.err" "load refused"
assert_eq "$v1" "$(info acme version)" "version after refused shrink"
assert_eq refused "$(info acme last_result)" "last_result"
assert_eq 100 "$(info acme base_rows)" "rows kept"
assert_eq 150 "$(pc get acme '' item50 | cut -f1)" "old price still served"
assert_eq 1 "$(pc get acme s1 item50 | cut -f1)" "old exception still served"
# allowed once the operator raises the ratio
PRICECACHE_LOAD_MAX_SHRINK_RATIO=1 assert_exit 0 "$B/pricecached" -c "$CONF" --once
assert_eq 10 "$(info acme base_rows)" "shrink accepted"
# too many rejects: refused by max_reject_ratio (default 0.05)
sql "UPDATE chain_prices SET price_cents = -1 WHERE chain_slug='acme' AND item_id IN ('item1','item2')"
v2=$(info acme version)
assert_exit 1 "$B/pricecached" -c "$CONF" --once
assert_eq "$v2" "$(info acme version)" "version after refused rejects"
assert_eq 101 "$(pc get acme '' item1 | cut -f1)" "old price of a now-bad row still served"
assert_contains "$W/last.err" "rows rejected"
# the other chain was unaffected
assert_eq ok "$(info beta last_result)"
