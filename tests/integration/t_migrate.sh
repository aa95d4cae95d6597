# --migrate is idempotent and records the schema version.
migrate
migrate
assert_eq "1,2,3" "$(sql "SELECT string_agg(version::text, ',' ORDER BY version) FROM pricecache_schema")" "versions"
assert_eq 10 "$(sql "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pricecache_notify%'")" "notify triggers"
