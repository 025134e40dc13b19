import Foundation

/// A JSON value with ordered object members, for registration documents: they need explicit `null`s (a new
/// Euro-Information key's `"kid": null`), members passed through as the bank wrote them (rotation keeps the bank's
/// keys) and byte-stable output for golden tests. Serialised compactly, members in insertion order, `/` unescaped.
enum JSONValue: Sendable, Hashable, Decodable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.serialized == rhs.serialized }
    func hash(into hasher: inout Hasher) { hasher.combine(serialized) }

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let flag = try? single.decode(Bool.self) {
            self = .bool(flag)
        } else if let int = try? single.decode(Int64.self) {
            self = .number(String(int))
        } else if let double = try? single.decode(Double.self) {
            self = .number(String(double))
        } else if let text = try? single.decode(String.self) {
            self = .string(text)
        } else if let list = try? single.decode([JSONValue].self) {
            self = .array(list)
        } else {
            let container = try decoder.container(keyedBy: AnyKey.self)
            // Key order is not preserved by the decoder: sort for deterministic output.
            self = .object(
                try container.allKeys.map(\.stringValue).sorted().map {
                    ($0, try container.decode(JSONValue.self, forKey: AnyKey($0)))
                })
        }
    }

    /// Parses a registration body (JSON5 tolerated: these documents are stored and shown, never trusted).
    static func parse(_ bytes: [UInt8]) -> JSONValue? { try? STETJSON.decode(JSONValue.self, from: bytes, lenient: true) }

    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var arrayValue: [JSONValue]? {
        if case .array(let list) = self { return list }
        return nil
    }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Compact JSON text.
    var serialized: String {
        var out = ""
        write(to: &out)
        return out
    }

    var bytes: [UInt8] { Array(serialized.utf8) }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let text): out += text
        case .string(let text): Self.quote(text, into: &out)
        case .array(let list):
            out += "["
            for (index, item) in list.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}
