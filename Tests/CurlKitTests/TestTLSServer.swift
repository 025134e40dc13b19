import Foundation
import TestSupport

/// Runs `Support/tls_test_server.py` (Python `ssl`) on a free loopback port for one test, and stops it.
final class TestTLSServer: @unchecked Sendable {
    let process: Process
    let port: Int

    /// - Parameters:
    ///   - certificate: Server certificate name in the test PKI (`server`, `server-expired`, `server-wronghost`).
    ///   - requireClientCertificate: Verify client certificates against the test CA.
    ///   - noHandshake: Accept TCP connections and never start TLS.
    init(certificate: String = "server", requireClientCertificate: Bool = true, noHandshake: Bool = false) async throws {
        guard let script = Bundle.module.url(forResource: "Support/tls_test_server", withExtension: "py") else {
            throw TestServerError(message: "tls_test_server.py missing from the test bundle")
        }
        var arguments = [
            script.path, "--cert", try TestEnvironment.pki("\(certificate).crt"),
            "--key", try TestEnvironment.pki("\(certificate).key"),
        ]
        if requireClientCertificate { arguments += ["--client-ca", try TestEnvironment.pki("ca.crt")] }
        if noHandshake { arguments.append("--no-handshake") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        self.process = process
        // Read the "PORT n" line off the cooperative pool, with a bound.
        let handle = output.fileHandleForReading
        let line: String = try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                var bytes: [UInt8] = []
                while true {
                    let data = handle.readData(ofLength: 1)
                    if data.isEmpty || data.first == 0x0A { break }
                    bytes.append(contentsOf: data)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
            thread.start()
        }
        guard line.hasPrefix("PORT "), let port = Int(line.dropFirst(5)) else {
            process.terminate()
            throw TestServerError(message: "test TLS server did not start (\(line))")
        }
        self.port = port
    }

    /// `https://localhost:<port><path>`.
    func url(_ path: String) -> String { "https://localhost:\(port)\(path)" }

    /// Kills the server. SIGKILL, because children inherit the test runner's blocked SIGTERM; no
    /// `waitUntilExit` (it would block a cooperative thread), Foundation reaps the child.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit { stop() }
}

struct TestServerError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
