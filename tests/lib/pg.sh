# pg.sh - sourced by test and demo scripts: a throwaway PostgreSQL 15 cluster.
# Sets PG_DIR, PGHOST, PGPORT, PGUSER; functions pg_start, pg_stop, pg_kill9,
# pg_restart, pg_createdb, psql_q, pg_dsn. Server commands run as the
# postgres user when we are root (initdb refuses root).
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=""
export PGUSER=postgres PGHOST=127.0.0.1

_pg_as() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

_pg_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
        || echo $((20000 + RANDOM % 20000))
}

pg_start() {
    PG_DIR=$(mktemp -d /tmp/pctest-pg.XXXXXX)
    chmod 755 "$PG_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PG_DIR"
    _pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    local try
    for try in 1 2 3 4 5; do
        PGPORT=$(_pg_free_port)
        if _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 start \
            -o "-p $PGPORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >/dev/null 2>&1; then
            export PGPORT
            return 0
        fi
    done
    cat "$PG_DIR/server.log" >&2
    return 1
}

pg_stop() {
    [ -n "$PG_DIR" ] && [ -d "$PG_DIR/data" ] || return 0
    _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
}

# Stop the server (fast) without removing the cluster.
pg_down() {
    _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
}

pg_up() {
    _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 start \
        -o "-p $PGPORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >/dev/null 2>&1
}

pg_kill9() {
    local pid
    pid=$(head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || return 0
    kill -9 "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

pg_cleanup() {
    pg_stop
    [ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
    PG_DIR=""
}

pg_createdb() {
    psql -X -q -d postgres -c "CREATE DATABASE \"$1\"" >/dev/null
}

# psql_q DB SQL...: run SQL, print rows unaligned, fail on error.
psql_q() {
    local db=$1
    shift
    psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -c "$*"
}

pg_dsn() {
    echo "host=127.0.0.1 port=$PGPORT user=postgres dbname=$1"
}
