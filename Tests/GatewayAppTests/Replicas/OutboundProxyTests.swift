import Foundation
import Testing
import TestSupport

/// `PASSERELLE_OUTBOUND_PROXY` sends bank traffic through the operator's egress proxy (HTTP CONNECT, the TLS session
/// with the bank end to end inside it), and the `*_proxy` environment variables are ignored — checked on the
/// `passerelle serve` process with a CONNECT proxy (a few lines of Python, no code of ours) that counts tunnels.
@Suite(.serialized) struct OutboundProxyTests {
    static let psu = [("PSU-IP-Address", "192.0.2.10"), ("PSU-User-Agent", "proxy-tests/1.0")]

    /// A CONNECT proxy on a free port that appends each tunnel's target to a file.
    static let proxyScript = #"""
        import socket, sys, threading
        log = open(sys.argv[1], "a", buffering=1)
        server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0)); server.listen(64)
        print(server.getsockname()[1], flush=True)
        def pipe(a, b):
            try:
                while True:
                    data = a.recv(65536)
                    if not data: break
                    b.sendall(data)
            except OSError: pass
            finally:
                try: b.shutdown(socket.SHUT_WR)
                except OSError: pass
        def serve(client):
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk: client.close(); return
                head += chunk
            line = head.split(b"\r\n")[0].decode()
            method, target = line.split(" ")[:2]
            if method != "CONNECT": client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n"); client.close(); return
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection(("127.0.0.1" if host.endswith("localhost") else host, int(port)))
            log.write(target + "\n")
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
            pipe(upstream, client)
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        """#

    /// Runs the flow (registration, authorization, one account read) through a gateway with `environment`.
    static func connectAndRead(gateway environment: [String: String]) async throws {
        let cluster = try await ReplicaCluster.start(
            replicas: 1, simulatorEnvironment: [:],
            gatewayEnvironment: environment.merging(["PASSERELLE_TOKEN_REFRESHER_INTERVAL_SECONDS": "0"]) { a, _ in a })
        do {
            let gateway = cluster.gateways[0]
            let (connection, _, _) = try await ReplicaRefreshRaceTests.connect(gateway, cluster: cluster, bank: "cmcic:cic", persona: "marc")
            let accounts = try await TestHTTPClient(port: gateway.port).send(
                "GET", "/v1/connections/\(connection)/accounts",
                headers: psu + [("Authorization", "Bearer \(ReplicaCluster.apiKey)")])
            #expect(accounts.status == 200, "\(accounts.text)")
        } catch {
            Issue.record("gateway log tail:\n\(cluster.gateways[0].process.logTail(20))")
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    @Test func bankTrafficGoesThroughTheConfiguredProxyAndNeverThroughEnvironmentProxies() async throws {
        let work = NSTemporaryDirectory() + "passerelle-proxy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try Self.proxyScript.write(toFile: work + "/proxy.py", atomically: true, encoding: .utf8)
        let proxy = try ChildProcess.spawn(
            name: "connect-proxy", executable: "/usr/bin/python3", arguments: ["-u", work + "/proxy.py", work + "/tunnels"],
            environment: [:])
        defer { proxy.removeLog() }
        do {
            let port = try await Self.proxyPort(proxy)
            func tunnels() -> [String] {
                ((try? String(contentsOfFile: work + "/tunnels", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            }

            // Configured: every bank connection is a tunnel through it (removing the CURLOPT_PROXY setting fails).
            try await Self.connectAndRead(gateway: ["PASSERELLE_OUTBOUND_PROXY": "http://127.0.0.1:\(port)"])
            let through = tunnels()
            #expect(!through.isEmpty, "bank calls went through the proxy")
            #expect(through.allSatisfy { $0.hasPrefix("localhost:") }, "tunnels to the bank only: \(through)")

            // Not configured, the usual environment variables point at it: ignored (an empty CURLOPT_PROXY is what
            // stops libcurl from reading them; without it the tunnel count grows).
            let before = through.count
            try await Self.connectAndRead(gateway: [
                "https_proxy": "http://127.0.0.1:\(port)", "HTTPS_PROXY": "http://127.0.0.1:\(port)",
                "all_proxy": "http://127.0.0.1:\(port)", "ALL_PROXY": "http://127.0.0.1:\(port)",
            ])
            #expect(tunnels().count == before, "no tunnel when only *_proxy is set: \(tunnels())")
        } catch {
            await proxy.kill()
            throw error
        }
        await proxy.kill()
    }

    /// The first line the proxy prints is its port.
    static func proxyPort(_ proxy: ChildProcess) async throws -> Int {
        for _ in 0..<200 {
            if let line = proxy.log.split(separator: "\n").first, let port = Int(line.trimmingCharacters(in: .whitespaces)) {
                return port
            }
            if proxy.hasExited { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw ProcessFailure(description: "the proxy did not start: \(proxy.logTail())")
    }
}
