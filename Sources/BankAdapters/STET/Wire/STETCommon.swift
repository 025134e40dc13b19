import FoundationEssentials
import GatewayCore
import JSONKit

/// STET `AmountType`: `{"currency": "EUR", "amount": "123.45"}`; `amount` may be a JSON number (EI stubs).
struct STETAmount: Codable, Hashable, Sendable {
    var currency: String
    var amount: DecimalAmount
}

/// STET `AccountIdentification`: an IBAN, or `other` (a masked PAN with scheme `MPAN` for cards).
struct STETAccountIdentification: Codable, Hashable, Sendable {
    struct Other: Codable, Hashable, Sendable {
        var identification: String?
        var schemeName: String?
        var issuer: String?
    }

    var iban: String?
    var other: Other?
    var currency: String?

    init(iban: String? = nil, other: Other? = nil, currency: String? = nil) {
        self.iban = iban
        self.other = other
        self.currency = currency
    }
}

/// One HAL link. `href` may be missing (the seed shows `"self": {}`); `templated` is informative only: BPCE sets it
/// to `true` on links without template variables (docs/protocol.md §2.6), so hrefs are always taken literally.
struct HALLink: Codable, Hashable, Sendable {
    var href: String?
    var templated: Bool?

    init(href: String?, templated: Bool? = nil) {
        self.href = href
        self.templated = templated
    }

    init(from decoder: any Decoder) throws {
        // Tolerate a bare string link and odd `templated` values ("false").
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            href = text
            templated = nil
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        href = try? container.decodeIfPresent(String.self, forKey: .href)
        if let flag = try? container.decodeIfPresent(Bool.self, forKey: .templated) {
            templated = flag
        } else if let text = try? container.decodeIfPresent(String.self, forKey: .templated) {
            templated = text.lowercased() == "true"
        } else {
            templated = nil
        }
    }
}

/// A `_links` object: relation name → link. Relations whose value is not a link object are ignored.
struct HALLinks: Codable, Hashable, Sendable {
    var links: [String: HALLink]

    init(_ links: [String: HALLink] = [:]) { self.links = links }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        var links: [String: HALLink] = [:]
        for key in container.allKeys {
            if let link = try? container.decode(HALLink.self, forKey: key) { links[key.stringValue] = link }
        }
        self.links = links
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        for (name, link) in links { try container.encode(link, forKey: AnyKey(name)) }
    }

    /// The `href` of a relation, when present and non-empty.
    subscript(relation: String) -> String? {
        guard let href = links[relation]?.href, !href.isEmpty else { return nil }
        return href
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where K == AnyKey {
    /// A text member; nil when absent, null or of another type.
    func lenientString(_ key: String) -> String? { try? decodeIfPresent(String.self, forKey: AnyKey(key)) }

    /// An integer sent as a number or as a string (`"3600"`); nil when absent or neither.
    func lenientInt(_ key: String) -> Int? {
        if let number = try? decodeIfPresent(Int.self, forKey: AnyKey(key)) { return number }
        return lenientString(key).flatMap { Int($0) }
    }
}

/// Decodes bank JSON: JSONKit's strict RFC 8259 reader, then the type's direct reader (`NodeReadable`) or its
/// `Decodable` conformance over the tree — whose error is final. Only for a bank whose profile has the
/// `lenientJSON` quirk is a body the strict reader refuses read again by Foundation's `JSONDecoder` with JSON5
/// syntax accepted (docs/json.md).
enum STETJSON {
    static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8], lenient: Bool = false) throws -> T {
        guard let node = try parse(body, lenient: lenient) else { return try decodeJSON5(type, from: body) }
        return try JSONNodeDecoder().decode(type, from: node)
    }

    /// The same, read straight off the parsed tree when `T`'s reader accepts it (`NodeReadable`).
    static func decode<T: Decodable & NodeReadable>(_ type: T.Type, from body: [UInt8], lenient: Bool = false) throws
        -> T
    {
        guard let node = try parse(body, lenient: lenient) else { return try decodeJSON5(type, from: body) }
        if let value = try? T(node: node) { return value }
        return try JSONNodeDecoder().decode(type, from: node)
    }

    /// The tree itself, members in the bank's order (registration documents); with `lenient`, a body the strict
    /// reader refuses is read by the JSON5 reader (whose objects come with their members sorted).
    static func tree(_ body: [UInt8], lenient: Bool = false) throws -> JSONNode {
        guard let node = try parse(body, lenient: lenient) else { return try decodeJSON5(JSONNode.self, from: body) }
        return node
    }

    /// The tree, or nil when the body is not strict JSON and `lenient` asks for the JSON5 reader.
    private static func parse(_ body: [UInt8], lenient: Bool) throws -> JSONNode? {
        do {
            return try JSONParser.parse(body)
        } catch {
            if lenient { return nil }
            throw error
        }
    }

    private static func decodeJSON5<T: Decodable>(_ type: T.Type, from body: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        return try decoder.decode(type, from: Data(body))
    }

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }
}
