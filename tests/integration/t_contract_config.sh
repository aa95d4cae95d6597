# Contract (configuration, daemon command line): every key accepted by the
# real daemon; bad values in the file and in PRICECACHE_<SECTION>_<KEY> exit 2
# naming file, line and key (or the variable); empty [bus]/[http] addresses
# turn them off; a DSN's password never reaches stderr, also when libpq
# rejects the DSN or the connection; SIGHUP with a bad file keeps the old one.
seed_basic
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SOCK="$W/sock"
# every key of DESIGN.md/README with a valid, non-default value
cat >"$CONF" <<C
[database]
dsn = $DSN
connect_timeout_s = 3
[cache]
path = $CACHE
map_size_mb = 32
map_max_mb = 128
max_readers = 200
[load]
concurrency = 2
timeout_s = 20
refresh_s = 0
max_reject_ratio = 0.5
max_shrink_ratio = 0.9
debounce_ms = 5
delta_max_keys = 10
chains_query = SELECT slug FROM chains WHERE active
base_query = SELECT item_id, price_cents, updated_at
  FROM chain_prices WHERE chain_slug = \$1
store_query = SELECT store_id, item_id, price_cents, updated_at FROM store_prices WHERE chain_slug = \$1
[breaker]
failures = 3
reset_s = 5
half_open_successes = 2
[bus]
events = ipc://$SOCK/events.ipc
control = ipc://$SOCK/control.ipc
[http]
listen = 127.0.0.1:$PORT
[health]
max_age_s = 60
[log]
level = debug
C
assert_exit 0 "$B/pricecached" -c "$CONF" --once
assert_eq $'1\t1700000000\tstore' "$(pc get acme s1 item10)" "loaded with every key set"
# bad values: file, line and key; exit 2; nothing loaded differently
bad() { # line-in-file key=value section expected-text
    printf '[database]\ndsn = %s\n[cache]\npath = %s\n[%s]\n%s\n' "$DSN" "$CACHE" "$1" "$2" >"$W/bad.conf"
    assert_exit 2 "$B/pricecached" -c "$W/bad.conf" --once
    assert_contains "$W/last.err" "$W/bad.conf:6: [$1] ${2%% =*}: $3"
}
bad http "listen = nonsense" "expected host:port"
bad http "listen = 127.0.0.1:99999" "expected host:port"
bad http "listen = 127.0.0.1:" "expected host:port"
bad bus "events = garbage" "expected a nanomsg address"
bad bus "control = /run/pricecache/control.ipc" "expected a nanomsg address"
bad load "concurrency = 65" "expected a whole number"
bad load "max_shrink_ratio = 2" "expected a ratio"
bad log "level = chatty" "expected error, warn, info or debug"
bad health "max_age_s = 0" "expected a whole number"
bad breaker "reset_s = 1.5" "expected a whole number"
bad database "connect_timeout_s = soon" "expected a whole number"
# the same through the environment: the variable is named
PRICECACHE_HTTP_LISTEN="nonsense" assert_exit 2 "$B/pricecached" -c "$CONF" --once
assert_contains "$W/last.err" "PRICECACHE_HTTP_LISTEN"
PRICECACHE_BUS_EVENTS="garbage" assert_exit 2 "$B/pricecached" -c "$CONF" --once
assert_contains "$W/last.err" "PRICECACHE_BUS_EVENTS"
PRICECACHE_BREAKER_FAILURES="-1" assert_exit 2 "$B/pricecached" -c "$CONF" --once
assert_contains "$W/last.err" "PRICECACHE_BREAKER_FAILURES"
PRICECACHE_CACHE_PATH="" assert_exit 2 "$B/pricecached" -c "$CONF" --once
assert_contains "$W/last.err" "PRICECACHE_CACHE_PATH"
# a value that is not UTF-8 (a Latin-1 file or environment) keeps the log line UTF-8 JSON
PRICECACHE_LOAD_CONCURRENCY=$'caf\xe9\n' assert_exit 2 "$B/pricecached" -c "$CONF" --once
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]' "$W/last.err" \
    || fail "a non-UTF-8 value broke the JSON log: $(cat -v "$W/last.err")"
