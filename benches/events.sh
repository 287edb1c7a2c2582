#!/usr/bin/env bash
# Live events and conditional GETs under load. Starts the release
# server on a private cluster like run.sh, seeds 10,000 comments, then:
#   1. conditional GET: /counts answering 200 vs 304 (If-None-Match), same run;
#   2. fan-out: SUBSCRIBERS SSE streams on one session, then spread over 100
#      sessions, comments at RATE/s (benches/events_fanout.rs), latency from
#      the POST's response to the event's arrival, and RSS per idle subscriber;
#   3. readers (not in the default ONLY): READERS (10,000) SSE streams, half
#      of them signed in as the seeded members, over READER_SESSIONS (100)
#      sessions, idle for IDLE_SECS (60) while the server's access checks and
#      the database's transactions are counted, then READER_RATE (100) posts/s
#      for DURATION. (All on one session, 100 posts/s would be a million
#      deliveries a second for two cores to write and the driver to read:
#      READER_SESSIONS=1 READER_RATE=10 is that shape at a tenth the rate.)
# Results: $OUT/events.md. Loopback only; the server is stopped on exit. Every
# subscriber comes from 127.0.0.1, so the per-address stream cap is raised.
#
#   benches/events.sh
#   DURATION=5 SUBSCRIBERS=200 RATE=50 SKIP_BUILD=1 benches/events.sh
#   ONLY=readers benches/events.sh                 # 10,000 readers on one instance
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PORT="${PORT:-18089}"
DATA_DIR="${DATA_DIR:-/tmp/pilcrow-bench-events}"
OUT="${OUT:-$HERE/out}"
DURATION="${DURATION:-10}"
SUBSCRIBERS="${SUBSCRIBERS:-1000}"
RATE="${RATE:-200}"
ONLY="${ONLY:-conditional fanout}"
READERS="${READERS:-10000}"
READER_RATE="${READER_RATE:-100}"
READER_SESSIONS="${READER_SESSIONS:-100}"
IDLE_SECS="${IDLE_SECS:-60}"
# The most streams any step opens.
STREAMS=$(( SUBSCRIBERS > READERS ? SUBSCRIBERS : READERS ))
export BASE_URL="http://127.0.0.1:$PORT/api/v1" DATA_DIR OUT
PSQL=(psql -X -q -h "$DATA_DIR/postgres" -U postgres -d pilcrow)
URL="http://127.0.0.1:$PORT"
mkdir -p "$OUT/raw"
log() { printf '[events %s] %s\n' "$(date +%T)" "$*" >&2; }
wants() { [[ " $ONLY " == *" $1 "* ]]; }
# Each subscriber is a socket on both ends.
ulimit -n "$(( STREAMS * 2 + 1024 ))" 2>/dev/null || ulimit -n 65536 || true

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release (server and load driver)"
    (cd "$ROOT" && cargo build --release --quiet && cargo bench --no-run --quiet --bench events_fanout)
fi
if [[ -d "$DATA_DIR" ]]; then
    [[ -f "$DATA_DIR/jwt_secret" || -d "$DATA_DIR/postgres" ]] || { echo "refusing to remove $DATA_DIR" >&2; exit 1; }
    rm -rf "$DATA_DIR"
fi
log "starting the server on 127.0.0.1:$PORT (data in $DATA_DIR)"
(
    cd "$ROOT"
    export PILCROW__SERVER__PORT="$PORT" PILCROW__SERVER__HOST=127.0.0.1 \
        PILCROW__DATABASE__DATA_DIR="$DATA_DIR" PILCROW__LOG__FILTER="${LOG_FILTER:-warn}" \
        PILCROW__AUTH__ACCESS_TOKEN_TTL_SECS=7200 PILCROW__RATE_LIMIT__ENABLED=false \
        PILCROW__DATABASE__POOL_SIZE="${POOL_SIZE:-32}" \
        PILCROW__METRICS__ENABLED=true PILCROW__EVENTS__MAX_STREAMS_PER_USER="$(( STREAMS + 10 ))" \
        PILCROW__EVENTS__MAX_STREAMS_PER_ADDRESS="$(( STREAMS + 10 ))" \
        PILCROW__EVENTS__MAX_STREAMS="$(( STREAMS + 1000 ))"
    exec target/release/pilcrow serve
) >"$OUT/events-server.log" 2>&1 &
server=$!
stop_server() {
    if kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server"
        wait "$server" || true
    fi
}
trap stop_server EXIT
for _ in $(seq 1 120); do
    curl -sf "$URL/ready" >/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$OUT/events-server.log" >&2; exit 1; }
    sleep 0.5
