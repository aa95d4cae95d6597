# Contract (schema, lookup semantics): odd but legal ids and values load and
# read back byte for byte; bad rows are rejected one by one and counted by
# reason; infinite timestamps do not fail a chain (full load and delta).
write_conf "[load]" "max_reject_ratio = 1"
L200=$(printf 'i%.0s' $(seq 200))                     # exactly PC_ID_MAX bytes
L201="${L200}x"
E200=$(python3 -c 'print("é" * 100, end="")')         # 200 bytes of 2-byte chars
E201="${E200}x"
sql "INSERT INTO chains(slug) VALUES ('odd'), ('empty'), ('onlyexc'), ('big'), ('inf'),
       ('ACME'), ('has space'), ('$(printf 'a%.0s' $(seq 65))'), ('$(printf 'b%.0s' $(seq 64))');
     INSERT INTO chain_prices(chain_slug, item_id, price_cents, updated_at) VALUES
       ('odd', 'sp ace', 1, '2020-01-01Z'), ('odd', E'ta\tb', 2, '2020-01-01Z'),
       ('odd', E'new\nline', 3, '2020-01-01Z'), ('odd', 'quo''te\"', 4, '2020-01-01Z'),
       ('odd', E'back\\\\slash', 5, '2020-01-01Z'), ('odd', 'ünï©ødé 価格', 6, '2020-01-01Z'),
       ('odd', '$L200', 7, '2020-01-01Z'), ('odd', '$L201', 8, '2020-01-01Z'),
       ('odd', '$E200', 9, '2020-01-01Z'), ('odd', '$E201', 10, '2020-01-01Z'),
       ('odd', 'zero', 0, '2020-01-01Z'), ('odd', 'neg', -5, '2020-01-01Z'),
       ('odd', 'past', 11, '1900-01-01 00:00:00Z'), ('odd', 'prehalf', 12, '1969-12-31 23:59:59.5Z'),
       ('odd', 'future', 13, '9999-12-31 23:59:59Z'), ('odd', '', 14, '2020-01-01Z'),
       ('big', 'max', 9223372036854775807, '2020-01-01Z'),
       ('inf', 'a', 1, 'infinity'), ('inf', 'b', 2, '-infinity'), ('inf', 'c', 3, '2020-01-01Z');
     INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents, updated_at) VALUES
       ('odd', 'st ore', 'sp ace', 100, '2021-01-01Z'), ('odd', E'st\tore', 'noBase', 101, '2021-01-01Z'),
       ('odd', '$L200', '$L200', 102, '2021-01-01Z'), ('odd', '$L201', 'zero', 103, '2021-01-01Z'),
       ('odd', '', 'zero', 104, '2021-01-01Z'), ('odd', 'ünï', 'ünï©ødé 價', 105, '2021-01-01Z'),
       ('onlyexc', 's1', 'x', 7, '2021-01-01Z')"
