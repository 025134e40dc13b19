import FoundationEssentials
import GatewayCore
import GatewayLogging
import HTTPServerKit
import JSONKit

/// The one edge mapping (docs/architecture.md): every `GatewayError` leaves as one RFC 9457 problem, with `errors` for
/// validation, `bank` for bank errors and `Retry-After` for budgets.
extension GatewayError: ProblemConvertible {
    public func problem(instance: String, requestID: String) -> Problem {
        let type = problemType
        var extensions: [String: String] = [:]
        var headers = HTTPHeaders()
        switch self {
        case .validation(let issues), .refusedFields(let issues):
            extensions["errors"] = JSONCoding.string(issues)
        case .unauthorized:
            headers.set("WWW-Authenticate", "Bearer")
        case .budgetExhausted(let retryAfter), .authenticationThrottled(let retryAfter), .unavailable(_, let retryAfter),
            .upstream(_, .rateLimited(let retryAfter?, _, _)):
            headers.set("Retry-After", String(retryAfter))
            extensions["retryAfter"] = String(retryAfter)
        default: break
        }
        if let bank = bankDetails { extensions["bank"] = JSONCoding.string(bank) }
        return Problem(
            status: type.status, type: type.uri, title: type.title, detail: publicDetail, instance: instance,
            requestID: requestID, extensions: extensions, headers: headers)
    }
}
