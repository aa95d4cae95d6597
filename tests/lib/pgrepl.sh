# pgrepl.sh - streaming replicas of the harness's PostgreSQL (tests/lib/pg.sh),
# sourced by the fleet scenarios (t_fleet_*.sh) and the fleet bench.
#
#   pgr_add NAME          pg_basebackup -R -X stream of the primary ($PGPORT)
#                         into $PGR_BASE/pgr-NAME, started on its own port and
#                         socket directory, as the cluster's user; waits
#                         until it streams.  PGR_PORT[NAME], PGR_DIR[NAME].
#   pgr_dsn NAME DB       its libpq DSN
#   pgr_q NAME DB SQL     SQL on it, rows unaligned (fails on error)
#   pgr_wait_streaming NAME [S]   its WAL receiver streams from a primary
#   pgr_wait_caught_up NAME [S]   it has replayed the primary's WAL position
#                                 as of this call
#   pgr_pause NAME / pgr_resume NAME   replay paused (state seen) / resumed
#   pgr_kill9 NAME        kill -9 its postmaster and every child of it (a
#                         machine gone: no backend finishes a COPY after it)
#   pgr_restart NAME      start it again (after pgr_kill9 or pgr_down); waits
#                         until it streams
#   pgr_down NAME         fast stop
#   pgr_follow NAME PORT  point it at another primary (after a promotion)
#   pgr_promote NAME      promote it; waits until it leaves recovery
#   pgr_primary_down      stop the primary (fast); pg_up starts it again
#   pgr_activity DB       the primary's client sessions on DB, one line each:
#                         application_name|state|query (not our own)
#   pgr_cleanup           stop and remove every replica (run.sh's trap and
#                         the bench's call it; idempotent)
#
# No fixed sleeps: every wait polls with a deadline and fails naming what it
# waited for.  Everything lives under PGR_BASE (default: the scenario's $W,
# a /tmp directory); every path is quoted.
declare -gA PGR_PORT=() PGR_DIR=()
PGR_NAMES=()
: "${PGR_BASE:=${W:-}}"

_pgr_fail() {
    if declare -F fail >/dev/null; then fail "$*"; fi
    echo "pgrepl: $*" >&2
    return 1
}

# _pgr_poll SECONDS WHAT CMD...: run CMD every 50 ms until it succeeds.
_pgr_poll() {
    local secs=$1 what=$2 deadline
    shift 2
    deadline=$(($(date +%s%3N) + secs * 1000))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s%3N)" -lt "$deadline" ] || { _pgr_fail "timed out after ${secs}s: $what"; return 1; }
        sleep 0.05
    done
}

pgr_dsn() { echo "host=127.0.0.1 port=${PGR_PORT[$1]} user=postgres dbname=$2"; }

pgr_q() {
    local n=$1 db=$2
    shift 2
    psql -X -qAt -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PGR_PORT[$n]}" -d "$db" -c "$*"
}

# The options a replica runs with: its own port and socket directory;
# feedback to the primary so a long REPEATABLE READ load is not cancelled by
# a conflicting vacuum; status every second so pg_stat_replication is fresh.
_pgr_opts() {
    echo "-p ${PGR_PORT[$1]} -k ${PGR_DIR[$1]} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 -c hot_standby_feedback=on -c wal_receiver_status_interval=1s -c cluster_name=$1"
}

_pgr_start() {
    local n=$1
    _pg_as "$PG_BIN/pg_ctl" -D "${PGR_DIR[$n]}/data" -l "${PGR_DIR[$n]}/server.log" -w -t 30 start \
        -o "$(_pgr_opts "$n")" >/dev/null 2>&1
}

_pgr_conninfo() { # primary port, replica name
    echo "host=127.0.0.1 port=$1 user=postgres application_name=$2"
}

# pgr_add_ready NAME...: make each replica, then wait until each has
# caught up with the primary (the preamble of most fleet scenarios).
pgr_add_ready() {
    local n
    for n in "$@"; do pgr_add "$n" || return 1; done
    for n in "$@"; do pgr_wait_caught_up "$n" || return 1; done
}

pgr_add() {
    local n=$1 d try
    [ -n "$PGR_BASE" ] || { _pgr_fail "PGR_BASE not set"; return 1; }
    d="$PGR_BASE/pgr-$n"
    mkdir -p "$d"
    chmod 755 "$d"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$d"
    PGR_DIR[$n]=$d
    PGR_NAMES+=("$n")
    # Keep enough WAL on the primary for a replica paused, killed or
    # stopped for a while to catch up without a slot to clean after it.
    psql_q postgres "ALTER SYSTEM SET wal_keep_size = '512MB'" >/dev/null
    psql_q postgres "SELECT pg_reload_conf()" >/dev/null
    _pg_as "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PGPORT" -U postgres -D "$d/data" -R -X stream \
        -c fast --no-sync >"$d/basebackup.log" 2>&1 \
        || { _pgr_fail "pg_basebackup for $n: $(tail -3 "$d/basebackup.log")"; return 1; }
    # -R wrote a primary_conninfo; ours (later in the file, so in force)
    # names the replica for pg_stat_replication.
    printf "primary_conninfo = '%s'\n" "$(_pgr_conninfo "$PGPORT" "$n")" >>"$d/data/postgresql.auto.conf"
    for try in 1 2 3 4 5; do
        PGR_PORT[$n]=$(_pg_free_port)
        _pgr_start "$n" && break
        [ "$try" = 5 ] && { cat "$d/server.log" >&2; _pgr_fail "replica $n does not start"; return 1; }
    done
    pgr_wait_streaming "$n" 30
}

