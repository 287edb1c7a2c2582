#!/usr/bin/env bash
# The load harness: builds the release server, starts it on a private
# PostgreSQL cluster, seeds, and measures with wrk and pgbench. Loopback only;
# every load step is bounded by DURATION; the server (and with it its cluster)
# is stopped on exit. Results: $OUT/results.md, raw tool output in $OUT/raw/.
#
#   benches/run.sh                      # the whole run (~10 min on 2 cores)
#   DURATION=5 PGB_RUNS=1 benches/run.sh
#   FRESH=0 SKIP_BUILD=1 ONLY="counts" benches/run.sh
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PORT="${PORT:-18088}"
DATA_DIR="${DATA_DIR:-/tmp/pilcrow-bench}"
OUT="${OUT:-$HERE/out}"
DURATION="${DURATION:-10}"      # seconds per wrk/pgbench step
WARMUP="${WARMUP:-3}"
WRK_THREADS="${WRK_THREADS:-2}"
PGB_RUNS="${PGB_RUNS:-3}"       # pgbench: best of this many
FRESH="${FRESH:-1}"             # 1: start from an empty cluster (so the 10k step is 10k)
ONLY="${ONLY:-counts comments pgbench post}"
export BASE_URL="http://127.0.0.1:$PORT/api/v1" DATA_DIR OUT
PSQL=(psql -X -q -h "$DATA_DIR/postgres" -U postgres -d pilcrow)
URL="http://127.0.0.1:$PORT"

mkdir -p "$OUT/raw"
log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
wants() { [[ " $ONLY " == *" $1 "* ]]; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet)
fi
if [[ "$FRESH" == 1 && -d "$DATA_DIR" ]]; then
    [[ -f "$DATA_DIR/jwt_secret" || -d "$DATA_DIR/postgres" ]] || { echo "refusing to remove $DATA_DIR" >&2; exit 1; }
    rm -rf "$DATA_DIR"
fi

# The server under test: quiet logs (a line per request to a terminal costs
# more than the request), access tokens that outlive the run.
log "starting the server on 127.0.0.1:$PORT (data in $DATA_DIR)"
(
    cd "$ROOT"
    export PILCROW__SERVER__PORT="$PORT" PILCROW__SERVER__HOST=127.0.0.1 \
        PILCROW__DATABASE__DATA_DIR="$DATA_DIR" PILCROW__LOG__FILTER="${LOG_FILTER:-warn}" \
        PILCROW__AUTH__ACCESS_TOKEN_TTL_SECS=7200
    exec target/release/pilcrow serve
) >"$OUT/server.log" 2>&1 &
server=$!
stop_server() {
    if kill -0 "$server" 2>/dev/null; then
        log "stopping the server (pid $server)"
        kill -TERM "$server"
        wait "$server" || true
    fi
}
trap stop_server EXIT
for _ in $(seq 1 120); do
    curl -sf "$URL/ready" >/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
    sleep 0.5
done
curl -sf "$URL/ready" >/dev/null

RESULTS="$OUT/results.md"
{
    echo "# Pilcrow load run $(date -u +%FT%TZ)"
    echo
    echo "commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src || echo '+dirty'),"\
         "$(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg), wrk -t$WRK_THREADS -d${DURATION}s, pgbench best of $PGB_RUNS"
    echo
    echo "| scenario | conns | req/s | p50 ms | p99 ms | errors |"
    echo "|---|---:|---:|---:|---:|---:|"
} >"$RESULTS"

to_ms() { # wrk prints 812.00us / 1.23ms / 1.01s
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; if (v ~ /m$/) n *= 60000; printf "%.2f", n }'
}

