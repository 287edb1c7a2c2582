#!/usr/bin/env bash
# Seeds the benchmark dataset into a running Pilcrow server and its database.
#
#   benches/seed.sh            # up to COMMENTS comments (default 1,000,000)
#   COMMENTS=10000 benches/seed.sh
#
# Through the API (so it is exactly what a client would make): USERS users,
# one public group (slug `pilcrow-bench`) owned by the first, the fixture
# essay (`tests/fixtures/essay.txt`, or ESSAY=<file>), one open session,
# and every other user joining the group.
#
# Straight into the database with SQL (an API call per row would take hours):
# SESSIONS-1 more open sessions on the same essay, THREADS_PER_SESSION threads
# in each, HOT_THREADS threads on one "hot" paragraph of the first session,
# and comments up to COMMENTS, spread round-robin over the ordinary threads.
#
# Bulk rows are inserted with `session_replication_role = replica`, which
# skips every trigger (comments_posted, which counts, orders, announces and
# marks read; the other counters; the foreign key checks). Firing them row by
# row for 1M comments would take many minutes, so instead, in the same
# transaction, the counters are
# recomputed from the rows with one UPDATE (threads.comment_count,
# last_activity_at) and one INSERT ... SELECT (paragraph_counts) using the
# same "is counted" rule as the triggers (a thread counts unless hidden; a
# comment counts unless hidden or deleted). sort_key is filled as the trigger
# would fill it for a top-level comment: lpad(to_hex(seq),16,'0'), seq drawn from
# comments_seq. (Read marks, which the trigger also writes for each author, are
# not seeded: no bench user has read anything unless benches/reader.sh marks it.)
# All seeded comments are top-level.
#
# Idempotent-ish: rerunning skips the API part when the group exists, adds
# only missing sessions and threads, and tops comments up to COMMENTS (it
# never deletes). It writes the id lists the wrk scripts read into OUT.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BASE_URL="${BASE_URL:-http://127.0.0.1:18088/api/v1}"
DATA_DIR="${DATA_DIR:-/tmp/pilcrow-bench}"
OUT="${OUT:-$HERE/out}"
USERS="${USERS:-16}"
SESSIONS="${SESSIONS:-1000}"
THREADS_PER_SESSION="${THREADS_PER_SESSION:-10}"
HOT_THREADS="${HOT_THREADS:-16}"
COMMENTS="${COMMENTS:-1000000}"
ESSAY="${ESSAY:-$ROOT/tests/fixtures/essay.txt}"
# PGHOST/PGPORT: run.sh points them at the database the server uses.
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "${PGHOST:-$DATA_DIR/postgres}" -U postgres -d pilcrow)

mkdir -p "$OUT"
log() { printf '[seed %s] %s\n' "$(date +%T)" "$*" >&2; }

# POST $1 with JSON $2 (and bearer $3); prints the body, fails on a non-2xx.
api() {
    local auth=()
    [[ -n "${3:-}" ]] && auth=(-H "Authorization: Bearer $3")
    curl -sS --fail-with-body -X POST "$BASE_URL$1" -H 'Content-Type: application/json' "${auth[@]}" -d "$2"
}

password() { printf 'bench-password-%s' "$1"; }

group_id="$("${PSQL[@]}" -tAc "SELECT id FROM groups WHERE slug = 'pilcrow-bench'")"
if [[ -z "$group_id" ]]; then
    log "API: $USERS users, a public group, the essay, one open session"
    owner_token=""
    for i in $(seq 0 $((USERS - 1))); do
        body="$(api /auth/register "$(jq -nc --arg u "bench$i" --arg p "$(password "$i")" \
            '{username: $u, email: ($u + "@bench.example"), password: $p}')")"
        token="$(jq -r .access_token <<<"$body")"
        if [[ $i -eq 0 ]]; then
            owner_token="$token"
            group_id="$(api /groups '{"name":"Pilcrow bench","slug":"pilcrow-bench","visibility":"public"}' \
                "$owner_token" | jq -r .id)"
        else
            api "/groups/$group_id/join" '{}' "$token" >/dev/null
        fi
    done
    essay_id="$(jq -Rs '{title: "Bench essay", author: "Pilcrow", format: "text", body: .}' \
        "$ESSAY" | curl -sS --fail-with-body -X POST "$BASE_URL/groups/$group_id/essays" \
        -H 'Content-Type: application/json' -H "Authorization: Bearer $owner_token" -d @- | jq -r .id)"
    api "/groups/$group_id/sessions" "$(jq -nc --arg e "$essay_id" \
        '{essay_id: $e, title: "Week 0", starts_at: "2026-01-01T18:00:00Z", status: "open"}')" \
        "$owner_token" >/dev/null
