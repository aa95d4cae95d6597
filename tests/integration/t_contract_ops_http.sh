# Contract (health probes, edges): every probe answers a JSON object (valid
# JSON, with Content-Type application/json) for 200 and 503 alike; /readyz
# turns 503 when a snapshot is older than [health] max_age_s and names the
# reason, and 200 again after a reload; HEAD answers like GET without a
# body; unknown paths, a trailing slash and other methods are refused.
seed_basic
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[http]\nlisten = 127.0.0.1:%s\n[health]\nmax_age_s = 2\n[load]\nrefresh_s = 3600\n' "$PORT" >>"$CONF"
U="http://127.0.0.1:$PORT"
code() { curl -s -D "$W/hdr" -o "$W/body" -w '%{http_code}' "$U$1"; }
json_ok() { # the body is one JSON object
    /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d, dict)' "$W/body" ||
        fail "$1: body is not a JSON object: $(head -c 300 "$W/body")"
    grep -qi '^content-type: application/json' "$W/hdr" || fail "$1: content type: $(grep -i content-type "$W/hdr")"
}
start_daemon
for p in /livez /startupz /readyz; do
    assert_eq 200 "$(code $p)" "$p when fresh"
    json_ok "$p"
done
# The snapshots age past max_age_s (no refresh, no change): not ready.
wait_until '[ "$(code /readyz)" = 503 ]' 10
json_ok "/readyz stale"
grep -qi 'age\|old\|stale' "$W/body" || fail "readyz does not name the snapshot age: $(cat "$W/body")"
assert_eq 200 "$(code /livez)" "livez while stale"
assert_eq 200 "$(code /startupz)" "startupz while stale"
# A reload refreshes them: ready again.
kill -USR1 "$DAEMON_PID"
wait_until '[ "$(code /readyz)" = 200 ]' 10
json_ok "/readyz after reload"
# HEAD: same status, no body.
assert_eq 200 "$(curl -s -I -o "$W/head" -w '%{http_code}' "$U/livez")" "HEAD /livez"
assert_eq 200 "$(curl -s -I -o /dev/null -w '%{http_code}' "$U/metrics")" "HEAD /metrics"
assert_eq 404 "$(code /nope)" "unknown path"
json_ok "/nope"
assert_eq 404 "$(code /livez/)" "trailing slash"
assert_eq 404 "$(code /)" "root"
for m in POST PUT DELETE; do
    assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X $m "$U/readyz")" "$m /readyz"
done
stop_daemon
