# fleet.sh - a daemon reading from replicas (issue 14), sourced by the
# t_fleet_*.sh scenarios after tests/lib/pgrepl.sh: its configuration, and
# what its /metrics, log and the primary say about where it reads.
#
#   fl_conf DSN REPLICAS [LINE...]   $CONF: primary DSN, `replicas` (one
#                        value, DSNs separated by `;`, FLEET14.md), HTTP on a
#                        free port (FL_PORT), the bus under $W/run, no
#                        periodic refresh; extra LINEs follow ([section]
#                        headers included)
#   fl_metric NAME [LABEL=VALUE...]  one sample of /metrics (empty if none)
#   fl_reads SOURCE KIND  pricecache_source_reads_total{source,kind}, 0 if absent
#   fl_up SOURCE          pricecache_source_up{source}
#   fl_log_statements     turn on log_statement=all for $DB on the primary
#                         (new sessions: call it before the daemon starts)
#   fl_primary_reads_since MARK  statements of $DB logged by the primary
#                         after byte MARK of its log that read prices or
#                         chains (the daemon's loads and deltas), one a line
#   fl_log_mark           the primary log's size now (a MARK)

fl_conf() {
    local dsn=$1 replicas=$2 l
    shift 2
    FL_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$W/run"
    {
        echo "[database]"
        echo "dsn = $dsn"
        echo "connect_timeout_s = 2"
        [ -n "$replicas" ] && echo "replicas = $replicas"
        echo "[cache]"
        echo "path = $CACHE"
        echo "map_size_mb = 64"
        echo "[bus]"
        echo "events = ipc://$W/run/events.ipc"
        echo "control = ipc://$W/run/control.ipc"
        echo "[http]"
        echo "listen = 127.0.0.1:$FL_PORT"
        echo "[load]"
        echo "refresh_s = 0"
        for l in "$@"; do echo "$l"; done
    } >"$CONF"
}

# fl_metric NAME [k=v ...]: the value of the sample of NAME carrying every
# given label (whatever their order in the line).
fl_metric() {
    local name=$1
    shift
    curl -s "http://127.0.0.1:$FL_PORT/metrics" | awk -v name="$name" -v want="$*" '
        BEGIN { n = split(want, w, " ") }
        $1 ~ "^" name "({|$)" {
            ok = 1
            for (i = 1; i <= n; i++) {
                split(w[i], kv, "=")
                if (index($1, kv[1] "=\"" kv[2] "\"") == 0) ok = 0
            }
            if (ok) { print $2; exit }
        }'
}

fl_reads() {
    local v
    v=$(fl_metric pricecache_source_reads_total "source=$1" "kind=$2")
    echo "${v:-0}"
}

fl_up() { fl_metric pricecache_source_up "source=$1"; }

fl_log_statements() {
    psql_q postgres "ALTER DATABASE \"$DB\" SET log_statement = 'all'" >/dev/null
}

fl_log_mark() { stat -c %s "$PG_DIR/server.log"; }

# The primary's log after MARK: statements that read the price tables or
# the chain list (our own writes, UPDATE/INSERT/DELETE, are not reads).
fl_primary_reads_since() {
    tail -c +"$(($1 + 1))" "$PG_DIR/server.log" \
        | grep -E 'LOG: +(statement|execute [^:]*):' \
        | grep -Ei 'chain_prices|store_prices|chains|COPY' \
        | grep -Eiv 'statement: +(UPDATE|INSERT|DELETE|ALTER|BEGIN|COMMIT)' || true
}
