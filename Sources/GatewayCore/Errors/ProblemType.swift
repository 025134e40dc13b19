/// Every problem type Passerelle sends (RFC 9457 `type`), with its HTTP status and title. The same list is in
/// `openapi/passerelle.yaml` (`components.schemas.Problem`, `x-problem-types`); a test keeps the two in step.
public enum ProblemType: String, Hashable, Sendable, CaseIterable {
    case validation = "/problems/validation"
    case unauthorized = "/problems/unauthorized"
    case notFound = "/problems/not-found"
    case methodNotAllowed = "/problems/method-not-allowed"
    case conflict = "/problems/conflict"
    case unprocessable = "/problems/unprocessable"
    case payloadTooLarge = "/problems/payload-too-large"
    case unsupportedMediaType = "/problems/unsupported-media-type"
    case unattendedBudgetExhausted = "/problems/unattended-budget-exhausted"
    case authenticationThrottled = "/problems/authentication-throttled"
    case bankRateLimited = "/problems/bank-rate-limited"
    case reauthorizationRequired = "/problems/reauthorization-required"
    case consentRequired = "/problems/consent-required"
    case notSupportedByBank = "/problems/not-supported-by-bank"
    case bankError = "/problems/bank-error"
    case bankUnavailable = "/problems/bank-unavailable"
    case bankTimeout = "/problems/bank-timeout"
    case notReady = "/problems/not-ready"
    case unavailable = "/problems/unavailable"
    case `internal` = "/problems/internal"

    /// The `type` URI (a relative reference, resolved against the service's base URL).
    public var uri: String { rawValue }

    /// The HTTP status sent with this type.
    public var status: Int {
        switch self {
        case .validation: 400
        case .unauthorized: 401
        case .notFound: 404
        case .methodNotAllowed: 405
        case .conflict, .reauthorizationRequired, .consentRequired: 409
        case .payloadTooLarge: 413
        case .unsupportedMediaType: 415
        case .unprocessable: 422
        case .unattendedBudgetExhausted, .bankRateLimited, .authenticationThrottled: 429
        case .internal: 500
        case .notSupportedByBank: 501
        case .bankError, .bankUnavailable: 502
        case .notReady, .unavailable: 503
        case .bankTimeout: 504
        }
    }

    /// The short, constant `title`.
    public var title: String {
        switch self {
        case .validation: "Invalid input"
        case .unauthorized: "Missing or invalid API key"
        case .notFound: "Not found"
        case .methodNotAllowed: "Method not allowed"
        case .conflict: "Conflict"
        case .unprocessable: "Refused"
        case .payloadTooLarge: "Request body too large"
        case .unsupportedMediaType: "Unsupported media type"
        case .unattendedBudgetExhausted: "Unattended access budget exhausted"
        case .bankRateLimited: "Bank rate limit reached"
        case .authenticationThrottled: "Too many failed authentications"
        case .reauthorizationRequired: "Customer reauthorization required"
        case .consentRequired: "Customer consent required"
        case .notSupportedByBank: "Not supported by this bank"
        case .bankError: "Bank error"
        case .bankUnavailable: "Bank unavailable"
        case .bankTimeout: "Bank timeout"
        case .notReady: "Service not ready"
        case .unavailable: "Service unavailable"
        case .internal: "Internal error"
        }
    }
}
