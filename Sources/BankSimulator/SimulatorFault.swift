/// A fault the simulator injects, chosen per bank in configuration or per request with the header
/// `X-Simulator-Fault: <fault>[, <fault>…]`.
public enum SimulatorFault: Sendable, Equatable {
    /// `latency=<ms>`: wait before answering.
    case latency(milliseconds: Int)
    /// `500`: an STET `INTE` internal error.
    case internalError
    /// `503`: plain-text body `ERREUR Technique`.
    case unavailable
    /// `html`: a 500 HTML error page, as a load balancer would send.
    case htmlErrorPage
    /// `drop`: read the request, then close the connection without answering.
    case drop
    /// `token-failure`: the token endpoint answers 500 `server_error`.
    case tokenFailure
    /// `expired-refresh`: refresh grants fail as if the refresh token had expired.
    case expiredRefreshToken
    /// `drop-after-commit`: handle the request (a payment is created), then close the connection without answering.
    case dropAfterCommit
    /// `500-after-commit`: handle the request, then answer 500 `INTE` instead of its answer.
    case internalErrorAfterCommit
    /// `latency-after-commit=<ms>`: handle the request, then wait before answering (beyond the client's deadline).
    case latencyAfterCommit(milliseconds: Int)

    /// Whether the fault applies once the request has been handled (its effects committed).
    public var isAfterCommit: Bool {
        switch self {
        case .dropAfterCommit, .internalErrorAfterCommit, .latencyAfterCommit: true
        default: false
        }
    }

    /// The header tests use to ask for a fault on one request.
    public static let headerName = "X-Simulator-Fault"

    /// Parses one fault token.
    public init?(token: String) {
        let t = token.trimmingSpaces.lowercased()
        switch t {
        case "500": self = .internalError
        case "503": self = .unavailable
        case "html": self = .htmlErrorPage
        case "drop": self = .drop
        case "token-failure": self = .tokenFailure
        case "expired-refresh": self = .expiredRefreshToken
        case "drop-after-commit": self = .dropAfterCommit
        case "500-after-commit": self = .internalErrorAfterCommit
        default:
            if t.hasPrefix("latency-after-commit="), let ms = Int(t.dropFirst(21)), (0...60_000).contains(ms) {
                self = .latencyAfterCommit(milliseconds: ms)
                return
            }
            guard t.hasPrefix("latency="), let ms = Int(t.dropFirst(8)), (0...60_000).contains(ms) else { return nil }
            self = .latency(milliseconds: ms)
        }
    }

    /// Parses a comma-separated list; nil when any token is unknown.
    public static func parseList(_ text: String) -> [SimulatorFault]? {
        var out: [SimulatorFault] = []
        for token in text.split(separator: ",") where !token.trimmingSpaces.isEmpty {
            guard let f = SimulatorFault(token: String(token)) else { return nil }
            out.append(f)
        }
        return out
    }
}
