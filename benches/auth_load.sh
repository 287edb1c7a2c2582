#!/usr/bin/env bash
# Auth load harness: builds the release binary, starts it on a fresh private
# PostgreSQL cluster (a temporary data dir, removed afterwards), and reports
#   - the time from launch to /ready = 200 (initdb and migrations included),
#   - requests/s and p99 latency of GET /api/v1/me (bearer token, one DB query)
#     and of GET /health (no DB), each at 32 connections for $DURATION.
# Loopback only. Needs curl, wrk (`apt-get install -y wrk`) and PostgreSQL's
# server binaries (the private cluster). When run as root, the cluster runs
# as the `postgres` account.
#
#   benches/auth_load.sh            # DURATION=10s CONNECTIONS=32 PORT=18080
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
BASE="http://127.0.0.1:$PORT"

for tool in curl wrk; do
    command -v "$tool" >/dev/null || { echo "auth_load: needs $tool (apt-get install -y $tool)" >&2; exit 1; }
done

cargo build --release --bin pilcrow

DATA=$(mktemp -d -t pilcrow-bench.XXXXXX)
# The postgres account must be able to reach its folder inside.
chmod 711 "$DATA"
LOG="$DATA/server.log"
PID=""
cleanup() {
    if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
        kill -INT "$PID"
        wait "$PID" || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT

ms_now() { date +%s%3N; }

# DATABASE_URL would point the server elsewhere; this measures the private cluster.
started=$(ms_now)
env -u DATABASE_URL \
    PILCROW_ENV=development \
    PILCROW__DATABASE__DATA_DIR="$DATA/data" \
    PILCROW__SERVER__HOST=127.0.0.1 \
    PILCROW__SERVER__PORT="$PORT" \
    PILCROW__LOG__FILTER=warn \
    target/release/pilcrow serve >"$LOG" 2>&1 &
PID=$!

until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/ready" || true)" == 200 ]]; do
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "auth_load: the server exited during start-up:" >&2
        cat "$LOG" >&2
        PID=""
        exit 1
    fi
    if (($(ms_now) - started > 120000)); then
        echo "auth_load: not ready after 120 s" >&2
        exit 1
    fi
    sleep 0.02
done
ready_ms=$(($(ms_now) - started))

token=$(curl -fsS -H 'content-type: application/json' \
    -d '{"username": "bench", "email": "bench@example.org", "password": "bench-password"}' \
    "$BASE/api/v1/auth/register" | grep -o '"access_token":"[^"]*"' | cut -d'"' -f4)
[[ -n "$token" ]] || { echo "auth_load: registering failed" >&2; exit 1; }
curl -fsS -o /dev/null -H "authorization: Bearer $token" "$BASE/api/v1/me"

# Prints "<requests/s> <p99>" from wrk --latency output, and fails on any
# non-2xx answer or socket error, which would make the numbers meaningless.
measure() {
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
    echo "$out" >>"$DATA/wrk.log"
    if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
        echo "auth_load: errors during the run:" >&2
        echo "$out" >&2
        exit 1
    fi
    local rps p99
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    echo "$rps $p99"
}

me=$(measure -H "Authorization: Bearer $token" "$BASE/api/v1/me")
health=$(measure "$BASE/health")
read -r me_rps me_p99 <<<"$me"
read -r health_rps health_p99 <<<"$health"

cat <<REPORT
pilcrow auth load ($(nproc) cores, $CONNECTIONS connections, $DURATION each, wrk $THREADS threads on the same machine)
  start-up to /ready:  ${ready_ms} ms (fresh data dir: initdb + migrations)
  GET /api/v1/me:      ${me_rps} req/s, p99 ${me_p99}
  GET /health:         ${health_rps} req/s, p99 ${health_p99}
REPORT
