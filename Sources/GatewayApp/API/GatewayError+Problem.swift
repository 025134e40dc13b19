import Foundation
import GatewayCore
import GatewayLogging
import HTTPServerKit
import JSONKit

/// The edge mapping (style.md §5): every `GatewayError` leaves as one RFC 9457 problem, with `errors` for
/// validation, `bank` for bank errors and `Retry-After` for budgets.
extension GatewayError: ProblemConvertible {
    public func problem(instance: String, requestID: String) -> Problem {
        let type = problemType
        var extensions: [String: String] = [:]
        var headers = HTTPHeaders()
        switch self {
        case .validation(let issues):
            extensions["errors"] = JSONCoding.string(issues)
        case .unauthorized:
            headers.set("WWW-Authenticate", "Bearer")
        case .budgetExhausted(let retryAfter), .authenticationThrottled(let retryAfter),
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

/// JSON encoding and decoding with the API's conventions (camelCase keys as declared, RFC 3339 UTC dates).
public enum JSONCoding {
    /// JSONKit's encoder: the bytes Foundation's `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]`
    /// writes, at a fraction of the cost (every API answer goes through it).
    static let encoder = JSONNodeEncoder(dateEncoding: { RFC3339.string($0) })

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let s = try c.decode(String.self)
            guard let date = RFC3339.date(s) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an RFC 3339 timestamp")
            }
            return date
        }
        return d
    }()

    /// Encodes `value` to bytes.
    public static func bytes(_ value: some Encodable) -> [UInt8] {
        (try? encoder.encode(value)) ?? Array("null".utf8)
    }

    /// Encodes `value` to a string (for problem extension members).
    public static func string(_ value: some Encodable) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    /// A JSON response with `status`.
    public static func response(_ status: Int, _ value: some Encodable) -> HTTPResponse {
        .json(status, bytes(value))
    }

    /// Decodes the request body as `T`.
    /// - Throws: `GatewayError.validation` naming the field (or `body`) when the JSON is malformed or mistyped.
    public static func decode<T: Decodable>(_ type: T.Type, from request: HTTPRequest) throws -> T {
        guard !request.body.isEmpty else {
            throw GatewayError.validation([FieldIssue(field: "body", message: "a JSON body is required")])
        }
        do {
            return try decoder.decode(T.self, from: Data(request.body))
        } catch let error as DecodingError {
            throw GatewayError.validation([issue(for: error)])
        } catch {
            throw GatewayError.validation([FieldIssue(field: "body", message: "not valid JSON")])
        }
    }

    static func issue(for error: DecodingError) -> FieldIssue {
        func path(_ keys: [any CodingKey]) -> String {
            var out = ""
            for key in keys {
                if let i = key.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
            }
            return out.isEmpty ? "body" : out
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            return FieldIssue(field: path(ctx.codingPath + [key]), message: "is required")
        case .typeMismatch(let type, let ctx):
            return FieldIssue(field: path(ctx.codingPath), message: "expected \(describe(type))")
        case .valueNotFound(let type, let ctx):
            return FieldIssue(field: path(ctx.codingPath), message: "expected \(describe(type)), got null")
        case .dataCorrupted(let ctx):
            if ctx.codingPath.isEmpty { return FieldIssue(field: "body", message: "not valid JSON") }
            return FieldIssue(field: path(ctx.codingPath), message: ctx.debugDescription)
        @unknown default:
            return FieldIssue(field: "body", message: "invalid")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [String].Type, is [Any].Type: "an array"
        default: "an object"
        }
    }
}

