# Passerelle container image: a release build on the Swift toolchain image, run on debian:bookworm-slim as a
# non-root user. podman builds it too where there is no Docker (`--format docker` keeps the HEALTHCHECK).
FROM swift:6.3-bookworm AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpq-dev libcurl4-openssl-dev libssl-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product passerelle --static-swift-stdlib \
    && install -D "$(swift build -c release --show-bin-path)/passerelle" /out/passerelle \
    && cp -r "$(swift build -c release --show-bin-path)"/*.resources /out/ 2>/dev/null || true

FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpq5 libcurl4 libssl3 ca-certificates curl tzdata && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /nonexistent --shell /usr/sbin/nologin passerelle
COPY --from=build /out/ /usr/local/bin/
USER passerelle
ENV PASSERELLE_HTTP_HOST=0.0.0.0 PASSERELLE_HTTP_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/ready || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/passerelle"]
CMD ["serve"]
