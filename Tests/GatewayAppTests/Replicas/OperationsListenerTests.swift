import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `PASSERELLE_OPS_PORT` (docs/operations.md, "Failure modes"): `/health`, `/ready` and `/metrics` on a listener
/// of their own, answered while the API listener is full of connections that send nothing useful.
@Suite struct OperationsListenerTests {
    @Test(.timeLimit(.minutes(2)))
    func probesAnswerOnTheOperationsPortWhileTheAPIListenerIsFull() async throws {
        guard let binary = TestEnvironment.executablePath() else {
            throw ProcessFailure(description: "PASSERELLE_TEST_BINARY is not set: run the suite with scripts/test")
        }
        try await TestDatabases.with { database in
            let process = try ChildProcess.spawn(
                name: "serve-ops", executable: binary, arguments: ["serve"],
                environment: [
                    "PASSERELLE_DATABASE_URL": database, "PASSERELLE_HTTP_HOST": "127.0.0.1", "PASSERELLE_HTTP_PORT": "0",
                    "PASSERELLE_OPS_PORT": "0", "PASSERELLE_MASTER_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                    "PASSERELLE_HTTP_MAX_CONNECTIONS": "4", "PASSERELLE_HTTP_MAX_CONNECTIONS_PER_PEER": "0",
                    "PASSERELLE_HTTP_HEADER_TIMEOUT_SECONDS": "60", "PASSERELLE_TOKEN_REFRESHER_INTERVAL_SECONDS": "0",
                    "PASSERELLE_SHUTDOWN_GRACE_SECONDS": "1", "PASSERELLE_LOG_LEVEL": "info",
                ])
            do {
                let listening = try await process.waitForLine(containing: "\"message\":\"listening\"")
                let apiPort = try ReplicaCluster.port(in: listening, key: "http.port")
                let opsPort = try ReplicaCluster.port(in: listening, key: "ops.port")
                _ = try await process.waitForLine(containing: "\"message\":\"ready\"")

                // Four connections in the middle of a request fill the API listener; a fifth waits in its backlog.
                // (A silent connection would be reclaimed for the newcomer: these have started a request.)
                var held = try (0..<4).map { _ in try LoopbackSocket(port: apiPort) }
                for socket in held { try socket.send("GET /health HTTP/1.1\r\n") }
                try await Task.sleep(for: .milliseconds(200))
                held.append(try LoopbackSocket(port: apiPort))
                try held[4].send("GET /health HTTP/1.1\r\nHost: a\r\n\r\n")
                let fifthAnswered = await held[4].receivesWithin(milliseconds: 500)

                let ops = TestHTTPClient(port: opsPort)
                let health = try await ops.send("GET", "/health")
                let ready = try await ops.send("GET", "/ready")
                let metrics = try await ops.send("GET", "/metrics")
                let api = try await ops.send("GET", "/v1/banks")
                #expect(fifthAnswered == false, "the API listener is full")
                #expect(health.status == 200)
                #expect(ready.status == 200, "\(ready.text)")
                #expect(metrics.status == 200 && metrics.text.contains("http_open_connections"))
                #expect(api.status == 404, "the operations listener serves the operations routes only")
                withExtendedLifetime(held) {}
                #expect(await process.terminate(within: .seconds(20)) == 0)
            } catch {
                await process.kill()
                throw error
            }
            process.removeLog()
        }
    }
}

/// A blocking loopback TCP socket for raw sends (closed on deinit).
final class LoopbackSocket: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let failure = connectLoopback(fd, port: port)
        if failure != 0 { throw ProcessFailure(description: "connect to \(port) failed: errno \(failure)") }
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
        if n != bytes.count { throw ProcessFailure(description: "send failed: errno \(errno)") }
    }

    /// True when some byte arrives within the time given (the wait blocks a thread of its own).
    func receivesWithin(milliseconds: Int) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.blockingReceive(milliseconds: milliseconds)) }.start()
        }
    }

    private func blockingReceive(milliseconds: Int) -> Bool {
        var tv = timeval(tv_sec: 0, tv_usec: suseconds_t(milliseconds * 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 256)
        return recv(fd, &buffer, buffer.count, 0) > 0
    }
}
