# A local stand-in for the official swift:6.3-bookworm image, for machines that cannot reach a registry
# (scripts/lib/container-bases.sh builds it): the toolchain's build dependencies, and the host's Swift toolchain
# copied in from a read-only build volume mounted at /toolchain.
FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        binutils git libc6-dev libcurl4-openssl-dev libedit2 libgcc-12-dev libpython3.11 libsqlite3-0 \
        libstdc++-12-dev libxml2-dev libncurses-dev libz3-dev pkg-config tzdata zlib1g-dev libssl-dev libpq-dev \
        ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN test -x /toolchain/usr/bin/swift && cp -a /toolchain/usr/. /usr/ && swift --version
CMD ["/bin/bash"]
