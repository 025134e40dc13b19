#!/usr/bin/env bash
# Outbound benchmark (not a test): calls/s and p50/p99 latency of CurlKit's CurlTransport against a
# local mTLS server (Debian nginx, `ssl_verify_client on`, a small JSON body) on reused connections with 1 and
# 4 concurrent callers, the share of calls that reused a connection, and the client's CPU per call next to a
# plain C libcurl loop doing the same requests on one easy handle.
# Targets: >= 99 % reuse under steady load; client CPU per call within 2x of the C loop's.
# Usage: bench/outbound.sh [CALLS_PER_CALLER]   (default 5000). Needs nginx, cc, libcurl4-openssl-dev.
# Builds CurlKit in release mode into .build (the only release build it does) and works in a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-5000}
# shellcheck source=lib/nginx-bank.sh
. bench/lib/nginx-bank.sh
command -v nginx >/dev/null || { echo "bench: nginx is not installed (apt-get install nginx-light)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/passerelle-bench.XXXXXX)
chmod 755 "$WORK"
NGINX_PID=""
cleanup() {
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "==> test PKI"
scripts/make-test-pki "$WORK/pki" >/dev/null
PKI="$WORK/pki"

echo "==> nginx (mTLS, keep-alive)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bench_nginx_bank_start "$WORK/nginx" "$PKI" "$PORT" "
        location / {
            add_header X-Request-ID bench;
            return 200 '{\"accounts\":[{\"resourceId\":\"a1\",\"name\":\"Compte courant\",\"currency\":\"EUR\"}]}';
        }"
URL="https://localhost:$PORT/stet/psd2/v1.6/accounts"

echo "==> plain C libcurl loop (baseline)"
cat > "$WORK/loop.c" <<'C'
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
static size_t sink(char *p, size_t s, size_t n, void *u) { (void)p; (void)u; return s * n; }
static double cpu(void) { struct rusage r; getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
    const char *url = argv[1], *pki = argv[2]; int calls = atoi(argv[3]); char path[512];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    snprintf(path, sizeof path, "%s/ca.crt", pki); curl_easy_setopt(h, CURLOPT_CAINFO, path);
    snprintf(path, sizeof path, "%s/qwac.crt", pki); curl_easy_setopt(h, CURLOPT_SSLCERT, path);
    snprintf(path, sizeof path, "%s/qwac.key", pki); curl_easy_setopt(h, CURLOPT_SSLKEY, path);
    curl_easy_setopt(h, CURLOPT_URL, url); curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    for (int i = 0; i < 200; i++) curl_easy_perform(h);
    double c0 = cpu(), t0 = now(); long fresh = 0, n;
    for (int i = 0; i < calls; i++) {
        if (curl_easy_perform(h) != CURLE_OK) { fprintf(stderr, "call failed\n"); return 1; }
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &n); fresh += n;
    }
    double c1 = cpu(), t1 = now();
    printf("c-loop   callers=1 calls=%d calls/s=%.0f cpu/call=%.1fus new-connections=%ld\n",
           calls, calls / (t1 - t0), (c1 - c0) / calls * 1e6, fresh);
    printf("%.3f\n", (c1 - c0) / calls * 1e6);
    curl_easy_cleanup(h); curl_global_cleanup(); return 0;
}
C
cc -O2 -o "$WORK/loop" "$WORK/loop.c" $(pkg-config --cflags --libs libcurl)
C_OUT=$("$WORK/loop" "$URL" "$PKI" "$CALLS")
echo "$C_OUT" | head -1
C_CPU=$(echo "$C_OUT" | tail -1)

echo "==> CurlKit (release build)"
swift build -c release --target CurlKit >/dev/null
BIN=$(swift build -c release --show-bin-path)
cat > "$WORK/main.swift" <<'SWIFT'
import BlockingIO
import CurlKit
import Foundation
import GatewayLogging

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

@main struct OutboundBench {
    static func main() async throws {
        let arguments = CommandLine.arguments
        let (url, pki, calls) = (arguments[1], arguments[2], Int(arguments[3])!)
        func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: "\(pki)/\(name)"))) }
        let identity = TLSClientIdentity(id: "bench", certificatePEM: try read("qwac.crt"),
                                         privateKeyPEM: Secret(try read("qwac.key")))
        var configuration = CurlTransport.Configuration()
        configuration.trustAnchors = .pem(try read("ca.crt"))
        configuration.reactors = 1  // one event loop: calls from these tasks all go to it (one host, one identity)
        let transport = try CurlTransport(configuration: configuration, logger: Logger(label: "bench", level: .error))
        let request = OutboundRequest(method: "GET", url: url, headers: [("Accept", "application/json")],
                                      timeout: .seconds(10), identity: identity, bankID: "bench",
                                      pathTemplate: "/stet/psd2/v1.6/accounts")
        for callers in [1, 4] {
            for _ in 0..<200 { _ = try await transport.send(request) }  // warm-up: open the connections
            let before = transport.countersSnapshot
            let cpu0 = cpuSeconds()
            let start = ContinuousClock.now
            let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
                for _ in 0..<callers {
                    group.addTask {
                        var mine: [Double] = []
                        mine.reserveCapacity(calls)
                        for _ in 0..<calls {
                            var fresh = request
                            fresh.deadline = .now + .seconds(10)
                            let t0 = ContinuousClock.now
                            let response = try await transport.send(fresh)
                            precondition(response.status == 200, "status \(response.status)")
                            let elapsed = t0.duration(to: .now)
                            mine.append(Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12)
                        }
                        return mine
                    }
                }
                var all: [Double] = []
                for try await part in group { all += part }
                return all
            }.sorted()
            let wall = start.duration(to: .now)
            let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
            let cpu = cpuSeconds() - cpu0
            let after = transport.countersSnapshot
            let total = latencies.count
            let reused = Double(after.reusedConnections - before.reusedConnections) / Double(after.attempts - before.attempts)
            print(String(format: "curlkit  callers=%d calls=%d calls/s=%.0f p50=%.0fus p99=%.0fus reuse=%.2f%% cpu/call=%.1fus new-connections=%d",
                         callers, total, Double(total) / wallSeconds, latencies[total / 2], latencies[total * 99 / 100],
                         reused * 100, cpu / Double(total) * 1e6, after.newConnections - before.newConnections))
            if callers == 1 { print(String(format: "CPU1 %.3f", cpu / Double(total) * 1e6)) }
        }
        await transport.shutdown()
        // The floor of any design that keeps curl_easy_perform off the cooperative pool: one round trip to a
        // dedicated thread and back, doing nothing.
        let executor = BlockingExecutor(name: "hop", threads: 4)
        for _ in 0..<1000 { _ = try await executor.run { 0 } }
        let hopCPU0 = cpuSeconds()
        for _ in 0..<calls { _ = try await executor.run { 0 } }
        print(String(format: "HOP %.1f", (cpuSeconds() - hopCPU0) / Double(calls) * 1e6))
        executor.shutdown()
    }
}
SWIFT
MAPS="-Xcc -fmodule-map-file=$BIN/CShims.build/module.modulemap -Xcc -I -Xcc Sources/CShims/include"
MAPS="$MAPS -Xcc -fmodule-map-file=Sources/CCurl/module.modulemap -Xcc -fmodule-map-file=Sources/COpenSSL/module.modulemap"
MAPS="$MAPS -Xcc -fmodule-map-file=Sources/CLibPQ/module.modulemap -I/usr/include/postgresql"
# The objects of a target's current sources (a removed source leaves its stale object in .build).
objects() {
    local target=$1 object
    for object in "$BIN/$target.build"/*.o; do
        [ -n "$(find "Sources/$target" -name "$(basename "$object" .o)" -print -quit)" ] && echo "$object"
    done
}
# shellcheck disable=SC2046
swiftc -O -parse-as-library -swift-version 6 -I "$BIN/Modules" $MAPS "$WORK/main.swift" \
    $(objects CurlKit) $(objects Reactor) $(objects BlockingIO) $(objects GatewayLogging) $(objects CShims) \
    -lcurl -o "$WORK/bench"
SWIFT_OUT=$("$WORK/bench" "$URL" "$PKI" "$CALLS")
echo "$SWIFT_OUT" | grep -vE '^(CPU1|HOP)'
SWIFT_CPU=$(echo "$SWIFT_OUT" | awk '/^CPU1/{print $2}')
echo "==> an empty BlockingExecutor round trip (thread hop there and back) costs $(echo "$SWIFT_OUT" | awk '/^HOP/{print $2}')us of CPU here"
echo "==> client CPU per call, 1 caller: CurlKit ${SWIFT_CPU}us vs C loop ${C_CPU}us (ratio $(python3 -c "print(round($SWIFT_CPU/$C_CPU, 2))"), target <= 2)"
