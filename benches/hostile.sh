#!/usr/bin/env bash
# What a hostile client's heavy requests cost the others, on loopback only:
#   - search p50/p99 in one group of SIZE comments, then SIZE_LARGE (a common
#     word, in every comment, and a rare one, in one);
#   - other readers' GET /sessions/{id}/counts p99: quiet, while 8 clients
#     search as fast as they can, and while 6 clients loop dry runs of a
#     5,000-paragraph essay revision.
#
#   apt-get install -y wrk        # psql, curl and jq too
#   benches/hostile.sh            # 100k, then 1M comments (~15 min on 2 cores)
#   SIZE=2000 SIZE_LARGE=0 DURATION=3 benches/hostile.sh   # a smoke test
#   BIN=target/debug/pilcrow SKIP_BUILD=1 ...   # another binary (numbers mean nothing then)
#
# Reuses run.sh's conventions: cluster.sh for the database, seed.sh for the
# group (one public group, its comments spread over 10,000 threads), wrk.lua
# for the counts readers. Rate limits are off, so what is measured is the
# cost bounds (queues, caps, no connection held while planning); a last step
# restarts the server with the shipped limits and has eight clients search as
# fast as those allow. Every loop is bounded by DURATION and by
# a count. Writes $OUT/hostile.md.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PORT="${PORT:-18089}"
DATA_DIR="${DATA_DIR:-/tmp/pilcrow-hostile}"
OUT="${OUT:-$HERE/out}"
DURATION="${DURATION:-10}"
SIZE="${SIZE:-100000}"
SIZE_LARGE="${SIZE_LARGE:-1000000}"  # 0 skips the second size
PGPORT="${PGPORT:-18433}"
PARAGRAPHS="${PARAGRAPHS:-5000}"
BIN="${BIN:-target/release/pilcrow}"
export BASE_URL="http://127.0.0.1:$PORT/api/v1" DATA_DIR OUT PGPORT
URL="http://127.0.0.1:$PORT"
mkdir -p "$OUT/raw"
log() { printf '[hostile %s] %s\n' "$(date +%T)" "$*" >&2; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet)
fi
# shellcheck source=cluster.sh
source "$HERE/cluster.sh"
cluster_fresh
export PGHOST="$PG_ROOT"
PSQL=(psql -X -q -U postgres -d pilcrow)

start_server() { # LIMITS: true or false
    (
        cd "$ROOT"
        export PILCROW__SERVER__PORT="$PORT" PILCROW__SERVER__HOST=127.0.0.1 \
            PILCROW__DATABASE__DATA_DIR="$DATA_DIR" PILCROW__LOG__FILTER=warn \
            PILCROW__AUTH__ACCESS_TOKEN_TTL_SECS=7200 PILCROW__RATE_LIMIT__ENABLED="$1" \
            PILCROW__RATE_LIMIT__REGISTER_PER_ADDRESS__REQUESTS=1000 \
            DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/pilcrow"
        exec "$BIN" serve
    ) >>"$OUT/hostile-server.log" 2>&1 &
    server=$!
    await_server "$server" "$OUT/hostile-server.log"
}
stop_server() {
    if kill -0 "$server" 2>/dev/null; then kill -TERM "$server"; wait "$server" || true; fi
}
pids=()
stop_all() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    stop_server
    cluster_stop
}
trap stop_all EXIT
: >"$OUT/hostile-server.log"
start_server false

RESULTS="$OUT/hostile.md"
{
    echo "# Hostile clients $(date -u +%FT%TZ)"
    echo
    echo "commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, wrk -d${DURATION}s"
    echo
    echo "| scenario | conns | req/s | p50 ms | p99 ms | non-2xx |"
    echo "|---|---:|---:|---:|---:|---:|"
} >"$RESULTS"

