#!/usr/bin/env bash
# Memory per idle live-event stream. Starts the server on a private cluster
# (loopback only), makes one public session through the API, then for each N
# in COUNTS opens N idle anonymous SSE streams on it from one client process,
# and reports the server's RSS (VmRSS of /proc/PID/status) before, with the
# streams open, and after they close, and the RSS added per stream. Also
# checks that every slot came back (a closed stream frees its slot at once).
# With IDLE_SECS > 0 the streams stay open that long more, while the
# server's access checks (its /metrics) and the database's committed
# transactions (pg_stat_database) are counted: per idle stream per minute.
# Results: $OUT/streams_memory.md. The server is stopped on exit.
#
#   benches/streams_memory.sh                       # N = 1000 and 10000
#   COUNTS=200 SKIP_BUILD=1 BIN=target/debug/pilcrow benches/streams_memory.sh   # a smoke test
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PORT="${PORT:-18090}"
DATA_DIR="${DATA_DIR:-/tmp/pilcrow-bench-streams}"
OUT="${OUT:-$HERE/out}"
COUNTS="${COUNTS:-1000 10000}"
BIN="${BIN:-target/release/pilcrow}"
# How long the streams stay open before RSS is read, and after they close.
SETTLE="${SETTLE:-3}"
IDLE_SECS="${IDLE_SECS:-0}"
# Streams of each round that sign in (as the session's owner); the rest are anonymous.
SIGNED_IN="${SIGNED_IN:-0}"
URL="http://127.0.0.1:$PORT"
BASE_URL="$URL/api/v1"
mkdir -p "$OUT"
log() { printf '[streams %s] %s\n' "$(date +%T)" "$*" >&2; }

largest=0
for n in $COUNTS; do (( n > largest )) && largest=$n; done
# The client holds one socket per stream; the server raises its own limit.
ulimit -n "$(( largest + 1024 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < largest + 64 )); then
    echo "the open-file limit ($(ulimit -n)) is too low for $largest streams" >&2
    exit 1
fi

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet)
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
        PILCROW__RATE_LIMIT__ENABLED=false PILCROW__METRICS__ENABLED=true \
        PILCROW__EVENTS__MAX_STREAMS_PER_ADDRESS="$(( largest + 10 ))" \
        PILCROW__EVENTS__MAX_STREAMS_PER_USER="$(( largest + 10 ))" \
        PILCROW__EVENTS__MAX_STREAMS="$(( largest + 10 ))"
    exec "$BIN" serve
) >"$OUT/streams-server.log" 2>&1 &
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
    kill -0 "$server" 2>/dev/null || { cat "$OUT/streams-server.log" >&2; exit 1; }
    sleep 0.5
done

# POST $1 with JSON $2 (and bearer $3); prints the body, fails on a non-2xx.
api() {
    local auth=()
    [[ -n "${3:-}" ]] && auth=(-H "Authorization: Bearer $3")
    curl -sS --fail-with-body -X POST "$BASE_URL$1" -H 'Content-Type: application/json' "${auth[@]}" -d "$2"
}
token="$(api /auth/register '{"username":"streams","email":"streams@bench.example","password":"bench-password-streams"}' |
    jq -r .access_token)"
group="$(api /groups '{"name":"Streams bench","visibility":"public"}' "$token" | jq -r .id)"
essay="$(jq -Rs '{title: "Bench essay", author: "Pilcrow", format: "text", body: .}' "$ROOT/tests/fixtures/essay.txt" |
    curl -sS --fail-with-body -X POST "$BASE_URL/groups/$group/essays" -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $token" -d @- | jq -r .id)"
