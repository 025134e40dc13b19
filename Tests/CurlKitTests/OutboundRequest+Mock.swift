import CurlKit
import Foundation
import GatewayLogging
import TestSupport

extension OutboundRequest {
    /// A request with test defaults: GET, 10 s deadline, bank `test:bank`, path template = path.
    static func make(
        _ url: String, method: String = "GET", headers: [(name: String, value: String)] = [],
        body: [UInt8] = [], timeout: Duration = .seconds(10), identity: TLSClientIdentity? = nil
    ) -> OutboundRequest {
        OutboundRequest(
            method: method, url: url, headers: headers, body: body, timeout: timeout, identity: identity,
            bankID: "test:bank", pathTemplate: "/test/{id}")
    }
}

enum Fixtures {
    /// A client identity from the test PKI (`qwac`, `qwac2`, `rogue-client`).
    static func identity(_ name: String = "qwac") throws -> TLSClientIdentity {
        TLSClientIdentity(
            id: name, certificatePEM: Array(try TestEnvironment.pkiContents("\(name).crt").utf8),
            privateKeyPEM: Secret(Array(try TestEnvironment.pkiContents("\(name).key").utf8)))
    }

    /// A transport trusting the test CA (or `trust`), with short test timeouts.
    static func transport(
        trust: String = "ca.crt", audit: any OutboundAuditSink = DiscardingOutboundAuditSink(),
        _ adjust: (inout CurlTransport.Configuration) -> Void = { _ in }
    ) throws -> CurlTransport {
        var configuration = CurlTransport.Configuration()
        configuration.trustAnchors = .pemFile(try TestEnvironment.pki(trust))
        configuration.connectTimeout = .seconds(5)
        configuration.reactors = 2
        configuration.retry = RetryPolicy(maxRetries: 2, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50))
        adjust(&configuration)
        return try CurlTransport(
            configuration: configuration, auditSink: audit, logger: Logger(label: "test.curl", level: .error))
    }

    /// Runs `body`, then shuts `transport` down (also when `body` throws): `shutdown` is async, so it cannot be
    /// deferred.
    static func shuttingDown<T>(_ transport: CurlTransport, _ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await transport.shutdown()
            return result
        } catch {
            await transport.shutdown()
            throw error
        }
    }

    /// The server's JSON answer from `/ok`.
    static func json(_ response: OutboundResponse) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
    }

    /// Runs `body` and returns the `OutboundError` it throws (nil if it did not throw one).
    static func outboundError(_ body: () async throws -> OutboundResponse) async -> OutboundError? {
        do {
            _ = try await body()
            return nil
        } catch let error as OutboundError {
            return error
        } catch {
            return nil
        }
    }
}
