/// Code that wraps a handler: authentication, per-route policies, … The server's own middleware (request id,
/// error mapping, access log, metrics) always runs outside any of these.
///
/// ```swift
/// let api = router.wrapped(in: [APIKeyMiddleware(store: keys)])
/// ```
public protocol HTTPMiddleware: Sendable {
    /// Handles `request`, usually by calling `next` (or by answering / throwing without it).
    func handle(_ request: HTTPRequest, context: RequestContext, next: any HTTPHandler) async throws -> HTTPResponse
}

/// A handler behind one middleware.
struct MiddlewareHandler: HTTPHandler {
    let middleware: any HTTPMiddleware
    let next: any HTTPHandler

    func handle(_ request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        try await middleware.handle(request, context: context, next: next)
    }
}

extension HTTPHandler {
    /// This handler behind `middleware`, the first element outermost.
    public func wrapped(in middleware: [any HTTPMiddleware]) -> any HTTPHandler {
        middleware.reversed().reduce(self as any HTTPHandler) { MiddlewareHandler(middleware: $1, next: $0) }
    }
}
