#!/usr/bin/env bash
# A daily digest round to READERS verified readers with ITEMS unread items
# each, mailed to a real SMTP sink (benches/smtp_sink.py) on loopback: the
# round's wall time and the server's memory (VmRSS before, the highest VmRSS
# sampled during the round, VmHWM after). QUICKACK=1 makes the sink
# acknowledge at once (see smtp_sink.py).
#
# The database is a cluster of the harness's own reached over TCP
# (cluster.sh). The server is started once to migrate and to make a public
# group, the fixture essay, a session and THREADS threads through the API;
# the readers and their items (yesterday, unread) are inserted with SQL.
# Then the server is started again with a digest round every ROUND_SECS
# (the first one sends yesterday's digests) and the immediate mailer idle,
# and the run ends when the sink has READERS digests.
# Results: $OUT/digests.md; the server's log in $OUT/digests-server.log.
#
#   benches/digests.sh                              # 10,000 readers, 3 items each
#   READERS=500 SKIP_BUILD=1 benches/digests.sh     # a smoke test
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PORT="${PORT:-18092}"
SMTP_PORT="${SMTP_PORT:-18025}"
PGPORT="${PGPORT:-18433}"
DATA_DIR="${DATA_DIR:-/tmp/pilcrow-bench-digests}"
OUT="${OUT:-$HERE/out}"
READERS="${READERS:-10000}"
ITEMS="${ITEMS:-3}"
THREADS="${THREADS:-30}"
ROUND_SECS="${ROUND_SECS:-5}"
BATCH="${BATCH:-200}"
CONCURRENCY="${CONCURRENCY:-8}"
BIN="${BIN:-target/release/pilcrow}"
URL="http://127.0.0.1:$PORT"
BASE_URL="$URL/api/v1"
mkdir -p "$OUT"
log() { printf '[digests %s] %s\n' "$(date +%T)" "$*" >&2; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet)
fi
# shellcheck source=cluster.sh
source "$HERE/cluster.sh"
cluster_fresh
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$PG_ROOT" -p "$PGPORT" -U postgres -d pilcrow)

server=""
sink=""
stop_all() {
    if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then kill -TERM "$server"; wait "$server" || true; fi
    if [[ -n "$sink" ]] && kill -0 "$sink" 2>/dev/null; then kill "$sink"; wait "$sink" 2>/dev/null || true; fi
    cluster_stop
}
trap stop_all EXIT

python3 "$HERE/smtp_sink.py" "$SMTP_PORT" "$DATA_DIR/sink.status" &
sink=$!

# start_server ROUND_SECS: the server, mailing to the sink, once /ready answers.
start_server() {
    (
        cd "$ROOT"
        export PILCROW__SERVER__PORT="$PORT" PILCROW__SERVER__HOST=127.0.0.1 \
            PILCROW__DATABASE__DATA_DIR="$DATA_DIR" PILCROW__RATE_LIMIT__ENABLED=false \
            PILCROW__LOG__FILTER="warn,pilcrow::mailing=info" \
            PILCROW__MAIL__SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" \
            PILCROW__NOTIFICATIONS__DIGEST_INTERVAL_SECS="$1" \
            PILCROW__NOTIFICATIONS__DIGEST_BATCH_SIZE="$BATCH" \
            PILCROW__NOTIFICATIONS__DIGEST_CONCURRENCY="$CONCURRENCY" \
            PILCROW__NOTIFICATIONS__EMAIL_INTERVAL_MS=86400000
        exec env DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/pilcrow" "$BIN" serve
    ) >>"$OUT/digests-server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 120); do
        curl -sf "$URL/ready" >/dev/null && return 0
        kill -0 "$server" 2>/dev/null || { cat "$OUT/digests-server.log" >&2; exit 1; }
        sleep 0.5
    done
    echo "the server did not become ready" >&2
    exit 1
}

api() {
    local auth=()
    [[ -n "${3:-}" ]] && auth=(-H "Authorization: Bearer $3")
    curl -sS --fail-with-body -X POST "$BASE_URL$1" -H 'Content-Type: application/json' "${auth[@]}" -d "$2"
}

: >"$OUT/digests-server.log"
log "seeding: a group, the essay, a session and $THREADS threads through the API"
start_server 86400
token="$(api /auth/register '{"username":"organiser","email":"organiser@bench.example","password":"bench-password-organiser"}' |
    jq -r .access_token)"
group="$(api /groups '{"name":"Digest bench","visibility":"public"}' "$token" | jq -r .id)"
essay="$(jq -Rs '{title: "Bench essay", author: "Pilcrow", format: "text", body: .}' "$ROOT/tests/fixtures/essay.txt" |
    curl -sS --fail-with-body -X POST "$BASE_URL/groups/$group/essays" -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $token" -d @- | jq -r .id)"
session="$(api "/groups/$group/sessions" "$(jq -nc --arg e "$essay" \
    '{essay_id: $e, title: "Week 0", starts_at: "2026-01-01T18:00:00Z", status: "open"}')" "$token" | jq -r .id)"
