import Foundation
import GatewayLogging
import HTTPServerKit
import Testing

@testable import BankSimulator

/// A few requests over real TLS sockets (the in-process server of HTTPServerKit on port 0, curl as the client).
@Suite struct LiveTLSTests {
    struct CurlResult {
        var status: Int
        var body: String
        var exitCode: Int32
    }

    /// Runs curl without blocking the cooperative pool.
    static func curl(_ args: [String]) async throws -> CurlResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-sS", "--max-time", "20", "-w", "\n%{http_code}"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        let code: Int32 = try await withCheckedThrowingContinuation { c in
            p.terminationHandler = { c.resume(returning: $0.terminationStatus) }
            do { try p.run() } catch { c.resume(throwing: error) }
        }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return CurlResult(
            status: Int(lines.last ?? "") ?? 0, body: lines.dropLast().joined(separator: "\n"), exitCode: code)
    }

    func withServer(_ body: @Sendable (SimulatorHarness, Int) async throws -> Void) async throws {
        let h = try SimulatorHarness()
        let tls = TLSConfiguration(
            certificateChain: .file(h.pki + "/server-chain.pem"), privateKey: .file(h.pki + "/server.key"),
            clientVerification: .optional(trustRoots: .file(h.pki + "/ca.crt")))
        let server = try HTTPServer(
            configuration: .init(host: "127.0.0.1", port: 0, tls: tls), handler: h.simulator,
            logger: Logger(label: "simulator-live", level: .warning, sink: h.sink))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await server.run() }
            defer { server.shutdown(gracePeriod: .seconds(1)) }
            try await body(h, server.boundPort)
        }
    }

    @Test func registrationOverMutualTLS() async throws {
        try await withServer { h, port in
            let base = "https://localhost:\(port)"
            let ca = ["--cacert", h.pki + "/ca.crt"]
            let body = try h.eiRegistrationBody().rendered
            let ok = try await Self.curl(
                ca + [
                    "--cert", h.pki + "/qwac.crt", "--key", h.pki + "/qwac.key",
                    "-H", "Content-Type: application/json", "--data-binary", body,
                    base + "/sandbox/cic/oauth2/registrations",
                ])
            #expect(ok.status == 201, "\(ok.body)")
            #expect(JSON.parse(Array(ok.body.utf8))?["client_id"]?.stringValue?.count == 40)
            // No client certificate: TLS succeeds (optional), the bank refuses.
            let anonymous = try await Self.curl(
                ca + [
                    "-H", "Content-Type: application/json", "--data-binary", body,
                    base + "/sandbox/cic/oauth2/registrations",
                ])
            #expect(anonymous.status == 401)
            // A certificate from another CA: the handshake fails.
            let rogue = try await Self.curl(
                ca + [
                    "--cert", h.pki + "/rogue-client.crt", "--key", h.pki + "/rogue-client.key",
                    base + "/sandbox/cic/oauth2/registrations",
                ])
            #expect(rogue.status == 0 && rogue.exitCode != 0)
        }
    }

    @Test func dropFaultClosesTheConnectionWithoutAnyResponse() async throws {
        try await withServer { h, port in
            let dropped = try await Self.curl([
                "--cacert", h.pki + "/ca.crt", "--cert", h.pki + "/qwac.crt", "--key", h.pki + "/qwac.key",
                "-H", "X-Simulator-Fault: drop", "https://localhost:\(port)/sandbox/cic/stet-psd2-api/v2.1/accounts",
            ])
            #expect(dropped.exitCode == 52, "curl: empty reply from server (got exit \(dropped.exitCode), \(dropped.body))")
            #expect(dropped.status == 0)
        }
    }

    @Test func bpceTokenByPathPrefixAndFaultOverTLS() async throws {
        try await withServer { h, port in
            let base = "https://localhost:\(port)"
            let tlsArgs = ["--cacert", h.pki + "/ca.crt", "--cert", h.pki + "/qwac.crt", "--key", h.pki + "/qwac.key"]
            let token = try await Self.curl(
                tlsArgs + [
                    "-d", "client_id=PSD2_TPPRegister&grant_type=client_credentials&scope=manageRegistration",
                    base + "/bpce/13807/stet/psd2/oauth/token",
                ])
            #expect(token.status == 200, "\(token.body)")
            #expect(JSON.parse(Array(token.body.utf8))?["access_token"]?.stringValue != nil)
            let down = try await Self.curl(
                tlsArgs + ["-H", "X-Simulator-Fault: 503", base + "/bpce/13807/stet/psd2/v1/accounts"])
            #expect(down.status == 503 && down.body == "ERREUR Technique")
            let counters = try await Self.curl(["--cacert", h.pki + "/ca.crt", base + "/__simulator/counters"])
            #expect(JSON.parse(Array(counters.body.utf8))?["requestsByBank"]?["bpce:13807"]?.decimalText == "2.0")
        }
    }
}
