/// Matches method + path templates such as `/v1/registrations/{id}`. Built once with `Router.Builder`,
/// then immutable and `Sendable`. Unknown paths answer 404, a known path with another method 405 with `Allow`.
///
/// The router is itself an `HTTPHandler`: it binds `pathParameters`, sets `context.route` to the template
/// (so access logs and metrics never contain identifiers), runs the route's declared `RouteAccess` check and
/// calls the route's handler. Authentication is a property of the route that matched, declared when it was
/// added, never a test on the path's spelling (the path itself is canonical: `RequestTarget`).
public struct Router: HTTPHandler {
    /// One registered route.
    public struct Route: Sendable {
        public let method: HTTPMethod
        public let template: String
        /// Who may call it.
        public let access: RouteAccess
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
        /// The access given to the routes `add` adds (changed only inside `authenticated(by:_:)`).
        private var access: RouteAccess = .public
        public init() {}

        /// Adds a route. `template` is a path with `{name}` segments.
        public mutating func add(_ method: HTTPMethod, _ template: String, _ handler: any HTTPHandler) {
            let segments = template.split(separator: "/").map { part -> Segment in
                if part.hasPrefix("{") && part.hasSuffix("}") { return .parameter(String(part.dropFirst().dropLast())) }
                return .literal(String(part))
            }
            routes.append(
                Route(method: method, template: template, access: access, segments: segments, handler: handler))
        }

        /// Every route `body` adds requires `authenticator` to accept the request before its handler runs.
        public mutating func authenticated(
            by authenticator: any RequestAuthenticator, _ body: (inout Builder) -> Void
        ) {
            let outer = access
            access = .authenticated(authenticator)
            body(&self)
            access = outer
        }

        /// Adds a route answered by a closure.
        public mutating func add(
            _ method: HTTPMethod, _ template: String,
            _ body: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse
        ) {
            add(method, template, ClosureHandler(body))
        }

        public func build() -> Router { Router(routes: routes) }

        /// The router, after checking that every route whose template starts with `prefix` (e.g. `/v1`) was added
        /// inside `authenticated(by:_:)`: a route forgotten outside it stops the process at start-up.
        public func build(requiringAuthenticationUnder prefix: String) -> Router {
            for route in routes where route.template == prefix || route.template.hasPrefix(prefix + "/") {
                guard case .authenticated = route.access else {
                    preconditionFailure("route \(route.method) \(route.template) under \(prefix) is not authenticated")
                }
            }
            return build()
        }
    }

    /// Every route, for documentation checks (e.g. that each one is in the OpenAPI document).
    public let routes: [Route]
    /// The routes by their number of segments, each list in declaration order: a path is only compared with the
    /// routes of its length (matching runs for every request; scanning every route cost a profile's percent).
    private let routesByLength: [Int: [Route]]

    init(routes: [Route]) {
        self.routes = routes
        routesByLength = Dictionary(grouping: routes, by: \.segments.count)
    }

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
        for route in routesByLength[segments.count] ?? [] {
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
            if case .authenticated(let authenticator) = route.access {
                let principal = try await authenticator.authenticate(request, context: context)
                context.principal = principal
                context.routeRecorder?.record(principal: principal)
                context.logger[metadataKey: "auth.principal"] = principal
            }
            return try await route.handler.handle(request, context: context)
        case .methodNotAllowed(let allow):
            throw RoutingError.methodNotAllowed(allow: allow.map(\.rawValue))
        case .notFound:
            throw RoutingError.notFound(path: request.path)
        }
    }

    private static func bind(_ template: [Segment], to segments: [String]) -> [String: String]? {
        guard template.count == segments.count else { return nil }
        // Literals first, so that a route that does not match costs no dictionary.
        for (t, s) in zip(template, segments) {
            switch t {
            case .literal(let lit): if lit != s { return nil }
            case .parameter: if s.isEmpty { return nil }
            }
        }
        var params: [String: String] = [:]
        for (t, s) in zip(template, segments) {
            if case .parameter(let name) = t { params[name] = s }
        }
        return params
    }
}

/// Who may call a route.
public enum RouteAccess: Sendable {
    /// Anyone (health, readiness, metrics, documents).
    case `public`
    /// Only a request the authenticator accepts.
    case authenticated(any RequestAuthenticator)
}

/// Decides whether a request may reach an authenticated route.
public protocol RequestAuthenticator: Sendable {
    /// The caller's identity to name in the access log (an id, never a secret), or a thrown error (typically
    /// a 401 problem) when the request is not authenticated.
    func authenticate(_ request: HTTPRequest, context: RequestContext) async throws -> String
}

/// Thrown by the router; the error middleware maps these to 404 / 405 problems.
public enum RoutingError: Error, Sendable, Equatable {
    case notFound(path: String)
    case methodNotAllowed(allow: [String])
}