to_ms() {
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'
}
row() { # label conns rawfile
    local rps p50 p99 bad
    rps="$(awk '/^Requests\/sec/ { printf "%d", $2 }' "$3")"
    p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$3")")"
    p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$3")")"
    bad="$(awk '/Non-2xx/ { print $NF }' "$3")"
    echo "| $1 | $2 | $rps | $p50 | $p99 | ${bad:-0} |" >>"$RESULTS"
    log "$1 c=$2: $rps req/s, p50 $p50 ms, p99 $p99 ms, non-2xx ${bad:-0}"
}
# wrk on one URL (a GET, anonymous: the group is public).
get_step() { # label conns path
    local raw="$OUT/raw/hostile-${1// /_}-c$2.txt"
    wrk -t1 -c"$2" -d"${DURATION}s" --latency "$URL$3" >"$raw" 2>&1
    row "$1" "$2" "$raw"
}
counts_step() { # label
    local raw="$OUT/raw/hostile-${1// /_}.txt"
    wrk -t1 -c2 -d"${DURATION}s" --latency -s "$HERE/wrk.lua" "$URL" -- counts "$OUT" >"$raw" 2>&1
    row "$1" 2 "$raw"
}

measure_size() { # comments
    log "seeding up to $1 comments"
    COMMENTS="$1" "$HERE/seed.sh" >/dev/null
    local group rare
    group="$("${PSQL[@]}" -tAc "SELECT id FROM groups WHERE slug = 'pilcrow-bench'")"
    rare="$("${PSQL[@]}" -tAc "SELECT md5('12345')")"
    get_step "search, common word, $1 comments" 1 "/api/v1/groups/$group/search?q=bench"
    get_step "search, rare word, $1 comments" 1 "/api/v1/groups/$group/search?q=$rare"
    get_step "search, common word, $1 comments" 8 "/api/v1/groups/$group/search?q=bench"
}

measure_size "$SIZE"

# Readers' counts: quiet, then beside 8 searching clients.
group="$("${PSQL[@]}" -tAc "SELECT id FROM groups WHERE slug = 'pilcrow-bench'")"
counts_step "counts p99, quiet"
wrk -t1 -c8 -d"$((DURATION + 2))s" "$URL/api/v1/groups/$group/search?q=bench" >/dev/null 2>&1 &
pids+=($!)
sleep 1
counts_step "counts p99, 8 clients searching"
wait "${pids[@]}" 2>/dev/null || true
pids=()

# Six attackers, each an account with a group of its own and a 5,000-paragraph
# essay in it (anyone may create both), each from its own loopback address
# (127.0.0.11-16), looping dry runs of a revision that edits every paragraph
# (the planner's worst case, cut at its 2 s budget).
essay="$(awk -v n="$PARAGRAPHS" 'BEGIN { for (i = 0; i < n; i++) printf "Paragraph %d: the quiet reader listens to the story of the lamp by the window at night.\n\n", i }')"
revised="$(sed 's/^Paragraph /Revised paragraph /' <<<"$essay")"
jq -Rs '{body: ., dry_run: true}' <<<"$revised" >"$OUT/raw/hostile-dry-run.json"
jq -Rs '{title: "Long", format: "text", body: .}' <<<"$essay" >"$OUT/raw/hostile-essay.json"
attackers=()
for i in 1 2 3 4 5 6; do
    token="$(sed -n "${i}p" "$OUT/tokens.txt")"
    own="$(curl -sS --fail-with-body -X POST "$BASE_URL/groups" -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $token" \
        -d "{\"name\":\"Hostile $i\",\"slug\":\"hostile-$i-$RANDOM\",\"visibility\":\"private\"}" | jq -r .id)"
    essay_id="$(curl -sS --fail-with-body -X POST "$BASE_URL/groups/$own/essays" -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $token" --data-binary @"$OUT/raw/hostile-essay.json" | jq -r .id)"
    attackers+=("$token $essay_id 127.0.0.$((10 + i))")
