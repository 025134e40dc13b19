#!/usr/bin/env bash
# Benchmark (not a test): wrk -t2 -c64 -d10s --latency against GET /health of Passerelle's HTTP server and, in
# the same run, against nginx serving the same small JSON body with keep-alive. Prints req/s, p50/p99, the
# ratio, socket errors and the server's RSS after the run.
#   bench/http.sh                 # release build of HTTPTestServer (HTTPServerKit + OperationsRoutes)
#   BENCH_BINARY=path bench/http.sh   # any binary speaking the HTTPTestServer stdout protocol
#   BENCH_LOG_LEVEL=info bench/http.sh  # with the JSON access log written to /dev/null
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10s}
missing=""
command -v wrk >/dev/null || missing="$missing wrk"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$missing nginx"
if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d /tmp/passerelle-bench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [ -z "${BENCH_BINARY:-}" ]; then
    echo "==> release build" >&2
    swift build -c release --product HTTPTestServer >&2
    BENCH_BINARY="$(swift build -c release --show-bin-path)/HTTPTestServer"
fi

# --- Passerelle
PORT=$(free_port)
HTTP_TEST_PORT=$PORT HTTP_TEST_LOG_LEVEL=${BENCH_LOG_LEVEL:-error} "$BENCH_BINARY" > "$WORK/server.out" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
for _ in $(seq 100); do grep -q '^port ' "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null

# --- nginx: same body, keep-alive, one worker per core, no access log (ours is off by default too)
NPORT=$(free_port)
BODY='{"status":"ok"}'
cat > "$WORK/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy; fastcgi_temp_path $WORK/fcgi;
    uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
    server {
        listen 127.0.0.1:$NPORT;
        location = /health { default_type application/json; return 200 '$BODY'; }
    }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" 2>/dev/null
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$NPORT/health" >/dev/null 2>&1 && break; sleep 0.1; done

run_wrk() { wrk -t2 -c64 -d"$DURATION" --latency "$1" 2>&1; }
summary() {  # name, wrk output
    local rps p50 p99 errors
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$2")
    p50=$(awk '$1=="50%" {print $2}' <<<"$2")
    p99=$(awk '$1=="99%" {print $2}' <<<"$2")
    errors=$(grep -E 'Socket errors|Non-2xx' <<<"$2" | tr '\n' ' ' || true)
    printf '%-11s %10s req/s   p50 %-9s p99 %-9s %s\n' "$1" "$rps" "$p50" "$p99" "${errors:-no socket errors}"
}
rps_of() { awk '/^Requests\/sec/ {print $2}' <<<"$1"; }

echo "==> warm-up" >&2
wrk -t2 -c64 -d2s "http://127.0.0.1:$PORT/health" >/dev/null
wrk -t2 -c64 -d2s "http://127.0.0.1:$NPORT/health" >/dev/null
# The machine is shared: run the two servers alternately (ROUNDS times, default 2) and keep each one's best run.
ROUNDS=${BENCH_ROUNDS:-2}
best_p="" best_n=""
for round in $(seq "$ROUNDS"); do
    echo "==> round $round/$ROUNDS: wrk -t2 -c64 -d$DURATION --latency (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    P_OUT=$(run_wrk "http://127.0.0.1:$PORT/health")
    N_OUT=$(run_wrk "http://127.0.0.1:$NPORT/health")
    summary "passerelle" "$P_OUT"
    summary "nginx" "$N_OUT"
    if [ -z "$best_p" ] || awk -v a="$(rps_of "$P_OUT")" -v b="$(rps_of "$best_p")" 'BEGIN { exit !(a > b) }'; then best_p=$P_OUT; fi
    if [ -z "$best_n" ] || awk -v a="$(rps_of "$N_OUT")" -v b="$(rps_of "$best_n")" 'BEGIN { exit !(a > b) }'; then best_n=$N_OUT; fi
done
echo "==> best of $ROUNDS"
summary "passerelle" "$best_p"
summary "nginx" "$best_n"
P_RPS=$(rps_of "$best_p")
N_RPS=$(rps_of "$best_n")
awk -v p="$P_RPS" -v n="$N_RPS" 'BEGIN { printf "ratio       %.1f %% of nginx req/s\n", p / n * 100 }'
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
echo "passerelle  RSS after run: $((RSS / 1024)) MB ($RSS kB)"
