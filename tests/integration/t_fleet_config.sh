# Fleet configuration (issue 14, FLEET14.md): [database] replicas (one value,
# DSNs separated by ';'), max_lag_s, replica_wait_ms, lag_sample_ms.  A bad
# entry is a configuration error (exit 2) naming file, line, key and which
# entry; the same through PRICECACHE_DATABASE_*, naming the variable; a
# password in an entry never reaches stderr, the log, status or /metrics;
# the environment overrides the file; SIGHUP re-reads the list.
. "$ROOT/tests/lib/pgrepl.sh"
. "$ROOT/tests/lib/fleet.sh"
seed_basic
bad() { # section-line "key = value" expected-text
    printf '[database]\ndsn = %s\n%s\n[cache]\npath = %s\n' "$DSN" "$1" "$W/cache-bad" >"$W/bad.conf"
    assert_exit 2 "$B/pricecached" -c "$W/bad.conf" --once
    assert_contains "$W/last.err" "$W/bad.conf:3: [database] ${1%% =*}: $2"
}
bad "replicas = host=127.0.0.1 port=1; dbname=x bogus_option=1 password=s3cretPW" "entry 2 (replica2)"
assert_not_contains "$W/last.err" "s3cretPW"
bad "replicas = postgresql://u:s3cretPW@[::1/x" "entry 1 (replica1)"
# ' ;' starts an INI comment: 'A ; B' would silently be A alone; refused
bad "replicas = host=127.0.0.1 port=1 dbname=x ; host=127.0.0.1 port=2 dbname=x" "' ;' starts a comment"
assert_not_contains "$W/last.err" "s3cretPW"
bad "max_lag_s = 0" "expected a whole number"
bad "max_lag_s = soon" "expected a whole number"
bad "replica_wait_ms = -1" "expected a whole number"
bad "lag_sample_ms = 10" "expected a whole number"
PRICECACHE_DATABASE_REPLICAS="dbname=a; host=b port=2 bogus_option=1" assert_exit 2 "$B/pricecached" -c "$CONF" --once
assert_contains "$W/last.err" "PRICECACHE_DATABASE_REPLICAS"
assert_contains "$W/last.err" "entry 2 (replica2)"
PRICECACHE_DATABASE_MAX_LAG_S=0 assert_exit 2 "$B/pricecached" -c "$CONF" --once
assert_contains "$W/last.err" "PRICECACHE_DATABASE_MAX_LAG_S"
# empty, blank entries: no replica (every read on the primary)
printf '[database]\ndsn = %s\nreplicas = ; ;\n[cache]\npath = %s\n' "$DSN" "$W/cache-empty" >"$W/empty.conf"
assert_exit 0 "$B/pricecached" -c "$W/empty.conf" --once
# the environment overrides the file: replica1 is r2, not r1
pgr_add_ready r1 r2
fl_conf "$DSN" "$(pgr_dsn r1 "$DB") password=s3cretPW" "[database]" "lag_sample_ms = 200" "[log]" "level = debug"
export PRICECACHE_DATABASE_REPLICAS="$(pgr_dsn r2 "$DB") password=s3cretPW"
start_daemon
unset PRICECACHE_DATABASE_REPLICAS
wait_until '[ "$(fl_up replica1)" = 1 ]' 10
pc status >"$W/status"
grep '^source=' "$W/status" || fail "no source lines in status: $(cat "$W/status")"
assert_contains "$W/status" "source=replica1 where=127.0.0.1:${PGR_PORT[r2]} "
assert_not_contains "$W/status" ":${PGR_PORT[r1]}"
assert_not_contains "$W/status" "source=replica2"
# SIGHUP re-reads the file: r1 then r2 ("A; B": a ';' after a space would
# start a comment, see above).  A daemon started without the variable: the
# running one keeps PRICECACHE_DATABASE_REPLICAS in its environment, and a
# re-read applies it over the file again, as it should.
stop_daemon
start_daemon
wait_until '[ "$(fl_up replica1)" = 1 ]' 10
pc status | grep -q "^source=replica1 where=127.0.0.1:${PGR_PORT[r1]} " \
    || fail "without the variable, replica1 is not r1 from the file: $(pc status | grep '^source=' | tr '\n' ';')"
sed -i "s|^replicas = .*|replicas = $(pgr_dsn r1 "$DB") password=s3cretPW; $(pgr_dsn r2 "$DB")|" "$CONF"
kill -HUP "$DAEMON_PID"
wait_until '[ "$(grep -c "configuration .* re-read" "$W/daemon.log")" -ge 1 ]' 10
for i in $(seq 1 100); do pc status | grep -q '^source=replica2 ' && break; sleep 0.05; done
pc status | grep -q '^source=replica2 ' \
    || fail "'replicas = A; B' re-read on SIGHUP gives no replica2: $(pc status | grep '^source=' | tr '\n' ';')"
wait_until '[ "$(fl_up replica2)" = 1 ]' 10
pc status >"$W/status2"
assert_contains "$W/status2" "source=replica1 where=127.0.0.1:${PGR_PORT[r1]} "
assert_contains "$W/status2" "source=replica2 where=127.0.0.1:${PGR_PORT[r2]} "
# a reload reads on them; the password appears nowhere
kill -USR1 "$DAEMON_PID"
wait_until '[ $(( $(fl_reads replica1 load) + $(fl_reads replica2 load) )) -ge 2 ]' 10
curl -s "http://127.0.0.1:$FL_PORT/metrics" >"$W/metrics"
for f in "$W/status" "$W/status2" "$W/metrics" "$W/daemon.log"; do assert_not_contains "$f" "s3cretPW"; done
stop_daemon
