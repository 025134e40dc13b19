#!/usr/bin/env bash
# Benchmark (not a test): signed proxied account reads, with the default configuration (access log on).
#   A release build of `passerelle serve` in front of a minimal mutual-TLS "bank" (Debian nginx with
#   `ssl_verify_client on`, fixed bodies: registration, token, and a STET accounts list for `GET …/accounts`),
#   configured through PASSERELLE_BANKS_FILE (cmcic:cic sandbox → the nginx), on a throwaway PostgreSQL.
#   The connection is made through the real API (certificates upload, registration, connection, authorization:
#   the tokens are stored sealed by the app itself). Then, in the same run:
#     1. `openssl speed -seconds 3 -multi 2 rsa2048`: the two-process RSA-2048 sign rate (mean of a measure just
#        before and one just after run 2: the machine's speed drifts);
#     2. wrk -t2 -c$BENCH_CONNECTIONS against GET /v1/connections/{id}/accounts with PSU-IP-Address (attended, so
#        the unattended budget does not refuse): signed proxied calls/s, p50/p99;
#     3. at one connection: wrk -t1 -c1 through Passerelle, and a direct unsigned libcurl loop to the nginx bank
#        (bench/lib/mtls-latency.c, one reused mTLS connection): the latency Passerelle adds (p50, p99).
#   Targets: proxied calls/s >= 60 % of the two-process sign rate; p50 added <= 1.5 ms; p99 added <= 3 ms.
# Usage: bench/proxy.sh
#   BENCH_DURATION=10s  BENCH_CONNECTIONS=32  BENCH_DIRECT_CALLS=5000  BENCH_POOL_SIZE=10 (PASSERELLE_DATABASE_POOL_SIZE)
#   BENCH_KEEP=1 keeps the work directory (logs) after the run; BENCH_PERF=/tmp/x.data records a perf profile of
#   passerelle during the throughput run (needs linux-perf); BENCH_HOLD=1 stops after the set-up and keeps
#   everything running (it prints the URL and API key) until interrupted, for profiling by hand;
#   BENCH_WRAPPER='strace -f -c -o /tmp/serve.strace' runs passerelle under that command; BENCH_LOG_LEVEL sets
#   PASSERELLE_LOG_LEVEL (unset: the default, info, with its access log to a file like a deployment's stdout).
# Needs (installed when missing, as bench/http.sh does): wrk, nginx, cc, libcurl4-openssl-dev, postgresql, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
DIRECT_CALLS=${BENCH_DIRECT_CALLS:-5000}
# shellcheck source=../scripts/lib/deps.sh
. scripts/lib/deps.sh
# shellcheck source=../scripts/lib/postgres.sh
. scripts/lib/postgres.sh
# shellcheck source=lib/nginx-bank.sh
. bench/lib/nginx-bank.sh
EXTRA="wrk python3"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || EXTRA="$EXTRA nginx-light"
command -v cc >/dev/null || EXTRA="$EXTRA gcc libc6-dev"
passerelle_install_deps $EXTRA

WORK=$(mktemp -d /tmp/passerelle-bench.XXXXXX)
chmod 755 "$WORK"   # PostgreSQL runs as `postgres` when we are root
NGINX_PID="" SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
    passerelle_pg_stop "$WORK/pg" || true
    if [ -n "${BENCH_KEEP:-}" ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "bench: $*" >&2; exit 1; }

echo "==> release build" >&2
swift build -c release --product passerelle >&2
BIN="$(swift build -c release --show-bin-path)/passerelle"

echo "==> test PKI, direct client" >&2
scripts/make-test-pki "$WORK/pki" >/dev/null
PKI="$WORK/pki"
cc -O2 -o "$WORK/mtls-latency" bench/lib/mtls-latency.c $(pkg-config --cflags --libs libcurl)

