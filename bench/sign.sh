#!/usr/bin/env bash
# Benchmark (not a test): signatures/s of Passerelle's request signer vs `openssl speed rsa2048`, one core each.
#   Builds `passerelle` in release mode, makes a throwaway RSA-2048 key, runs
#   `passerelle sign-request --benchmark-seconds S` (the key parsed once, then a loop of full Cavage signatures:
#   signing string + SHA-256 + RSASSA-PKCS1-v1_5 + base64), then `openssl speed -seconds S rsa2048`, and prints
#   both rates and their ratio. Target: >= 95 % of OpenSSL's single-core sign rate.
#   Both divide by user CPU time (openssl speed's default divisor). The two alternate for ROUNDS rounds; the
#   verdict uses the median of the per-round ratios (each round runs both back to back under similar load), and the
#   best rate of each is shown too.
# Usage: bench/sign.sh [SECONDS [ROUNDS]]   (defaults 3 and 3)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-3}"
ROUNDS="${2:-3}"

echo "==> release build" >&2
swift build -c release --product passerelle >&2
BIN="$(swift build -c release --show-bin-path)/passerelle"

WORK=$(mktemp -d /tmp/passerelle-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/key.pem" 2>/dev/null
printf '{"bench":true}' > "$WORK/body.json"

ours() {
    "$BIN" sign-request --key "$WORK/key.pem" --key-id bench --method POST \
        --url 'https://oauth2-apiii.e-i.com/cic/stet-psd2-api/v2.0/payment-requests?lang=fr' \
        --header 'Date: Tue, 07 Jun 2022 20:51:35 GMT' --header 'X-Request-ID: 1d5e4c1a-8f0f-4b52-9c3e-6b0a2f4f7a11' \
        --header 'Content-Type: application/json' --header 'PSU-IP-Address: 192.0.2.10' \
        --body-file "$WORK/body.json" --benchmark-seconds "$SECONDS_PER_RUN" | awk -F': ' '/^signatures\/s:/ {print $2}'
}
# The summary line looks like "rsa 2048 bits 0.000997s 0.000025s   1003.1  40569.8": sign/s is the next-to-last field.
theirs() {
    openssl speed -seconds "$SECONDS_PER_RUN" rsa2048 2>/dev/null | awk '/^rsa +2048 bits/ {print $(NF-1)}' | tail -1
}
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 > a + 0) ? b : a }'; }

OURS="" THEIRS="" RATIOS=""
for round in $(seq 1 "$ROUNDS"); do
    # Alternate which one runs first, so that a load change during a round does not always favour the same side.
    if [ $((round % 2)) -eq 1 ]; then o=$(ours); t=$(theirs); else t=$(theirs); o=$(ours); fi
    [ -n "$o" ] && [ -n "$t" ] || { echo "could not read the rates (ours='$o', openssl='$t')" >&2; exit 1; }
    r=$(awk -v a="$o" -v b="$t" 'BEGIN { printf "%.1f", 100 * a / b }')
    echo "    round $round: passerelle $o/s, openssl $t/s, ratio $r %" >&2
    OURS=$(best "$OURS" "$o"); THEIRS=$(best "$THEIRS" "$t"); RATIOS="$RATIOS $r"
done
MEDIAN=$(echo $RATIOS | tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')

echo "openssl version:          $(openssl version)"
echo "passerelle signatures/s:  $OURS (best of $ROUNDS x ${SECONDS_PER_RUN}s)"
echo "openssl rsa2048 sign/s:   $THEIRS (best of $ROUNDS x openssl speed -seconds $SECONDS_PER_RUN rsa2048)"
echo "per-round ratios (%):    $RATIOS"
awk -v r="$MEDIAN" 'BEGIN { printf "ratio (median):           %.1f %% (target >= 95 %%) %s\n", r, (r >= 95 ? "OK" : "BELOW TARGET") }'
