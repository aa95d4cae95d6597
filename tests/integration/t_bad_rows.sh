# Bad rows are rejected one by one and counted by reason while good rows load.
seed_basic
long=$(printf 'x%.0s' $(seq 201))
ok200=$(printf 'y%.0s' $(seq 200))
sql "INSERT INTO chain_prices(chain_slug,item_id,price_cents) VALUES
       ('acme','neg',-1), ('acme','',5), ('acme','$long',5), ('acme','$ok200',7), ('acme','zero',0),
       ('acme', E'tab\there', 8);
     INSERT INTO store_prices(chain_slug,store_id,item_id,price_cents) VALUES
       ('acme','','item1',5), ('acme','s9','item1',-3), ('acme','$long','item1',4)"
printf '[load]\nmax_reject_ratio = 0.5\n' >>"$CONF"
once || fail "--once failed: $(tail -3 "$W/daemon.log")"
assert_eq 2 "$(info acme rejected_negative_price)" "negative_price"
assert_eq 2 "$(info acme rejected_empty_id)" "empty_id"
assert_eq 2 "$(info acme rejected_long_id)" "long_id"
assert_eq 0 "$(info acme rejected_null)" "null"
assert_eq 103 "$(info acme base_rows)" "good base rows (100 + 200-byte id + zero + tab)"
assert_eq 7 "$(pc get acme '' "$ok200" | cut -f1)" "a 200-byte id is fine"
assert_eq 0 "$(pc get acme '' zero | cut -f1)" "price 0 is fine"
assert_eq 8 "$(pc get acme '' "$(printf 'tab\there')" | cut -f1)" "tab in an id"
assert_exit 1 pc get acme '' neg
assert_eq 101 "$(pc get acme s9 item1 | cut -f1)" "rejected exception falls back to base"
grep -q 'rejected 2 rows (negative_price)' "$W/daemon.log" || fail "no reject log with a sample"
grep -q 'e.g. item=' "$W/daemon.log" || fail "no sample in the reject log"

# Custom queries: NULLs and duplicate keys are rejected too.
cat >>"$CONF" <<'C'
base_query = SELECT item_id, price_cents, updated_at FROM chain_prices WHERE chain_slug = $1
  UNION ALL SELECT 'item5', 999, timestamptz '2000-01-01'
  UNION ALL SELECT 'nullprice', NULL, now() UNION ALL SELECT NULL, 5, now()
C
once || fail "--once failed: $(tail -3 "$W/daemon.log")"
assert_eq 2 "$(info acme rejected_null)" "null"
assert_eq 1 "$(info acme rejected_duplicate)" "duplicate"
assert_eq 105 "$(pc get acme '' item5 | cut -f1)" "the newest of duplicate rows is kept"
assert_exit 1 pc get acme '' nullprice
