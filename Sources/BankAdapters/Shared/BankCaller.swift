import CurlKit
import FoundationEssentials
import GatewayCore
import GatewayLogging

/// Sends `BankCall`s for one bank client and turns every failure into the shared `AdapterError` taxonomy:
/// a non-2xx answer is classified by `STETErrorClassifier` (only the bank's short code and message are kept), a
/// transport failure becomes `.timeout` or `.transport`, cancellation stays `CancellationError`.
struct BankCaller: Sendable {
    let client: BankClient
    let dependencies: AdapterDependencies

    var builder: BankCallBuilder { BankCallBuilder(client: client, dependencies: dependencies) }

    /// Sends `request`; returns the response when its status is 2xx or in `passThrough`.
    /// - Throws: `AdapterError` for any other status or a transport failure.
    func send(
        _ request: BankCall, kind: STETErrorClassifier.CallKind, context: AdapterContext,
        passThrough: Set<Int> = []
    ) async throws -> OutboundResponse {
        var (outbound, _) = try builder.build(request, context: context)
        // A resource read without the customer present counts against the bank's unattended budget request by
        // request: never sent twice behind the service's back (docs/adapters.md "Unattended budget").
        if kind == .resource, !context.psu.isAttended { outbound.mayRetry = false }
        let outboundID = outbound.header("X-Request-ID") ?? "-"
        let response: OutboundResponse
        do {
            response = try await dependencies.transport.send(outbound)
        } catch let error as OutboundError {
            context.logger.warning(
                "bank call failed",
                metadata: [
                    "bank": client.bank.id.description, "outbound.request_id": outboundID,
                    "outbound.path": request.pathTemplate, "error": error.description,
                ])
            switch error.code {
            case .timeout: throw AdapterError.timeout
            case .cancelled: throw CancellationError()
            default: throw AdapterError.transport(reason: error.description)
            }
        }
        context.logger.debug(
            "bank call",
            metadata: [
                "bank": client.bank.id.description, "outbound.request_id": outboundID,
                "outbound.method": request.method, "outbound.path": request.pathTemplate,
                "outbound.status": String(response.status),
            ])
        if (200..<300).contains(response.status) || passThrough.contains(response.status) { return response }
        let error = Self.refiningUnauthorized(
            STETErrorClassifier.classify(status: response.status, headers: response.headers, body: response.body, kind: kind),
            response: response)
        // A bank's 5xx is worth an operator's eye; a 4xx is the bank's answer to this call (the API says which).
        let metadata = [
            "bank": client.bank.id.description, "outbound.request_id": outboundID, "outbound.path": request.pathTemplate,
            "outbound.status": String(response.status), "error": error.description,
        ]
        if response.status >= 500 {
            context.logger.warning("bank answered an error", metadata: metadata)
        } else {
            context.logger.info("bank refused the call", metadata: metadata)
        }
        throw error
    }

    /// A 401 on a resource call means "refresh and retry" (`tokenExpired`), a 403 a refused request (`rejected`),
    /// unless the bank says it refused our signature or certificate: no `WWW-Authenticate: Bearer
    /// error="invalid_token"` and a message naming the signature, the certificate or the key id. That is
    /// `unauthorized` (the TPP's credentials), which a token refresh would not fix.
    static func refiningUnauthorized(_ error: AdapterError, response: OutboundResponse) -> AdapterError {
        switch error {
        case .tokenExpired, .rejected(403, _, _): break
        default: return error
        }
        if response.header("WWW-Authenticate")?.lowercased().contains("invalid_token") == true { return error }
        let credentialsRefused = STETErrorClassifier.classify(
            status: response.status, headers: response.headers, body: response.body, kind: .registration)
        guard case .unauthorized(_, _, let message) = credentialsRefused,
            let text = message?.lowercased(),
            ["signature", "certificate", "keyid", "qwac", "qsealc"].contains(where: text.contains)
        else { return error }
        return credentialsRefused
    }
}
