#!/usr/bin/env bash
# The load harness: builds the release server, starts it with its database,
# seeds, and measures with wrk and pgbench. Loopback only; every load step is
# bounded by DURATION; the server and the database are stopped on exit.
# Results: $OUT/results.md, raw tool output in $OUT/raw/.
#
# DB=tcp (default): the harness starts a PostgreSQL cluster of its own and the
# server reaches it over TCP on 127.0.0.1, as in production where the database
# is another host. DB=socket: the server's private cluster on its unix socket.
# Every endpoint is compared, in the same run, with pgbench running (a) the
# bare data query of the work, without access checks, and (b) the statements
# the server actually sends for one such request, captured from the
# PostgreSQL log (capture.py), over TCP and over the unix socket.
#
#   benches/run.sh                      # the whole run (~15 min on 2 cores)
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
DB="${DB:-tcp}"
PGPORT="${PGPORT:-18432}"
export BASE_URL="http://127.0.0.1:$PORT/api/v1" DATA_DIR OUT
URL="http://127.0.0.1:$PORT"

mkdir -p "$OUT/raw"
log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
wants() { [[ " $ONLY " == *" $1 "* ]]; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet)
fi
if [[ "$FRESH" == 1 && -d "$DATA_DIR" ]]; then
    [[ -f "$DATA_DIR/jwt_secret" || -d "$DATA_DIR/postgres" || -d "$DATA_DIR/pg" ]] ||
        { echo "refusing to remove $DATA_DIR" >&2; exit 1; }
    rm -rf "$DATA_DIR"
fi
mkdir -p "$DATA_DIR"

