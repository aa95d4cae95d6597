# Deltas read through statements prepared once per connection, the chain
# their last parameter: base, store and mixed deltas apply exactly, and the
# workers' backends run the prepared text.  A configured query that cannot
# be prepared that way (here: no $1, a query of one chain) is sent as text,
# with the chain as a literal, and its deltas apply all the same.
seed_basic
start_daemon
# A backend of the daemon (not this psql) whose statement text is $1.
ran() { sql "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE '%= ANY(\$1::text[])%' AND query LIKE '%$1%'"; }

sql "UPDATE chain_prices SET price_cents = 701 WHERE chain_slug = 'acme' AND item_id = 'item1'"
wait_until '[ "$(pc get acme "" item1 | cut -f1)" = 701 ]' 5
wait_until "grep -q 'chain acme: applied 1 changed keys' \"\$W/daemon.log\"" 5
assert_ge 1 "$(ran 'chain_slug = $2')" "backends that ran the prepared base statement"
assert_eq 0 "$(ran "chain_slug = ''acme''")" "backends that ran the base statement as text"
sql "UPDATE chain_prices SET price_cents = 703 WHERE chain_slug = 'acme' AND item_id = 'item3'"
wait_until '[ "$(pc get acme "" item3 | cut -f1)" = 703 ]' 5

# A store exception and a base price in one transaction: one snapshot, both.
sql "BEGIN;
     INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents) VALUES ('acme', 's3', 'item2', 7);
     UPDATE chain_prices SET price_cents = 702 WHERE chain_slug = 'acme' AND item_id = 'item2';
     COMMIT"
wait_until '[ "$(pc get acme s3 item2 | cut -f1)" = 7 ] && [ "$(pc get acme "" item2 | cut -f1)" = 702 ]' 5
wait_until "grep -q 'chain acme: applied 2 changed keys' \"\$W/daemon.log\"" 5
sql "DELETE FROM store_prices WHERE store_id = 's3'"
wait_until '[ "$(pc get acme s3 item2 | cut -f1)" = 702 ]' 5
assert_eq 1 "$(pc get acme s1 item10 | cut -f1)" "an exception no delta touched"
assert_eq 100 "$(info acme base_rows)" "base rows after the deltas"
stop_daemon

# One chain's query without $1: not preparable with the chain as a
# parameter; sent as text.
sql "UPDATE chains SET active = false WHERE slug = 'beta'"
cat >>"$CONF" <<'C'
[load]
base_query = SELECT item_id, price_cents, updated_at FROM chain_prices WHERE chain_slug = 'acme'
C
start_daemon
sql "UPDATE chain_prices SET price_cents = 704 WHERE chain_slug = 'acme' AND item_id = 'item4'"
wait_until '[ "$(pc get acme "" item4 | cut -f1)" = 704 ]' 5
sql "DELETE FROM chain_prices WHERE chain_slug = 'acme' AND item_id = 'item5'"
wait_until '! pc get acme "" item5' 5
assert_eq 701 "$(pc get acme "" item1 | cut -f1)" "a price no delta touched"
wait_until "[ \"\$(grep -c 'chain acme: applied 1 changed keys' \"\$W/daemon.log\")\" -ge 5 ]" 5
assert_ge 1 "$(ran "chain_slug = ''acme''")" "backends that ran the base statement as text"
stop_daemon
