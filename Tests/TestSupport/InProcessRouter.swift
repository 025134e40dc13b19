import Foundation
import GatewayLogging
import HTTPServerKit

/// Routes answering in process through the server's own error mapping (`HTTPHandler.respond(to:context:)`): a
/// resource's HTTP contract (statuses, problems, headers, bodies) checked without sockets, TLS or a database. The
/// live end-to-end suites keep what only a real server shows (authentication, framing, the database's own rules).
public struct InProcessRouter: Sendable {
    public let router: Router

    /// The routes that `add` declares.
    public init(_ add: (inout Router.Builder) -> Void) {
        var builder = Router.Builder()
        add(&builder)
        router = builder.build()
    }

    /// Answers one request; `json` is serialized as the body with `Content-Type: application/json`.
    public func request(
        _ method: String, _ target: String, json: [String: Any]? = nil, body: [UInt8] = [],
        headers: [(String, String)] = []
    ) async throws -> TestResponse {
        var fields = HTTPHeaders(headers)
        var bytes = body
        if let json {
            bytes = Array(try JSONSerialization.data(withJSONObject: json))
            fields.set("Content-Type", "application/json")
        }
        let request = try HTTPRequest(method: HTTPMethod(rawValue: method), target: target, headers: fields, body: bytes)
        let context = RequestContext(requestID: "in-process", logger: Logger(label: "in-process", level: .error))
        guard let response = await router.respond(to: request, context: context) else {
            throw InProcessRouterDroppedConnection()
        }
        return TestResponse(
            status: response.status, headers: response.headers.fields.map { ($0.name, $0.value) }, body: response.body)
    }
}

/// The handler asked to drop the connection instead of answering.
public struct InProcessRouterDroppedConnection: Error {}
