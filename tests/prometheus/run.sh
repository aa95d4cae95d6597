#!/bin/sh
# run.sh - check the shipped Prometheus rules: `promtool check rules`, the
# unit tests of pricecache-alerts.test.yml (`promtool test rules`), and the
# house rules every alert keeps (tests/prometheus/lint_rules.py): a `for:`,
# severity page or ticket, a summary and a description, and in the unit
# tests at least one fixture where it fires and one where it must not.
# Exit 0 when all pass; the scenario alert_rules runs it in `make check`.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RULES="$ROOT/contrib/prometheus/pricecache-alerts.yml"
TESTS="$ROOT/tests/prometheus/pricecache-alerts.test.yml"
command -v promtool >/dev/null 2>&1 || { echo "promtool not found (Debian package prometheus)" >&2; exit 2; }
promtool check rules "$RULES"
# promtool resolves rule_files against the test file's directory.
promtool test rules "$TESTS"
/usr/bin/python3 "$ROOT/tests/prometheus/lint_rules.py" "$RULES" "$TESTS"
