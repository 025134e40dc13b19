#!/usr/bin/env bash
# Benchmark (not a test): the HTTP server as shipped. `passerelle serve` (release build) with its default
# configuration — log level info, one JSON access line per request, stdout to a file — against nginx writing a
# JSON access log of the same fields (buffered: `buffer=64k flush=1s`); then both with logging off
# (PASSERELLE_LOG_LEVEL=error; `access_log off`). wrk -t2 -c64 -d10s --latency on GET /health, the four servers
# alternated over BENCH_ROUNDS rounds (the machine is shared: each round's ratios compare runs 40 s apart at most),
# each one's best run kept; then GET /v1/banks/{id} (an authenticated route: the API key check) with and without
# logging. Prints req/s, p50/p99, errors, each round's ratios and their median against the targets, the best runs,
# the lines each access log got, and passerelle's RSS after each run.
#   Targets: defaults >= 60 % of nginx with its access log; the access log costs <= 15 % of passerelle's req/s;
#   RSS <= 48 MB after the runs.
# Usage: bench/http.sh
#   BENCH_DURATION=10s  BENCH_ROUNDS=3  BENCH_BINARY=path/to/passerelle (skips the build)
#   BENCH_PERF=/tmp/http.data records a perf profile of the default passerelle during one more run, after the
#   rounds (linux-perf; perf report -i /tmp/http.data --no-children)
#   BENCH_KEEP=1 keeps the work directory (logs)
# Needs (installed when missing): wrk, nginx, postgresql, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
# shellcheck source=../scripts/lib/deps.sh
. scripts/lib/deps.sh
# shellcheck source=../scripts/lib/postgres.sh
. scripts/lib/postgres.sh
EXTRA="wrk python3"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || EXTRA="$EXTRA nginx-light"
passerelle_install_deps $EXTRA
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d /tmp/passerelle-bench.XXXXXX)
chmod 755 "$WORK"   # PostgreSQL runs as `postgres` when we are root
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    passerelle_pg_stop "$WORK/pg" || true
    if [ -n "${BENCH_KEEP:-}" ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "bench: $*" >&2; exit 1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

if [ -z "${BENCH_BINARY:-}" ]; then
    echo "==> release build" >&2
    swift build -c release --product passerelle >&2
    BENCH_BINARY="$(swift build -c release --show-bin-path)/passerelle"
fi

echo "==> PostgreSQL" >&2
PGPORT=$(passerelle_free_port)
passerelle_pg_start "$WORK/pg" "$PGPORT"

# --- Passerelle, twice on one database: as shipped, and with logging off.
API_KEY="pk_bench_$(openssl rand -hex 16)"
MASTER_KEY=$(openssl rand -base64 32)
start_serve() {  # NAME PORT [extra VAR=value...] → pid in SERVE_PID; stdout and stderr to $WORK/NAME.log
    local name=$1 port=$2
    shift 2
    env PASSERELLE_HTTP_HOST=127.0.0.1 PASSERELLE_HTTP_PORT="$port" \
        PASSERELLE_DATABASE_URL="postgresql://postgres@127.0.0.1:$PGPORT/postgres" \
        PASSERELLE_MASTER_KEY="$MASTER_KEY" PASSERELLE_BOOTSTRAP_API_KEY="$API_KEY" "$@" \
        "$BENCH_BINARY" serve > "$WORK/$name.log" 2>&1 &
    SERVE_PID=$!
    PIDS+=("$SERVE_PID")
    for _ in $(seq 300); do
        curl -fs -o /dev/null "http://127.0.0.1:$port/ready" && return 0
        kill -0 "$SERVE_PID" 2>/dev/null || { tail -20 "$WORK/$name.log" >&2; fail "passerelle serve ($name) exited"; }
        sleep 0.2
    done
    tail -20 "$WORK/$name.log" >&2
    fail "passerelle serve ($name) not ready"
}
echo "==> passerelle serve: defaults, and PASSERELLE_LOG_LEVEL=error" >&2
PORT=$(passerelle_free_port)
start_serve default "$PORT"
DEFAULT_PID=$SERVE_PID
OFF_PORT=$(passerelle_free_port)
start_serve quiet "$OFF_PORT" PASSERELLE_LOG_LEVEL=error
QUIET_PID=$SERVE_PID
echo "    RSS at start: defaults $(rss_mb "$DEFAULT_PID") MB, logging off $(rss_mb "$QUIET_PID") MB" >&2

# --- nginx: same body, keep-alive, one worker per core; one port with a JSON access log, one without.
NPORT=$(passerelle_free_port)
NOFF_PORT=$(passerelle_free_port)
BODY='{"status":"ok"}'
cat > "$WORK/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
    keepalive_requests 1000000;
    client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy; fastcgi_temp_path $WORK/fcgi;
    uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
    # The fields of Passerelle's access line (time, level, logger, message, duration, method, bytes, route,
    # status, request id), escaped as JSON.
    log_format passerelle escape=json '{"time":"\$time_iso8601","level":"info","logger":"nginx","message":"request",'
        '"duration.ms":"\$request_time","http.method":"\$request_method","http.response.bytes":"\$body_bytes_sent",'
        '"http.route":"\$uri","http.status":"\$status","request.id":"\$request_id"}';
    server {
        listen 127.0.0.1:$NPORT;
        access_log $WORK/nginx-access.log passerelle buffer=64k flush=1s;
        location = /health { default_type application/json; return 200 '$BODY'; }
    }
    server {
        listen 127.0.0.1:$NOFF_PORT;
        access_log off;
        location = /health { default_type application/json; return 200 '$BODY'; }
    }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" 2>/dev/null
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$NPORT/health" >/dev/null 2>&1 && break; sleep 0.1; done

run_wrk() { wrk -t2 -c64 -d"$DURATION" --latency "$@" 2>&1; }
# CPU time (clock ticks) of processes and their children; CPU per request is steadier than req/s on a shared machine.
HZ=$(getconf CLK_TCK)
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
nginx_pids() { local m; m=$(cat "$WORK/nginx.pid"); echo "$m" $(pgrep -P "$m" || true); }
measure() {  # URL PIDS... → wrk output plus a line "cpu_us_per_request N"
    local url=$1 t0 t1 out
    shift
    t0=$(ticks "$@")
    out=$(run_wrk "$url")
    t1=$(ticks "$@")
    printf '%s\ncpu_us_per_request %s\n' "$out" \
        "$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$(awk '/requests in/ {print $1}' <<<"$out")" 'BEGIN { printf "%.1f", 1e6 * d / hz / n }')"
}
cpu_of() { awk '$1 == "cpu_us_per_request" {print $2}' <<<"$1"; }
rps_of() { awk '/^Requests\/sec/ {print $2}' <<<"$1"; }
summary() {  # name, wrk output
    local p50 p99 errors cpu
    p50=$(awk '$1=="50%" {print $2}' <<<"$2")
    p99=$(awk '$1=="99%" {print $2}' <<<"$2")
    errors=$(grep -E 'Socket errors|Non-2xx' <<<"$2" | tr '\n' ' ' || true)
    cpu=$(cpu_of "$2")
    printf '%-28s %10s req/s   p50 %-9s p99 %-9s %-16s %s\n' "$1" "$(rps_of "$2")" "$p50" "$p99" \
        "${errors:-no errors}" "${cpu:+CPU $cpu µs/request}"
}
declare -A BEST
keep_best() {  # key, wrk output
    if [ -z "${BEST[$1]:-}" ] || awk -v a="$(rps_of "$2")" -v b="$(rps_of "${BEST[$1]}")" 'BEGIN { exit !(a > b) }'; then
        BEST[$1]=$2
    fi
}