once || fail "--once failed: $(tail -3 "$W/daemon.log")"
T20=1577836800
for pair in "1|sp ace" $'2|ta\tb' $'3|new\nline' "4|quo'te\"" '5|back\slash' '6|ünï©ødé 価格' \
            "7|$L200" "9|$E200" '0|zero'; do
    assert_eq "${pair%%|*}"$'\t'"$T20"$'\tbase' "$(pc get odd '' "${pair#*|}")" "base price of $(printf %q "${pair#*|}")"
done
assert_eq $'11\t-2208988800\tbase' "$(pc get odd '' past)" "updated_at before 1900"
assert_eq $'12\t-1\tbase' "$(pc get odd '' prehalf)" "updated_at half a second before 1970 (floor)"
assert_eq $'13\t253402300799\tbase' "$(pc get odd '' future)" "updated_at in 9999"
assert_eq $'100\t1609459200\tstore' "$(pc get odd 'st ore' 'sp ace')" "store id with a space"
assert_eq $'101\t1609459200\tstore' "$(pc get odd $'st\tore' noBase)" "exception without a base price"
assert_exit 1 pc get odd '' noBase
assert_eq $'102\t1609459200\tstore' "$(pc get odd "$L200" "$L200")" "200-byte store and item"
assert_eq $'105\t1609459200\tstore' "$(pc get odd 'ünï' 'ünï©ødé 價')" "UTF-8 store"
assert_exit 2 pc get odd '' "$L201"
assert_exit 2 pc get odd '' "$E201"
assert_exit 2 pc get odd "$L201" zero
assert_exit 1 pc get odd '' neg
assert_exit 2 pc get odd '' ''
# dump and many keep one row per line: tab, newline, CR, backslash escaped as in COPY
assert_eq 16 "$(pc dump odd | wc -l)" "dump lines of odd (12 base + 4 store)"
pc dump odd | grep -qxF "$(printf '\tta\\tb\t2\t1577836800')" || fail "dump: tab in an id not escaped: $(pc dump odd | head -3)"
pc dump odd | grep -qxF "$(printf '\tnew\\nline\t3\t1577836800')" || fail "dump: newline in an id not escaped"
pc dump odd | grep -qxF "$(printf '\tback\\\\slash\t5\t1577836800')" || fail "dump: backslash in an id not escaped"
pc dump odd | grep -qxF "$(printf 'st\\tore\tnoBase\t101\t1609459200')" || fail "dump: tab in a store id not escaped"
assert_eq 0 "$(pc dump odd | awk -F'\t' 'NF != 4 {bad++} END {print bad + 0}')" "dump lines without 4 columns"
printf 'ta\tb\nsp ace\n' | pc many odd '' >"$W/many.out" || true
assert_eq "$(printf 'ta\\tb\t2\t1577836800\tbase\nsp ace\t1\t1577836800\tbase')" "$(cat "$W/many.out")" "many echoes escaped ids"
# rejected rows: one negative, two empty ids (item "" and store ""), three over-long
assert_eq 12 "$(info odd base_rows)" "odd base rows"
assert_eq 4 "$(info odd store_rows)" "odd store rows"
assert_eq 1 "$(info odd rejected_negative_price)" "negative price rejected"
assert_eq 2 "$(info odd rejected_empty_id)" "empty ids rejected"
assert_eq 3 "$(info odd rejected_long_id)" "201-byte ids rejected"
# a chain with no rows, one with exceptions only, bigint max
assert_eq 0 "$(info empty base_rows)" "empty chain"
assert_exit 1 pc get empty '' x
assert_eq $'7\t1609459200\tstore' "$(pc get onlyexc s1 x)" "exceptions-only chain"
assert_exit 1 pc get onlyexc '' x
assert_eq 0 "$(info onlyexc avg_cents)" "no base rows: mean 0"
assert_eq $'9223372036854775807\t1577836800\tbase' "$(pc get big '' max)" "bigint max price"
assert_eq 9223372036854775807 "$(info big avg_cents)" "mean of one bigint max price"
# infinite timestamps: the chain loads (was: "cannot convert infinity to bigint")
assert_eq $'1\t9223372036854775807\tbase' "$(pc get inf '' a)" "+infinity"
assert_eq $'2\t-9223372036854775808\tbase' "$(pc get inf '' b)" "-infinity"
# invalid slugs in chains: logged and skipped, the 64-byte one loads
assert_exit 0 pc info "$(printf 'b%.0s' $(seq 64))"
for s in ACME 'has space' "$(printf 'a%.0s' $(seq 65))"; do
    assert_contains "$W/daemon.log" "chain \\\"$s\\\": invalid slug"
done
# the delta path takes infinity too
start_daemon
v=$(info inf version)
sql "UPDATE chain_prices SET updated_at = 'infinity', price_cents = 33 WHERE chain_slug = 'inf' AND item_id = 'c'"
wait_until '[ "$(pc get inf "" c)" = "$(printf "33\t9223372036854775807\tbase")" ]' 5
assert_not_contains "$W/daemon.log" "cannot convert infinity"
# a delta on prices near bigint max keeps the mean in range (was INT64_MIN)
sql "INSERT INTO chain_prices(chain_slug, item_id, price_cents) VALUES ('big', 'max2', 9223372036854775806)"
wait_until '[ "$(pc get big "" max2 | cut -f1)" = 9223372036854775806 ]' 5
assert_eq 9223372036854775807 "$(info big avg_cents)" "mean of two prices near bigint max after a delta"
# deltas carry odd ids through the NOTIFY payload and back
sql "INSERT INTO chain_prices(chain_slug, item_id, price_cents) VALUES
       ('odd', E'd\tnew\nline', 21), ('odd', 'dquo''te\"\\', 22), ('odd', '{\"a\":1}', 23), ('odd', 'd$L200', 24)"
wait_until '[ "$(pc get odd "" "{\"a\":1}" | cut -f1)" = 23 ]' 5
assert_eq 21 "$(pc get odd '' $'d\tnew\nline' | cut -f1)" "delta: tab and newline"
assert_eq 22 "$(pc get odd '' "dquo'te\"\\" | cut -f1)" "delta: quotes and backslash"
assert_exit 2 pc get odd "" "d$L200"
assert_contains "$W/daemon.log" "rejected 4 rows (long_id)"
# deleted and re-created: a new, higher version
sql "DELETE FROM chain_prices WHERE chain_slug = 'onlyexc'; DELETE FROM store_prices WHERE chain_slug = 'onlyexc';
     DELETE FROM chains WHERE slug = 'onlyexc'"
wait_until '! pc info onlyexc' 5
v1=$(info inf version)
sql "INSERT INTO chains VALUES ('onlyexc'); INSERT INTO chain_prices(chain_slug, item_id, price_cents) VALUES ('onlyexc', 'x', 8)"
wait_until '[ "$(pc get onlyexc "" x | cut -f1)" = 8 ]' 5
assert_ge $((v1 + 1)) "$(info onlyexc version)" "version of a re-created chain"
assert_ge $((v + 1)) "$v1" "version after a delta"
stop_daemon
