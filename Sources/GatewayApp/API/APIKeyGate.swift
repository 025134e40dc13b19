import GatewayCore
import GatewayLogging
import HTTPServerKit

/// Requires `Authorization: Bearer <api key>` on every `/v1` route; other paths (health, readiness, metrics,
/// the OpenAPI document) pass through. A missing or invalid key is a 401 problem, before routing.
public struct APIKeyGate: HTTPHandler {
    let next: any HTTPHandler
    let keys: APIKeyStore

    public init(next: any HTTPHandler, keys: APIKeyStore) {
        self.next = next
        self.keys = keys
    }

    public func handle(_ request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        guard request.path == "/v1" || request.path.hasPrefix("/v1/") else {
            return try await next.handle(request, context: context)
        }
        guard let header = request.headers["Authorization"], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else {
            throw GatewayError.unauthorized
        }
        let key = String(header.dropFirst(7)).trimmingWhitespace()
        guard let id = try await keys.authenticate(key) else { throw GatewayError.unauthorized }
        var context = context
        context.logger[metadataKey: "api_key.id"] = id.uuidString.lowercased()
        return try await next.handle(request, context: context)
    }
}
