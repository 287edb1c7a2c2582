# Sourced by the benches that run a PostgreSQL cluster of their own (run.sh,
# peer.sh and others): one that listens on 127.0.0.1 as well as on a unix
# socket, so the server can reach its database over TCP (as in production,
# where the database is another host) and pgbench can be measured over both.
# Needs DATA_DIR, PGPORT and log(); PG_OPTIONS adds server options (e.g.
# "-c shared_preload_libraries=pg_stat_statements").

PG_ROOT="$DATA_DIR/pg"
PG_BIN="$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
AS_PG=()
# initdb and postgres refuse to run as root.
[[ "$(id -u)" == 0 ]] && AS_PG=(runuser -u postgres --)

cluster_start() {
    if [[ ! -d "$PG_ROOT/data" ]]; then
        log "initdb $PG_ROOT/data"
        mkdir -p "$PG_ROOT"
        [[ ${#AS_PG[@]} -gt 0 ]] && chown postgres "$PG_ROOT"
        "${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_ROOT/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    log "starting PostgreSQL on 127.0.0.1:$PGPORT and $PG_ROOT/.s.PGSQL.$PGPORT"
    # Statement logging is off until capture() turns it on; the prefix names
    # the backend so one connection's statements can be followed. Checkpoints
    # are spaced as a server taking this many writes would have them: with
    # the defaults (1 GB of WAL) one began every 17 s while seeding and
    # posting, and its full-page writes stalled every commit for up to half a
    # second, the server's and pgbench's alike (benches/RESULTS.md, "A batch's
    # facts in one statement").
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" -l "$PG_ROOT/postgres.log" -w -s start \
        -o "-p $PGPORT -k $PG_ROOT -c listen_addresses=127.0.0.1 -c max_connections=300 -c log_line_prefix='[%p] ' \
            -c max_wal_size=6GB -c checkpoint_timeout=30min ${PG_OPTIONS:-}"
    psql -X -q -h "$PG_ROOT" -p "$PGPORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'pilcrow'" | grep -q 1 ||
        psql -X -q -h "$PG_ROOT" -p "$PGPORT" -U postgres -d postgres -c "CREATE DATABASE pilcrow"
}

# cluster_fresh: an empty DATA_DIR (removing a previous run's, and refusing
# to remove a folder that is not one), then cluster_start.
cluster_fresh() {
    if [[ -d "$DATA_DIR" ]]; then
        [[ -d "$DATA_DIR/pg" || -f "$DATA_DIR/jwt_secret" ]] || { echo "refusing to remove $DATA_DIR" >&2; exit 1; }
        rm -rf "$DATA_DIR"
    fi
    mkdir -p "$DATA_DIR"
    cluster_start
}

cluster_stop() {
    [[ -f "$PG_ROOT/data/postmaster.pid" ]] || return 0
    log "stopping PostgreSQL"
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" -m fast -w -s stop || true
}

# await_server PID LOG: until $URL/ready answers; if the server (PID) exits
# first, its LOG and the script's end.
await_server() {
    for _ in $(seq 1 120); do
        curl -sf "$URL/ready" >/dev/null && return 0
        kill -0 "$1" 2>/dev/null || { cat "$2" >&2; exit 1; }
        sleep 0.5
    done
    curl -sf "$URL/ready" >/dev/null
}
