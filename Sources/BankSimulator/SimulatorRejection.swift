import HTTPServerKit

/// A request the simulated bank refuses: `response` is what the bank would answer, `reason` the precise cause
/// the simulator logs (at info level, with `request.id`) so that integrators can debug their calls.
struct SimulatorRejection: Error, Sendable {
    var response: HTTPResponse
    var reason: String

    /// A STET `ErrorModel` answer (docs/protocol.md §2.8), e.g. `403` with message `NAAC`.
    static func stet(_ status: Int, _ message: String, path: String, now: Int64, reason: String) -> SimulatorRejection {
        SimulatorRejection(response: stetResponse(status, message, path: path, now: now), reason: reason)
    }

    /// An OAuth 2.0 error (RFC 6749 §5.2): `{error, error_description}`.
    static func oauth(_ status: Int, _ error: String, _ description: String, reason: String? = nil)
        -> SimulatorRejection
    {
        SimulatorRejection(response: oauthResponse(status, error, description), reason: reason ?? description)
    }

    static func stetResponse(_ status: Int, _ message: String, path: String, now: Int64) -> HTTPResponse {
        let body: JSON = .object([
            ("timestamp", .string(ParisCalendar.timestamp(now))), ("status", .number(Double(status))),
            ("error", .string(reasonPhrase(status))), ("message", .string(message)), ("path", .string(path)),
        ])
        return .json(status, body.bytes)
    }

    static func oauthResponse(_ status: Int, _ error: String, _ description: String) -> HTTPResponse {
        .json(status, JSON.object([("error", .string(error)), ("error_description", .string(description))]).bytes)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        default: "Error"
        }
    }
}

/// Thrown by the simulator when a fault asks it to drop the connection after reading the request
/// (`X-Simulator-Fault: drop`). The server closes the connection without writing any response.
public struct SimulatorDropConnection: ConnectionAbortingError, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "simulator fault: drop the connection without answering" }
}
