/// Matches method + path templates such as `/v1/registrations/{id}`. Built once with `Router.Builder`,
/// then immutable and `Sendable`. Unknown paths answer 404, a known path with another method 405 with `Allow`.
///
/// The router is itself an `HTTPHandler`: it binds `pathParameters`, sets `context.route` to the template
/// (so access logs and metrics never contain identifiers) and calls the route's handler.
public struct Router: HTTPHandler {
    /// One registered route.
    public struct Route: Sendable {
        public let method: HTTPMethod
        public let template: String
        let segments: [Segment]
        let handler: any HTTPHandler
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    /// Collects routes before the router is frozen.
    public struct Builder: Sendable {
        private var routes: [Route] = []
        public init() {}

        /// Adds a route. `template` is a path with `{name}` segments.
        public mutating func add(_ method: HTTPMethod, _ template: String, _ handler: any HTTPHandler) {
            let segments = template.split(separator: "/").map { part -> Segment in
                if part.hasPrefix("{") && part.hasSuffix("}") { return .parameter(String(part.dropFirst().dropLast())) }
                return .literal(String(part))
            }
            routes.append(Route(method: method, template: template, segments: segments, handler: handler))
        }

        /// Adds a route answered by a closure.
        public mutating func add(
            _ method: HTTPMethod, _ template: String,
            _ body: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse
        ) {
            add(method, template, ClosureHandler(body))
        }

        public func build() -> Router { Router(routes: routes) }
    }

    /// Every route, for documentation checks (e.g. that each one is in the OpenAPI document).
    public let routes: [Route]

    /// The outcome of matching a request against the table.
    public enum Match {
        case found(Route, [String: String])
        case methodNotAllowed(allow: [HTTPMethod])
        case notFound
    }

    /// Finds the route for `method` and decoded `segments`. `HEAD` falls back to `GET`.
    public func match(method: HTTPMethod, segments: [String]) -> Match {
        var allowed: [HTTPMethod] = []
        var fallback: (Route, [String: String])?
        for route in routes {
            guard let params = Self.bind(route.segments, to: segments) else { continue }
            if route.method == method { return .found(route, params) }
            if method == .head && route.method == .get { fallback = (route, params) }
            allowed.append(route.method)
        }
        if let fallback { return .found(fallback.0, fallback.1) }
        if allowed.isEmpty { return .notFound }
        if allowed.contains(.get) && !allowed.contains(.head) { allowed.append(.head) }
        return .methodNotAllowed(allow: allowed)
    }

    public func handle(_ request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        switch match(method: request.method, segments: request.pathSegments) {
        case .found(let route, let params):
            var request = request
            request.pathParameters = params
            var context = context
            context.route = route.template
            context.routeRecorder?.record(route.template)
            return try await route.handler.handle(request, context: context)
        case .methodNotAllowed(let allow):
            throw RoutingError.methodNotAllowed(allow: allow.map(\.rawValue))
        case .notFound:
            throw RoutingError.notFound(path: request.path)
        }
    }

    private static func bind(_ template: [Segment], to segments: [String]) -> [String: String]? {
        guard template.count == segments.count else { return nil }
        var params: [String: String] = [:]
        for (t, s) in zip(template, segments) {
            switch t {
            case .literal(let lit): if lit != s { return nil }
            case .parameter(let name):
                if s.isEmpty { return nil }
                params[name] = s
            }
        }
        return params
    }
}

/// Thrown by the router; the error middleware maps these to 404 / 405 problems.
public enum RoutingError: Error, Sendable, Equatable {
    case notFound(path: String)
    case methodNotAllowed(allow: [String])
}