session="$(api "/groups/$group/sessions" "$(jq -nc --arg e "$essay" \
    '{essay_id: $e, title: "Week 0", starts_at: "2026-01-01T18:00:00Z", status: "open"}')" "$token" | jq -r .id)"

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$server/status"; }
checks() { curl -sf "$URL/metrics" | awk '$1 == "pilcrow_events_access_checks_total" { print $2 }' | grep . || echo 0; }
xacts() {
    psql -X -q -At -h "$DATA_DIR/postgres" -U postgres -d pilcrow \
        -c "SELECT xact_commit FROM pg_stat_database WHERE datname = 'pilcrow'" 2>/dev/null || echo 0
}

# Opens N streams, reports when all are open (each answered 200 and sent its
# first frame), waits for a line on stdin, closes them all, then checks that
# N more open at once (every slot came back) and closes those too.
client() {
    python3 -c "$CLIENT_PY" "$@"
}
# (Not `python3 -` with a here-document: the script would be its stdin.)
read -r -d '' CLIENT_PY <<'PY' || true
import socket, sys
port, session, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
signed_in, token = int(sys.argv[4]), sys.argv[5]
def request(i):
    auth = f"Authorization: Bearer {token}\r\n" if i < signed_in else ""
    return (f"GET /api/v1/sessions/{session}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Accept: text/event-stream\r\n{auth}\r\n").encode()

def open_all():
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(request(i))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit(f"stream {i}: closed before its headers")
            head += chunk
        status = head.split(b" ", 2)[1]
        if status != b"200":
            sys.exit(f"stream {i}: {status.decode()}")
        socks.append(s)
    return socks

socks = open_all()
print("open", flush=True)
sys.stdin.readline()
for s in socks:
    s.close()
print("closed", flush=True)
sys.stdin.readline()
for s in open_all():
    s.close()
print("reopened", flush=True)
PY

RESULTS="$OUT/streams_memory.md"
{
    echo "# Pilcrow idle stream memory $(date -u +%FT%TZ)"
    echo
    echo "commit $(git -C "$ROOT" rev-parse --short HEAD), $BIN, $(nproc) cores, SSE streams on one session ($SIGNED_IN of each round signed in, the rest anonymous), load before $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| streams | RSS before KiB | RSS open KiB | KiB per stream | RSS after close KiB | all slots back | idle s | access checks | transactions | per stream per minute |"
    echo "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"
} >"$RESULTS"
# One round first, not reported: the first streams warm the server's
# allocator, pools and session feed.
for n in 100 $COUNTS; do
    before="$(rss)"
    coproc CLIENT { client "$PORT" "$session" "$n" "$SIGNED_IN" "$token"; }
    client_pid=$CLIENT_PID
    read -r line <&"${CLIENT[0]}"
    [[ "$line" == open ]] || { echo "client: $line" >&2; exit 1; }
    sleep "$SETTLE"
    open="$(rss)"
    c0="$(checks)"; x0="$(xacts)"
    [[ -n "${warmed:-}" ]] && sleep "$IDLE_SECS"
    c1="$(checks)"; x1="$(xacts)"
    echo >&"${CLIENT[1]}"
    read -r line <&"${CLIENT[0]}"
    sleep "$SETTLE"
    after="$(rss)"
    echo >&"${CLIENT[1]}"
    back=no
    read -r line <&"${CLIENT[0]}" && [[ "$line" == reopened ]] && back=yes
    wait "$client_pid" || back=no
    if [[ -z "${warmed:-}" ]]; then
        warmed=1
        continue
    fi
    per="$(awk -v a="$before" -v b="$open" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')"
    idle=$(( IDLE_SECS > 0 ? IDLE_SECS : 0 ))
    queries="$(awk -v a="$x0" -v b="$x1" -v n="$n" -v s="$idle" 'BEGIN { if (s > 0) printf "%.4f", (b - a) / n / (s / 60); else print "-" }')"
    echo "| $n | $before | $open | $per | $after | $back | $idle | $(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }') | $(( x1 - x0 )) | $queries |" >>"$RESULTS"
    log "$n streams: RSS $before → $open KiB ($per KiB each), $after KiB after they closed; slots back: $back"
done
cat "$RESULTS"
