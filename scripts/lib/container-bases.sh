# Container engine preparation for scripts/container-test, sourced. Idempotent: installs what is missing and
# builds, only when absent, local stand-ins for the base images the Dockerfile and docker-compose.yml name
# (debian:bookworm-slim, swift:6.3-bookworm, postgres:15-bookworm) — for machines without a Docker engine or a
# reachable registry. Where a real Docker engine is present (docker info succeeds), nothing is prepared: it pulls
# the official images itself. See docs/operations.md "Deploying".

# Prints the Debian mirror apt already uses (deb822 sources or sources.list).
passerelle_debian_mirror() {
    local uri
    uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1)
    [ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1)
    echo "${uri:-http://deb.debian.org/debian}"
}

# passerelle_image_has_recipe IMAGE HASH: the image exists and was built from the recipe with this hash.
passerelle_image_has_recipe() {
    podman image exists "$1" \
        && [ "$(podman image inspect --format '{{ index .Labels "passerelle.recipe" }}' "$1")" = "$2" ]
}

# passerelle_container_bases REPO_ROOT: the three base images under their official names, built when missing.
passerelle_container_bases() {
    local root="$1" work
    if ! podman image exists docker.io/library/debian:bookworm-slim; then
        echo "==> base image debian:bookworm-slim (debootstrap, about a minute)"
        work=$(mktemp -d /tmp/passerelle-rootfs.XXXXXX)
        debootstrap --variant=minbase bookworm "$work" "$(passerelle_debian_mirror)" >/tmp/passerelle-debootstrap.log 2>&1 \
            || { tail -n 20 /tmp/passerelle-debootstrap.log >&2; rm -rf "$work"; return 1; }
        # As the official slim image: no downloaded packages, package lists, documentation or locales.
        rm -rf "$work"/var/cache/apt/archives/*.deb "$work"/var/lib/apt/lists/* "$work"/usr/share/doc/* \
            "$work"/usr/share/man/* "$work"/usr/share/info/* "$work"/var/log/*.log
        find "$work"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
        cat > "$work"/etc/dpkg/dpkg.cfg.d/docker-slim <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
        cat > "$work"/etc/apt/apt.conf.d/docker-clean <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
CFG
        tar -C "$work" -c . | podman import -q --change 'CMD ["/bin/bash"]' - docker.io/library/debian:bookworm-slim >/dev/null
        rm -rf "$work"
    fi
    # The two images built from ops/base-images are rebuilt when their recipe (or the host's toolchain) changes: a
    # label holds the recipe's hash.
    local recipe
    recipe=$( { cat "$root/ops/base-images/swift.Dockerfile"; swift --version 2>&1; } | sha256sum | cut -c1-16)
    if ! passerelle_image_has_recipe docker.io/library/swift:6.3-bookworm "$recipe"; then
        echo "==> base image swift:6.3-bookworm (host toolchain copied in, about 3 minutes)"
        local swift_root
        swift_root=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
        [ -x "$swift_root/usr/bin/swift" ] || { echo "container-test: no Swift toolchain found on PATH" >&2; return 1; }
        podman build --pull=never -q -v "$swift_root":/toolchain:ro --label passerelle.recipe="$recipe" \
            -f "$root/ops/base-images/swift.Dockerfile" -t docker.io/library/swift:6.3-bookworm \
            "$root/ops/base-images" >/dev/null
    fi
    recipe=$(cat "$root"/ops/base-images/postgres.Dockerfile "$root"/ops/base-images/postgres-entrypoint.sh \
        | sha256sum | cut -c1-16)
    if ! passerelle_image_has_recipe docker.io/library/postgres:15-bookworm "$recipe"; then
        echo "==> base image postgres:15-bookworm"
        podman build --pull=never -q --label passerelle.recipe="$recipe" \
            -f "$root/ops/base-images/postgres.Dockerfile" -t docker.io/library/postgres:15-bookworm \
            "$root/ops/base-images" >/dev/null
    fi
}
