import CurlKit
import GatewayLogging
import Testing
import TestSupport

/// Only idempotent GETs are retried (after a dropped connection or a 503); one audit record per call, with no
/// secret in it.
@Suite struct RetryAndAuditTests {
    @Test func getIsRetriedOnceAfterADroppedConnection() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let audit = InMemoryOutboundAuditSink()
        let transport = try Fixtures.transport(audit: audit)
        try await Fixtures.shuttingDown(transport) {
            let response = try await transport.send(.make(server.url("/drop-once"), identity: try Fixtures.identity()))
            #expect(response.status == 200)
            #expect(try Fixtures.json(response)["requests"] as? Int == 2)
            #expect(transport.countersSnapshot.retries == 1)
            #expect(audit.records.count == 1)
            #expect(audit.records.first?.attempts == 2)
        }
    }

    @Test(arguments: ["POST", "PUT", "PATCH", "DELETE"])
    func nonIdempotentRequestsAreNeverRetried(method: String) async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport()
        try await Fixtures.shuttingDown(transport) {
            let identity = try Fixtures.identity()
            let error = await Fixtures.outboundError {
                try await transport.send(
                    .make(server.url("/drop-always"), method: method, body: Array("{}".utf8), identity: identity))
            }
            #expect(error?.code == .connectionDropped, "\(String(describing: error))")
            let unavailable = try await transport.send(
                .make(server.url("/status/503"), method: method, body: Array("{}".utf8), identity: identity))
            #expect(unavailable.status == 503)
            // The server saw exactly one of each, then this GET.
            let check = try await transport.send(.make(server.url("/ok"), identity: identity))
            #expect(try Fixtures.json(check)["requests"] as? Int == 3)
            #expect(transport.countersSnapshot.retries == 0)
        }
    }

    @Test func getIsRetriedOn503UpToTheBound() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport()  // maxRetries 2
        try await Fixtures.shuttingDown(transport) {
            let identity = try Fixtures.identity()
            let response = try await transport.send(.make(server.url("/status/503"), identity: identity))
            #expect(response.status == 503)
            let check = try await transport.send(.make(server.url("/ok"), identity: identity))
            #expect(try Fixtures.json(check)["requests"] as? Int == 4)  // 1 + 2 retries, then this GET
        }
    }

    /// A request that counts against a bank budget (an unattended read) is sent once, whatever the failure.
    @Test func aGetThatMayNotBeRetriedIsSentOnce() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport()  // maxRetries 2
        try await Fixtures.shuttingDown(transport) {
            let identity = try Fixtures.identity()
            var request = OutboundRequest.make(server.url("/status/503"), identity: identity)
            request.mayRetry = false
            #expect(try await transport.send(request).status == 503)
            let check = try await transport.send(.make(server.url("/ok"), identity: identity))
            #expect(try Fixtures.json(check)["requests"] as? Int == 2)  // the 503 once, then this GET
        }
        #expect(transport.countersSnapshot.retries == 0)
    }

    @Test func a503AskingForMorePatienceThanTheBackoffIsNotRetried() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport()  // maxDelay 50 ms
        try await Fixtures.shuttingDown(transport) {
            let identity = try Fixtures.identity()
            let response = try await transport.send(.make(server.url("/status/503?retry-after=30"), identity: identity))
            #expect(response.status == 503)
            #expect(response.header("Retry-After") == "30")
            let check = try await transport.send(.make(server.url("/ok"), identity: identity))
            #expect(try Fixtures.json(check)["requests"] as? Int == 2)
        }
    }

    @Test func postBodyAndMethodReachTheServer() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport()
        try await Fixtures.shuttingDown(transport) {
            let response = try await transport.send(
                .make(server.url("/ok"), method: "POST", headers: [("Content-Type", "application/json")],
                      body: Array(#"{"a":1}"#.utf8), identity: try Fixtures.identity()))
            let json = try Fixtures.json(response)
            #expect(json["method"] as? String == "POST")
            #expect(json["bodyLength"] as? Int == 7)
        }
    }

    @Test func auditRecordsOneRowPerCallWithoutSecrets() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let audit = InMemoryOutboundAuditSink()
        let transport = try Fixtures.transport(audit: audit) { $0.retry = .none }
        try await Fixtures.shuttingDown(transport) {
            let identity = try Fixtures.identity()
            let token = "tok-7f3a9c1e5b2d4f60"
            let iban = "FR7630006000011234567890189"
            var request = OutboundRequest.make(
                server.url("/ok?iban=\(iban)"), method: "POST",
                headers: [("X-Request-ID", "req-123"), ("Authorization", "Bearer \(token)"), ("Signature", "sig-secret")],
                body: Array(#"{"iban":"\#(iban)"}"#.utf8), identity: identity)
            request.signedHeaderNames = ["x-request-id", "digest"]
            _ = try await transport.send(request)
            request.url = server.url("/drop-always")
            _ = await Fixtures.outboundError { try await transport.send(request) }

            let records = audit.records
            #expect(records.count == 2)
            let ok = try #require(records.first)
            #expect(ok.requestID == "req-123")
            #expect(ok.bankID == "test:bank")
            #expect(ok.method == "POST")
            #expect(ok.pathTemplate == "/test/{id}")
            #expect(ok.signedHeaderNames == ["x-request-id", "digest"])
            #expect(ok.status == 200)
            #expect(ok.bankCorrelationID == "bank-1")
            #expect(ok.bytesSent > request.body.count)
            #expect(ok.bytesReceived > 0)
            #expect(ok.errorKind == nil)
            let failed = records[1]
            #expect(failed.status == nil)
            #expect(failed.errorKind == "connection_dropped")

            let keyLine = String(try TestEnvironment.pkiContents("qwac.key").split(separator: "\n")[1])
            let dump = records.map { String(reflecting: $0) }.joined(separator: "\n")
            for secret in [token, iban, "sig-secret", keyLine, "Bearer"] {
                #expect(!dump.contains(secret), "audit record leaks \(secret.prefix(4))…")
            }
        }
    }
}
