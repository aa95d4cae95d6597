# Configuration errors name file, line and key; env overrides win; no password in logs.
printf '[database]\ndsn = x\n[cache]\npath = %s\n[load]\nbogus = 1\n' "$CACHE" >"$W/bad.conf"
assert_exit 2 "$B/pricecached" -c "$W/bad.conf" --once
assert_contains "$W/last.err" "$W/bad.conf:6: [load] bogus: unknown key"
printf '[database]\ndsn = x\n[cache]\npath = %s\n[load]\nconcurrency = lots\n' "$CACHE" >"$W/bad2.conf"
assert_exit 2 "$B/pricecached" -c "$W/bad2.conf" --once
assert_contains "$W/last.err" ":6: [load] concurrency: expected a whole number"
printf '[cache]\npath = %s\n' "$CACHE" >"$W/nodsn.conf"
assert_exit 2 "$B/pricecached" -c "$W/nodsn.conf" --once
assert_contains "$W/last.err" "[database] dsn is required"
assert_exit 2 "$B/pricecached" -c "$W/missing.conf"
assert_exit 2 "$B/pricecached"
assert_exit 2 "$B/pricecached" -c "$CONF" --bogus
assert_exit 0 "$B/pricecached" --help
assert_exit 0 "$B/pricecached" --version
assert_contains "$W/last.out" "pricecached $(cat "$ROOT/VERSION")"
# env override: a broken base query through the environment makes --once fail
seed_basic
PRICECACHE_LOAD_BASE_QUERY="SELECT nonsense" assert_exit 1 "$B/pricecached" -c "$CONF" --once
PRICECACHE_LOAD_CONCURRENCY=0 assert_exit 2 "$B/pricecached" -c "$CONF" --once
assert_contains "$W/last.err" "PRICECACHE_LOAD_CONCURRENCY"
# a password in the DSN never reaches the log, even when the connection fails
sql "ALTER USER postgres PASSWORD 'pw'"
printf '[database]\ndsn = %s password=s3cretPW\n[cache]\npath = %s\n' "$DSN" "$CACHE" >"$W/pw.conf"
"$B/pricecached" -c "$W/pw.conf" --once 2>"$W/pw.log" || true
printf '[database]\ndsn = postgresql://postgres:s3cretPW@127.0.0.1:1/none\n[cache]\npath = %s\n' "$CACHE" >"$W/pw2.conf"
"$B/pricecached" -c "$W/pw2.conf" --once 2>>"$W/pw.log" || true
assert_contains "$W/pw.log" "password=***"
assert_not_contains "$W/pw.log" "s3cretPW"
# every log line is one JSON object
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$W/pw.log" || fail "log is not JSON lines"