done
dry_runs() { # token essay address; at most DURATION+2 seconds and 1,000 requests
    local until=$((SECONDS + DURATION + 2)) n=0
    while ((SECONDS < until && n < 1000)); do
        curl -s -o /dev/null -w '%{http_code}\n' --interface "$3" -X POST "$BASE_URL/essays/$2/revisions" \
            -H 'Content-Type: application/json' -H "Authorization: Bearer $1" \
            --data-binary @"$OUT/raw/hostile-dry-run.json" --max-time 30 || true
        n=$((n + 1))
    done
}
: >"$OUT/raw/hostile-dry-run-codes.txt"
for a in "${attackers[@]}"; do
    # shellcheck disable=SC2086
    dry_runs $a >>"$OUT/raw/hostile-dry-run-codes.txt" &
    pids+=($!)
done
sleep 1
counts_step "counts p99, 6 clients looping dry runs"
wait "${pids[@]}" 2>/dev/null || true
pids=()
log "dry-run answers: $(sort "$OUT/raw/hostile-dry-run-codes.txt" | uniq -c | tr '\n' ' ')"
echo >>"$RESULTS"
echo "Dry-run answers (status×count): $(sort "$OUT/raw/hostile-dry-run-codes.txt" | uniq -c | awk '{ printf "%s×%s ", $2, $1 }')" >>"$RESULTS"
echo >>"$RESULTS"

if [[ "$SIZE_LARGE" != 0 ]]; then
    measure_size "$SIZE_LARGE"
fi

# Eight searching clients as fast as the shipped limits allow them: the
# server again with rate limits on (their defaults), each client from its own
# loopback address (127.0.0.21-28), searching the common word in a loop and
# waiting out each 429's Retry-After (a client that ignores it only collects
# more 429s, which cost the server a map lookup).
stop_server
start_server true
# The restarted server's caches and connections warm up before anything is measured.
wrk -t1 -c2 -d3s -s "$HERE/wrk.lua" "$URL" -- counts "$OUT" >/dev/null 2>&1
# One Python process for the eight (a curl a request would cost the machine
# more than the searches); each client is a thread bound to its address.
searches() { # writes one status code a line
    python3 - "$URL/api/v1/groups/$group/search?q=bench" "$((DURATION + 2))" <<'PY'
import http.client, sys, threading, time, urllib.parse
url, seconds = urllib.parse.urlsplit(sys.argv[1]), float(sys.argv[2])
codes, lock, until = [], threading.Lock(), time.monotonic() + seconds
def client(address):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10, source_address=(address, 0))
    for _ in range(5000):
        if time.monotonic() >= until:
            break
        conn.request("GET", url.path + "?" + url.query)
        answer = conn.getresponse()
        answer.read()
        with lock:
            codes.append(answer.status)
        if answer.status == 429:
            time.sleep(float(answer.getheader("Retry-After", "1")))
threads = [threading.Thread(target=client, args=(f"127.0.0.{20 + i}",)) for i in range(1, 9)]
for t in threads: t.start()
for t in threads: t.join()
print("\n".join(map(str, codes)))
PY
}
echo >>"$RESULTS"
echo "| scenario (rate limits on, their defaults) | conns | req/s | p50 ms | p99 ms | non-2xx |" >>"$RESULTS"
echo "|---|---:|---:|---:|---:|---:|" >>"$RESULTS"
counts_step "counts p99, quiet (limits on)"
searches >"$OUT/raw/hostile-search-codes.txt" &
pids+=($!)
sleep 1
counts_step "counts p99, 8 clients searching as fast as allowed"
wait "${pids[@]}" 2>/dev/null || true
pids=()
log "search answers: $(sort "$OUT/raw/hostile-search-codes.txt" | uniq -c | tr '\n' ' ')"
echo >>"$RESULTS"
echo "Search answers (status×count): $(sort "$OUT/raw/hostile-search-codes.txt" | uniq -c | awk '{ printf "%s×%s ", $2, $1 }')" >>"$RESULTS"
cat "$RESULTS"
