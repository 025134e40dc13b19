import GatewayLogging

/// An RFC 9457 problem details object, sent as `application/problem+json`.
///
/// ```json
/// {"type":"/problems/not-found","title":"Not found","status":404,"detail":"…","instance":"/v1/x","requestId":"…"}
/// ```
/// Extra members (`errors`, `bank`, …) are pre-encoded JSON values keyed by member name.
public struct Problem: Error, Sendable, Equatable {
    /// A URI reference naming the problem type, e.g. `/problems/not-found`.
    public var type: String
    /// A short, human-readable summary of the type.
    public var title: String
    /// The HTTP status code.
    public var status: Int
    /// An explanation of this occurrence. Never put secrets or bank bodies here.
    public var detail: String?
    /// The request path the problem occurred on.
    public var instance: String?
    /// The request id (`X-Request-Id`).
    public var requestID: String?
    /// Extension members as already-encoded JSON (e.g. `"errors": "[{\"field\":\"x\",\"message\":\"y\"}]"`).
    public var extensions: [String: String]
    /// Extra response headers (`Allow`, `Retry-After`, …).
    public var headers: HTTPHeaders

    /// - Parameters:
    ///   - status: The HTTP status.
    ///   - type: Defaults to `/problems/<slug of the status' reason phrase>`.
    ///   - title: Defaults to the status' reason phrase.
    public init(
        status: Int, type: String? = nil, title: String? = nil, detail: String? = nil, instance: String? = nil,
        requestID: String? = nil, extensions: [String: String] = [:], headers: HTTPHeaders = HTTPHeaders()
    ) {
        let phrase = HTTPStatus.reasonPhrase(status)
        self.status = status
        self.type = type ?? "/problems/" + HTTPStatus.slug(status)
        self.title = title ?? Self.sentenceCase(phrase)
        self.detail = detail
        self.instance = instance
        self.requestID = requestID
        self.extensions = extensions
        self.headers = headers
    }

    /// `Request Header Fields Too Large` → `Request header fields too large`; acronyms (`HTTP`, `URI`) kept.
    static func sentenceCase(_ phrase: String) -> String {
        phrase.split(separator: " ").enumerated().map { i, word in
            if i == 0 || word.allSatisfy(\.isUppercase) { return String(word) }
            return word.lowercased()
        }.joined(separator: " ")
    }

    /// The JSON document (members in a fixed order, extensions sorted by name).
    public var json: String {
        var out = "{\"type\":"
        JSONString.append(type, to: &out)
        out += ",\"title\":"
        JSONString.append(title, to: &out)
        out += ",\"status\":\(status)"
        if let detail {
            out += ",\"detail\":"
            JSONString.append(detail, to: &out)
        }
        if let instance {
            out += ",\"instance\":"
            JSONString.append(instance, to: &out)
        }
        if let requestID {
            out += ",\"requestId\":"
            JSONString.append(requestID, to: &out)
        }
        for key in extensions.keys.sorted() {
            out += ","
            JSONString.append(key, to: &out)
            out += ":" + extensions[key]!
        }
        return out + "}"
    }

    /// The response carrying this problem.
    public var response: HTTPResponse {
        var headers = self.headers
        headers.set("Content-Type", "application/problem+json")
        return HTTPResponse(status: status, headers: headers, body: Array(json.utf8))
    }

    public static func == (lhs: Problem, rhs: Problem) -> Bool {
        lhs.json == rhs.json && lhs.headers.fields.map(\.name) == rhs.headers.fields.map(\.name)
            && lhs.headers.fields.map(\.value) == rhs.headers.fields.map(\.value)
    }
}

/// An error that knows its problem+json representation. The server's error mapping uses it; any other error
/// becomes a generic 500.
public protocol ProblemConvertible: Error {
    /// - Parameters:
    ///   - instance: The request path.
    ///   - requestID: The request id to include.
    func problem(instance: String, requestID: String) -> Problem
}

extension Problem: ProblemConvertible {
    /// Itself, with `instance` and `requestId` filled in when missing.
    public func problem(instance: String, requestID: String) -> Problem {
        var copy = self
        if copy.instance == nil { copy.instance = instance }
        if copy.requestID == nil { copy.requestID = requestID }
        return copy
    }
}

extension RoutingError: ProblemConvertible {
    /// 404 `/problems/not-found`, or 405 `/problems/method-not-allowed` with `Allow`.
    public func problem(instance: String, requestID: String) -> Problem {
        switch self {
        case .notFound:
            return ServerProblem.notFound.problem(
                detail: "No resource at this path.", instance: instance, requestID: requestID)
        case .methodNotAllowed(let allow):
            return ServerProblem.methodNotAllowed.problem(
                detail: "Allowed methods: \(allow.joined(separator: ", ")).", instance: instance,
                requestID: requestID, headers: ["Allow": allow.joined(separator: ", ")])
        }
    }
}

extension HTTPParseError: ProblemConvertible {
    /// The `ServerProblem` of the parse error's status (`/problems/bad-request`, `/problems/uri-too-long`, …).
    public func problem(instance: String, requestID: String) -> Problem {
        ServerProblem.forParseStatus(status).problem(detail: reason.rawValue, instance: instance, requestID: requestID)
    }
}
