import GatewayLogging

/// One invalid input field, for the problem's `errors: [{field, message}]`.
public struct FieldIssue: Hashable, Sendable, Codable, CustomStringConvertible {
    /// JSON path-ish name of the field (`redirectUris[0]`, `bank`).
    public var field: String
    /// What is wrong, without echoing secret values.
    public var message: String

    /// Memberwise initializer.
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// The only error type services and handlers throw, so the edge has one type to map. The HTTP edge maps each case to
/// problem+json with `problemType`; `description` is safe to log and never contains secrets or bank bodies.
public enum GatewayError: Error, Hashable, Sendable, CustomStringConvertible {
    /// 404: the resource does not exist (or is not visible).
    case notFound(resource: String, id: String)
    /// 409: the resource is in a state that forbids the call.
    case conflict(String)
    /// 400: invalid input, one issue per field.
    case validation([FieldIssue])
    /// 422: well-formed but refused (certificate expired, key not matching…).
    case unprocessable(String)
    /// 422: fields that match the schema but are refused on their meaning (an IBAN's checksum), one issue each.
    case refusedFields([FieldIssue])
    /// 415: the body is not of the media type the route reads.
    case unsupportedMediaType(String)
    /// 409 `/problems/consent-required`: the bank refused a read because the customer's consent for it was not
    /// given with `PUT …/consents` (BPCE's `NAAC`); `detail` says what to put there.
    case consentRequired(bank: BankID, detail: String)
    /// 409 `/problems/reauthorization-required`: the customer must authorize the connection again (its refresh
    /// token expired or was refused); `reason` says which.
    case reauthorizationRequired(bank: BankID, reason: String)
    /// 401: no or invalid API key.
    case unauthorized
    /// 429: the unattended-access budget is used up; retry after that many seconds.
    case budgetExhausted(retryAfter: Int)
    /// 429: this peer presented too many unknown API keys; retry after that many seconds.
    case authenticationThrottled(retryAfter: Int)
    /// 501: this bank does not offer the feature.
    case unsupportedByBank(bank: BankID, feature: String)
    /// 502 (or 429/501 by case): the bank answered with an error.
    case upstream(bank: BankID, AdapterError)
    /// 504: the bank did not answer in time.
    case upstreamTimeout(bank: BankID)
    /// 503 with `Retry-After`: a dependency of this call (the database) is unreachable, did not answer in time or
    /// has no free connection; nothing was done, the same call may succeed after `retryAfter` seconds.
    case unavailable(String, retryAfter: Int)
    /// 500: a bug or an unexpected failure; `detail` is for the log only, the client gets a generic text.
    case `internal`(String)

    public var description: String {
        switch self {
        case .notFound(let resource, let id): "\(resource) \(JSONString.quoted(id)) not found"
        case .conflict(let detail): "conflict: \(detail)"
        case .validation(let issues): "invalid input: " + issues.map(\.description).joined(separator: "; ")
        case .unprocessable(let detail): "refused: \(detail)"
        case .unsupportedMediaType(let detail): "unsupported media type: \(detail)"
        case .refusedFields(let issues): "refused: " + issues.map(\.description).joined(separator: "; ")
        case .reauthorizationRequired(let bank, let reason): "\(bank): customer reauthorization required (\(reason))"
        case .consentRequired(let bank, let detail): "\(bank): consent required: \(detail)"
        case .unauthorized: "missing or invalid API key"
        case .budgetExhausted(let retryAfter): "unattended access budget exhausted, retry after \(retryAfter) s"
        case .authenticationThrottled(let retryAfter):
            "too many failed authentications from this address, retry after \(retryAfter) s"
        case .unsupportedByBank(let bank, let feature): "\(feature) is not supported by \(bank)"
        case .upstream(let bank, let error): "\(bank): \(error)"
        case .upstreamTimeout(let bank): "\(bank) did not answer in time"
        case .unavailable(let detail, _): "unavailable: \(detail)"
        case .internal(let detail): "internal error: \(detail)"
        }
    }

    /// The problem type this error is sent as.
    public var problemType: ProblemType {
        switch self {
        case .notFound: .notFound
        case .conflict: .conflict
        case .validation: .validation
        case .unprocessable, .refusedFields: .unprocessable
        case .unsupportedMediaType: .unsupportedMediaType
        case .reauthorizationRequired: .reauthorizationRequired
        case .consentRequired: .consentRequired
        case .unauthorized: .unauthorized
        case .budgetExhausted: .unattendedBudgetExhausted
        case .authenticationThrottled: .authenticationThrottled
        case .unsupportedByBank: .notSupportedByBank
        case .upstream(_, let error):
            switch error {
            case .notImplemented: .notSupportedByBank
            case .rateLimited: .bankRateLimited
            case .timeout: .bankTimeout
            case .refreshTokenDead: .reauthorizationRequired
            case .unavailable, .transport, .invalidResponse: .bankUnavailable
            case .rejected, .unauthorized, .tokenExpired, .noAccounts: .bankError
            case .notCallable: .unprocessable
            case .internalFailure: .internal
            }
        case .upstreamTimeout: .bankTimeout
        case .unavailable: .unavailable
        case .internal: .internal
        }
    }

    /// The text for the problem's `detail`: the description, except for `.internal`, whose detail stays in the log.
    public var publicDetail: String {
        if case .internal = self { return "An unexpected error occurred; quote the request id to support." }
        return description
    }

    /// The `bank` member of the problem (`{id, httpStatus, code, message}`) for errors that come from a bank.
    public var bankDetails: BankErrorDetails? {
        switch self {
        case .upstream(let bank, let error):
            BankErrorDetails(
                id: bank, httpStatus: error.bankHTTPStatus, code: error.bankCode, message: error.bankMessage)
        case .upstreamTimeout(let bank), .reauthorizationRequired(let bank, _):
            BankErrorDetails(id: bank, httpStatus: nil, code: nil, message: nil)
        case .consentRequired(let bank, _): BankErrorDetails(id: bank, httpStatus: nil, code: "NAAC", message: nil)
        default: nil
        }
    }
}

/// The problem's `bank` member: the bank's own status, code and message.
public struct BankErrorDetails: Hashable, Sendable, Codable {
    /// Identifier.
    public var id: BankID
    /// The bank's HTTP status.
    public var httpStatus: Int?
    /// The bank's own STET or OAuth code (`NAAC`, `invalid_grant`).
    public var code: String?
    /// The bank's own message.
    public var message: String?
}