# wrk_step LABEL MODE CONNS
wrk_step() {
    local label="$1" mode="$2" conns="$3" raw
    raw="$OUT/raw/${label// /_}-c$conns.txt"
    wrk -t"$WRK_THREADS" -c"$conns" -d"${DURATION}s" --latency -s "$HERE/wrk.lua" "$URL" -- "$mode" "$OUT" >"$raw" 2>&1
    local rps p50 p99 non2xx sock
    rps="$(awk '/^Requests\/sec/ { printf "%d", $2 }' "$raw")"
    p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$raw")")"
    p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$raw")")"
    non2xx="$(awk '/Non-2xx/ { print $NF }' "$raw")"
    sock="$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$raw")"
    echo "| $label | $conns | $rps | $p50 | $p99 | $(( ${non2xx:-0} + ${sock:-0} )) |" >>"$RESULTS"
    log "$label c=$conns: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors $(( ${non2xx:-0} + ${sock:-0} ))"
}

warm() { wrk -t1 -c8 -d"${WARMUP}s" -s "$HERE/wrk.lua" "$URL" -- "$1" "$OUT" >/dev/null 2>&1 || true; }

# pgbench_step LABEL SCRIPT CONNS: best tps of PGB_RUNS runs.
pgbench_step() {
    local label="$1" script="$2" conns="$3" best=0 lat="" raw tps
    for run in $(seq 1 "$PGB_RUNS"); do
        raw="$OUT/raw/pgbench-${label// /_}-c$conns-$run.txt"
        pgbench -n -M prepared -h "$DATA_DIR/postgres" -U postgres -c "$conns" -j "$WRK_THREADS" -T "$DURATION" \
            -D anon="00000000-0000-0000-0000-000000000000" -D author="$AUTHOR" \
            -f "$HERE/$script" pilcrow >"$raw" 2>&1
        tps="$(awk '/^tps/ { printf "%d", $3 }' "$raw")"
        if (( tps > best )); then best=$tps; lat="$(awk '/^latency average/ { print $4 }' "$raw")"; fi
    done
    echo "| pgbench: $label | $conns | $best | avg $lat | | |" >>"$RESULTS"
    log "pgbench $label c=$conns: best $best tps"
    PGB_BEST=$best
}

if wants counts; then
    COMMENTS=10000 "$HERE/seed.sh"
    warm counts
    wrk_step "counts @10k comments" counts 8
    wrk_step "counts @10k comments" counts 64
fi
COMMENTS="${COMMENTS:-1000000}" "$HERE/seed.sh"
AUTHOR="$("${PSQL[@]}" -tAc "SELECT id FROM users WHERE username = 'bench0'")"
if wants counts; then
    warm counts
    wrk_step "counts @1M comments" counts 8
    wrk_step "counts @1M comments" counts 64
    COUNTS_64="$(awk -F'|' '/counts @1M/ && $3 ~ /64/ { gsub(" ", "", $4); print $4 }' "$RESULTS")"
fi
if wants pgbench; then
    pgbench_step "counts query" counts.sql 8
    pgbench_step "counts query" counts.sql 64
    PGB_COUNTS_64=$PGB_BEST
fi
if wants comments; then
    warm comments
    wrk_step "comments first page" comments 8
    wrk_step "comments first page" comments 64
fi
if wants post; then
    warm post
    wrk_step "post comment, random threads" post 8
    wrk_step "post comment, random threads" post 64
    wrk_step "post comment, one hot paragraph" hot 8
    wrk_step "post comment, one hot paragraph" hot 64
    if wants pgbench; then
        pgbench_step "insert comment (triggers)" insert.sql 64
    fi
fi
if [[ -n "${COUNTS_64:-}" && -n "${PGB_COUNTS_64:-}" && "${PGB_COUNTS_64}" -gt 0 ]]; then
    ratio="$(awk -v a="$COUNTS_64" -v b="$PGB_COUNTS_64" 'BEGIN { printf "%.2f", a / b }')"
    { echo; echo "counts / pgbench at 64 connections: $COUNTS_64 / $PGB_COUNTS_64 = **$ratio** (target ≥ 0.5)"; } >>"$RESULTS"
fi
echo "comments in the database at the end: $("${PSQL[@]}" -tAc 'SELECT count(*) FROM comments')" >>"$RESULTS"
cat "$RESULTS"