done
COMMENTS=10000 "$HERE/seed.sh"

RESULTS="$OUT/events.md"
{
    echo "# Pilcrow live events run $(date -u +%FT%TZ)"
    echo
    echo "commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg), ${DURATION}s per step"
    echo
} >"$RESULTS"

rps() { awk '/^Requests\/sec/ { printf "%d", $2 }' "$1"; }

if wants conditional; then
    session="$(head -1 "$OUT/sessions.txt")"
    tag="$(curl -sfD - -o /dev/null "$BASE_URL/sessions/$session/counts" | awk 'tolower($1) == "etag:" { print $2 }' | tr -d '\r')"
    echo "| conditional GET /counts (one session) | conns | req/s |" >>"$RESULTS"
    echo "|---|---:|---:|" >>"$RESULTS"
    for conns in 8 64; do
        wrk -t2 -c"$conns" -d"${DURATION}s" "$BASE_URL/sessions/$session/counts" >"$OUT/raw/counts-200-c$conns.txt" 2>&1
        wrk -t2 -c"$conns" -d"${DURATION}s" -H "If-None-Match: $tag" "$BASE_URL/sessions/$session/counts" \
            >"$OUT/raw/counts-304-c$conns.txt" 2>&1
        full="$(rps "$OUT/raw/counts-200-c$conns.txt")"; cached="$(rps "$OUT/raw/counts-304-c$conns.txt")"
        echo "| 200 (full body) | $conns | $full |" >>"$RESULTS"
        echo "| 304 (If-None-Match) | $conns | $cached |" >>"$RESULTS"
        log "counts c=$conns: 200 $full req/s, 304 $cached req/s"
    done
    echo >>"$RESULTS"
fi

if wants fanout; then
    driver="$(ls -t "$ROOT"/target/release/deps/events_fanout-* | grep -v '\.d$' | head -1)"
    export SERVER_PID="$server" DURATION RATE
    log "fan-out: $SUBSCRIBERS subscribers on 1 session, $RATE posts/s"
    SUBSCRIBERS="$SUBSCRIBERS" SESSIONS=1 "$driver" | tee "$OUT/raw/fanout-1.txt" >>"$RESULTS"
    echo >>"$RESULTS"
    log "fan-out: $SUBSCRIBERS subscribers over 100 sessions, $RATE posts/s"
    SUBSCRIBERS="$SUBSCRIBERS" SESSIONS=100 "$driver" | tee "$OUT/raw/fanout-100.txt" >>"$RESULTS"
fi

if wants readers; then
    driver="$(ls -t "$ROOT"/target/release/deps/events_fanout-* | grep -v '\.d$' | head -1)"
    export SERVER_PID="$server" DURATION IDLE_SECS
    export DB_XACTS="${PSQL[*]} -Atc \"SELECT xact_commit FROM pg_stat_database WHERE datname = 'pilcrow'\""
    for sessions in $READER_SESSIONS; do
        log "readers: $READERS on $sessions session(s), idle ${IDLE_SECS}s, then $READER_RATE posts/s"
        SUBSCRIBERS="$READERS" SIGNED_IN="$(( READERS / 2 ))" SESSIONS="$sessions" RATE="$READER_RATE" "$driver" |
            tee "$OUT/raw/readers-$sessions.txt" >>"$RESULTS"
        echo >>"$RESULTS"
        # The readers of the last step are gone; the next opens as many again.
        sleep 5
    done
fi
cat "$RESULTS"
