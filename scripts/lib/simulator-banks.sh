#!/usr/bin/env bash
# Prints a PASSERELLE_BANKS_FILE that points the sandbox environment of some banks at a local simulator
# (format: docs/core.md "Overrides file").
# Usage: simulator-banks.sh PORT [API_ORIGIN]
#   PORT        where browsers reach the simulator: https://localhost:PORT (the authorize pages).
#   API_ORIGIN  where the gateway reaches it, when elsewhere (the compose sandbox: https://simulator:8443).
# Euro-Information brands are told apart by path on one host (their authorize page is under the brand's root
# there). BPCE banks: by host name bpce-<codetab>.sim.localhost when the gateway shares the browser's loopback
# (curl and browsers resolve *.localhost to loopback; the test server certificate covers *.sim.localhost), by the
# path prefix /bpce/<codetab>/ behind API_ORIGIN (in a container, a *.localhost name is the container itself).
set -euo pipefail
PORT="${1:?usage: simulator-banks.sh PORT [API_ORIGIN]}"
API="${2:-}"
BROWSER="https://localhost:$PORT"
ei() {
    printf '    "cmcic:%s": { "sandbox": { "origin": "%s", "authorize": "%s/sandbox/%s/oauth2/{lang}/sandbox/signin.html" } }' \
        "$1" "${API:-$BROWSER}" "$BROWSER" "$1"
}
bpce() {
    if [ -z "$API" ]; then
        printf '    "bpce:%s": { "sandbox": { "origin": "https://bpce-%s.sim.localhost:%s" } }' "$1" "$1" "$PORT"
    else
        local root="$API/bpce/$1"
        printf '    "bpce:%s": { "sandbox": { "apiRoot": "%s/stet/psd2/v1", "token": "%s/stet/psd2/oauth/token", "registration": "%s/stet/setting/v1/register", "authorize": "%s/bpce/%s/stet/psd2/oauth/authorize" } }' \
            "$1" "$root" "$root" "$root" "$BROWSER" "$1"
    fi
}
echo '{'
echo '  "banks": {'
ei cic; echo ','
ei becm; echo ','
ei cm; echo ','
bpce 13807; echo ','
bpce 17515; echo
echo '  }'
echo '}'
