import CurlKit
import Testing
import TestSupport

/// Mutual TLS against a real TLS server on loopback: the right certificate works, anything else is refused
/// with a clear, typed error — never downgraded.
@Suite struct MutualTLSTests {
    @Test func rightClientCertificateSucceeds() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport()
        try await Fixtures.shuttingDown(transport) {
            let response = try await transport.send(.make(server.url("/ok"), identity: try Fixtures.identity()))
            #expect(response.status == 200)
            #expect(response.header("x-request-id") == "bank-1")
            #expect(try Fixtures.json(response)["method"] as? String == "GET")
        }
    }

    @Test func missingClientCertificateIsRejected() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport { $0.retry = .none }
        try await Fixtures.shuttingDown(transport) {
            let error = await Fixtures.outboundError { try await transport.send(.make(server.url("/ok"))) }
            #expect(error?.code == .tlsClientCertificateRejected, "\(String(describing: error))")
            #expect(error?.bankID == "test:bank")
            #expect(error?.host == "localhost:\(server.port)")
        }
    }

    @Test func clientCertificateFromAnotherCAIsRejected() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport { $0.retry = .none }
        try await Fixtures.shuttingDown(transport) {
            let identity = try Fixtures.identity("rogue-client")
            let error = await Fixtures.outboundError {
                try await transport.send(.make(server.url("/ok"), identity: identity))
            }
            #expect(error?.code == .tlsClientCertificateRejected, "\(String(describing: error))")
            // The error names what failed but carries none of the key.
            let keyLine = try TestEnvironment.pkiContents("rogue-client.key").split(separator: "\n")[1]
            #expect(!(error?.description.contains(keyLine) ?? true))
        }
    }

    @Test func unusableClientKeyIsReportedAsOurs() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport { $0.retry = .none }
        try await Fixtures.shuttingDown(transport) {
            var identity = try Fixtures.identity()
            identity.privateKeyPEM = try Fixtures.identity("qwac2").privateKeyPEM  // key of another certificate
            let error = await Fixtures.outboundError {
                try await transport.send(.make(server.url("/ok"), identity: identity))
            }
            #expect(error?.code == .tlsClientIdentityInvalid, "\(String(describing: error))")
        }
    }

    @Test(arguments: [
        ("server", "rogue-ca.crt", OutboundError.Code.tlsServerUntrusted),
        ("server-expired", "ca.crt", OutboundError.Code.tlsServerUntrusted),
        ("server-wronghost", "ca.crt", OutboundError.Code.tlsHostnameMismatch),
    ])
    func badServerCertificateIsRefused(certificate: String, trust: String, expected: OutboundError.Code) async throws {
        let server = try await TestTLSServer(certificate: certificate)
        defer { server.stop() }
        let transport = try Fixtures.transport(trust: trust)
        try await Fixtures.shuttingDown(transport) {
            let error = await Fixtures.outboundError {
                try await transport.send(.make(server.url("/ok"), identity: try Fixtures.identity()))
            }
            #expect(error?.code == expected, "\(String(describing: error))")
            if certificate == "server-expired" { #expect(error?.message.contains("expired") == true) }
        }
    }

    @Test func systemStoreDoesNotTrustTheTestCA() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport { $0.trustAnchors = .system }
        try await Fixtures.shuttingDown(transport) {
            let error = await Fixtures.outboundError {
                try await transport.send(.make(server.url("/ok"), identity: try Fixtures.identity()))
            }
            #expect(error?.code == .tlsServerUntrusted, "\(String(describing: error))")
        }
    }

    @Test func trustAnchorsFromMemoryWork() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let ca = Array(try TestEnvironment.pkiContents("ca.crt").utf8)
        let transport = try Fixtures.transport { $0.trustAnchors = .pem(ca) }
        try await Fixtures.shuttingDown(transport) {
            let response = try await transport.send(.make(server.url("/ok"), identity: try Fixtures.identity()))
            #expect(response.status == 200)
        }
    }
}
