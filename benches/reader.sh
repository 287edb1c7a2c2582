#!/usr/bin/env bash
# Measures what the reader features cost, on one session:
#   1. GET /sessions/{id}/counts: anonymous, and signed in with unread_count
#      (a reader who has marked every thread but its last 5 comments, and a
#      reader who has marked nothing), at 10,000 and at 1,000,000 comments;
#   2. posting comments (HTTP, wrk) and bare inserts (pgbench, insert.sql)
#      with the search index, without the GIN index, and without the
#      generated search column too.
#
#   benches/reader.sh          # release build, private cluster in /tmp/pilcrow-reader-bench
#
# One session holding every comment: SESSIONS=1, THREADS (1,000) threads,
# comments round-robin over them (benches/seed.sh). Knobs: DURATION (10),
# CONNS (32), THREADS, BIG (1000000), SKIP_BUILD=1, PORT (18089).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PORT="${PORT:-18089}"
export DATA_DIR="${DATA_DIR:-/tmp/pilcrow-reader-bench}"
export OUT="${OUT:-$HERE/out/reader}"
export BASE_URL="http://127.0.0.1:$PORT/api/v1"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-32}"
THREADS="${THREADS:-1000}"
BIG="${BIG:-1000000}"
PSQL=(psql -X -q -h "$DATA_DIR/postgres" -U postgres -d pilcrow)
URL="http://127.0.0.1:$PORT"
mkdir -p "$OUT/raw"
log() { printf '[reader %s] %s\n' "$(date +%T)" "$*" >&2; }

[[ "${SKIP_BUILD:-0}" == 1 ]] || (cd "$ROOT" && cargo build --release --quiet)
if [[ -d "$DATA_DIR" ]]; then
    [[ -d "$DATA_DIR/postgres" ]] || { echo "refusing to remove $DATA_DIR" >&2; exit 1; }
    rm -rf "$DATA_DIR"
fi
start_server() {
    (
        cd "$ROOT"
        export PILCROW__SERVER__PORT="$PORT" PILCROW__SERVER__HOST=127.0.0.1 \
            PILCROW__DATABASE__DATA_DIR="$DATA_DIR" PILCROW__LOG__FILTER=warn \
            PILCROW__AUTH__ACCESS_TOKEN_TTL_SECS=7200 PILCROW__RATE_LIMIT__ENABLED=false
        exec target/release/pilcrow serve
    ) >>"$OUT/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 120); do curl -sf "$URL/ready" >/dev/null && break; sleep 0.5; done
}
# The server's prepared statements return whole comment rows, so after the
# schema changes below it restarts (its private cluster keeps the data).
restart_server() {
    kill -TERM "$server" && wait "$server" || true
    start_server
}
: >"$OUT/server.log"
start_server
trap 'kill -TERM "$server" 2>/dev/null && wait "$server" || true' EXIT

RESULTS="$OUT/results.md"
{
    echo "# Reader features, $(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse --short HEAD)"
    echo
    echo "$(nproc) cores shared with other work; load before: $(cut -d' ' -f1-3 /proc/loadavg);" \
         "wrk -t2 -c$CONNS -d${DURATION}s; one session, $THREADS threads"
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

pgbench_step() {
    local label="$1" raw="$OUT/raw/pgbench-${1//[^a-zA-Z0-9]/_}.txt" author
    author="$("${PSQL[@]}" -tAc "SELECT id FROM users WHERE username = 'bench0'")"
    # insert.sql, over this dataset's threads (ids 9000-0 .. 9000-<THREADS-1>).
    sed "s/random(0, 9999)/random(0, $((THREADS - 1)))/" "$HERE/insert.sql" >"$OUT/insert.sql"
    pgbench -n -M prepared -h "$DATA_DIR/postgres" -U postgres -c "$CONNS" -j 2 -T "$DURATION" \
        -D author="$author" -f "$OUT/insert.sql" pilcrow >"$raw" 2>&1 || true
    echo "| pgbench: $label | $(awk '/^tps/ { printf "%d", $3 }' "$raw") | | | |" >>"$RESULTS"
    log "pgbench $label: $(awk '/^tps/ { printf "%d", $3 }' "$raw") tps"
}

# bench0 (the first token) marks every thread read up to its 6th-newest comment
# (with the `below` a raise through PUT /reads would compute).
mark_all_but_five() {
    "${PSQL[@]}" -c "DELETE FROM thread_reads WHERE user_id = (SELECT id FROM users WHERE username = 'bench0');
      INSERT INTO thread_reads (user_id, session_id, thread_id, seq, below)
      SELECT u.id, t.session_id, x.thread_id, x.seq,
             (SELECT count(*) FROM comments c
               WHERE c.thread_id = x.thread_id AND c.seq <= x.seq AND NOT c.hidden AND NOT c.deleted)
        FROM (SELECT thread_id, seq, row_number() OVER (PARTITION BY thread_id ORDER BY seq DESC) AS rn
                FROM comments) x
        JOIN threads t ON t.id = x.thread_id, users u
       WHERE x.rn = 6 AND u.username = 'bench0';"
}
forget_marks() {
    "${PSQL[@]}" -c "DELETE FROM thread_reads WHERE user_id = (SELECT id FROM users WHERE username = 'bench0')"
}

counts_steps() {
    local size="$1"
    wrk_step "counts, anonymous @$size" counts
    mark_all_but_five
    wrk_step "counts, signed in, 5 unread per thread @$size" counts_me
    forget_marks
    wrk_step "counts, signed in, nothing marked @$size" counts_me
}

export SESSIONS=1 THREADS_PER_SESSION="$THREADS" HOT_THREADS=16
COMMENTS=10000 "$HERE/seed.sh"
counts_steps "10k"
COMMENTS="$BIG" "$HERE/seed.sh"
counts_steps "$BIG"

wrk_step "post comment, search index" post
pgbench_step "insert comment, search index"
"${PSQL[@]}" -c "DROP INDEX comments_search_idx"
wrk_step "post comment, no GIN index (vector still generated)" post
pgbench_step "insert comment, no GIN index"
"${PSQL[@]}" -c "ALTER TABLE comments DROP COLUMN search"
restart_server
wrk_step "post comment, no search column" post
pgbench_step "insert comment, no search column"
echo "comments at the end: $("${PSQL[@]}" -tAc 'SELECT count(*) FROM comments')" >>"$RESULTS"
cat "$RESULTS"
