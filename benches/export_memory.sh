#!/usr/bin/env bash
# Memory and time of personal exports. Starts a PostgreSQL cluster of its
# own (cluster.sh) and `pilcrow serve` as a process of its own, both on
# loopback; makes a public session through the API; then for each N in
# COUNTS makes a user who writes N comments (100 threads through the API,
# the other comments with SQL, spread over those threads, about 500
# characters each), asks for that user's export, waits until it is ready,
# and downloads it. Reports, per export, the server's RSS just before, its
# peak RSS while the export was built and while it was downloaded (VmHWM
# of /proc/PID/status, reset before each by writing 5 to
# /proc/PID/clear_refs, so it is that phase's own peak), how long the build took
# (from the 202 to `ready`, and the builder's own figure from its log), the
# archive's size, and the download's time and entries. Results: $OUT/export_memory.md. Everything it
# started is stopped on exit.
#
#   benches/export_memory.sh                                  # N = 1000 and 10000
#   SKIP_BUILD=1 BIN=target/debug/pilcrow COUNTS=500 benches/export_memory.sh   # a smoke test
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PORT="${PORT:-18091}"
PGPORT="${PGPORT:-18433}"
DATA_DIR="${DATA_DIR:-/tmp/pilcrow-bench-exports}"
OUT="${OUT:-$HERE/out}"
COUNTS="${COUNTS:-1000 10000}"
BIN="${BIN:-target/release/pilcrow}"
URL="http://127.0.0.1:$PORT"
BASE_URL="$URL/api/v1"
mkdir -p "$OUT"
log() { printf '[exports %s] %s\n' "$(date +%T)" "$*" >&2; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet)
fi
# shellcheck source=cluster.sh
source "$HERE/cluster.sh"
cluster_fresh
sql() { psql -X -q -v ON_ERROR_STOP=1 -h "$PG_ROOT" -p "$PGPORT" -U postgres -d pilcrow "$@"; }

log "starting the server on 127.0.0.1:$PORT"
(
    cd "$ROOT"
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/pilcrow" \
        PILCROW__SERVER__PORT="$PORT" PILCROW__SERVER__HOST=127.0.0.1 \
        PILCROW__SERVER__PUBLIC_BASE_URL="$URL" \
        PILCROW__DATABASE__DATA_DIR="$DATA_DIR" \
        PILCROW__LOG__FILTER="${LOG_FILTER:-warn,pilcrow::users::exports=info}" \
        PILCROW__RATE_LIMIT__ENABLED=false
    exec "$BIN" serve
) >"$OUT/exports-server.log" 2>&1 &
server=$!
stop_all() {
    if kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server"
        wait "$server" || true
    fi
    cluster_stop
}
trap stop_all EXIT
await_server "$server" "$OUT/exports-server.log"

# POST $1 with JSON $2 (and bearer $3); prints the body, fails on a non-2xx.
api() {
    local auth=()
    [[ -n "${3:-}" ]] && auth=(-H "Authorization: Bearer $3")
    curl -sS --fail-with-body -X POST "$BASE_URL$1" -H 'Content-Type: application/json' "${auth[@]}" -d "$2"
}
register() {
    api /auth/register "$(jq -nc --arg u "$1" '{username: $u, email: ($u + "@bench.example"), password: ("bench-password-" + $u)}')" |
        jq -r .access_token
}
organiser="$(register organiser)"
group="$(api /groups '{"name":"Exports bench","visibility":"public"}' "$organiser" | jq -r .id)"
essay="$(jq -Rs '{title: "Bench essay", author: "Pilcrow", format: "text", body: .}' "$ROOT/tests/fixtures/essay.txt" |
    curl -sS --fail-with-body -X POST "$BASE_URL/groups/$group/essays" -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $organiser" -d @- | jq -r .id)"
session="$(api "/groups/$group/sessions" "$(jq -nc --arg e "$essay" \
    '{essay_id: $e, title: "Week 0", starts_at: "2026-01-01T18:00:00Z", status: "open"}')" "$organiser" | jq -r .id)"
mapfile -t paragraphs < <(sql -tA -c "SELECT id FROM paragraphs WHERE essay_id = '$essay' AND retired_in IS NULL ORDER BY position")

status_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server/status"; }

