import FoundationEssentials
import GatewayCore
import GatewayLogging
import HTTPServerKit

/// A request body that checks its own fields after decoding (the rules the OpenAPI schema states: lengths,
/// formats, enums). `JSONCoding.decode` runs it, so a handler never sees an invalid body.
protocol ValidatedBody: Decodable {
    /// Top-level string members that may hold line breaks and tabs (PEM text); every other string of every body
    /// is refused with any control character.
    static var multilineFields: Set<String> { get }
    func validate(into rules: inout FieldRules)
}

extension ValidatedBody {
    static var multilineFields: Set<String> { [] }
}

/// Collects every field problem of one request, so the answer names them all at once. One method per kind of
/// value the API takes; each states its rule in its message, as the OpenAPI document does (docs/api-input.md).
struct FieldRules {
    /// Values the schema does not allow (400).
    private(set) var issues: [FieldIssue] = []
    /// Values the schema allows but their meaning does not (422), e.g. an IBAN whose checksum is wrong.
    private(set) var refusals: [FieldIssue] = []

    mutating func fail(_ field: String, _ message: String) { issues.append(FieldIssue(field: field, message: message)) }
    mutating func refuse(_ field: String, _ message: String) {
        refusals.append(FieldIssue(field: field, message: message))
    }

    /// C0 controls, DEL and C1 controls (U+0080–U+009F); with `multiline`, TAB, LF and CR are allowed.
    static func hasControlCharacter(_ text: String, multiline: Bool = false) -> Bool {
        text.unicodeScalars.contains {
            ($0.value < 0x20 && !(multiline && ($0 == "\t" || $0 == "\n" || $0 == "\r"))) || (0x7F...0x9F).contains($0.value)
        }
    }

    /// A string of `length` characters (Unicode scalars).
    mutating func text(_ value: String?, _ field: String, length: ClosedRange<Int>) {
        guard let value else { return }
        let n = value.unicodeScalars.count
        if !length.contains(n) { fail(field, "\(length.lowerBound) to \(length.upperBound) characters") }
    }

    /// A UUID in its 36-character text form, either case.
    mutating func uuid(_ value: String?, _ field: String) { matches(value, field, .uuid) }

    /// One of `allowed`.
    mutating func oneOf(_ value: String?, _ field: String, _ allowed: [String]) {
        guard let value else { return }
        if !allowed.contains(value) { fail(field, "expected one of " + allowed.joined(separator: ", ")) }
    }

    /// A string matching `pattern` whole (one of `InputPattern`, the same text as the OpenAPI document's).
    mutating func matches(_ value: String?, _ field: String, _ pattern: InputPattern, maxLength: Int? = nil) {
        guard let value else { return }
        if let maxLength, value.unicodeScalars.count > maxLength {
            fail(field, "at most \(maxLength) characters")
        } else if !pattern.matches(value) {
            fail(field, pattern.hint)
        }
    }

    /// An IBAN: country, check digits and BBAN (ISO 13616), upper case without spaces, mod-97 checksum.
    mutating func iban(_ value: String?, _ field: String) {
        guard let value else { return }
        if !InputPattern.iban.matches(value) {
            fail(field, InputPattern.iban.hint)
        } else if !IBAN.isValid(value) {
            refuse(field, "not a valid IBAN (mod-97 checksum)")
        }
    }

    /// A list of `count` items.
    mutating func count<T>(_ value: [T]?, _ field: String, _ count: ClosedRange<Int>) {
        guard let value else { return }
        if !count.contains(value.count) { fail(field, "\(count.lowerBound) to \(count.upperBound) items") }
    }
}

extension HTTPRequest {
    /// The query parameters by name, each at most once and only those the route declares (400 otherwise).
    func queryParameters(allowed: Set<String>, into rules: inout FieldRules) throws -> [String: String] {
        var values: [String: String] = [:]
        for item in query {
            if !allowed.contains(item.name) {
                rules.fail(item.name, "is not a query parameter of this route")
            } else if values[item.name] != nil {
                rules.fail(item.name, "given more than once")
            } else if FieldRules.hasControlCharacter(item.value) {
                rules.fail(item.name, "must not contain control characters")
            } else {
                values[item.name] = item.value
            }
        }
        guard rules.issues.isEmpty else { throw GatewayError.validation(rules.issues) }
        return values
    }
}
