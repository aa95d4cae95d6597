# The daemon orders a chain's rows itself (PostgreSQL streams them unsorted):
# updated_at of each type a custom query may return (timestamptz, timestamp,
# date, infinities) reads as floor(extract(epoch ...)) gives it; among
# duplicate keys the newest row wins to the microsecond, and of equally new
# rows the first the query returns; any other type fails the load with the
# columns expected, as before.
sql "INSERT INTO chains(slug) VALUES ('ts'), ('d'), ('dup');
     CREATE TABLE src_ts (c text, item_id text, price_cents bigint, t timestamp);
     CREATE TABLE src_d (c text, item_id text, price_cents bigint, t date);
     CREATE TABLE src_dup (c text, item_id text, price_cents bigint, t timestamptz);
     INSERT INTO src_ts VALUES ('ts', 'a', 1, '2020-06-01 12:34:56.789'),
       ('ts', 'b', 2, '1969-12-31 23:59:59.5'), ('ts', 'c', 3, 'infinity'),
       ('ts', 'e', 4, '-infinity'), ('ts', 'f', 5, '1900-01-01'), ('ts', 'g', 6, '2262-04-12 00:00:00.000001');
     INSERT INTO src_d VALUES ('d', 'a', 1, '2020-06-01'), ('d', 'b', 2, '1960-02-29'),
       ('d', 'c', 3, 'infinity'), ('d', 'e', 4, '-infinity'), ('d', 'f', 5, '2000-01-01');
     INSERT INTO src_dup VALUES ('dup', 'x', 1, '2020-01-01 00:00:00.100Z'),
       ('dup', 'x', 2, '2020-01-01 00:00:00.900Z'), ('dup', 'x', 3, '2020-01-01 00:00:00.500Z'),
       ('dup', 'y', 10, '2020-01-01Z'), ('dup', 'y', 11, '2020-01-01Z'),
       ('dup', 'z', 20, '1999-12-31 23:59:59.999999Z'), ('dup', 'z', 21, '2000-01-01Z'),
       ('dup', 'w', 30, 'infinity'), ('dup', 'w', 31, '9999-01-01Z')"
# What the former query, floor(extract(epoch ...)) with infinities at the
# ends of int64, made of each row.
epoch() { # TABLE
    sql "SELECT item_id || ' ' || CASE WHEN isfinite(t) THEN floor(extract(epoch FROM t))::bigint::text
                WHEN t > 'epoch' THEN '9223372036854775807' ELSE '-9223372036854775808' END
         FROM $1 ORDER BY item_id"
}
load_from() { # TABLE CHAIN
    write_conf "[load]" "max_reject_ratio = 1" "chains_query = SELECT '$2' AS slug" \
        "base_query = SELECT item_id, price_cents, t AS updated_at FROM $1 WHERE c = \$1"
    once || fail "--once from $1: $(tail -3 "$W/daemon.log")"
}
for pair in src_ts:ts src_d:d; do
    load_from "${pair%%:*}" "${pair#*:}"
    epoch "${pair%%:*}" >"$W/want"
    [ -s "$W/want" ] || fail "no rows in ${pair%%:*}"
    while read -r item want; do
        assert_eq "$want" "$(pc get "${pair#*:}" '' "$item" | cut -f2)" "updated_at of ${pair%%:*}.$item"
    done <"$W/want"
done
load_from src_dup dup
assert_eq 2 "$(pc get dup '' x | cut -f1)" "the newest of three rows in one second (.9 s)"
assert_eq 10 "$(pc get dup '' y | cut -f1)" "of two equally new rows, the first returned"
assert_eq $'21\t946684800' "$(pc get dup '' z | cut -f1,2)" "newer by a microsecond across a second"
assert_eq 30 "$(pc get dup '' w | cut -f1)" "infinity is the newest"
assert_eq 5 "$(info dup rejected_duplicate)" "duplicates counted"
assert_eq 4 "$(info dup base_rows)" "one row per key"
# a column of another type: the load fails naming the columns, as before
sql "CREATE TABLE src_txt (c text, item_id text, price_cents bigint, t text);
     INSERT INTO src_txt VALUES ('dup', 'x', 1, '2020-01-01')"
v=$(info dup version)
write_conf "[load]" "chains_query = SELECT 'dup' AS slug" \
    "base_query = SELECT item_id, price_cents, t AS updated_at FROM src_txt WHERE c = \$1"
assert_exit 1 "$B/pricecached" -c "$CONF" --once
assert_contains "$W/last.err" "the base query must return the columns item_id text, price_cents bigint, updated_at timestamptz"
assert_eq "$v" "$(info dup version)" "the snapshot stays"
