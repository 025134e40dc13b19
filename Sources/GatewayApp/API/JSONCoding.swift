import FoundationEssentials
import GatewayCore
import GatewayLogging
import HTTPServerKit
import JSONKit

/// JSON encoding and decoding with the API's conventions (camelCase keys as declared, RFC 3339 UTC dates).
public enum JSONCoding {
    /// JSONKit's encoder: the bytes Foundation's `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]`
    /// writes, at a fraction of the cost (every API answer goes through it).
    static let encoder = JSONNodeEncoder(dateEncoding: { RFC3339.string($0) })

    /// Request bodies: JSONKit's strict RFC 8259 parser, then its decoder (RFC 3339 dates).
    static let decoder = JSONNodeDecoder(dateDecoding: { RFC3339.date($0) })

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

    /// Decodes the request body as `T`, the one way every route reads a body (docs/api-input.md):
    /// `Content-Type: application/json` (else 415), strict RFC 8259 JSON, no control character in any string or
    /// member name, no member `T` does not declare (`additionalProperties: false`), then `T`'s own rules when it
    /// is a `ValidatedBody`. Every problem is a 400 naming the field.
    /// - Throws: `GatewayError.unsupportedMediaType` or `GatewayError.validation`.
    public static func decode<T: Decodable>(_ type: T.Type, from request: HTTPRequest) throws -> T {
        guard isJSON(request.headers["Content-Type"]) else {
            throw GatewayError.unsupportedMediaType("expected Content-Type: application/json")
        }
        guard !request.body.isEmpty else {
            throw GatewayError.validation([FieldIssue(field: "body", message: "a JSON body is required")])
        }
        let node: JSONNode
        do {
            node = try JSONParser.parse(request.body)
        } catch {
            throw GatewayError.validation([FieldIssue(field: "body", message: "not valid JSON (\(error.description))")])
        }
        let multiline = (T.self as? any ValidatedBody.Type)?.multilineFields ?? []
        if let issue = controlCharacterIssue(in: node, path: "", multiline: multiline) {
            throw GatewayError.validation([issue])
        }
        let decoded: (value: T, unknownMembers: [String])
        do {
            decoded = try decoder.decodeListingUnknownMembers(T.self, from: node)
        } catch let error as DecodingError {
            throw GatewayError.validation([issue(for: error)])
        }
        guard decoded.unknownMembers.isEmpty else {
            throw GatewayError.validation(
                decoded.unknownMembers.map { FieldIssue(field: $0, message: "is not a member of this request") })
        }
        if let body = decoded.value as? any ValidatedBody {
            var rules = FieldRules()
            body.validate(into: &rules)
            guard rules.issues.isEmpty else { throw GatewayError.validation(rules.issues) }
            guard rules.refusals.isEmpty else { throw GatewayError.refusedFields(rules.refusals) }
        }
        return decoded.value
    }

    /// `application/json`, parameters (`; charset=utf-8`) allowed, case-insensitive.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        return ASCII.equalsIgnoringCase(mediaType.trimmingWhitespace(), "application/json")
    }

    /// The first string or member name holding a control character (C0, DEL, C1), as a field issue.
    static func controlCharacterIssue(in node: JSONNode, path: String, multiline: Set<String> = []) -> FieldIssue? {
        switch node {
        case .string(let text):
            return FieldRules.hasControlCharacter(text, multiline: multiline.contains(path))
                ? FieldIssue(field: path.isEmpty ? "body" : path, message: "must not contain control characters") : nil
        case .object(let members):
            for (key, value) in members {
                let child = path.isEmpty ? key : path + "." + key
                if FieldRules.hasControlCharacter(key) {
                    return FieldIssue(field: path.isEmpty ? "body" : path, message: "a member name holds a control character")
                }
                if let issue = controlCharacterIssue(in: value, path: child, multiline: multiline) { return issue }
            }
            return nil
        case .array(let elements):
            for (i, element) in elements.enumerated() {
                if let issue = controlCharacterIssue(in: element, path: path + "[\(i)]", multiline: multiline) {
                    return issue
                }
            }
            return nil
        default:
            return nil
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