# --- the "bank": fixed answers. The registration echoes our QSealC in x5c so that Passerelle finds its kid.
echo "==> nginx bank (mTLS, keep-alive)" >&2
NPORT=$(passerelle_free_port)
QSEAL_X5C=$(openssl x509 -in "$PKI/qseal.crt" -outform DER | base64 -w0)
REGISTRATION="{\"client_id\":\"bench-client\",\"registration_client_uri\":\"https://localhost:$NPORT/sandbox/cic/oauth2/registrations/bench-client\",\"client_name\":\"Bench TPP\",\"redirect_uris\":[\"https://tpp.example/callback\"],\"token_endpoint_auth_method\":\"tls_client_auth\",\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"jwks\":{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"bench-kid\",\"x5c\":[\"$QSEAL_X5C\"]}]}}"
TOKEN='{"access_token":"bench-access-token","token_type":"Bearer","expires_in":86400,"refresh_token":"bench-refresh-token","scope":"aisp"}'
# Euro-Information's accounts answer (Tests/BankAdaptersTests/Fixtures/ei-accounts.json): a current account and a card.
ACCOUNTS='{"accounts":[{"resourceId":"00012345601","bicFi":"CMCIFRPP","accountId":{"iban":"FR7630066100410001057380116","currency":"EUR"},"name":"COMPTE CHEQUE M MARTIN","usage":"PRIV","cashAccountType":"CACC","product":"Compte courant","psuStatus":"Account Holder","_links":{"balances":{"href":"/cic/stet-psd2-api/v2.0/accounts/00012345601/balances"},"transactions":{"href":"/cic/stet-psd2-api/v2.0/accounts/00012345601/transactions"}}},{"resourceId":"CB4970XXXXXX1234","accountId":{"other":{"identification":"4970XXXXXXXX1234","schemeName":"MPAN","issuer":"CMCIC"}},"name":"M MARTIN","cashAccountType":"CARD","linkedAccount":"00012345601","currency":"EUR"}],"_links":{"self":{"href":"/cic/stet-psd2-api/v2.0/accounts"}}}'
bench_nginx_bank_start "$WORK/nginx" "$PKI" "$NPORT" "
        location = /sandbox/cic/oauth2/registrations { return 201 '$REGISTRATION'; }
        location = /sandbox/cic/oauth2/token { return 200 '$TOKEN'; }
        location ~ /accounts\$ { add_header X-Request-ID bench; return 200 '$ACCOUNTS'; }
        location / { return 404 '{\"error\":\"not found\"}'; }"
BANK_ACCOUNTS="https://localhost:$NPORT/sandbox/cic/stet-psd2-api/v2.0/accounts"
curl -fs -o /dev/null --cacert "$PKI/ca.crt" --cert "$PKI/qwac.crt" --key "$PKI/qwac.key" "$BANK_ACCOUNTS" \
    || fail "the nginx bank does not answer (see $WORK/nginx/logs/error.log)"
curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" "$BANK_ACCOUNTS" | grep -q '^400$' \
    || fail "the nginx bank accepts calls without a client certificate"

echo "==> PostgreSQL" >&2
PGPORT=$(passerelle_free_port)
passerelle_pg_start "$WORK/pg" "$PGPORT"

echo "==> passerelle serve" >&2
PORT=$(passerelle_free_port)
API_KEY="pk_bench_$(openssl rand -hex 16)"
printf '{"banks":{"cmcic:cic":{"sandbox":{"origin":"https://localhost:%s"}}}}\n' "$NPORT" > "$WORK/banks.json"
PASSERELLE_HTTP_HOST=127.0.0.1 PASSERELLE_HTTP_PORT=$PORT \
PASSERELLE_DATABASE_URL="postgresql://postgres@127.0.0.1:$PGPORT/postgres" \
PASSERELLE_DATABASE_POOL_SIZE=${BENCH_POOL_SIZE:-10} \
PASSERELLE_MASTER_KEY=$(openssl rand -base64 32) PASSERELLE_BANKS_FILE="$WORK/banks.json" \
PASSERELLE_BANK_CA_FILE="$PKI/ca.crt" PASSERELLE_BOOTSTRAP_API_KEY="$API_KEY" \
    env ${BENCH_LOG_LEVEL:+PASSERELLE_LOG_LEVEL=$BENCH_LOG_LEVEL} ${BENCH_WRAPPER:-} "$BIN" serve > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 300); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/ready" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/serve.log" >&2; fail "passerelle serve exited"; }
    sleep 0.2