echo "==> warm-up" >&2
for url in "http://127.0.0.1:$PORT/health" "http://127.0.0.1:$OFF_PORT/health" "http://127.0.0.1:$NPORT/health" \
    "http://127.0.0.1:$NOFF_PORT/health"; do
    wrk -t2 -c64 -d2s "$url" >/dev/null
done
RATIOS=""  # one line per round: defaults/nginx-with-log, access-log cost, off/nginx-off
for round in $(seq "$ROUNDS"); do
    echo "==> round $round/$ROUNDS: wrk -t2 -c64 -d$DURATION --latency GET /health (load average $(load))" >&2
    PD=$(measure "http://127.0.0.1:$PORT/health" "$DEFAULT_PID")
    summary "passerelle, defaults" "$PD"; keep_best p_default "$PD"
    echo "    passerelle (defaults) RSS $(rss_mb "$DEFAULT_PID") MB"
    NL=$(measure "http://127.0.0.1:$NPORT/health" $(nginx_pids))
    summary "nginx, access log" "$NL"; keep_best n_log "$NL"
    PO=$(measure "http://127.0.0.1:$OFF_PORT/health" "$QUIET_PID")
    summary "passerelle, logging off" "$PO"; keep_best p_off "$PO"
    echo "    passerelle (logging off) RSS $(rss_mb "$QUIET_PID") MB"
    NO=$(measure "http://127.0.0.1:$NOFF_PORT/health" $(nginx_pids))
    summary "nginx, access log off" "$NO"; keep_best n_off "$NO"
    RATIOS+=$(awk -v pd="$(rps_of "$PD")" -v nl="$(rps_of "$NL")" -v po="$(rps_of "$PO")" -v no="$(rps_of "$NO")" \
        -v cd="$(cpu_of "$PD")" -v co="$(cpu_of "$PO")" \
        'BEGIN { printf "%.1f %.1f %.1f %.1f", 100 * pd / nl, 100 * (1 - pd / po), 100 * po / no, 100 * (1 - co / cd) }')$'\n'
    read -r r1 r2 r3 r4 <<<"$(sed -n "${round}p" <<<"$RATIOS")"
    echo "    round $round: defaults/nginx with log $r1 %, access log cost $r2 % of req/s ($r4 % of CPU per request), off/nginx off $r3 %"
