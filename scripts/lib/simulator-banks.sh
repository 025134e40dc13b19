#!/usr/bin/env bash
# Prints a PASSERELLE_BANKS_FILE that points the sandbox environment of the demo banks at a local simulator.
# Euro-Information brands are told apart by path, BPCE banks by host name (bpce-<codetab>.localhost).
set -euo pipefail
PORT="${1:?usage: simulator-banks.sh PORT}"
cat <<JSON
{
  "banks": {
    "cmcic:cic":  { "sandbox": { "apiBaseURL": "https://localhost:$PORT/sandbox/cic/",
                                 "authorizeURL": "https://localhost:$PORT/sandbox/cic/oauth2/fr/sandbox/signin.html" } },
    "cmcic:becm": { "sandbox": { "apiBaseURL": "https://localhost:$PORT/sandbox/becm/",
                                 "authorizeURL": "https://localhost:$PORT/sandbox/becm/oauth2/fr/sandbox/signin.html" } },
    "bpce:13807": { "sandbox": { "host": "https://bpce-13807.localhost:$PORT" } },
    "bpce:17515": { "sandbox": { "host": "https://bpce-17515.localhost:$PORT" } }
  }
}
JSON