assert_contains "$W/last.err" 'caf\ufffd\n'
PRICECACHE_LOAD_CONCURENCY=4 assert_exit 2 "$B/pricecached" -c "$CONF" --once
assert_contains "$W/last.err" "PRICECACHE_LOAD_CONCURENCY: unknown key in [load]"
PRICECACHE_LOAD_STORE_QUERY="" assert_exit 2 "$B/pricecached" -c "$CONF" --once
assert_contains "$W/last.err" "PRICECACHE_LOAD_STORE_QUERY"
# one address for both bus sockets
printf '[database]\ndsn = %s\n[cache]\npath = %s\n[bus]\nevents = ipc://%s/x.ipc\ncontrol = ipc://%s/x.ipc\n' \
    "$DSN" "$CACHE" "$SOCK" "$SOCK" >"$W/same.conf"
assert_exit 2 "$B/pricecached" -c "$W/same.conf" --once
assert_contains "$W/last.err" "[bus] events and [bus] control are both"
# DSNs with a password: malformed (libpq quotes a bad URI whole) or refused
: >"$W/pw.log"
# (a cache of their own: failed loads count towards the breakers stored there)
printf '[database]\ndsn = %s\n[cache]\npath = %s\n' "$DSN" "$W/cache2" >"$W/pwenv.conf"
for dsn in "postgresql://postgres:s3cretPW@[127.0.0.1/none" \
           "host=127.0.0.1 port=1 user=postgres password=ab\\ s3cretPW" \
           "postgresql://postgres:s3cretPW@127.0.0.1:1/none?connect_timeout=2"; do
    printf '[database]\ndsn = %s\n[cache]\npath = %s\n' "$dsn" "$W/cache2" >"$W/pw.conf"
    "$B/pricecached" -c "$W/pw.conf" --once 2>>"$W/pw.log" && fail "--once with DSN $dsn succeeded"
    PRICECACHE_DATABASE_DSN="$dsn" "$B/pricecached" -c "$W/pwenv.conf" --once 2>>"$W/pw.log" \
        && fail "--once with PRICECACHE_DATABASE_DSN=$dsn succeeded"
done
assert_contains "$W/pw.log" "[database] dsn: libpq cannot parse it"
assert_contains "$W/pw.log" "PRICECACHE_DATABASE_DSN"
assert_not_contains "$W/pw.log" "s3cretPW"
assert_not_contains "$W/pw.log" "ab\\"
# empty [bus] and [http] addresses: off, the daemon runs and serves
write_conf "[bus]" "events =" "control =" "[http]" "listen ="
start_daemon
assert_exit 0 pc get acme s1 item10
assert_not_contains "$W/daemon.log" '"sub":"http"'
assert_not_contains "$W/daemon.log" "bus: events on"
assert_ne 0 "$(pc status >/dev/null 2>&1; echo $?)" "status with the control channel off"
# SIGHUP with a bad file: an error naming it, the old configuration stays
echo "[load]" >>"$CONF"
echo "concurrency = many" >>"$CONF"
badline=$(wc -l <"$CONF")
kill -HUP "$DAEMON_PID"
wait_until 'grep -q "keeping the configuration in force" "$W/daemon.log"' 5
assert_contains "$W/daemon.log" "$CONF:$badline: [load] concurrency: expected a whole number"
sql "UPDATE chain_prices SET price_cents = 4242 WHERE chain_slug = 'acme' AND item_id = 'item3'"
# a good file again, with another [http] listen: re-read, and said to wait for a restart
write_conf "[bus]" "events =" "control =" "[http]" "listen = 127.0.0.1:$PORT"
kill -HUP "$DAEMON_PID"
wait_until 'grep -q "\[http\] listen changed; takes effect at the next restart" "$W/daemon.log"' 5
wait_until '[ "$(pc get acme "" item3 | cut -f1)" = 4242 ]' 5
stop_daemon
# [http] listen on a port already taken: an error, the daemon serves on, and
# every stderr line stays JSON (libmicrohttpd printed bare text lines)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(30)' "$PORT" &
echo $! >>"$W/pids"
wait_until "ss -ltn | grep -q ':$PORT '" 5
write_conf "[http]" "listen = 127.0.0.1:$PORT"
: >"$W/daemon.log"
start_daemon
wait_until "grep -q \"cannot listen\" \"\$W/daemon.log\"" 10
assert_exit 0 pc get acme s1 item10
stop_daemon
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]' "$W/daemon.log" \
    || fail "daemon log is not JSON lines: $(grep -v '^{' "$W/daemon.log" | head -3)"
