# The cheap container checks scripts/test always runs (no engine needed, a few seconds), sourced:
#   - docker-compose.yml is valid (docker-compose config -q);
#   - every setting the gateway and the simulator read is listed in .env.example and passed by docker-compose.yml
#     (a `_FILE` variant too for each secret Config reads with `orFile:`).
passerelle_compose_check() {
    docker-compose -f docker-compose.yml config -q
    local config=Sources/GatewayApp/Config/Config.swift sim=Sources/BankSimulator/SimulatorConfiguration.swift
    local names missing=""
    names=$(
        grep -ohE '"PASSERELLE_[A-Z0-9_]+"' "$config" | tr -d '"'
        grep -oE 'secret\("PASSERELLE_[A-Z0-9_]+", orFile' "$config" | grep -oE 'PASSERELLE_[A-Z0-9_]+' | sed 's/$/_FILE/'
        grep -oE '(value|int|oneOf)\("[A-Z0-9_]+"' "$sim" | grep -oE '[A-Z0-9_]+"' | tr -d '"' | sed 's/^/PASSERELLE_SIMULATOR_/'
    )
    for name in $(sort -u <<<"$names"); do
        grep -qw -- "$name" .env.example || missing="$missing $name(.env.example)"
        grep -qw -- "$name" docker-compose.yml || missing="$missing $name(docker-compose.yml)"
    done
    [ -z "$missing" ] || { echo "settings not listed:$missing" >&2; return 1; }
}
