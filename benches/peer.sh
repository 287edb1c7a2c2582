#!/usr/bin/env bash
# Pilcrow beside a minimal peer (benches/peer: actix-web, deadpool-postgres,
# one prepared statement per route, the HS256 token check), in one run on
# one database, alternating A/B per round (the order swapped every round):
#   1. counts, anonymous: Pilcrow vs the peer;
#   2. counts, member (every bench user has posted, so has marks and unread):
#      Pilcrow vs the peer (which checks the token and runs the bare query);
#   3. the first comment page: Pilcrow vs the peer's page route;
#   4. counts for a reader who has marked every thread of every session
#      (1,000 per session) with 5 unread in each, vs anonymous counts;
#   5. pgbench on counts_bare.sql (the database's limit for the bare query).
# Release builds, a private cluster reached over TCP on 127.0.0.1 (as
# run.sh, DB=tcp), the dataset of benches/seed.sh with SESSIONS (10)
# sessions of 1,000 threads and COMMENTS (100,000) comments, wrk -t2 at
# CONNS (64) connections for DURATION (10) s per step, ROUNDS (3) rounds,
# after both servers have run every step's load for WARM (20) s.
# Both servers get WORKERS (2) workers and POOL (4) database connections.
# Pilcrow runs with its metrics on, so each of its steps also counts the
# requests it timed itself over 0.25 s.
# Results: $OUT/results.md, raw tool output in $OUT/raw/.
#
#   benches/peer.sh
#   SKIP_BUILD=1 ROUNDS=2 DURATION=5 benches/peer.sh
#   PG_OPTIONS="-c shared_preload_libraries=pg_stat_statements" benches/peer.sh   # and the statements run, in raw/statements.txt
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PORT="${PORT:-18091}"
PEER_PORT="${PEER_PORT:-18092}"
DATA_DIR="${DATA_DIR:-/tmp/pilcrow-peer-bench}"
OUT="${OUT:-$HERE/out/peer}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-64}"
ROUNDS="${ROUNDS:-3}"
WORKERS="${WORKERS:-2}"
POOL="${POOL:-4}"
SESSIONS="${SESSIONS:-10}"
PGPORT="${PGPORT:-18433}"
export BASE_URL="http://127.0.0.1:$PORT/api/v1" DATA_DIR OUT
URL="http://127.0.0.1:$PORT"
PEER_URL="http://127.0.0.1:$PEER_PORT"
PEER_BIN="$ROOT/target/peer/release/pilcrow-peer"
mkdir -p "$OUT/raw"
log() { printf '[peer %s] %s\n' "$(date +%T)" "$*" >&2; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release (pilcrow, and the peer)"
    (cd "$ROOT" && cargo build --release --quiet)
    (cd "$HERE/peer" && CARGO_TARGET_DIR="$ROOT/target/peer" cargo build --release --quiet)
fi
# shellcheck source=cluster.sh
source "$HERE/cluster.sh"
cluster_fresh
export PGHOST="$PG_ROOT" PGPORT
DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/pilcrow"
PSQL=(psql -X -q -U postgres -d pilcrow)

start_pilcrow() {
    (
        cd "$ROOT"
        export PILCROW__SERVER__PORT="$PORT" PILCROW__SERVER__HOST=127.0.0.1 PILCROW__SERVER__WORKERS="$WORKERS" \
            PILCROW__DATABASE__POOL_SIZE="$POOL" PILCROW__DATABASE__DATA_DIR="$DATA_DIR" PILCROW__LOG__FILTER=warn \
            PILCROW__AUTH__ACCESS_TOKEN_TTL_SECS=7200 PILCROW__RATE_LIMIT__ENABLED=false PILCROW__METRICS__ENABLED=true DATABASE_URL="$DATABASE_URL"
        exec target/release/pilcrow serve
    ) >>"$OUT/server.log" 2>&1 &
    server=$!
    await_server "$server" "$OUT/server.log"
}
start_peer() {
    DATABASE_URL="$DATABASE_URL" JWT_SECRET_FILE="$DATA_DIR/jwt_secret" PORT="$PEER_PORT" \
        WORKERS="$WORKERS" POOL="$POOL" "$PEER_BIN" >>"$OUT/peer.log" 2>&1 &
    peer=$!
    for _ in $(seq 1 60); do curl -s -o /dev/null "$PEER_URL/" && break; sleep 0.25; done
}
stop_all() {
    kill -TERM "${server:-}" "${peer:-}" 2>/dev/null || true
    wait 2>/dev/null || true
    cluster_stop
}
trap stop_all EXIT
: >"$OUT/server.log"; : >"$OUT/peer.log"
start_pilcrow

# Seed; every bench user then posts once in every session (marks, and the
# others' comments unread), and bench0 (the first token) marks every
# thread read up to its 6th-newest comment through PUT /reads.
SESSIONS="$SESSIONS" THREADS_PER_SESSION=1000 COMMENTS="${COMMENTS:-100000}" "$HERE/seed.sh"
mapfile -t TOKENS <"$OUT/tokens.txt"
mapfile -t SIDS <"$OUT/sessions.txt"
for s in "${SIDS[@]}"; do
    t="$("${PSQL[@]}" -tAc "SELECT id FROM threads WHERE session_id = '$s' ORDER BY id LIMIT 1 OFFSET 7")"
    for token in "${TOKENS[@]}"; do
        curl -sf -o /dev/null -X POST "$BASE_URL/threads/$t/comments" -H "Authorization: Bearer $token" \
            -H 'Content-Type: application/json' -d '{"body":"A member on what the week asks."}'
    done
    for part in 0 1 2; do
        marks="$("${PSQL[@]}" -tAc "SELECT json_build_object('threads', coalesce(json_object_agg(thread_id, id), '{}'))
            FROM (SELECT c.thread_id, c.id, row_number() OVER (PARTITION BY c.thread_id ORDER BY c.seq DESC) AS rn
                    FROM comments c JOIN threads t ON t.id = c.thread_id
                   WHERE t.session_id = '$s' AND ('x' || substr(md5(t.id::text), 1, 2))::bit(8)::int % 3 = $part) x
           WHERE rn = 6")"
        curl -sf -o /dev/null -X PUT "$BASE_URL/sessions/$s/reads" -H "Authorization: Bearer ${TOKENS[0]}" \
            -H 'Content-Type: application/json' -d "$marks"
    done
done
start_peer
"${PSQL[@]}" -c "VACUUM ANALYZE" >/dev/null
statements=0
if [[ "${PG_OPTIONS:-}" == *pg_stat_statements* ]]; then
    statements=1
    "${PSQL[@]}" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null
fi

RESULTS="$OUT/results.md"
{
    echo "# Pilcrow and a minimal peer, $(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src || echo '+dirty')"
    echo
    # With autogroup on, every backend (PostgreSQL gives each its own
    # session) is a scheduling group of its own, and runnable backends were
    # left waiting 0.2-2 s on a run queue (benches/run_queue.py): the run's
    # slow responses (benches/RESULTS.md, "Where the slow responses were").
    echo "$(nproc) cores; kernel.sched_autogroup_enabled $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo -);" \
         "load before: $(cut -d' ' -f1-3 /proc/loadavg); wrk -t2 -c$CONNS -d${DURATION}s;" \
         "$ROUNDS alternating rounds; $WORKERS workers and $POOL connections each; database over TCP;" \
         "$SESSIONS sessions of 1,000 threads, $("${PSQL[@]}" -tAc 'SELECT count(*) FROM comments') comments;" \
         "bench0 marks: $("${PSQL[@]}" -tAc "SELECT count(*) FROM thread_reads r JOIN users u ON u.id = r.user_id WHERE u.username = 'bench0'")"
    echo
    echo "| step | round | req/s | p50 | p99 | max | non-2xx | socket errors (connect/read/write/timeout) | TCP segments retransmitted / packets dropped | timed by Pilcrow over 0.25 s | server CPU µs/request | database CPU µs/request |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|"
} >"$RESULTS"

# The CPU time (user and system, clock ticks) process PID has used.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# TCP segments the kernel has sent again, and packets dropped because a
# CPU's input backlog was full (/proc/net/softnet_stat, second column): on
# loopback a drop is only recovered by a retransmission timeout (200 ms,
# then doubling), which wrk sees as a response taking that much longer.
net_losses() {
    awk '/^Tcp:/ { n++; if (n == 1) for (i = 1; i <= NF; i++) h[i] = $i;
                    else for (i = 1; i <= NF; i++) if (h[i] == "RetransSegs") print $i }' /proc/net/snmp
    local drops=0 field
    while read -r _ field _; do drops=$((drops + 16#$field)); done </proc/net/softnet_stat
    echo "$drops"
}
# Requests Pilcrow itself timed (its latency histogram, /metrics) over
# 0.25 s so far: a slow response wrk reports is in the server when these
# grow with it, in the network or the load tool when they do not.
slow_requests() {
    curl -s "$URL/metrics" | awk '/^pilcrow_http_request_duration_seconds_bucket/ && /le="0.25"/ { fast += $NF }
        /^pilcrow_http_request_duration_seconds_count/ { all += $NF } END { print all - fast }'
}
# The same for every backend of the cluster (the servers' connections).
db_ticks() {
    for pid in $(pgrep -f "postgres: postgres pilcrow"); do cat "/proc/$pid/stat" 2>/dev/null; done |
        awk '{ t += $14 + $15 } END { print t + 0 }'
}
# wrk_step LABEL URL MODE ROUND: with the CPU the answering server used per request.
wrk_step() {
    local raw="$OUT/raw/${1//[^A-Za-z0-9]/_}-$4.txt" pid
    pid="$([[ "$2" == "$PEER_URL" ]] && echo "$peer" || echo "$server")"
    wrk -t2 -c8 -d2s -s "$HERE/wrk.lua" "$2" -- "$3" "$OUT" >/dev/null 2>&1 || true
    local before db_before losses_before losses_after; before="$(ticks "$pid")"; db_before="$(db_ticks)"
    mapfile -t losses_before < <(net_losses)
    local slow_before; slow_before="$(slow_requests)"
    wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/wrk.lua" "$2" -- "$3" "$OUT" >"$raw" 2>&1
    mapfile -t losses_after < <(net_losses)
    local slow; slow="$([[ "$pid" == "$server" ]] && echo $(( $(slow_requests) - slow_before )) || echo -)"
    local lost="$(( losses_after[0] - losses_before[0] ))/$(( losses_after[1] - losses_before[1] ))"
    local used=$(( $(ticks "$pid") - before )) db_used=$(( $(db_ticks) - db_before )) requests cpu db_cpu
    requests="$(awk '/requests in/ { print $1 }' "$raw")"
    per_request() { awk -v t="$1" -v n="${requests:-0}" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n }'; }
    cpu="$(per_request "$used")"; db_cpu="$(per_request "$db_used")"
    local rps p50 p99 non2xx sock
    rps="$(awk '/^Requests\/sec/ { printf "%d", $2 }' "$raw")"
    p50="$(awk '$1 == "50%" { print $2 }' "$raw")"
    p99="$(awk '$1 == "99%" { print $2 }' "$raw")"
    non2xx="$(awk '/Non-2xx/ { print $NF }' "$raw")"
    sock="$(awk '/Socket errors/ { gsub(",", ""); print $4 "/" $6 "/" $8 "/" $10 }' "$raw")"
    local max; max="$(awk '$1 == "Latency" { print $4 }' "$raw")"
    echo "| $1 | $4 | $rps | $p50 | $p99 | $max | ${non2xx:-0} | ${sock:-0/0/0/0} | $lost | $slow | $cpu | $db_cpu |" >>"$RESULTS"
    log "$1 (round $4): $rps req/s, p50 $p50, p99 $p99, max $max, non-2xx ${non2xx:-0}, socket ${sock:-none}, retransmitted/dropped $lost, $slow over 0.25 s by Pilcrow's clock, $cpu µs CPU/request, $db_cpu in the database"
}
# Both servers warm first, as servers in service are: every step's load for
# WARM (20) s each (statement caches, kept answers, the allocator's pages).
for mode in counts counts_member comments counts_me; do
    for url in "$URL" "$PEER_URL"; do
        [[ "$url" == "$PEER_URL" && "$mode" == counts_me ]] && continue
        wrk -t2 -c"$CONNS" -d"${WARM:-20}s" -s "$HERE/wrk.lua" "$url" -- "$mode" "$OUT" >/dev/null 2>&1 || true
    done
done
PAIRS=("counts, anonymous|$URL|counts|$PEER_URL|counts"
       "counts, member|$URL|counts_member|$PEER_URL|counts_member"
       "first comment page|$URL|comments|$PEER_URL|comments"
       "counts, reader of 1,000 marked threads|$URL|counts_me|$URL|counts")
for round in $(seq 1 "$ROUNDS"); do
    for pair in "${PAIRS[@]}"; do
        IFS='|' read -r label a_url a_mode b_url b_mode <<<"$pair"
        a="pilcrow: $label"
        b="$([[ "$b_url" == "$PEER_URL" ]] && echo "peer: $label" || echo "pilcrow: counts, anonymous (beside the reader)")"
        if (( round % 2 )); then
            wrk_step "$a" "$a_url" "$a_mode" "$round"; wrk_step "$b" "$b_url" "$b_mode" "$round"
        else
            wrk_step "$b" "$b_url" "$b_mode" "$round"; wrk_step "$a" "$a_url" "$a_mode" "$round"
        fi
    done
    sed "s/random(1, 999)/random(1, $((SESSIONS - 1)))/" "$HERE/counts_bare.sql" >"$OUT/counts_bare.sql"
    raw="$OUT/raw/pgbench-counts_bare-$round.txt"
    pgbench -n -M prepared -h 127.0.0.1 -U postgres -c "$CONNS" -j 2 -T "$DURATION" -f "$OUT/counts_bare.sql" pilcrow >"$raw" 2>&1 || true
    echo "| pgbench (tcp): counts_bare.sql | $round | $(awk '/^tps/ { printf "%d", $3 }' "$raw") | | | | | | | | | |" >>"$RESULTS"
done

median() { # STEP LABEL: the median req/s of its rounds
    awk -F'|' -v l="$1" '{ gsub(/^ +| +$/, "", $2) } $2 == l { gsub(" ", "", $4); print $4 }' "$RESULTS" |
        sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else if (NR) print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }
{
    echo
    echo "Medians of $ROUNDS rounds (req/s):"
    echo
    echo "| comparison | A | B | A / B | target |"
    echo "|---|---:|---:|---:|---:|"
    for spec in "counts, anonymous|1.0" "counts, member|0.9" "first comment page|0.9"; do
        IFS='|' read -r label target <<<"$spec"
        a="$(median "pilcrow: $label")"; b="$(median "peer: $label")"
        echo "| $label: pilcrow / peer | $a | $b | $(div "$a" "$b") | ≥ $target |"
    done
    a="$(median "pilcrow: counts, reader of 1,000 marked threads")"
    b="$(median "pilcrow: counts, anonymous (beside the reader)")"
    echo "| counts: reader of 1,000 marked threads / anonymous | $a | $b | $(div "$a" "$b") | ≥ 0.5 |"
    echo "| pgbench counts_bare.sql (tcp, the database's limit) | $(median "pgbench (tcp): counts_bare.sql") | | | |"
} >>"$RESULTS"
if (( statements )); then
    "${PSQL[@]}" -c "SELECT calls, round(total_exec_time) AS ms, left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS statement
                       FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25" >"$OUT/raw/statements.txt"
fi
cat "$RESULTS"
