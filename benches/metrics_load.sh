#!/usr/bin/env bash
# What metrics and access logs cost: GET /health (no database) and
# GET /api/v1/me (bearer token, one query) with metrics disabled and enabled,
# alternating in one run (off, on, off, on) on the same private cluster, so
# both see the same machine. Also reports start-up to /ready: cold (initdb and
# migrations) for the first start, warm for the others. Loopback only. Needs
# curl, wrk and PostgreSQL's server binaries.
#
#   benches/metrics_load.sh     # DURATION=10s CONNECTIONS=32 PORT=18081 LOG_FILTER=warn
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18081}
LOG_FILTER=${LOG_FILTER:-warn}
BASE="http://127.0.0.1:$PORT"
BIN=${BIN:-target/release/pilcrow}

for tool in curl wrk; do
    command -v "$tool" >/dev/null || { echo "metrics_load: needs $tool (apt-get install -y $tool)" >&2; exit 1; }
done
[[ -n "${SKIP_BUILD:-}" ]] || cargo build --release --bin pilcrow

DATA=$(mktemp -d -t pilcrow-metrics.XXXXXX)
chmod 711 "$DATA"
PID=""
stop() {
    if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
        kill -INT "$PID"
        wait "$PID" || true
    fi
    PID=""
}
trap 'stop; rm -rf "$DATA"' EXIT
ms_now() { date +%s%3N; }

# start <metrics enabled: true|false>; sets PID and READY_MS (not in a
# subshell, or the PID would be lost and the server never stopped).
start() {
    local started
    started=$(ms_now)
    env -u DATABASE_URL PILCROW_ENV=development PILCROW__DATABASE__DATA_DIR="$DATA/data" \
        PILCROW__SERVER__HOST=127.0.0.1 PILCROW__SERVER__PORT="$PORT" PILCROW__LOG__FILTER="$LOG_FILTER" \
        PILCROW__METRICS__ENABLED="$1" "$BIN" serve >>"$DATA/server.log" 2>&1 &
    PID=$!
    until curl -fsS -o /dev/null "$BASE/ready" 2>/dev/null; do
        kill -0 "$PID" 2>/dev/null || { cat "$DATA/server.log" >&2; exit 1; }
        sleep 0.02
    done
    READY_MS=$(($(ms_now) - started))
}

measure() {
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
    if grep -qE 'Non-2xx' <<<"$out"; then
        echo "metrics_load: errors during the run:" >&2
        echo "$out" >&2
        exit 1
    fi
    # Timeouts on a busy machine are reported, not fatal.
    local errors
    errors=$(awk '/Socket errors/ {gsub(",", ""); print $4+$6+$8+$10}' <<<"$out")
    echo "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") $(awk '$1 == "99%" {print $2}' <<<"$out") ${errors:-0}"
}

echo "pilcrow metrics cost ($(nproc) cores, $CONNECTIONS connections, $DURATION each, log filter $LOG_FILTER)"
token=""
round=0
for metrics in false true false true; do
    round=$((round + 1))
    start "$metrics"
    if [[ -z "$token" ]]; then
        token=$(curl -fsS -H 'content-type: application/json' \
            -d '{"username": "bench", "email": "bench@example.org", "password": "bench-password"}' \
            "$BASE/api/v1/auth/register" | grep -o '"access_token":"[^"]*"' | cut -d'"' -f4)
    fi
    read -r health_rps health_p99 health_err <<<"$(measure "$BASE/health")"
    read -r me_rps me_p99 me_err <<<"$(measure -H "Authorization: Bearer $token" "$BASE/api/v1/me")"
    if [[ "$metrics" == true ]]; then
        series=$(curl -fsS "$BASE/metrics" | grep -c '^pilcrow_http_requests_total' || true)
    else
        series="-"
    fi
    printf '  round %d metrics=%-5s ready %5d ms | /health %9s req/s p99 %8s err %s | /me %9s req/s p99 %8s err %s | series %s\n' \
        "$round" "$metrics" "$READY_MS" "$health_rps" "$health_p99" "$health_err" "$me_rps" "$me_p99" "$me_err" "$series"
    stop
done