# shellcheck source=cluster.sh
source "$HERE/cluster.sh"
server_env=()
if [[ "$DB" == tcp ]]; then
    cluster_start
    export PGHOST="$PG_ROOT" PGPORT
    PG_LOG="$PG_ROOT/postgres.log"
    server_env=(DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/pilcrow")
else
    export PGHOST="$DATA_DIR/postgres"
    PG_LOG="$DATA_DIR/postgres.log"
fi
PSQL=(psql -X -q -U postgres -d pilcrow)

# The server under test: quiet logs (a line per request to a terminal costs
# more than the request), access tokens that outlive the run, no rate limits
# (the load is far beyond what a person sends).
# start_server [BINARY]: the server under test (target/release/pilcrow unless
# given), once it answers /ready.
start_server() {
    local binary="${1:-target/release/pilcrow}"
    log "starting $binary on 127.0.0.1:$PORT (database: $DB, data in $DATA_DIR)"
    (
        cd "$ROOT"
        export PILCROW__SERVER__PORT="$PORT" PILCROW__SERVER__HOST=127.0.0.1 \
            PILCROW__DATABASE__DATA_DIR="$DATA_DIR" PILCROW__LOG__FILTER="${LOG_FILTER:-warn}" \
            PILCROW__AUTH__ACCESS_TOKEN_TTL_SECS=7200 PILCROW__RATE_LIMIT__ENABLED=false
        exec env "${server_env[@]}" "$binary" serve
    ) >>"$OUT/server.log" 2>&1 &
    server=$!
    await_server "$server" "$OUT/server.log"
}
stop_server() {
    if kill -0 "$server" 2>/dev/null; then
        log "stopping the server (pid $server)"
        kill -TERM "$server"
        wait "$server" || true
    fi
}
stop_all() {
    stop_server
    [[ "$DB" == tcp ]] && cluster_stop
    return 0
}
trap stop_all EXIT
: >"$OUT/server.log"
start_server

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
    raw="$OUT/raw/${label//[^A-Za-z0-9@,.-]/_}-c$conns.txt"
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

# pgbench_step LABEL SCRIPT CONNS [HOST]: best tps of PGB_RUNS runs, over
# the unix socket unless HOST is given (127.0.0.1: over TCP). The best run's
# p50 and p99 come from a tenth of its transactions, logged (--sampling-rate),
# so that the server's tail can be read beside PostgreSQL's own.
pgbench_step() {
    local label="$1" script="$2" conns="$3" host="${4:-$PGHOST}" best=0 p50="" p99="" raw tps via logs
    via="$([[ "$host" == /* ]] && echo socket || echo tcp)"
    [[ "$script" == /* ]] || script="$HERE/$script"
    for run in $(seq 1 "$PGB_RUNS"); do
        raw="$OUT/raw/pgbench-${label// /_}-$via-c$conns-$run.txt"
        logs="$OUT/raw/pgbench-log-$run"
        rm -f "$logs".*
        pgbench -n -M prepared -h "$host" -U postgres -c "$conns" -j "$WRK_THREADS" -T "$DURATION" \
            -l --sampling-rate=0.1 --log-prefix="$logs" \
            -D anon="00000000-0000-0000-0000-000000000000" -D author="$AUTHOR" \
            -f "$script" pilcrow >"$raw" 2>&1
        tps="$(awk '/^tps/ { printf "%d", $3 }' "$raw")"
        if (( tps > best )); then
            best=$tps
            # Field 3 of a log line: the transaction's latency in microseconds.
            read -r p50 p99 < <(cat "$logs".* | awk '{ print $3 }' | sort -n | awk '
                { v[NR] = $1 } END { if (NR) printf "%.2f %.2f\n", v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000 }') || true
        fi
        rm -f "$logs".*
    done
    echo "| pgbench ($via): $label | $conns | $best | $p50 | $p99 | |" >>"$RESULTS"
    log "pgbench ($via) $label c=$conns: best $best tps, p50 $p50 ms, p99 $p99 ms"
    PGB_BEST=$best
}

# Both transports for a reference script; sets REF_TCP and REF_SOCKET.
reference() {
    pgbench_step "$1" "$2" 64 127.0.0.1; REF_TCP=$PGB_BEST
    if [[ "$DB" == tcp ]]; then pgbench_step "$1" "$2" 64; REF_SOCKET=$PGB_BEST; else REF_SOCKET=$REF_TCP; fi
}

# capture NAME MARKER [capture.py options...] -- CURL ARGS: the statements the
# server sends for one request, as a pgbench script in $OUT/full_NAME.sql.
capture() {
    local name="$1" marker="$2" offset opts=() response
    shift 2
    while [[ "$1" != -- ]]; do opts+=("$1"); shift; done
    shift
    "${PSQL[@]}" -c "ALTER SYSTEM SET log_min_duration_statement = 0" -c "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
    offset="$(stat -c %s "$PG_LOG")"
    response="$(curl -sS "$@")"
    sleep 0.5
    "${PSQL[@]}" -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()" >/dev/null
    local fresh=()
    # What a POST created is new in every pgbench transaction.
    [[ " $* " == *" -X POST "* ]] && fresh=(--fresh "$(jq -r .id <<<"$response")")
    python3 "$HERE/capture.py" "$PG_LOG" "$offset" "$OUT/full_$name.sql" --marker "$marker" "${opts[@]}" "${fresh[@]}"
}

# Ratios at 64 connections: server req/s over each reference's tps.
RATIOS=()
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }
ratio() { # LABEL SERVER_RPS BARE_TCP FULL_TCP FULL_SOCKET
    RATIOS+=("| $1 | $2 | $3 | **$(div "$2" "$3")** | $4 | $(div "$2" "$4") | $5 |")
}
rps_of() { awk -F'|' -v l="$1" '$2 ~ l && $3 ~ /64/ { gsub(" ", "", $4); v = $4 } END { print v + 0 }' "$RESULTS"; }

SESSION_RANDOM=('\set n random(1, 999)' "('00000000-0000-7000-8000-' || lpad(:n::text, 12, '0'))::uuid")
THREAD_RANDOM=('\set t random(0, 9999)' "('00000000-0000-7000-9000-' || lpad(:t::text, 12, '0'))::uuid")

if wants counts; then
    COMMENTS=10000 "$HERE/seed.sh"
    warm counts
    wrk_step "counts @10k comments, anonymous" counts 64
    wrk_step "counts @10k comments, member" counts_member 64
fi
COMMENTS="${COMMENTS:-1000000}" "$HERE/seed.sh"
AUTHOR="$("${PSQL[@]}" -tAc "SELECT id FROM users WHERE username = 'bench0'")"
TOKEN="$(head -1 "$OUT/tokens.txt")"
S5="00000000-0000-7000-8000-000000000005"
T5="00000000-0000-7000-9000-000000000005"
# AB=<binary>: the same measurements against that binary (the baseline)
# and this build (the candidate), alternating on one database, the order
# swapped every round (ABBA), AB_ROUNDS rounds (4): first the reads (counts
# anonymous and member, the first comment page), then posting, so the rows
# that posting adds and the vacuum they bring fall on both sides alike
# instead of on whichever read comes next. A checkpoint before each side
# starts both from the same state. The table gives each side's median and
# candidate over baseline. Both binaries must share the schema's tables
# (the replaceable triggers are re-applied at each start).
if [[ -n "${AB:-}" ]] && wants ab; then
    AB_ROUNDS="${AB_ROUNDS:-4}"
    AB_READS=("counts, anonymous:counts" "counts, member:counts_member"
              "comments first page, member:comments_member"
              "search, a word in every comment:search" "search, a word in three comments:search_rare")
    "${PSQL[@]}" -tAc "SELECT id FROM groups WHERE slug = 'pilcrow-bench'" >"$OUT/groups.txt"
    "${PSQL[@]}" -tAc "SELECT md5('4242')" >"$OUT/rare_word.txt"
    AB_WRITES=("post comment, random threads:post")
    ab_phase() { # STEP...
        for round in $(seq 1 "$AB_ROUNDS"); do
            sides=(baseline candidate)
            (( round % 2 == 0 )) && sides=(candidate baseline)
            for side in "${sides[@]}"; do
                stop_server
                "${PSQL[@]}" -c CHECKPOINT >/dev/null
                if [[ "$side" == baseline ]]; then start_server "$AB"; else start_server; fi
                for step in "$@"; do
                    warm "${step#*:}"
                    wrk_step "A/B $side $round: ${step%%:*}" "${step#*:}" 64
                done
            done
        done
    }
    ab_phase "${AB_READS[@]}"
    ab_phase "${AB_WRITES[@]}"
    AB_STEPS=("${AB_READS[@]}" "${AB_WRITES[@]}")
    stop_server
    start_server
    {
        echo
        echo "A/B at 64 connections, median req/s of $AB_ROUNDS alternating rounds: baseline $AB, candidate this build."
        echo
        echo "| endpoint | baseline | candidate | candidate / baseline |"
        echo "|---|---:|---:|---:|"
        for step in "${AB_STEPS[@]}"; do
            label="${step%%:*}"
            median() { awk -F'|' -v l="A/B $1 [0-9]+: $label" '$2 ~ l { gsub(" ", "", $4); print $4 }' "$RESULTS" |
                sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else if (NR) print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
            b="$(median baseline)"; c="$(median candidate)"
            echo "| $label | $b | $c | $(div "$c" "$b") |"
        done
    } >>"$RESULTS"
fi
# Posting while many are to be told: the hot paragraph's threads at 64
# connections, with no watchers and with 2,000 members watching (1,000 the
# session, 1,000 the paragraph), alternating W_ROUNDS times in one run. The
# notifier is left to catch up before every step, and how long it took after
# each step is recorded: posting must not wait for it, and it must not fall
# behind for good.
if wants watchers; then
    W_ROUNDS="${W_ROUNDS:-2}"
    "${PSQL[@]}" -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO users (id, username, email, display_name, password_hash)
SELECT ('00000000-0000-7000-a000-' || lpad(n::text, 12, '0'))::uuid, 'watcher' || n,
       'watcher' || n || '@bench.invalid', 'Watcher ' || n, 'no password'
  FROM generate_series(1, 2000) n
ON CONFLICT DO NOTHING;
INSERT INTO memberships (group_id, user_id, role)
SELECT g.id, u.id, 'member' FROM groups g, users u
 WHERE g.slug = 'pilcrow-bench' AND u.id::text LIKE '00000000-0000-7000-a000-%'
ON CONFLICT DO NOTHING;
SQL
    read -r HOT_SESSION HOT_PARAGRAPH < <("${PSQL[@]}" -tA -F' ' -c         "SELECT session_id, paragraph_id FROM threads WHERE id = '$(head -1 "$OUT/hot_threads.txt")'")
    watchers_off() { "${PSQL[@]}" -c "DELETE FROM watches WHERE user_id::text LIKE '00000000-0000-7000-a000-%'" >/dev/null; }
    watchers_on() {
        "${PSQL[@]}" -v ON_ERROR_STOP=1 -c "
INSERT INTO watches (user_id, scope, scope_id, in_session, level)
SELECT ('00000000-0000-7000-a000-' || lpad(n::text, 12, '0'))::uuid,
       CASE WHEN n <= 1000 THEN 'session' ELSE 'paragraph' END,
       CASE WHEN n <= 1000 THEN '$HOT_SESSION'::uuid ELSE '$HOT_PARAGRAPH'::uuid END,
       CASE WHEN n <= 1000 THEN '00000000-0000-0000-0000-000000000000'::uuid ELSE '$HOT_SESSION'::uuid END,
       'watching'
  FROM generate_series(1, 2000) n ON CONFLICT DO NOTHING" >/dev/null
    }
    # Seconds until the notifier has derived everything logged so far.
    settle() {
        local top started=$SECONDS
        top="$("${PSQL[@]}" -tAc "SELECT coalesce(max(xid), 0) || ' ' || coalesce(max(id), 0) FROM session_events
                                  WHERE xid = (SELECT max(xid) FROM session_events)")"
        until "${PSQL[@]}" -tAc "SELECT (xid, id) >= (${top% *}, ${top#* }) FROM notifier_cursor" | grep -q t; do
            (( SECONDS - started > 900 )) && { log "the notifier did not catch up in 900 s"; break; }
            sleep 0.2
        done
        echo $(( SECONDS - started ))
    }
    warm hot
    for round in $(seq 1 "$W_ROUNDS"); do
        watchers_off; settle >/dev/null
        wrk_step "post, hot paragraph, no watchers ($round)" hot 64
        lag_off="$(settle)"
        watchers_on; settle >/dev/null
        wrk_step "post, hot paragraph, 2,000 watching ($round)" hot 64
        lag_on="$(settle)"
        echo "| notifier caught up after round $round: no watchers ${lag_off} s, 2,000 watching ${lag_on} s | | | | | |" >>"$RESULTS"
        log "notifier caught up: ${lag_off} s / ${lag_on} s"
    done
    watchers_off
fi
# From a comment's 201 to its notification, on the posting instance's inbox
# and on a notification stream held on a second instance (benches/inbox_latency.rs).
if wants latency; then
    (cd "$ROOT" && cargo bench --no-run --quiet --bench inbox_latency)
    driver="$(ls -t "$ROOT"/target/release/deps/inbox_latency-* | grep -v '\.d$' | head -1)"
    PORT_B=$((PORT + 1))
    log "starting a second instance on 127.0.0.1:$PORT_B"
    (
        cd "$ROOT"
        export PILCROW__SERVER__PORT="$PORT_B" PILCROW__SERVER__HOST=127.0.0.1 \
            PILCROW__DATABASE__DATA_DIR="$DATA_DIR" PILCROW__LOG__FILTER="${LOG_FILTER:-warn}" \
            PILCROW__AUTH__ACCESS_TOKEN_TTL_SECS=7200 PILCROW__RATE_LIMIT__ENABLED=false
        exec env "${server_env[@]}" target/release/pilcrow serve
    ) >>"$OUT/server-b.log" 2>&1 &
    second=$!
    URL="http://127.0.0.1:$PORT_B" await_server "$second" "$OUT/server-b.log"
    {
        echo
        echo "From a comment's 201 (instance A) to its inbox item on A and its \`notification\` event on instance B, ms."
        echo
        echo "| load | comments | item p50 | item p99 | event p50 | event p99 | never seen | errors |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    } >>"$RESULTS"
    for rate in ${LATENCY_RATES:-200}; do
        BASE_URL_B="http://127.0.0.1:$PORT_B/api/v1" RATE="$rate" DURATION="$DURATION" "$driver" | tee -a "$RESULTS"
    done
    kill -TERM "$second"; wait "$second" || true
fi
if wants counts; then
    warm counts
    wrk_step "counts @1M comments, anonymous" counts 8
    wrk_step "counts @1M comments, anonymous" counts 64
    wrk_step "counts @1M comments, member" counts_member 8
    wrk_step "counts @1M comments, member" counts_member 64
    if wants pgbench; then
        capture counts_anonymous "$S5" --vary "$S5" "${SESSION_RANDOM[@]}" -- "$BASE_URL/sessions/$S5/counts"
        capture counts_member "$S5" --vary "$S5" "${SESSION_RANDOM[@]}" -- \
            -H "Authorization: Bearer $TOKEN" "$BASE_URL/sessions/$S5/counts"
        reference "counts: bare data query" counts_bare.sql; bare=$REF_TCP
        reference "counts: server's statements, anonymous" "$OUT/full_counts_anonymous.sql"
        ratio "counts, anonymous" "$(rps_of "counts @1M comments, anonymous")" "$bare" "$REF_TCP" "$REF_SOCKET"
        reference "counts: server's statements, member" "$OUT/full_counts_member.sql"
        ratio "counts, member" "$(rps_of "counts @1M comments, member")" "$bare" "$REF_TCP" "$REF_SOCKET"
    fi
fi
if wants comments; then
    warm comments
    wrk_step "comments first page, anonymous" comments 64
    wrk_step "comments first page, member" comments_member 64
    if wants pgbench; then
        capture comments_member "$T5" --vary "$T5" "${THREAD_RANDOM[@]}" -- \
            -H "Authorization: Bearer $TOKEN" "$BASE_URL/threads/$T5/comments"
        reference "comments first page: bare data query" comments_bare.sql; bare=$REF_TCP
        reference "comments first page: server's statements, member" "$OUT/full_comments_member.sql"
        ratio "comments first page, member" "$(rps_of "comments first page, member")" "$bare" "$REF_TCP" "$REF_SOCKET"
    fi
fi
if wants post; then
    warm post
    wrk_step "post comment, random threads" post 8
    wrk_step "post comment, random threads" post 64
    wrk_step "post comment, one hot paragraph" hot 8
    wrk_step "post comment, one hot paragraph" hot 64
    if wants pgbench; then
        capture post "$T5" --vary "$T5" "${THREAD_RANDOM[@]}" -- -X POST -H "Authorization: Bearer $TOKEN" \
            -H 'Content-Type: application/json' \
            -d '{"body":"A benchmark comment, captured, on why revolutions end as they do."}' \
            "$BASE_URL/threads/$T5/comments"
        reference "insert comment (triggers)" insert.sql; bare=$REF_TCP
        reference "post: server's statements" "$OUT/full_post.sql"
        ratio "post comment, random threads" "$(rps_of "post comment, random threads")" "$bare" "$REF_TCP" "$REF_SOCKET"
        reference "insert comment on the hot paragraph (triggers)" insert_hot.sql
        ratio "post comment, one hot paragraph" "$(rps_of "post comment, one hot paragraph")" "$REF_TCP" "-" "-"
    fi
fi
{
    echo
    echo "Server at 64 connections over pgbench at 64 connections, same run (server's database: $DB)."
    echo
    echo "| endpoint | server req/s | bare query, tcp | ratio | server's statements, tcp | ratio | same, socket |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${RATIOS[@]}"
    echo
    echo "comments in the database at the end: $("${PSQL[@]}" -tAc 'SELECT count(*) FROM comments')"
} >>"$RESULTS"
cat "$RESULTS"
