# The shipped Prometheus rules (contrib/prometheus/pricecache-alerts.yml):
# promtool check rules clean, every alert's unit tests pass (a fixture where
# it fires with its labels and annotations, one where it must not: a blip
# under its for:, a removed chain), and the house rules hold. No daemon.
command -v promtool >/dev/null 2>&1 || skip "promtool not installed (Debian package prometheus)"
sh "$ROOT/tests/prometheus/run.sh" >"$W/rules.out" 2>&1 || fail "rules: $(tail -40 "$W/rules.out")"
cat "$W/rules.out"
