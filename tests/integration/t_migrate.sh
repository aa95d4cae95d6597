# --migrate is idempotent and records the schema version.
migrate
migrate
assert_eq "1,2" "$(sql "SELECT string_agg(version::text, ',' ORDER BY version) FROM pricecache_schema")" "versions"
assert_eq 3 "$(sql "SELECT count(DISTINCT event_object_table) FROM information_schema.triggers WHERE trigger_name = 'pricecache_notify'")" "notify triggers"
