# The shipped Grafana dashboard (contrib/grafana/pricecache.json): a
# datasource and a chain variable, every PromQL expression parses (promtool
# check rules on a generated file, Grafana's variables substituted), and
# every metric named by it or by the shipped rules is one the real daemon
# exports (the # TYPE lines of its /metrics), one issue 13 adds
# (tests/prometheus/metrics-issue13.txt) or a recording rule of the rules.
command -v promtool >/dev/null 2>&1 || skip "promtool not installed (Debian package prometheus)"
seed_basic
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[http]\nlisten = 127.0.0.1:%s\n' "$PORT" >>"$CONF"
start_daemon
curl -sf "http://127.0.0.1:$PORT/metrics" >"$W/metrics.txt" || fail "GET /metrics failed"
grep '^# TYPE ' "$W/metrics.txt" >"$W/exported.txt"
/usr/bin/python3 "$ROOT/tests/prometheus/check_dashboard.py" "$ROOT/contrib/grafana/pricecache.json" \
    "$ROOT/contrib/prometheus/pricecache-alerts.yml" "$W/exported.txt" \
    "$ROOT/tests/prometheus/metrics-issue13.txt" >"$W/check.out" 2>&1 || fail "dashboard: $(cat "$W/check.out")"
cat "$W/check.out"
stop_daemon
