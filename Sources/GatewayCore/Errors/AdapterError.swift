import GatewayLogging

/// The shared taxonomy of what can go wrong when talking to a bank, the same for every adapter.
///
/// Adapters classify the bank's answer (HTTP status, STET `ErrorModel`, OAuth error, HTML page) into one case;
/// services decide what to do (refresh once on `tokenExpired`, mark a connection on `refreshTokenDead`, …) and wrap
/// it in `GatewayError.upstream`. `code` and `message` are the bank's own short error code and text (truncated,
/// control characters removed), never a raw body; `description` is safe to log.
public enum AdapterError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A 4xx the bank gave for this request (bad input, forbidden, not found…), with its code and message.
    case rejected(status: Int, code: String?, message: String?)
    /// 401/403 for the TPP itself: unknown client, certificate or signature refused.
    case unauthorized(status: Int, code: String?, message: String?)
    /// 401 because the access token expired or was revoked: refresh once and retry.
    case tokenExpired
    /// OAuth `invalid_grant` on a refresh (`Refresh token has expired`, `Invalid refresh token`): a new SCA is needed.
    case refreshTokenDead(code: String?, message: String?)
    /// STET `NIMP`, HTTP 501, or the bank lacks the resource for this product.
    case notImplemented(code: String?, message: String?)
    /// STET `NAAC` (no available accounts), or 204/404 on an empty list resource.
    case noAccounts
    /// 429 or STET `TMRQ`; `retryAfter` in seconds when the bank said so.
    case rateLimited(retryAfter: Int?, code: String?, message: String?)
    /// 5xx, STET `INTE`, `ERREUR Technique`, an HTML error page: the bank is having trouble.
    case unavailable(status: Int?, code: String?, message: String?)
    /// No answer before the deadline.
    case timeout
    /// A 2xx whose body we could not understand; `reason` names what was wrong, never the body.
    case invalidResponse(reason: String)
    /// The connection failed (DNS, TLS handshake, reset); `reason` is the transport's safe description.
    case transport(reason: String)
    /// The call could not be made from our side, and no bank was called: the catalog has no URL for this
    /// environment, the registration has no `client_id` yet, the certificate material cannot be used.
    case notCallable(reason: String)
    /// A bug on our side while preparing the call (a signature that could not be computed, a missing adapter);
    /// no bank was called.
    case internalFailure(reason: String)

    /// The bank's HTTP status when there was one, for the problem's `bank.httpStatus`.
    public var bankHTTPStatus: Int? {
        switch self {
        case .rejected(let status, _, _), .unauthorized(let status, _, _): status
        case .tokenExpired: 401
        case .refreshTokenDead: 400
        case .rateLimited: 429
        case .unavailable(let status, _, _): status
        case .notImplemented, .noAccounts, .timeout, .invalidResponse, .transport, .notCallable, .internalFailure: nil
        }
    }

    /// Whether the error arose without any bank being called (`notCallable`, `internalFailure`).
    public var isLocal: Bool {
        switch self {
        case .notCallable, .internalFailure: true
        default: false
        }
    }

    /// The bank's own code (`NAAC`, `invalid_grant`, …) when it sent one.
    public var bankCode: String? {
        switch self {
        case .rejected(_, let code, _), .unauthorized(_, let code, _), .refreshTokenDead(let code, _),
            .notImplemented(let code, _), .rateLimited(_, let code, _), .unavailable(_, let code, _):
            code
        case .noAccounts: "NAAC"
        case .tokenExpired, .timeout, .invalidResponse, .transport, .notCallable, .internalFailure: nil
        }
    }

    /// The bank's own message when it sent one.
    public var bankMessage: String? {
        switch self {
        case .rejected(_, _, let message), .unauthorized(_, _, let message), .refreshTokenDead(_, let message),
            .notImplemented(_, let message), .rateLimited(_, _, let message), .unavailable(_, _, let message):
            message
        case .noAccounts, .tokenExpired, .timeout, .invalidResponse, .transport, .notCallable, .internalFailure: nil
        }
    }

    public var description: String {
        func bankPart(_ status: Int?, _ code: String?, _ message: String?) -> String {
            var parts: [String] = []
            if let status { parts.append("HTTP \(status)") }
            if let code { parts.append("code \(code)") }
            if let message { parts.append(JSONString.quoted(message)) }
            return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
        }
        switch self {
        case .rejected(let s, let c, let m): return "bank rejected the request" + bankPart(s, c, m)
        case .unauthorized(let s, let c, let m): return "bank refused the TPP's credentials" + bankPart(s, c, m)
        case .tokenExpired: return "bank says the access token expired"
        case .refreshTokenDead(let c, let m): return "bank refused the refresh token" + bankPart(nil, c, m)
        case .notImplemented(let c, let m): return "bank does not implement this" + bankPart(nil, c, m)
        case .noAccounts: return "bank has no available accounts"
        case .rateLimited(let r, let c, let m):
            return "bank rate limit reached" + bankPart(nil, c, m) + (r.map { ", retry after \($0) s" } ?? "")
        case .unavailable(let s, let c, let m): return "bank unavailable" + bankPart(s, c, m)
        case .timeout: return "bank did not answer in time"
        case .invalidResponse(let reason): return "bank response not understood: \(reason)"
        case .transport(let reason): return "bank connection failed: \(reason)"
        case .notCallable(let reason): return "bank cannot be called: \(reason)"
        case .internalFailure(let reason): return "bank call could not be prepared: \(reason)"
        }
    }

    /// Makes a bank-supplied code or message safe to carry: control characters become spaces, at most 300 characters.
    /// Returns `nil` for an empty result.
    public static func sanitize(_ text: String?) -> String? {
        guard let text else { return nil }
        var out = ""
        for scalar in text.unicodeScalars.prefix(300) {
            out.unicodeScalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? " " : scalar)
        }
        let trimmed = out.trimmingWhitespace()
        return trimmed.isEmpty ? nil : trimmed
    }
}