done
curl -fs -o /dev/null "http://127.0.0.1:$PORT/ready" || { tail -20 "$WORK/serve.log" >&2; fail "passerelle not ready"; }

# --- the connection, through the real API
API="http://127.0.0.1:$PORT"
api() {  # METHOD PATH [JSON] → body on stdout; fails on a non-2xx
    local out code
    out=$(curl -s -w '\n%{http_code}' -X "$1" "$API$2" -H "Authorization: Bearer $API_KEY" \
        -H 'Content-Type: application/json' ${3:+--data-binary "$3"})
    code=${out##*$'\n'}
    [ "${code:0:1}" = 2 ] || fail "$1 $2 → $code: ${out%$'\n'*}"
    printf '%s' "${out%$'\n'*}"
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
upload() {  # CHAIN KEY → certificate id
    api POST /v1/certificates "$(python3 -c 'import json,sys; print(json.dumps({"certificate": open(sys.argv[1]).read(), "privateKey": open(sys.argv[2]).read(), "label": "bench"}))' "$1" "$2")" | field id
}
echo "==> certificates, registration, connection (through the API)" >&2
QWAC_ID=$(upload "$PKI/qwac-chain.pem" "$PKI/qwac.key")
QSEAL_ID=$(upload "$PKI/qseal-chain.pem" "$PKI/qseal.key")
REG=$(api POST /v1/registrations "{\"bank\":\"cmcic:cic\",\"environment\":\"sandbox\",\"qwacCertificateId\":\"$QWAC_ID\",\"qsealCertificateId\":\"$QSEAL_ID\",\"clientName\":\"Bench TPP\",\"redirectUris\":[\"https://tpp.example/callback\"],\"roles\":[\"aisp\"],\"contact\":{\"name\":\"Ops\",\"email\":\"psd2@tpp.example\",\"phone\":\"+33100000000\"}}")
[ "$(field status <<<"$REG")" = active ] || fail "registration not active: $REG"
[ "$(field keyId <<<"$REG")" = bench-kid ] || fail "registration did not pick the bank's kid: $REG"
CONN=$(api POST /v1/connections '{"bank":"cmcic:cic","psuReference":"bench-psu","redirectUri":"https://tpp.example/callback"}')
CONN_ID=$(field id <<<"$CONN")
STATE=$(field state <<<"$CONN")
AUTH=$(api POST "/v1/connections/$CONN_ID/authorization" "{\"code\":\"bench-code\",\"state\":\"$STATE\"}")
[ "$(field status <<<"$AUTH")" = active ] || fail "connection not active: $AUTH"
URL="$API/v1/connections/$CONN_ID/accounts"
FIRST=$(curl -fsS "$URL" -H "Authorization: Bearer $API_KEY" -H 'PSU-IP-Address: 192.0.2.10')
python3 -c 'import json,sys; a=json.load(sys.stdin)["accounts"]; assert len(a)==2 and a[0]["id"].startswith("acc_"), a' <<<"$FIRST" \
    || fail "unexpected accounts answer: $FIRST"
echo "    connection $CONN_ID active; GET …/accounts → 2 normalized accounts" >&2
if [ -n "${BENCH_HOLD:-}" ]; then  # keep everything running for profiling by hand; Ctrl-C (or kill) ends it
    printf 'holding: URL=%s\n  API_KEY=%s\n  passerelle pid %s, nginx pid %s\n' "$URL" "$API_KEY" "$SERVER_PID" "$NGINX_PID" >&2
    wait "$SERVER_PID"
    exit 0
fi

# --- measurements
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }
wrk_field() { awk -v k="$1" '$1 == k {print $2}' <<<"$2"; }
run_wrk() {  # THREADS CONNECTIONS DURATION
    wrk -t"$1" -c"$2" -d"$3" --latency -H "Authorization: Bearer $API_KEY" -H 'PSU-IP-Address: 192.0.2.10' \
        -H 'PSU-User-Agent: bench' "$URL" 2>&1
}
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "==> warm-up (wrk 3s)" >&2
run_wrk 2 "$CONNECTIONS" 3s >/dev/null

echo "==> openssl speed -seconds 3 -multi 2 rsa2048 (load average $(load))" >&2
sign_rate() { openssl speed -seconds 3 -multi 2 rsa2048 2>/dev/null | awk '/^rsa +2048 bits/ {print $(NF-1)}' | tail -1; }
# Measured just before and just after the throughput run, and averaged: this VM's speed drifts by ±10 % within
# minutes, and one 3-second sample taken at another moment than wrk's 10 seconds moved the ratio as much.
SIGN_BEFORE=$(sign_rate)
[ -n "$SIGN_BEFORE" ] || fail "could not read openssl speed's sign rate"

# CPU time (clock ticks) of passerelle, of the PostgreSQL server (postmaster and its backends) and of nginx.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
pg_pids() { local m; m=$(head -1 "$WORK/pg/postmaster.pid"); echo "$m" $(pgrep -P "$m" || true); }
HZ=$(getconf CLK_TCK)

echo "==> wrk -t2 -c$CONNECTIONS -d$DURATION --latency GET …/accounts (load average $(load))" >&2
CPU_P0=$(ticks "$SERVER_PID") CPU_D0=$(ticks $(pg_pids)) CPU_N0=$(ticks "$NGINX_PID" $(pgrep -P "$NGINX_PID" || true))
PERF_PID=""
if [ -n "${BENCH_PERF:-}" ]; then  # optional: a CPU profile of passerelle during the throughput run
    perf record -q -F 499 -g -p "$SERVER_PID" -o "$BENCH_PERF" -- sleep "${DURATION%s}" 2>/dev/null &
    PERF_PID=$!
fi
THROUGHPUT=$(run_wrk 2 "$CONNECTIONS" "$DURATION")
[ -n "$PERF_PID" ] && { wait "$PERF_PID" || true; echo "    perf profile: $BENCH_PERF (perf report -i $BENCH_PERF --no-children)" >&2; }
CPU_P1=$(ticks "$SERVER_PID") CPU_D1=$(ticks $(pg_pids)) CPU_N1=$(ticks "$NGINX_PID" $(pgrep -P "$NGINX_PID" || true))
echo "==> openssl speed again, after the throughput run (load average $(load))" >&2
SIGN_AFTER=$(sign_rate)
[ -n "$SIGN_AFTER" ] || fail "could not read openssl speed's sign rate"
SIGN_RATE=$(awk -v a="$SIGN_BEFORE" -v b="$SIGN_AFTER" 'BEGIN { printf "%.1f", (a + b) / 2 }')
RPS=$(awk '/^Requests\/sec/ {print $2}' <<<"$THROUGHPUT")
T_P50=$(to_ms "$(wrk_field 50% "$THROUGHPUT")")
T_P99=$(to_ms "$(wrk_field 99% "$THROUGHPUT")")
T_ERRORS=$(grep -E 'Socket errors|Non-2xx' <<<"$THROUGHPUT" | tr '\n' ' ' || true)

echo "==> one connection: wrk -t1 -c1 -d$DURATION through Passerelle (load average $(load))" >&2
SINGLE=$(run_wrk 1 1 "$DURATION")
S_RPS=$(awk '/^Requests\/sec/ {print $2}' <<<"$SINGLE")
S_P50=$(to_ms "$(wrk_field 50% "$SINGLE")")
S_P99=$(to_ms "$(wrk_field 99% "$SINGLE")")
S_ERRORS=$(grep -E 'Socket errors|Non-2xx' <<<"$SINGLE" | tr '\n' ' ' || true)

echo "==> one connection: direct unsigned libcurl loop to the nginx bank, $DIRECT_CALLS calls (load average $(load))" >&2
DIRECT=$("$WORK/mtls-latency" "$BANK_ACCOUNTS" "$PKI" "$DIRECT_CALLS")
D_RPS=$(sed -E 's/.*calls\/s=([0-9.]+).*/\1/' <<<"$DIRECT")
D_P50=$(sed -E 's/.*p50_us=([0-9.]+).*/\1/' <<<"$DIRECT" | awk '{printf "%.3f", $1 / 1000}')
D_P99=$(sed -E 's/.*p99_us=([0-9.]+).*/\1/' <<<"$DIRECT" | awk '{printf "%.3f", $1 / 1000}')

# Where the time goes at one connection: the HTTP server alone, then the API key and the connection's row.
echo "==> one connection: GET /health and GET /v1/connections/{id} (3s each)" >&2
H_OUT=$(wrk -t1 -c1 -d3s --latency "$API/health" 2>&1)
G_OUT=$(wrk -t1 -c1 -d3s --latency -H "Authorization: Bearer $API_KEY" "$API/v1/connections/$CONN_ID" 2>&1)

# The server's own view: outbound connections opened, RSS.
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
AUDITED=$(passerelle_pg_as "$PG_BIN/psql" -h "$WORK/pg" -p "$PGPORT" -U postgres -tAc \
    "SELECT count(*) FROM outbound_requests WHERE path_template LIKE '%/accounts'" 2>/dev/null || echo "?")

echo
echo "machine:                  $(nproc) cores, load average now $(load) (shared with other work: figures are noisy)"
echo "openssl version:          $(openssl version)"
echo "two-process sign rate:    $SIGN_RATE sign/s (openssl speed -seconds 3 -multi 2 rsa2048: $SIGN_BEFORE before, $SIGN_AFTER after the throughput run)"
printf 'signed proxied calls:     %s calls/s   p50 %s ms   p99 %s ms   (wrk -t2 -c%s -d%s) %s\n' \
    "$RPS" "$T_P50" "$T_P99" "$CONNECTIONS" "$DURATION" "${T_ERRORS:-no errors}"
printf 'one connection, proxied:  %s calls/s   p50 %s ms   p99 %s ms   %s\n' "$S_RPS" "$S_P50" "$S_P99" "${S_ERRORS:-no errors}"
printf 'one connection, direct:   %s calls/s   p50 %s ms   p99 %s ms   (unsigned libcurl loop, one mTLS connection)\n' \
    "$D_RPS" "$D_P50" "$D_P99"
printf 'one connection, /health:  p50 %s ms   p99 %s ms;  GET /v1/connections/{id} (API key, row, budget usage): p50 %s ms   p99 %s ms\n' \
    "$(to_ms "$(wrk_field 50% "$H_OUT")")" "$(to_ms "$(wrk_field 99% "$H_OUT")")" \
    "$(to_ms "$(wrk_field 50% "$G_OUT")")" "$(to_ms "$(wrk_field 99% "$G_OUT")")"
CALLS=$(awk '/requests in/ {print $1}' <<<"$THROUGHPUT")
awk -v n="$CALLS" -v hz="$HZ" -v p=$((CPU_P1 - CPU_P0)) -v d=$((CPU_D1 - CPU_D0)) -v x=$((CPU_N1 - CPU_N0)) -v s="$SIGN_RATE" 'BEGIN {
    printf "CPU per proxied call:     passerelle %.2f ms, PostgreSQL %.2f ms, nginx bank %.2f ms (one RSA-2048 sign: %.2f ms of one core)\n",
        1000 * p / hz / n, 1000 * d / hz / n, 1000 * x / hz / n, 2000 / s }'
echo "bank calls audited:       $AUDITED accounts calls in outbound_requests; passerelle RSS $((RSS / 1024)) MB"
awk -v r="$RPS" -v s="$SIGN_RATE" -v sp50="$S_P50" -v sp99="$S_P99" -v dp50="$D_P50" -v dp99="$D_P99" 'BEGIN {
    ratio = 100 * r / s; a50 = sp50 - dp50; a99 = sp99 - dp99
    printf "ratio to sign rate:       %.1f %% (target >= 60 %%) %s\n", ratio, (ratio >= 60 ? "OK" : "BELOW TARGET")
    printf "p50 added (1 connection): %.3f ms (target <= 1.5 ms) %s\n", a50, (a50 <= 1.5 ? "OK" : "ABOVE TARGET")
    printf "p99 added (1 connection): %.3f ms (target <= 3 ms) %s\n", a99, (a99 <= 3 ? "OK" : "ABOVE TARGET")
}'
