import GatewayLogging
import Synchronization

/// An HTTP method token (RFC 9110 §9). Unknown methods are representable so the server can answer 501.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let get = HTTPMethod(rawValue: "GET")
    public static let head = HTTPMethod(rawValue: "HEAD")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let put = HTTPMethod(rawValue: "PUT")
    public static let patch = HTTPMethod(rawValue: "PATCH")
    public static let delete = HTTPMethod(rawValue: "DELETE")
    public static let options = HTTPMethod(rawValue: "OPTIONS")
    public static let trace = HTTPMethod(rawValue: "TRACE")
    public static let connect = HTTPMethod(rawValue: "CONNECT")

    public var description: String { rawValue }
}

/// Ordered header fields; names compare case-insensitively, values are kept as received.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? {
        fields.first { ASCII.equalsIgnoringCase($0.name, name) }?.value
    }

    /// Every value of `name`, in message order.
    public func values(for name: String) -> [String] {
        fields.filter { ASCII.equalsIgnoringCase($0.name, name) }.map(\.value)
    }

    /// Room for `count` fields without growing (the parser sizes a request's headers once).
    public mutating func reserveCapacity(_ count: Int) { fields.reserveCapacity(count) }

    /// Appends a field (several fields may share a name).
    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    /// Replaces every field named `name` with one field.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name: name, value: value))
    }

    /// Removes every field named `name`.
    public mutating func remove(_ name: String) { fields.removeAll { ASCII.equalsIgnoringCase($0.name, name) } }

    public func contains(_ name: String) -> Bool { fields.contains { ASCII.equalsIgnoringCase($0.name, name) } }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}

/// A parsed request as handlers see it.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The request target exactly as on the request line (origin-form: path and query, still percent-encoded).
    /// This is what a Cavage `(request-target)` signs.
    public let target: String
    /// The path part of `target`, still percent-encoded (canonical: see `RequestTarget`).
    public var path: String { parsedTarget.path }
    /// The path split on `/`, each segment percent-decoded separately (so `%2F` could never split a segment).
    public var pathSegments: [String] { parsedTarget.segments }
    /// Query parameters in order, percent-decoded (`+` is a space).
    public var query: [RequestTarget.QueryItem] { parsedTarget.query }
    /// The target as parsed once, by the one path rule (`RequestTarget`).
    public let parsedTarget: RequestTarget
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// `(1, 1)` for HTTP/1.1.
    public var version: (major: Int, minor: Int)
    /// Parameters bound by the router from the path template, e.g. `id` for `/v1/registrations/{id}`.
    public var pathParameters: [String: String]
    /// The DER of the client certificate verified during the TLS handshake, when the listener asks for one.
    public var peerCertificateDER: [UInt8]?
    /// The chain OpenSSL verified for that certificate, leaf first and trust anchor last (empty without one).
    public var peerCertificateChainDER: [[UInt8]] = []
    /// The peer's IP address, e.g. `127.0.0.1`.
    public var remoteAddress: String?

    /// - Throws: `RequestTarget.Refusal` when `target` is not a canonical origin-form target.
    public init(
        method: HTTPMethod, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
        version: (major: Int, minor: Int) = (1, 1)
    ) throws(RequestTarget.Refusal) {
        self.method = method
        self.target = target
        self.parsedTarget = try RequestTarget(target)
        self.headers = headers
        self.body = body
        self.version = version
        self.pathParameters = [:]
        self.peerCertificateDER = nil
        self.remoteAddress = nil
    }
}

/// A response built by a handler. The server adds `Date`, `Content-Length` and `Connection` itself.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response with a UTF-8 body and the given content type.
    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8")
        -> HTTPResponse
    {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: Array(text.utf8))
    }

    /// A response whose body is already-encoded JSON.
    public static func json(_ status: Int, _ body: [UInt8], contentType: String = "application/json; charset=utf-8")
        -> HTTPResponse
    {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: body)
    }
}

/// What a handler gets besides the request: the request id and a logger carrying it.
public struct RequestContext: Sendable {
    /// The `X-Request-Id` accepted from the caller or generated.
    public var requestID: String
    /// A logger whose metadata includes `request.id`.
    public var logger: Logger
    /// The matched route template (`/v1/registrations/{id}`), or nil before routing.
    public var route: String?
    /// Who the route's authenticator accepted (an API key id), or nil on a public route.
    public var principal: String?
    /// Lets the router report the matched template back to the server's access log and metrics.
    let routeRecorder: RouteRecorder?

    public init(requestID: String, logger: Logger, route: String? = nil) {
        self.requestID = requestID
        self.logger = logger
        self.route = route
        self.routeRecorder = nil
    }

    init(requestID: String, logger: Logger, routeRecorder: RouteRecorder) {
        self.requestID = requestID
        self.logger = logger
        self.route = nil
        self.routeRecorder = routeRecorder
    }
}

/// Where the router writes the matched route template and the authenticated principal for the middleware that
/// wraps it (the access log and metrics).
final class RouteRecorder: Sendable {
    private let state = Mutex<(route: String?, principal: String?)>((nil, nil))
    var route: String? { state.withLock { $0.route } }
    var principal: String? { state.withLock { $0.principal } }
    func record(_ route: String) { state.withLock { $0.route = route } }
    func record(principal: String) { state.withLock { $0.principal = principal } }
}

/// Anything that answers requests: a route handler, the router, a middleware chain.
public protocol HTTPHandler: Sendable {
    /// - Throws: Any error; the error-mapping middleware turns it into a problem+json response.
    func handle(_ request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse
}

/// A handler made from a closure.
public struct ClosureHandler: HTTPHandler {
    let body: @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse
    public init(_ body: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) {
        self.body = body
    }
    public func handle(_ request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        try await body(request, context)
    }
}