fi

log "SQL: sessions, threads, comments up to $COMMENTS (triggers off, counters recomputed)"
start=$(date +%s)
"${PSQL[@]}" -v group_id="$group_id" -v sessions="$SESSIONS" -v tps="$THREADS_PER_SESSION" \
    -v hot="$HOT_THREADS" -v comments="$COMMENTS" <<'SQL'
BEGIN;
SET LOCAL session_replication_role = replica;
SET LOCAL synchronous_commit = off;

CREATE TEMP TABLE ctx ON COMMIT DROP AS
SELECT g.id AS group_id, g.created_by AS owner_id,
       (SELECT id FROM reading_sessions WHERE group_id = g.id ORDER BY created_at LIMIT 1) AS first_session,
       (SELECT essay_id FROM reading_sessions WHERE group_id = g.id ORDER BY created_at LIMIT 1) AS essay_id
FROM groups g WHERE g.id = :'group_id';

-- Sessions 1..sessions-1 get fixed ids (00000000-0000-7000-8000-<n>), so
-- pgbench can name one without a lookup.
INSERT INTO reading_sessions (id, group_id, essay_id, title, starts_at, status, created_by)
SELECT ('00000000-0000-7000-8000-' || lpad(n::text, 12, '0'))::uuid, c.group_id, c.essay_id,
       'Week ' || n, timestamptz '2026-01-01 18:00Z' + n * interval '1 day', 'open', c.owner_id
FROM ctx c, generate_series(1, :sessions - 1) n
ON CONFLICT (id) DO NOTHING;

CREATE TEMP TABLE paras ON COMMIT DROP AS
SELECT p.id, p.position, count(*) OVER () AS total FROM paragraphs p, ctx c WHERE p.essay_id = c.essay_id;

CREATE TEMP TABLE bench_sessions ON COMMIT DROP AS
SELECT id, row_number() OVER (ORDER BY created_at, id) - 1 AS n
FROM reading_sessions WHERE group_id = (SELECT group_id FROM ctx);

-- Ordinary threads: tps per session on spread-out paragraphs; ids 9000-<n>.
INSERT INTO threads (id, session_id, paragraph_id, author_id, title, created_at, last_activity_at)
SELECT ('00000000-0000-7000-9000-' || lpad((s.n * :tps + t)::text, 12, '0'))::uuid, s.id, p.id, c.owner_id,
       'Thread ' || t, now(), now()
FROM bench_sessions s CROSS JOIN ctx c CROSS JOIN generate_series(0, :tps - 1) t
JOIN paras p ON p.position = (s.n * 7 + t * 3) % p.total
ON CONFLICT (id) DO NOTHING;

-- Hot threads: all on paragraph 5 of the first session; ids 9001-<n>.
INSERT INTO threads (id, session_id, paragraph_id, author_id, title, created_at, last_activity_at)
SELECT ('00000000-0000-7000-9001-' || lpad(t::text, 12, '0'))::uuid, c.first_session, p.id, c.owner_id,
       'Hot thread ' || t, now(), now()
FROM ctx c CROSS JOIN generate_series(0, :hot - 1) t JOIN paras p ON p.position = 5
ON CONFLICT (id) DO NOTHING;

