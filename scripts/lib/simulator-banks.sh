#!/usr/bin/env bash
# Prints a PASSERELLE_BANKS_FILE that points the sandbox environment of some banks at a local simulator
# (format: README "Bank catalog"). Euro-Information brands are told apart by path on one host (their authorize
# page is under the brand's root there); BPCE banks by host name: bpce-<codetab>.sim.localhost (curl and browsers
# resolve *.localhost to loopback; the test server certificate covers *.sim.localhost).
set -euo pipefail
PORT="${1:?usage: simulator-banks.sh PORT}"
ei() {
    printf '    "cmcic:%s": { "sandbox": { "origin": "https://localhost:%s", "authorize": "https://localhost:%s/sandbox/%s/oauth2/{lang}/sandbox/signin.html" } }' "$1" "$PORT" "$PORT" "$1"
}
echo '{'
echo '  "banks": {'
ei cic; echo ','
ei becm; echo ','
ei cm; echo ','
echo "    \"bpce:13807\": { \"sandbox\": { \"origin\": \"https://bpce-13807.sim.localhost:$PORT\" } },"
echo "    \"bpce:17515\": { \"sandbox\": { \"origin\": \"https://bpce-17515.sim.localhost:$PORT\" } }"
echo '  }'
echo '}'
