# Passerelle's container images, from this one file:
#   (last stage, the default)  the gateway: a stripped release build on debian:bookworm-slim, run as a non-root
#                              user; `passerelle serve` by default, `passerelle simulator` for the sandbox's banks
#   --target sandbox-init      the sandbox's one-shot init step (docker-compose.yml): test PKI, keys, banks file
# Every step fails the build when it fails: the executable and its run-time files (migrations, OpenAPI document, in
# the folder Passerelle_GatewayApp.resources beside it) are copied by name and checked,
# and the last stage runs `passerelle version`, which refuses to run without every library and the resources.
# Building without Docker or a registry (podman, local base images): docs/operations.md "Deploying".

FROM debian:bookworm-slim AS sandbox-init
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssl \
    && rm -rf /var/lib/apt/lists/*
COPY scripts/make-test-pki scripts/lib/simulator-banks.sh ops/sandbox-init /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/sandbox-init"]

FROM swift:6.3-bookworm AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpq-dev libcurl4-openssl-dev libssl-dev pkg-config binutils ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The manifest names the test targets too, so their folders come along; only the executable is built.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
# The API serves a bundled copy of the OpenAPI document; openapi/passerelle.yaml is the source of truth.
COPY openapi/passerelle.yaml ./Sources/GatewayApp/OpenAPI/passerelle.yaml
RUN swift build -c release --product passerelle --static-swift-stdlib
RUN bin="$(swift build -c release --show-bin-path)" \
    && install -D -m 0755 "$bin/passerelle" /out/passerelle \
    && strip --strip-all /out/passerelle \
    && mkdir -p /out/Passerelle_GatewayApp.resources \
    && cp -R Sources/GatewayApp/Migrations Sources/GatewayApp/OpenAPI /out/Passerelle_GatewayApp.resources/ \
    && test -n "$(ls /out/Passerelle_GatewayApp.resources/Migrations/*.sql)" \
    && test -s /out/Passerelle_GatewayApp.resources/OpenAPI/passerelle.yaml \
    && test -s /etc/ssl/certs/ca-certificates.crt

FROM debian:bookworm-slim
# Runtime libraries of the executable (the Swift runtime is linked in) and curl for the HEALTHCHECK (it adds little:
# libcurl is needed anyway). The CA bundle for banks' TLS (libcurl's default path) is copied from the build stage:
# the ca-certificates package would bring the openssl CLI along (2.7 MB together).
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpq5 libcurl4 libssl3 curl \
    && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log \
    && useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin passerelle
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/passerelle /usr/local/bin/passerelle
COPY --from=build /out/Passerelle_GatewayApp.resources /usr/local/bin/Passerelle_GatewayApp.resources
RUN if ldd /usr/local/bin/passerelle | grep 'not found'; then exit 1; fi \
    && passerelle version
USER passerelle:passerelle
ENV PASSERELLE_HTTP_HOST=0.0.0.0 PASSERELLE_HTTP_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${PASSERELLE_HTTP_PORT}/ready"
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/passerelle"]
CMD ["serve"]
