#!/usr/bin/env bash
# Reads with a streaming replica beside the primary, against the primary
# alone, in one run: session counts and first comment pages at 64
# connections, the server configured without and with
# database.replica_urls, alternating, database over TCP. With the replica,
# also the same reads sending a Pilcrow-Consistency token (what the token
# check costs a read the replica can serve).
#
#   benches/replicas.sh        # release build, clusters in /tmp/pilcrow-replica-bench
#
# Knobs: DURATION (10), CONNS (64), ROUNDS (2), COMMENTS (100000), SKIP_BUILD=1.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PORT="${PORT:-18091}"
export DATA_DIR="${DATA_DIR:-/tmp/pilcrow-replica-bench}"
export OUT="${OUT:-$HERE/out/replicas}"
export BASE_URL="http://127.0.0.1:$PORT/api/v1"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-64}"
ROUNDS="${ROUNDS:-2}"
PGPORT="${PGPORT:-18442}"
REPLICA_PORT="$((PGPORT + 1))"
URL="http://127.0.0.1:$PORT"
mkdir -p "$OUT/raw"
log() { printf '[replicas %s] %s\n' "$(date +%T)" "$*" >&2; }

[[ "${SKIP_BUILD:-0}" == 1 ]] || (cd "$ROOT" && cargo build --release --quiet)
# shellcheck source=cluster.sh
source "$HERE/cluster.sh"
cluster_fresh
export PGHOST="$PG_ROOT" PGPORT
REPLICA="$PG_ROOT/replica"

server=""
start_server() { # start_server [REPLICA_URLS]
    (
        cd "$ROOT"
        export PILCROW__SERVER__PORT="$PORT" PILCROW__SERVER__HOST=127.0.0.1 \
            PILCROW__DATABASE__DATA_DIR="$DATA_DIR" PILCROW__LOG__FILTER=warn \
            PILCROW__AUTH__ACCESS_TOKEN_TTL_SECS=7200 PILCROW__RATE_LIMIT__ENABLED=false \
            DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/pilcrow"
        [[ -n "${1:-}" ]] && export PILCROW__DATABASE__REPLICA_URLS="$1"
        exec target/release/pilcrow serve
    ) >>"$OUT/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 120); do curl -sf "$URL/ready" >/dev/null && return 0; sleep 0.5; done
    echo "the server did not start; see $OUT/server.log" >&2
    exit 1
}
stop_server() { [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null && wait "$server" || true; server=""; }
stop_replica() {
    [[ -f "$REPLICA/postmaster.pid" ]] && "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$REPLICA" -m fast -w -s stop || true
}
trap 'stop_server; stop_replica; cluster_stop' EXIT
: >"$OUT/server.log"

start_server
COMMENTS="${COMMENTS:-100000}" SESSIONS=10 "$HERE/seed.sh"
stop_server

log "pg_basebackup into $REPLICA"
"${AS_PG[@]}" "$PG_BIN/pg_basebackup" -D "$REPLICA" -h "$PG_ROOT" -p "$PGPORT" -U postgres -R -X stream -c fast
rm -f "$REPLICA"/.s.PGSQL.*
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$REPLICA" -l "$PG_ROOT/replica.log" -w -s start \
    -o "-p $REPLICA_PORT -k $REPLICA -c listen_addresses=127.0.0.1 -c max_connections=300"
REPLICA_URL="postgres://postgres@127.0.0.1:$REPLICA_PORT/pilcrow"

RESULTS="$OUT/results.md"
{
    echo "# Reads on a replica, $(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse --short HEAD)"
    echo
    echo "$(nproc) cores shared by the server, the primary, the replica and wrk; load before:" \
         "$(cut -d' ' -f1-3 /proc/loadavg); wrk -t2 -c$CONNS -d${DURATION}s; $ROUNDS rounds, alternating"
    echo
    echo "| round | reads on | scenario | req/s | p50 | p99 | errors |"
    echo "|---|---|---|---:|---:|---:|---:|"
} >"$RESULTS"

wrk_step() { # wrk_step ROUND TARGET MODE [HEADER]
    local round="$1" target="$2" mode="$3" header="${4:-}" raw
    raw="$OUT/raw/${round}-${target}-${mode}${header:+-token}.txt"
    local extra=()
    [[ -n "$header" ]] && extra=(-H "$header")
    wrk -t2 -c"$CONNS" -d2s "${extra[@]}" -s "$HERE/wrk.lua" "$URL" -- "$mode" "$OUT" >/dev/null 2>&1 || true
    wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "${extra[@]}" -s "$HERE/wrk.lua" "$URL" -- "$mode" "$OUT" >"$raw" 2>&1
    local rps p50 p99 errs
    rps="$(awk '/^Requests\/sec/ { printf "%d", $2 }' "$raw")"
    p50="$(awk '$1 == "50%" { print $2 }' "$raw")"
    p99="$(awk '$1 == "99%" { print $2 }' "$raw")"
    errs="$(awk '/Non-2xx|Socket errors/ { gsub(",", ""); s += $NF } END { print s + 0 }' "$raw")"
    echo "| $round | $target | $mode${header:+, with token} | $rps | $p50 | $p99 | $errs |" >>"$RESULTS"
    log "round $round, $target, $mode${header:+ (token)}: $rps req/s"
}

for round in $(seq 1 "$ROUNDS"); do
    for target in primary replica; do
        if [[ "$target" == replica ]]; then start_server "$REPLICA_URL"; else start_server; fi
        wrk_step "$round" "$target" counts
        wrk_step "$round" "$target" comments
        if [[ "$target" == replica ]]; then
            token="$(curl -s -D - -o /dev/null "$BASE_URL/groups" | awk -F': ' 'tolower($1) == "pilcrow-consistency" { print $2 }' | tr -d '\r')"
            wrk_step "$round" "$target" counts "Pilcrow-Consistency: $token"
        fi
        stop_server
    done
done
psql -X -q -h "$PG_ROOT" -p "$PGPORT" -U postgres -d pilcrow -tAc \
    "SELECT 'replica replay lag at the end: ' || coalesce(replay_lag::text, '0') FROM pg_stat_replication" >>"$RESULTS" || true
cat "$RESULTS"
