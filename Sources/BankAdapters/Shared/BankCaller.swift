import CurlKit
import Foundation
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
        let (outbound, _) = try builder.build(request, context: context)
        let outboundID = outbound.header("X-Request-ID") ?? "-"
        let response: OutboundResponse
        do {
            response = try await dependencies.transport.send(outbound)
        } catch let error as OutboundError {
            context.logger.debug(
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
        throw STETErrorClassifier.classify(
            status: response.status, headers: response.headers, body: response.body, kind: kind)
    }
}