paragraphs=($(curl -sS "$BASE_URL/essays/$essay" -H "Authorization: Bearer $token" | jq -r '.paragraphs[].id'))
for i in $(seq 0 $((THREADS - 1))); do
    para="${paragraphs[$((i % ${#paragraphs[@]}))]}"
    api "/sessions/$session/threads" "$(jq -nc --arg p "$para" --arg b "Bench thread $i: what does this paragraph say?" \
        '{paragraph_id: $p, body: $b}')" "$token" >/dev/null
done
kill -TERM "$server"; wait "$server" || true

log "seeding: $READERS verified readers with $ITEMS unread items each from yesterday (SQL)"
"${PSQL[@]}" -v readers="$READERS" -v items="$ITEMS" <<'SQL'
BEGIN;
INSERT INTO users (id, username, email, display_name, password_hash, email_verified_at)
SELECT gen_random_uuid(), 'reader' || g, 'reader' || g || '@bench.example', 'Reader ' || g, 'not-a-hash', now()
  FROM generate_series(1, :readers) g;
CREATE TEMP TABLE th ON COMMIT DROP AS
SELECT t.id, t.session_id, t.paragraph_id, s.group_id, c.id AS comment_id, c.seq, c.author_id,
       row_number() OVER (ORDER BY t.id) - 1 AS k
  FROM threads t
  JOIN reading_sessions s ON s.id = t.session_id
  JOIN LATERAL (SELECT id, seq, author_id FROM comments WHERE thread_id = t.id ORDER BY seq DESC LIMIT 1) c ON true;
INSERT INTO notifications (recipient_id, thread_id, group_id, session_id, paragraph_id, reason,
                           latest_comment_id, latest_seq, new_count, actor_ids, updated_at)
SELECT u.id, th.id, th.group_id, th.session_id, th.paragraph_id, 'watching', th.comment_id, th.seq, 1 + i,
       ARRAY[th.author_id], date_trunc('day', now()) - interval '12 hours'
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS r FROM users WHERE username LIKE 'reader%') u
 CROSS JOIN generate_series(0, :items - 1) i
  JOIN th ON th.k = (u.r + i) % (SELECT count(*) FROM th);
COMMIT;
ANALYZE;
SQL

log "the round: $READERS digests (rounds every ${ROUND_SECS}s, pages of $BATCH, $CONCURRENCY at once)"
# A fresh sink: the organiser's verification mail is not the round's.
kill "$sink"; wait "$sink" 2>/dev/null || true
python3 "$HERE/smtp_sink.py" "$SMTP_PORT" "$DATA_DIR/sink.status" &
sink=$!
sleep 0.5
start_server "$ROUND_SECS"
rss_before="$(awk '/^VmRSS:/ { print $2 }' "/proc/$server/status")"
started=$(date +%s.%N)
rss_max=$rss_before
while :; do
    rss_now="$(awk '/^VmRSS:/ { print $2 }' "/proc/$server/status" 2>/dev/null || echo 0)"
    (( rss_now > rss_max )) && rss_max=$rss_now
    read -r count first last bytes <"$DATA_DIR/sink.status" || continue
    (( count >= READERS )) && break
    kill -0 "$server" 2>/dev/null || { echo "the server exited" >&2; exit 1; }
    if (( $(date +%s) - ${started%.*} > 1800 )); then echo "only $count digests after 30 minutes" >&2; exit 1; fi
    sleep 0.2
done
sleep 1
read -r count first last bytes <"$DATA_DIR/sink.status"
hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$server/status")"
rss_after="$(awk '/^VmRSS:/ { print $2 }' "/proc/$server/status")"
round_log="$(grep 'digest round' "$OUT/digests-server.log" | tail -1)"
rows="$("${PSQL[@]}" -tAc "SELECT count(*), sum(items) FROM notification_digests")"
first_to_last="$(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", b - a }')"
{
    echo "# Digest round $(date -u +%FT%TZ)"
    echo
    echo "commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src || echo '+dirty'),"\
         "$(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg); $READERS readers x $ITEMS items,"\
         "pages of $BATCH, $CONCURRENCY at once"
    echo
    echo "| what | value |"
    echo "|---|---:|"
    echo "| digests received by the sink | $count ($(( bytes / 1024 )) KiB) |"
    echo "| first to last message at the sink | ${first_to_last} s |"
    echo "| digest rows, items listed | ${rows/|/, } |"
    echo "| server VmRSS before the round | $(( rss_before / 1024 )) MiB |"
    echo "| server VmRSS, highest seen during the round (every 0.2 s) | $(( rss_max / 1024 )) MiB |"
    echo "| server VmRSS after | $(( rss_after / 1024 )) MiB |"
    echo "| server VmHWM (peak) | $(( hwm / 1024 )) MiB |"
    echo
    echo "Server log: \`$round_log\`"
} | tee "$OUT/digests.md"
