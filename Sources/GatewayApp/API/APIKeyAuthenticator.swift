import GatewayCore
import GatewayLogging
import HTTPServerKit

/// Accepts a request carrying `Authorization: Bearer <api key>` for a live key. Every `/v1` route is declared
/// behind it (`Router.Builder.authenticated(by:_:)`, checked at start-up by `build(requiringAuthenticationUnder:)`),
/// so the decision follows the route that matched, never the path's spelling. A missing or invalid key is a 401
/// problem before the handler reads anything of the request. The principal named in the access log is the key's
/// id, never the key. Wrong keys cost no database transaction once seen (`APIKeyStore`'s caches), and a peer
/// presenting many different unknown keys is throttled (`AuthenticationThrottle`).
public struct APIKeyAuthenticator: RequestAuthenticator {
    let keys: APIKeyStore
    let throttle: AuthenticationThrottle

    init(keys: APIKeyStore, throttle: AuthenticationThrottle = AuthenticationThrottle()) {
        self.keys = keys
        self.throttle = throttle
    }

    public func authenticate(_ request: HTTPRequest, context: RequestContext) async throws -> String {
        guard let header = request.headers["Authorization"], header.utf8.count > 7,
            ASCII.equalsIgnoringCase(String(header.prefix(7)), "bearer ")
        else {
            throw GatewayError.unauthorized
        }
        let key = APIKeyStore.PresentedKey(String(header.dropFirst(7)).trimmingWhitespace())
        switch keys.cachedVerdict(key) {
        case .valid(let id): return id.uuidString.lowercased()
        case .invalid: throw GatewayError.unauthorized
        case nil: break
        }
        let peer = request.remoteAddress ?? "-"
        if let retryAfter = throttle.retryAfter(peer: peer) {
            throw GatewayError.authenticationThrottled(retryAfter: retryAfter)
        }
        guard let id = try await keys.authenticate(key) else {
            throttle.recordFailure(peer: peer)
            throw GatewayError.unauthorized
        }
        return id.uuidString.lowercased()
    }
}
