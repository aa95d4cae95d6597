# Contract (schema): custom load queries over a site's own schema, written as
# one writes them in psql (trailing ';', a trailing comment, several lines),
# load and propagate changes; wrong columns fail the load with an error that
# names the columns expected, and the last good snapshot stays.
seed_basic
sql "CREATE TABLE site_prices (c text, sku text, p bigint, t timestamptz DEFAULT now());
     INSERT INTO site_prices SELECT chain_slug, item_id, price_cents * 2, updated_at FROM chain_prices;
     CREATE TABLE site_chains (name text, enabled int);
     INSERT INTO site_chains VALUES ('acme', 1), ('beta', 0);
     CREATE FUNCTION site_notify() RETURNS trigger LANGUAGE plpgsql AS
       \$\$BEGIN PERFORM pg_notify('pricecache', json_build_object('chain', 'acme', 'reload', true)::text); RETURN NULL; END\$\$;
     CREATE TRIGGER site_notify AFTER INSERT OR UPDATE OR DELETE ON site_prices FOR EACH STATEMENT EXECUTE FUNCTION site_notify()"
write_conf "[load]" \
    "chains_query = SELECT name AS slug FROM site_chains WHERE enabled = 1;" \
    "base_query = SELECT sku AS item_id, p AS price_cents, t AS updated_at" \
    "   FROM site_prices" \
    "   WHERE c = \$1; -- one site, one schema"
once || fail "--once with custom queries: $(tail -3 "$W/daemon.log")"
assert_eq 202 "$(pc get acme '' item1 | cut -f1)" "price from the custom base query"
assert_eq 1 "$(pc get acme s1 item10 | cut -f1)" "store exception from the default store query"
assert_exit 3 pc info beta
# wrong columns: a clear error naming what is expected; the snapshot stays
v=$(info acme version)
printf '[load]\nbase_query = SELECT sku, p, t FROM site_prices WHERE c = $1\n' >>"$CONF.wrong"
{ grep -v '_query\|^   ' "$CONF"; cat "$CONF.wrong"; } >"$W/wrong.conf"
assert_exit 1 "$B/pricecached" -c "$W/wrong.conf" --once
assert_contains "$W/last.err" 'column \"item_id\" does not exist'
assert_contains "$W/last.err" "the base query must return the columns item_id text, price_cents bigint, updated_at timestamptz"
{ grep -v '_query\|^   ' "$CONF"; printf '[load]\nstore_query = SELECT store_id, item_id, price_cents FROM store_prices WHERE chain_slug = $1\n'; } >"$W/wrong2.conf"
assert_exit 1 "$B/pricecached" -c "$W/wrong2.conf" --once
assert_contains "$W/last.err" "the store query must return the columns store_id text, item_id text, price_cents bigint, updated_at timestamptz"
{ grep -v '_query\|^   ' "$CONF"; printf '[load]\nchains_query = SELECT slug, active FROM chains\n'; } >"$W/wrong3.conf"
assert_exit 1 "$B/pricecached" -c "$W/wrong3.conf" --once
assert_contains "$W/last.err" "chains query: returned 2 columns, expected 1 (slug)"
assert_contains "$W/last.err" "database: the chains query failed; serving the snapshots on disk"
assert_not_contains "$W/last.err" "unreachable"
assert_eq 202 "$(pc get acme '' item1 | cut -f1)" "the good snapshot stays"
assert_eq "$v" "$(info acme version)" "version after failed loads"
# NULL from a custom query: rejected row by row, counted
{ grep -v '_query\|^   ' "$CONF"; printf '[load]\nmax_reject_ratio = 1\nbase_query = SELECT sku AS item_id, CASE WHEN sku = %s THEN NULL ELSE p END AS price_cents, t AS updated_at FROM site_prices WHERE c = $1\n' "'item5'"; } >"$W/null.conf"
"$B/pricecached" -c "$W/null.conf" --once 2>>"$W/daemon.log" || fail "--once with a NULL price"
assert_eq 1 "$(info acme rejected_null)" "NULL price rejected"
assert_exit 1 pc get acme '' item5
# the daemon with the custom queries: a change arrives through the site's own trigger
start_daemon
sql "UPDATE site_prices SET p = 5 WHERE sku = 'item2'"
wait_until '[ "$(pc get acme "" item2 | cut -f1)" = 5 ]' 10
stop_daemon
# a database without the schema: the error says how to apply it
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS t_contract_nomig" -c "CREATE DATABASE t_contract_nomig" >/dev/null
printf '[database]\ndsn = %s\n[cache]\npath = %s\n' "$(pg_dsn t_contract_nomig)" "$W/nomig" >"$W/nomig.conf"
assert_exit 1 "$B/pricecached" -c "$W/nomig.conf" --once
assert_contains "$W/last.err" 'relation \"chains\" does not exist (is the schema applied? pricecached -c FILE --migrate)'
psql -X -q -d t_contract_nomig -c "CREATE TABLE chains (slug text PRIMARY KEY, active boolean NOT NULL DEFAULT true); INSERT INTO chains VALUES ('a')"
assert_exit 1 "$B/pricecached" -c "$W/nomig.conf" --once
assert_contains "$W/last.err" 'relation \"chain_prices\" does not exist (is the schema applied? pricecached -c FILE --migrate)'
assert_exit 0 "$B/pricecached" -c "$W/nomig.conf" --migrate
assert_exit 0 "$B/pricecached" -c "$W/nomig.conf" --once
psql -X -q -d postgres -c "DROP DATABASE t_contract_nomig" >/dev/null
