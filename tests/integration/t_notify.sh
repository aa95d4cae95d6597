# Change propagation: a single UPDATE arrives as a small delta; a burst of
# 1,000 NOTIFYs for one chain produces a bounded number of loads; deletes
# and store exceptions propagate; a new chain appears.
seed_basic
start_daemon
sql "UPDATE chain_prices SET price_cents = 777 WHERE chain_slug = 'acme' AND item_id = 'item7'"
wait_until '[ "$(pc get acme "" item7 | cut -f1)" = 777 ]' 5
# The log line follows the commit that readers already see: wait for it.
wait_until "grep -q 'chain acme: applied 1 changed keys' \"\$W/daemon.log\"" 5
grep -q 'chain acme: published version 3' "$W/daemon.log" && fail "applied by a full reload, not as a delta"
sql "INSERT INTO store_prices(chain_slug,store_id,item_id,price_cents) VALUES ('acme','s2','item7',5)"
wait_until '[ "$(pc get acme s2 item7 | cut -f1)" = 5 ]' 5
sql "DELETE FROM store_prices WHERE store_id = 's2'"
wait_until '[ "$(pc get acme s2 item7 | cut -f1)" = 777 ]' 5
sql "DELETE FROM chain_prices WHERE item_id = 'item8'"
wait_until '! pc get acme "" item8' 5
assert_eq 99 "$(info acme base_rows)" "rows after a delta delete"
assert_eq 157 "$(info acme avg_cents)" "mean after the deltas ((14950 + 670 - 108) / 99)"
# 1,000 separate transactions on one chain
before=$(grep -c 'chain beta: \(applied\|published\)' "$W/daemon.log" || true)
for i in $(seq 1 1000); do echo "UPDATE chain_prices SET price_cents = $i WHERE chain_slug = 'beta' AND item_id = 'b$(( i % 10 + 1 ))';"; done \
    | psql -X -q -d "$DB" -v ON_ERROR_STOP=1 >/dev/null
wait_until '[ "$(pc get beta "" b1 | cut -f1)" = 1000 ] && [ "$(pc get beta "" b10 | cut -f1)" = 999 ]' 10
sleep 0.5
after=$(grep -c 'chain beta: \(applied\|published\)' "$W/daemon.log" || true)
echo "publishes for 1,000 NOTIFYs: $((after - before))"
assert_le 300 $((after - before)) "publishes for 1,000 NOTIFYs"
# a new chain
sql "INSERT INTO chains VALUES ('gamma'); INSERT INTO chain_prices(chain_slug,item_id,price_cents) VALUES ('gamma','x',3)"
wait_until '[ "$(pc get gamma "" x | cut -f1)" = 3 ]' 5
sql "UPDATE chains SET active = false WHERE slug = 'gamma'"
wait_until '! pc info gamma' 5
stop_daemon
