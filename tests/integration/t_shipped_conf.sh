# The configuration file the packages ship (packaging/common/pricecached.conf):
# without a DSN the daemon refuses at once and says what to set; with the
# DSN and the machine-specific paths from the environment, it loads.
SHIPPED="$ROOT/packaging/common/pricecached.conf"
assert_exit 2 "$B/pricecached" -c "$SHIPPED" --once
assert_contains "$W/last.err" "[database] dsn is required"
assert_contains "$W/last.err" "PRICECACHE_DATABASE_DSN"
# Nothing else is wrong with the file: one error line only.
assert_eq 1 "$(wc -l <"$W/last.err")" "error lines for the shipped file"

seed_basic
mkdir -p "$W/run"
PRICECACHE_DATABASE_DSN="$DSN password=s3cr3t-shipped" PRICECACHE_CACHE_PATH="$CACHE" PRICECACHE_HTTP_LISTEN= \
    PRICECACHE_BUS_EVENTS="ipc://$W/run/events.ipc" PRICECACHE_BUS_CONTROL="ipc://$W/run/control.ipc" \
    "$B/pricecached" -c "$SHIPPED" --once 2>>"$W/daemon.log" || fail "--once with the shipped file"
assert_exit 0 pc get acme s1 item10
assert_eq "$(printf '1\t1700000000\tstore')" "$(cat "$W/last.out")" "price through the shipped file"
# The password never shows, even when the DSN comes from the environment.
assert_contains "$W/daemon.log" "$DB"
assert_not_contains "$W/daemon.log" "s3cr3t-shipped"
