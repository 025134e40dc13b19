import Foundation

/// The RFC 9457 body sent as `application/problem+json` (schema `Problem` in `openapi/passerelle.yaml`):
/// `type`, `title`, `status`, `detail`, `instance`, `requestId`, plus `errors` for validation problems, `bank` for
/// errors that come from a bank, and `retryAfter` with 429. Built from a `GatewayError` so the edge has one mapping.
public struct ProblemDetails: Hashable, Sendable, Codable {
    /// A problem type URI from `ProblemType`.
    public var type: String
    /// The type's constant title.
    public var title: String
    /// The HTTP status.
    public var status: Int
    /// What went wrong this time; never secrets, SQL or bank bodies.
    public var detail: String?
    /// The request path.
    public var instance: String?
    /// The request's correlation id.
    public var requestId: String
    /// Validation issues.
    public var errors: [FieldIssue]?
    /// The bank's own status, code and message.
    public var bank: BankErrorDetails?
    /// Seconds to wait, with 429 (also sent as `Retry-After`).
    public var retryAfter: Int?

    /// The problem for `error`.
    /// - Parameters:
    ///   - error: What the handler threw.
    ///   - instance: The request path.
    ///   - requestID: The request's correlation id.
    public init(_ error: GatewayError, instance: String?, requestID: String) {
        let kind = error.problemType
        type = kind.uri
        title = kind.title
        status = kind.status
        detail = error.publicDetail
        self.instance = instance
        requestId = requestID
        if case .validation(let issues) = error { errors = issues }
        bank = error.bankDetails
        switch error {
        case .budgetExhausted(let seconds): retryAfter = seconds
        case .upstream(_, .rateLimited(let seconds?, _, _)): retryAfter = seconds
        default: retryAfter = nil
        }
    }

    /// Memberwise initializer, for problems raised before routing (405, 413).
    public init(_ type: ProblemType, detail: String?, instance: String?, requestID: String) {
        self.type = type.uri
        title = type.title
        status = type.status
        self.detail = detail
        self.instance = instance
        requestId = requestID
    }

    /// The JSON body (sorted keys, absent members omitted).
    public func jsonBody() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data(#"{"status":500,"title":"Internal error"}"#.utf8))
    }

    /// `application/problem+json`.
    public static let contentType = "application/problem+json"
}
