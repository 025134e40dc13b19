# Installs the Debian packages Passerelle needs, only those missing. Sourced by scripts/run and scripts/test.
# Build: libpq-dev libcurl4-openssl-dev libssl-dev pkg-config. Run/test: postgresql (server), openssl (CLI for
# the test PKI), curl, python3-venv (OpenAPI validation), procps; scripts/test adds docker-compose (compose file check)
# and slowhttptest (slow and greedy client tests).
passerelle_install_deps() {
    passerelle_install_packages libpq-dev libcurl4-openssl-dev libssl-dev pkg-config postgresql openssl curl \
        ca-certificates procps "$@"
}

# Installs the given Debian packages, only those missing (scripts/container-test needs none of the build's).
passerelle_install_packages() {
    local wanted="$*"
    local missing=""
    for pkg in $wanted; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
            echo "passerelle: missing packages:$missing — install them (apt-get install -y$missing) and retry" >&2
            return 1
        fi
    fi
    echo "passerelle: installing$missing" >&2
    ${SUDO:-} env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
    ${SUDO:-} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
}

# Prints the directory holding initdb/pg_ctl/postgres of the newest installed PostgreSQL.
passerelle_pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] || { echo "passerelle: PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; return 1; }
    echo "$dir"
}

# Prints a free TCP port on 127.0.0.1.
passerelle_free_port() {
    python3 - <<'PY' 2>/dev/null || echo $(( 20000 + RANDOM % 20000 ))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}