CREATE TEMP TABLE bench_threads ON COMMIT DROP AS
SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM threads
WHERE id::text LIKE '00000000-0000-7000-9000-%';
CREATE TEMP TABLE bench_authors ON COMMIT DROP AS
SELECT user_id AS id, row_number() OVER (ORDER BY user_id) - 1 AS n FROM memberships
WHERE group_id = (SELECT group_id FROM ctx);

-- Comments k+1..comments (ids a000-<hex k>), round-robin over the ordinary threads.
INSERT INTO comments (id, thread_id, depth, seq, sort_key, author_id, body, created_at)
SELECT ('00000000-0000-7000-a000-' || lpad(to_hex(g.k), 12, '0'))::uuid, t.id, 0,
       g.seq, lpad(to_hex(g.seq), 16, '0'), a.id,
       'Bench comment ' || g.k || ': ' || md5(g.k::text) || ' ' || md5((g.k + 1)::text) || ' ' || md5((g.k + 2)::text),
       now() - (:comments - g.k) * interval '1 second'
FROM (SELECT k, nextval('comments_seq') AS seq
        FROM generate_series((SELECT count(*) FROM comments WHERE id::text LIKE '00000000-0000-7000-a000-%') + 1,
                             :comments) k) g
JOIN bench_threads t ON t.n = g.k % (SELECT count(*) FROM bench_threads)
JOIN bench_authors a ON a.n = g.k % (SELECT count(*) FROM bench_authors);

-- The counters, recomputed from the rows with the triggers' rule.
UPDATE threads th
   SET comment_count = x.counted, last_activity_at = greatest(th.last_activity_at, x.last)
  FROM (SELECT c.thread_id, count(*) FILTER (WHERE NOT c.hidden AND NOT c.deleted) AS counted,
               max(c.created_at) AS last
          FROM comments c JOIN threads t ON t.id = c.thread_id
          JOIN bench_sessions s ON s.id = t.session_id
         GROUP BY c.thread_id) x
 WHERE th.id = x.thread_id AND th.comment_count IS DISTINCT FROM x.counted;
DELETE FROM paragraph_counts WHERE session_id IN (SELECT id FROM bench_sessions);
INSERT INTO paragraph_counts (session_id, paragraph_id, thread_count, comment_count)
SELECT t.session_id, t.paragraph_id, count(*), sum(t.comment_count)
  FROM threads t JOIN bench_sessions s ON s.id = t.session_id
 WHERE NOT t.hidden
 GROUP BY t.session_id, t.paragraph_id;
COMMIT;
VACUUM ANALYZE reading_sessions, threads, comments, paragraph_counts, paragraphs, users, memberships, groups;
SQL
log "SQL done in $(( $(date +%s) - start )) s"

# The id lists the wrk scripts pick from.
"${PSQL[@]}" -tAc "SELECT id FROM reading_sessions WHERE group_id = '$group_id' ORDER BY id" >"$OUT/sessions.txt"
"${PSQL[@]}" -tAc "SELECT id FROM threads WHERE id::text LIKE '00000000-0000-7000-9000-%' ORDER BY id" >"$OUT/threads.txt"
"${PSQL[@]}" -tAc "SELECT id FROM threads WHERE id::text LIKE '00000000-0000-7000-9001-%' ORDER BY id" >"$OUT/hot_threads.txt"

# Fresh access tokens (the bench server gives them a long TTL).
: >"$OUT/tokens.txt"
for i in $(seq 0 $((USERS - 1))); do
    api /auth/login "$(jq -nc --arg u "bench$i" --arg p "$(password "$i")" '{login: $u, password: $p}')" \
        | jq -r .access_token >>"$OUT/tokens.txt"
done
"${PSQL[@]}" -tAc "SELECT 'seeded: ' || (SELECT count(*) FROM reading_sessions) || ' sessions, '
    || (SELECT count(*) FROM threads) || ' threads, ' || (SELECT count(*) FROM comments) || ' comments'" >&2