_pgr_is_streaming() {
    [ "$(pgr_q "$1" postgres "SELECT status FROM pg_stat_wal_receiver")" = streaming ]
}

pgr_wait_streaming() {
    _pgr_poll "${2:-30}" "replica $1 streaming" _pgr_is_streaming "$1"
}

_pgr_replayed() { # name lsn: replayed >= lsn
    [ "$(pgr_q "$1" postgres "SELECT pg_last_wal_replay_lsn() >= '$2'::pg_lsn")" = t ]
}

pgr_wait_caught_up() {
    local lsn
    lsn=$(psql_q postgres "SELECT pg_current_wal_lsn()") || { _pgr_fail "primary: no WAL position"; return 1; }
    _pgr_poll "${2:-30}" "replica $1 replayed $lsn" _pgr_replayed "$1" "$lsn"
}

_pgr_pause_state() { [ "$(pgr_q "$1" postgres "SELECT pg_get_wal_replay_pause_state()")" = "$2" ]; }

pgr_pause() {
    pgr_q "$1" postgres "SELECT pg_wal_replay_pause()" >/dev/null
    _pgr_poll 10 "replica $1 paused" _pgr_pause_state "$1" paused
}

pgr_resume() {
    pgr_q "$1" postgres "SELECT pg_wal_replay_resume()" >/dev/null
    _pgr_poll 10 "replica $1 resumed" _pgr_pause_state "$1" "not paused"
}

_pgr_gone() { ! kill -0 "$1" 2>/dev/null; }

pgr_kill9() {
    local n=$1 pm kids p
    pm=$(head -1 "${PGR_DIR[$n]}/data/postmaster.pid" 2>/dev/null) || return 0
    [ -n "$pm" ] || return 0
    kids=$(ps -o pid= --ppid "$pm" 2>/dev/null || true)
    kill -9 "$pm" $kids 2>/dev/null || true
    _pgr_poll 10 "postmaster $pm of $n gone" _pgr_gone "$pm"
    for p in $kids; do _pgr_poll 10 "backend $p of $n gone" _pgr_gone "$p"; done
}

pgr_down() {
    _pg_as "$PG_BIN/pg_ctl" -D "${PGR_DIR[$1]}/data" -m fast -w stop >/dev/null 2>&1 || true
}

pgr_restart() {
    _pgr_start "$1" || { tail -5 "${PGR_DIR[$1]}/server.log" >&2; _pgr_fail "replica $1 does not start again"; return 1; }
    pgr_wait_streaming "$1" "${2:-30}"
}

# pgr_follow NAME PORT: stream from the server on PORT (a promoted replica);
# the new timeline is followed (recovery_target_timeline = latest, the
# default).  primary_conninfo is reloadable in PostgreSQL 13 and later.
pgr_follow() {
    local n=$1 port=$2
    pgr_q "$n" postgres "ALTER SYSTEM SET primary_conninfo = '$(_pgr_conninfo "$port" "$n")'" >/dev/null
    pgr_q "$n" postgres "SELECT pg_reload_conf()" >/dev/null
    pgr_wait_streaming "$n" "${3:-30}"
}

_pgr_primary() { [ "$(pgr_q "$1" postgres "SELECT pg_is_in_recovery()")" = f ]; }

pgr_promote() {
    _pg_as "$PG_BIN/pg_ctl" -D "${PGR_DIR[$1]}/data" -w -t 30 promote >/dev/null 2>&1 \
        || { _pgr_fail "pg_ctl promote $1 failed"; return 1; }
    _pgr_poll 30 "replica $1 out of recovery" _pgr_primary "$1"
}

pgr_primary_down() { pg_down; }

pgr_activity() {
    psql_q postgres "SELECT coalesce(application_name, ''), coalesce(state, ''), regexp_replace(coalesce(query, ''), '\s+', ' ', 'g')
                     FROM pg_stat_activity
                     WHERE datname = '$1' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
                     ORDER BY 1, 3"
}

pgr_cleanup() {
    local n
    for n in "${!PGR_DIR[@]}"; do
        [ -d "${PGR_DIR[$n]}/data" ] && _pg_as "$PG_BIN/pg_ctl" -D "${PGR_DIR[$n]}/data" -m immediate -w stop >/dev/null 2>&1
        rm -rf "${PGR_DIR[$n]}"
    done
    PGR_DIR=()
    PGR_PORT=()
    PGR_NAMES=()
    return 0
}
