# A local PostgreSQL cluster for development and tests. initdb and postgres refuse to run as root, so as root
# they run as the `postgres` user (created by Debian's postgresql package).
# Usage: passerelle_pg_start DATADIR PORT  → exports PG_BIN, PG_RUN_AS; passerelle_pg_stop DATADIR

passerelle_pg_as() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

passerelle_pg_start() {
    local data="$1" port="$2"
    PG_BIN=$(passerelle_pg_bindir) || return 1
    export PG_BIN
    if [ "$(id -u)" = 0 ]; then PG_RUN_AS=postgres; else PG_RUN_AS=""; fi
    export PG_RUN_AS
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$data" && chmod 700 "$data"
    if [ ! -f "$data/PG_VERSION" ]; then
        passerelle_pg_as "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$data.initdb.log" 2>&1 \
            || { cat "$data.initdb.log" >&2; return 1; }
    fi
    # Sockets in the data directory (the default /var/run/postgresql may not exist or be writable).
    passerelle_pg_as "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
        -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
        || { tail -n 30 "$data/server.log" >&2; return 1; }
}

passerelle_pg_stop() {
    local data="$1"
    [ -n "${PG_BIN:-}" ] || PG_BIN=$(passerelle_pg_bindir)
    [ -f "$data/postmaster.pid" ] && passerelle_pg_as "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1
    return 0
}
