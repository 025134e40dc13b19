/// Every problem type the HTTP server itself sends (before, around or instead of a handler), with its status and
/// title: the one list `openapi/passerelle.yaml` documents (`x-http-problem-types`, and the shared ones in
/// `x-problem-types`); `ServerProblemTests` holds the two equal.
public enum ServerProblem: String, CaseIterable, Sendable {
    case badRequest = "/problems/bad-request"
    case notFound = "/problems/not-found"
    case methodNotAllowed = "/problems/method-not-allowed"
    case requestTimeout = "/problems/request-timeout"
    case payloadTooLarge = "/problems/payload-too-large"
    case uriTooLong = "/problems/uri-too-long"
    case expectationFailed = "/problems/expectation-failed"
    case requestHeaderFieldsTooLarge = "/problems/request-header-fields-too-large"
    case `internal` = "/problems/internal"
    case notImplemented = "/problems/not-implemented"
    case handlerTimeout = "/problems/handler-timeout"
    case notReady = "/problems/not-ready"
    /// The peer already holds its share of connections (`HTTPServer.Configuration.maxConnectionsPerPeer`).
    case tooManyConnections = "/problems/too-many-connections"
    case httpVersionNotSupported = "/problems/http-version-not-supported"

    public var status: Int {
        switch self {
        case .badRequest: 400
        case .notFound: 404
        case .methodNotAllowed: 405
        case .requestTimeout: 408
        case .payloadTooLarge: 413
        case .uriTooLong: 414
        case .expectationFailed: 417
        case .requestHeaderFieldsTooLarge: 431
        case .internal: 500
        case .notImplemented: 501
        case .handlerTimeout, .notReady, .tooManyConnections: 503
        case .httpVersionNotSupported: 505
        }
    }

    public var title: String {
        switch self {
        case .badRequest: "Bad request"
        case .notFound: "Not found"
        case .methodNotAllowed: "Method not allowed"
        case .requestTimeout: "Request timeout"
        case .payloadTooLarge: "Request body too large"
        case .uriTooLong: "URI too long"
        case .expectationFailed: "Expectation failed"
        case .requestHeaderFieldsTooLarge: "Request header fields too large"
        case .internal: "Internal error"
        case .notImplemented: "Not implemented"
        case .handlerTimeout: "Handler timeout"
        case .notReady: "Service not ready"
        case .tooManyConnections: "Too many connections"
        case .httpVersionNotSupported: "HTTP version not supported"
        }
    }

    /// The problem of this type.
    public func problem(
        detail: String? = nil, instance: String? = nil, requestID: String? = nil, extensions: [String: String] = [:],
        headers: HTTPHeaders = HTTPHeaders()
    ) -> Problem {
        Problem(
            status: status, type: rawValue, title: title, detail: detail, instance: instance, requestID: requestID,
            extensions: extensions, headers: headers)
    }

    /// The type the server answers a request it could not parse with (by the parse error's status).
    static func forParseStatus(_ status: Int) -> ServerProblem {
        allCases.first { $0.status == status && $0.status != 503 } ?? .badRequest
    }
}
