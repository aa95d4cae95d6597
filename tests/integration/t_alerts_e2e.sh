# The shipped alerts end to end: a real Prometheus (Debian's, its own port
# and data directory, scrape and evaluation every second) loads
# contrib/prometheus/pricecache-alerts.yml unchanged and scrapes the real
# daemon's /metrics. PostgreSQL stopped: the database alert and a chain's
# breaker alert go pending, then firing (after their for: of 2 minutes) in
# /api/v1/alerts with their labels and annotations; PostgreSQL back: both
# resolve. About 2.5 minutes: the for: durations are the shipped ones.
command -v prometheus >/dev/null 2>&1 || skip "prometheus not installed (Debian package prometheus)"
seed_basic
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HPORT=$(free_port)
PPORT=$(free_port)
cat >>"$CONF" <<C
[http]
listen = 127.0.0.1:$HPORT
[breaker]
failures = 1
reset_s = 1
half_open_successes = 1
[load]
refresh_s = 1
C
start_daemon

# Prometheus, stopped in the trap whatever happens (the harness's own trap
# kills the daemon and anything else listed in $W/pids).
PROM_PID=""
stop_prometheus() {
    [ -n "$PROM_PID" ] || return 0
    kill -TERM "$PROM_PID" 2>/dev/null || true
    local i=0
    while kill -0 "$PROM_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$PROM_PID" 2>/dev/null || true
    wait "$PROM_PID" 2>/dev/null || true
    PROM_PID=""
}
trap 'rc=$?; stop_prometheus; for p in $(cat "$W/pids" 2>/dev/null); do kill -9 $p 2>/dev/null || true; done; exit $rc' EXIT
mkdir -p "$W/prom/data"
RULES=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$ROOT/contrib/prometheus/pricecache-alerts.yml")
cat >"$W/prom/prometheus.yml" <<Y
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $RULES
scrape_configs:
  - job_name: pricecache
    static_configs:
      - targets: ['127.0.0.1:$HPORT']
Y
promtool check config "$W/prom/prometheus.yml" >"$W/prom/check.out" 2>&1 || fail "prometheus.yml: $(cat "$W/prom/check.out")"
prometheus --config.file="$W/prom/prometheus.yml" --storage.tsdb.path="$W/prom/data" \
    --web.listen-address="127.0.0.1:$PPORT" >"$W/prometheus.log" 2>&1 &
PROM_PID=$!
echo "$PROM_PID" >>"$W/pids"
API="http://127.0.0.1:$PPORT"
wait_until '[ "$(curl -s -o /dev/null -w "%{http_code}" "$API/-/ready")" = 200 ]' 30

# q PROMQL: the value of the first sample, empty if none.
q() {
    curl -s -G --data-urlencode "query=$1" "$API/api/v1/query" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")'
}
# alert NAME [CHAIN]: the state (pending, firing) of that alert in
# /api/v1/alerts, empty when it is not there (inactive or resolved).
# Its labels and annotations go to $W/alert.json.
alert() {
    curl -s "$API/api/v1/alerts" >"$W/alerts.json" || return 0
    python3 - "$W/alerts.json" "$W/alert.json" "$1" "${2:-}" <<'P'
import json, sys
src, dst, name, chain = sys.argv[1:5]
for a in json.load(open(src))["data"]["alerts"]:
    l = a["labels"]
    if l.get("alertname") == name and (not chain or l.get("chain") == chain):
        json.dump(a, open(dst, "w"))
        print(a["state"])
        break
P
}

# The rules are loaded and the daemon is scraped.
curl -s "$API/api/v1/rules" >"$W/rules.json"
assert_contains "$W/rules.json" '"name":"PricecacheDatabaseUnreachable"'
assert_contains "$W/rules.json" '"name":"PricecacheBreakerOpen"'
grep -q '"health":"err' "$W/rules.json" && fail "a rule fails to evaluate: $(grep -o '"lastError":"[^"]*"' "$W/rules.json" | head -3)"
wait_until '[ "$(q "up{job=\"pricecache\"}")" = 1 ]' 30
wait_until '[ "$(q "pricecache_circuit_breaker_state{chain=\"acme\"}")" = 0 ]' 10
assert_eq "" "$(alert PricecacheBreakerOpen acme)" "breaker alert with the database up"
curl -s "http://127.0.0.1:$HPORT/metrics" >"$W/metrics.txt"
assert_contains "$W/metrics.txt" "pricecache_database_up 1"
assert_contains "$W/metrics.txt" "pricecache_database_down_since_seconds 0"

# PostgreSQL stopped.
pg_down
t_down=$(date +%s)
kill -USR1 "$DAEMON_PID"
wait_until '[ "$(alert PricecacheBreakerOpen acme)" = pending ]' 30
wait_until '[ "$(alert PricecacheBreakerOpen acme)" = firing ]' 180
echo "PricecacheBreakerOpen firing $(($(date +%s) - t_down)) s after PostgreSQL stopped"
python3 - "$W/alert.json" <<'P' || fail "breaker alert: $(cat "$W/alert.json")"
import json, sys
a = json.load(open(sys.argv[1]))
l, n = a["labels"], a["annotations"]
assert l["severity"] == "ticket" and l["job"] == "pricecache" and l["chain"] == "acme", l
assert "chain acme: circuit breaker open" in n["summary"], n
assert "`pricecache breaker reset acme`" in n["description"], n
assert "pricecached(8), section ALERTS" in n["description"], n
P
# Issue 13: pricecache_database_up (0 within 5 s of the database failing).
wait_until '[ "$(alert PricecacheDatabaseUnreachable)" = firing ]' 180
echo "PricecacheDatabaseUnreachable firing $(($(date +%s) - t_down)) s after PostgreSQL stopped"
python3 - "$W/alert.json" <<'P' || fail "database alert: $(cat "$W/alert.json")"
import json, sys
a = json.load(open(sys.argv[1]))
l, n = a["labels"], a["annotations"]
assert l["severity"] == "page" and l["job"] == "pricecache", l
assert "cannot reach PostgreSQL" in n["summary"], n
assert "has not reached its database since 20" in n["description"], n
P

# PostgreSQL back: the alerts resolve.
pg_up
t_up=$(date +%s)
wait_until '[ -z "$(alert PricecacheBreakerOpen acme)" ]' 60
echo "PricecacheBreakerOpen resolved $(($(date +%s) - t_up)) s after PostgreSQL came back"
wait_until '[ -z "$(alert PricecacheDatabaseUnreachable)" ]' 60
echo "PricecacheDatabaseUnreachable resolved $(($(date +%s) - t_up)) s after PostgreSQL came back"
assert_eq 1 "$(q "up{job=\"pricecache\"}")" "daemon scraped throughout"
stop_prometheus
stop_daemon