done
if [ -n "${BENCH_PERF:-}" ]; then
    echo "==> perf record of passerelle (defaults) during one more run" >&2
    perf record -q -F 499 -g -p "$DEFAULT_PID" -o "$BENCH_PERF" -- sleep "${DURATION%s}" 2>/dev/null &
    PERF_PID=$!
    run_wrk "http://127.0.0.1:$PORT/health" >/dev/null
    wait "$PERF_PID" || true
    echo "    perf profile: $BENCH_PERF" >&2
fi

echo "==> wrk -t2 -c64 -d$DURATION GET /v1/banks/cmcic:cic (API key check), defaults then logging off (load average $(load))" >&2
BANKS_DEFAULT=$(run_wrk -H "Authorization: Bearer $API_KEY" "http://127.0.0.1:$PORT/v1/banks/cmcic:cic")
BANKS_QUIET=$(run_wrk -H "Authorization: Bearer $API_KEY" "http://127.0.0.1:$OFF_PORT/v1/banks/cmcic:cic")
sleep 1.5  # nginx flushes its access log buffer every second

echo
echo "machine: $(nproc) cores, load average now $(load) (shared with other work: figures are noisy)"
echo "==> GET /health, best of $ROUNDS"
summary "passerelle, defaults" "${BEST[p_default]}"
summary "nginx, access log" "${BEST[n_log]}"
summary "passerelle, logging off" "${BEST[p_off]}"
summary "nginx, access log off" "${BEST[n_off]}"
echo "==> GET /v1/banks/cmcic:cic"
summary "passerelle, defaults" "$BANKS_DEFAULT"
summary "passerelle, logging off" "$BANKS_QUIET"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
R_LOG=$(cut -d' ' -f1 <<<"${RATIOS%$'\n'}" | median)
R_COST=$(cut -d' ' -f2 <<<"${RATIOS%$'\n'}" | median)
R_OFF=$(cut -d' ' -f3 <<<"${RATIOS%$'\n'}" | median)
R_CPU=$(cut -d' ' -f4 <<<"${RATIOS%$'\n'}" | median)
echo "==> ratios, median of the $ROUNDS rounds (each round: $(tr '\n' ';' <<<"${RATIOS%$'\n'}"))"
awk -v r="$R_LOG" -v c="$R_COST" -v o="$R_OFF" -v u="$R_CPU" 'BEGIN {
    printf "defaults vs nginx with its access log:  %.1f %% (target >= 60 %%) %s\n", r, (r >= 60 ? "OK" : "BELOW TARGET")
    printf "cost of the access log (/health):       %.1f %% of passerelle req/s (target <= 15 %%) %s\n", c, (c <= 15 ? "OK" : "ABOVE TARGET")
    printf "cost of the access log in CPU:          %.1f %% of passerelle CPU per request (steadier on a busy machine)\n", u
    printf "logging off, passerelle vs nginx:       %.1f %%\n", o
}'
awk -v pd="$(rps_of "${BEST[p_default]}")" -v nl="$(rps_of "${BEST[n_log]}")" -v po="$(rps_of "${BEST[p_off]}")" \
    -v no="$(rps_of "${BEST[n_off]}")" -v bd="$(rps_of "$BANKS_DEFAULT")" -v bq="$(rps_of "$BANKS_QUIET")" 'BEGIN {
    printf "best runs: defaults/nginx with log %.1f %%, access log cost %.1f %%, off/nginx off %.1f %%, nginx pays %.1f %% for its log\n",
        100 * pd / nl, 100 * (1 - pd / po), 100 * po / no, 100 * (1 - nl / no)
    printf "cost of the access log (/v1/banks/{id}, one run each): %.1f %%\n", 100 * (1 - bd / bq)
}'
echo "access log lines: passerelle $(grep -c '"message":"request"' "$WORK/default.log") ($(du -h "$WORK/default.log" | cut -f1)), nginx $(wc -l < "$WORK/nginx-access.log")"
echo "one passerelle line: $(grep -m1 '"message":"request"' "$WORK/default.log")"
echo "lines dropped by passerelle's writer: $(curl -fs "http://127.0.0.1:$PORT/metrics" | awk '/^passerelle_log_lines_dropped_total/ {print $2}')"
RSS=$(rss_mb "$DEFAULT_PID")
echo "passerelle RSS after the runs: defaults $RSS MB, logging off $(rss_mb "$QUIET_PID") MB (target <= 48 MB) $(awk -v r="$RSS" 'BEGIN { print (r <= 48 ? "OK" : "ABOVE TARGET") }')"