RESULTS="$OUT/export_memory.md"
{
    echo "# Pilcrow personal export memory $(date -u +%FT%TZ)"
    echo
    echo "commit $(git -C "$ROOT" rev-parse --short HEAD), $BIN, $(nproc) cores, exports.batch_rows default"
    echo
    echo "| comments | zip bytes | build s (202 → ready) | builder ms | download s | entries | RSS before KiB | peak while building KiB | peak while downloading KiB | RSS after KiB |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$RESULTS"

for n in $COUNTS; do
    user="writer$n"
    token="$(register "$user")"
    user_id="$(curl -sS -H "Authorization: Bearer $token" "$BASE_URL/me" | jq -r .id)"
    api "/groups/$group/join" '{}' "$token" >/dev/null
    log "$user: 100 threads through the API, then $(( n - 100 )) comments with SQL"
    for t in $(seq 0 99); do
        p="${paragraphs[$(( t % ${#paragraphs[@]} ))]}"
        api "/sessions/$session/threads" "$(jq -nc --arg p "$p" --arg t "$t" \
            '{paragraph_id: $p, title: ("Thread " + $t), body: ("Opening thought number " + $t)}')" "$token" >/dev/null
    done
    sql -v user_id="$user_id" -v n="$n" <<'SQL'
INSERT INTO comments (id, thread_id, depth, seq, sort_key, author_id, body, created_at)
SELECT gen_random_uuid(), t.id, 0, g.seq, lpad(to_hex(g.seq), 16, '0'), :'user_id',
       'Comment ' || g.k || ' on the essay: '
           || (SELECT string_agg(md5(g.k || '/' || i), ' ') FROM generate_series(1, 14) i),
       now() - (:n - g.k) * interval '1 second'
  FROM (SELECT k, nextval('comments_seq') AS seq FROM generate_series(1, :n - 100) k) g
  JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS r FROM threads WHERE author_id = :'user_id') t
    ON t.r = g.k % 100;
-- As seed.sh does: statistics for the bulk-loaded rows, which autovacuum
-- would gather only later (until then plans assume a nearly empty table).
ANALYZE comments, threads;
SQL
    written="$(sql -tA -c "SELECT count(*) FROM comments WHERE author_id = '$user_id'")"
    [[ "$written" == "$n" ]] || { echo "$user has $written comments, not $n" >&2; exit 1; }
    sleep 1
    rss_before="$(status_kib VmRSS)"
    echo 5 >"/proc/$server/clear_refs"
    started="$(date +%s.%N)"
    id="$(curl -sS --fail-with-body -X POST "$BASE_URL/me/exports" -H "Authorization: Bearer $token" | jq -r .id)"
    while :; do
        body="$(curl -sS -H "Authorization: Bearer $token" "$BASE_URL/me/exports/$id")"
        state="$(jq -r .status <<<"$body")"
        [[ "$state" != pending ]] && break
        sleep 0.1
    done
    built="$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')"
    [[ "$state" == ready ]] || { echo "export $id: $body" >&2; exit 1; }
    peak_build="$(status_kib VmHWM)"
    echo 5 >"/proc/$server/clear_refs"
    builder_ms="$(grep "personal export ready" "$OUT/exports-server.log" | grep -o "ms=[0-9]*" | tail -1 | cut -d= -f2)"
    started="$(date +%s.%N)"
    curl -sS --fail-with-body -o "$DATA_DIR/export-$n.zip" "$(jq -r .download_url <<<"$body")"
    fetched="$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')"
    peak_download="$(status_kib VmHWM)"
    rss_after="$(status_kib VmRSS)"
    bytes="$(stat -c %s "$DATA_DIR/export-$n.zip")"
    entries="$(python3 -c '
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
items = json.loads(z.read("annotations.jsonld"))["first"]["items"]
print(f"{len(z.namelist())} files, {len(items)} annotations")' "$DATA_DIR/export-$n.zip")"
    echo "| $n | $bytes | $built | ${builder_ms:-?} | $fetched | $entries | $rss_before | $peak_build | $peak_download | $rss_after |" >>"$RESULTS"
    log "$n comments: ready in $built s (builder ${builder_ms:-?} ms), $bytes bytes, $entries; RSS $rss_before KiB, peak $peak_build KiB building, $peak_download KiB downloading"
done
cat "$RESULTS"
