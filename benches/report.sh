#!/usr/bin/env bash
# Measures the organiser's report (GET /sessions/{id}/report) on one session
# of COMMENTS (100,000) comments over THREADS (1,000) threads, at CONNS (16)
# connections, as the group's owner:
#   1. kept answers on (the default): the answer is built once per change to
#      the session and served again by version;
#   2. the same while comments are posted (POST_CONNS, 2, connections posting
#      all along), so the version moves and answers are rebuilt;
#   3. kept answers off (cache.kept_responses_max_bytes = 0): every request
#      builds the whole report, the cost of a first read after a change;
# with GET /sessions/{id}/counts, anonymous, as the reference.
#
#   benches/report.sh          # release build, private cluster in /tmp/pilcrow-report-bench
#
# Loopback only; every step is bounded by DURATION (10 s). Knobs: DURATION,
# CONNS, POST_CONNS, THREADS, COMMENTS, SKIP_BUILD=1, PORT (18090).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PORT="${PORT:-18090}"
export DATA_DIR="${DATA_DIR:-/tmp/pilcrow-report-bench}"
export OUT="${OUT:-$HERE/out/report}"
export BASE_URL="http://127.0.0.1:$PORT/api/v1"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-16}"
POST_CONNS="${POST_CONNS:-2}"
THREADS="${THREADS:-1000}"
COMMENTS="${COMMENTS:-100000}"
PSQL=(psql -X -q -h "$DATA_DIR/postgres" -U postgres -d pilcrow)
URL="http://127.0.0.1:$PORT"
mkdir -p "$OUT/raw"
log() { printf '[report %s] %s\n' "$(date +%T)" "$*" >&2; }

[[ "${SKIP_BUILD:-0}" == 1 ]] || (cd "$ROOT" && cargo build --release --quiet)
if [[ -d "$DATA_DIR" ]]; then
    [[ -d "$DATA_DIR/postgres" ]] || { echo "refusing to remove $DATA_DIR" >&2; exit 1; }
    rm -rf "$DATA_DIR"
fi
# start_server [KEPT_BYTES]
start_server() {
    (
        cd "$ROOT"
        export PILCROW__SERVER__PORT="$PORT" PILCROW__SERVER__HOST=127.0.0.1 \
            PILCROW__DATABASE__DATA_DIR="$DATA_DIR" PILCROW__LOG__FILTER=warn \
            PILCROW__AUTH__ACCESS_TOKEN_TTL_SECS=7200 PILCROW__RATE_LIMIT__ENABLED=false
        [[ -n "${1:-}" ]] && export PILCROW__CACHE__KEPT_RESPONSES_MAX_BYTES="$1"
        exec target/release/pilcrow serve
    ) >>"$OUT/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 120); do curl -sf "$URL/ready" >/dev/null && break; sleep 0.5; done
}
restart_server() {
    kill -TERM "$server" && wait "$server" || true
    start_server "$@"
}
: >"$OUT/server.log"
start_server
trap 'kill -TERM "$server" 2>/dev/null && wait "$server" || true' EXIT

RESULTS="$OUT/results.md"
{
    echo "# Session report, $(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse --short HEAD)"
    echo
    echo "$(nproc) cores shared with other work; load before: $(cut -d' ' -f1-3 /proc/loadavg);" \
         "wrk -t2 -c$CONNS -d${DURATION}s; one session, $THREADS threads, $COMMENTS comments"
    echo
    echo "| scenario | req/s | p50 ms | p99 ms | errors |"
    echo "|---|---:|---:|---:|---:|"
} >"$RESULTS"

wrk_step() {
    local label="$1" mode="$2" raw="$OUT/raw/${1//[^a-zA-Z0-9]/_}.txt"
    wrk -t2 -c1 -d2s -s "$HERE/wrk.lua" "$URL" -- "$mode" "$OUT" >/dev/null 2>&1 || true
    wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/wrk.lua" "$URL" -- "$mode" "$OUT" >"$raw" 2>&1
    local rps p50 p99 errs
    rps="$(awk '/^Requests\/sec/ { printf "%d", $2 }' "$raw")"
    p50="$(awk '$1 == "50%" { print $2 }' "$raw")"
    p99="$(awk '$1 == "99%" { print $2 }' "$raw")"
    errs="$(awk '/Non-2xx|Socket errors/ { gsub(",", ""); s += $NF } END { print s + 0 }' "$raw")"
    echo "| $label | $rps | $p50 | $p99 | $errs |" >>"$RESULTS"
    log "$label: $rps req/s (p50 $p50, p99 $p99, errors $errs)"
}

export SESSIONS=1 THREADS_PER_SESSION="$THREADS" HOT_THREADS=16
COMMENTS="$COMMENTS" "$HERE/seed.sh"
"${PSQL[@]}" -c "VACUUM ANALYZE"
log "one report: $(curl -sS -o /dev/null -w '%{http_code} %{size_download} B %{time_total} s' \
    -H "Authorization: Bearer $(head -1 "$OUT/tokens.txt")" "$BASE_URL/sessions/$(head -1 "$OUT/sessions.txt")/report")"

wrk_step "counts, anonymous (reference)" counts
wrk_step "report, kept answers" report
wrk_step "report as CSV, kept answers" report_csv
log "posting at $POST_CONNS connections in the background"
wrk -t1 -c"$POST_CONNS" -d"$((DURATION + 3))s" -s "$HERE/wrk.lua" "$URL" -- post "$OUT" \
    >"$OUT/raw/background_posts.txt" 2>&1 &
posting=$!
sleep 1
wrk_step "report, kept answers, while $POST_CONNS connections post" report
wait "$posting" || true
echo "| (background posts during the step above) | $(awk '/^Requests\/sec/ { printf "%d", $2 }' "$OUT/raw/background_posts.txt") | | | |" >>"$RESULTS"
restart_server 0
wrk_step "report, kept answers off (built every time)" report
wrk_step "report as CSV, kept answers off" report_csv
echo "comments at the end: $("${PSQL[@]}" -tAc 'SELECT count(*) FROM comments')" >>"$RESULTS"
cat "$RESULTS"
