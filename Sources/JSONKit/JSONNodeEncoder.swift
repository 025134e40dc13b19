import FoundationEssentials
import GatewayLogging

/// Encodes `Encodable` values to compact JSON bytes, byte for byte as Foundation's `JSONEncoder` with
/// `[.sortedKeys, .withoutEscapingSlashes]` writes them for the types Passerelle encodes (tested side by side),
/// without its cost (Foundation boxes every container and builds an intermediate value tree of its own).
///
/// Keys are sorted as Foundation sorts them on Linux (String `<`); `/` is not escaped; `Date` is written by `dateEncoding` (else as seconds since 2001), `Data` as base64, `URL`
/// as its absolute string, `Decimal` as a number.
public struct JSONNodeEncoder: Sendable {
    /// Writes a `Date` as a JSON string; nil: as Foundation's `.deferredToDate` does.
    public var dateEncoding: (@Sendable (Date) -> String)?

    public init(dateEncoding: (@Sendable (Date) -> String)? = nil) { self.dateEncoding = dateEncoding }

    /// - Throws: `EncodingError` for a non-finite floating-point value, or a top-level value that encodes nothing.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        guard let encoded = try NodeEncoder.encodedIfAny(value, options: self, codingPath: []) else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        encoded.write(into: &out)
        return out
    }
}

/// A value being encoded: containers are references, so a nested container keeps writing into its parent.
enum EncodedValue {
    case leaf(JSONNode)
    case object(ObjectBox)
    case array(ArrayBox)
    /// A nested encoder whose value is read when written (`superEncoder`, nested `encode(to:)` calls).
    case encoder(NodeEncoder)

    func write(into out: inout [UInt8]) {
        switch self {
        case .leaf(let node): JSONWriter.write(node, into: &out)
        case .object(let box): box.write(into: &out)
        case .array(let box):
            out.append(UInt8(ascii: "["))
            for (i, element) in box.elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .encoder(let encoder): encoder.result.write(into: &out)
        }
    }
}

final class ObjectBox {
    var members: [(key: String, value: EncodedValue)] = []

    func write(into out: inout [UInt8]) {
        // Sorted as Foundation sorts on Linux (String `<`); for a key written twice, the last value wins.
        let sorted = members.enumerated().sorted { a, b in
            a.element.key != b.element.key ? a.element.key < b.element.key : a.offset < b.offset
        }
        out.append(UInt8(ascii: "{"))
        var first = true
        for (i, entry) in sorted.enumerated() {
            if i + 1 < sorted.count && sorted[i + 1].element.key == entry.element.key { continue }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONString.append(entry.element.key, to: &out)
            out.append(UInt8(ascii: ":"))
            entry.element.value.write(into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

final class ArrayBox {
    var elements: [EncodedValue] = []
}

enum JSONWriter {
    /// Writes `node` compactly; objects with their members sorted (as the encoder writes them) or as they stand.
    static func write(_ node: JSONNode, sortedKeys: Bool = true, into out: inout [UInt8]) {
        switch node {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let text): JSONString.append(text, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, sortedKeys: sortedKeys, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members) where sortedKeys:
            let box = ObjectBox()
            box.members = members.map { ($0.key, .leaf($0.value)) }
            box.write(into: &out)
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.append(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, sortedKeys: false, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

}

final class NodeEncoder: Encoder, SingleValueEncodingContainer {
    let options: JSONNodeEncoder
    let codingPath: [any CodingKey]
    var value: EncodedValue?

    init(options: JSONNodeEncoder, codingPath: [any CodingKey]) {
        self.options = options
        self.codingPath = codingPath
    }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// What was encoded; nothing at all is written as `{}`, as Foundation does.
    var result: EncodedValue { value ?? .object(ObjectBox()) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let box = if case .object(let existing) = value { existing } else { ObjectBox() }
        value = .object(box)
        return KeyedEncodingContainer(KeyedNodeEncoding<Key>(encoder: self, box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let box = if case .array(let existing) = value { existing } else { ArrayBox() }
        value = .array(box)
        return UnkeyedNodeEncoding(encoder: self, box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    /// Encodes `value` here, with the special cases Foundation's encoder has.
    func encodeValue<T: Encodable>(_ value: T) throws {
        self.value = try Self.encoded(value, options: options, codingPath: codingPath)
    }

    static func encoded<T: Encodable>(
        _ value: T, options: JSONNodeEncoder, codingPath: [any CodingKey]
    ) throws -> EncodedValue {
        try encodedIfAny(value, options: options, codingPath: codingPath) ?? .object(ObjectBox())
    }

    /// nil when `value.encode(to:)` wrote nothing.
    static func encodedIfAny<T: Encodable>(
        _ value: T, options: JSONNodeEncoder, codingPath: [any CodingKey]
    ) throws -> EncodedValue? {
        // Metatype comparisons first: one dynamic cast at most, instead of trying each type in turn.
        if T.self == String.self { return .leaf(.string(value as! String)) }
        if T.self == Bool.self { return .leaf(.bool(value as! Bool)) }
        if T.self == Int.self { return .leaf(.number(String(value as! Int))) }
        if T.self == Double.self { return .leaf(.number(try format(value as! Double, codingPath))) }
        if T.self == Date.self {
            let date = value as! Date
            if let write = options.dateEncoding { return .leaf(.string(write(date))) }
            return .leaf(.number(try format(date.timeIntervalSinceReferenceDate, codingPath)))
        }
        if T.self == URL.self { return .leaf(.string((value as! URL).absoluteString)) }
        if T.self == Data.self { return .leaf(.string((value as! Data).base64EncodedString())) }
        if T.self == Decimal.self { return .leaf(.number((value as! Decimal).description)) }
        let nested = NodeEncoder(options: options, codingPath: codingPath)
        try value.encode(to: nested)
        return nested.value
    }

    /// Doubles as Foundation writes them: integral values without a fraction, others in Swift's shortest form.
    static func format(_ number: Double, _ codingPath: [any CodingKey]) throws -> String {
        guard number.isFinite else {
            throw EncodingError.invalidValue(
                number, .init(codingPath: codingPath, debugDescription: "Unable to encode \(number) directly in JSON."))
        }
        var text = number.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    // MARK: SingleValueEncodingContainer

    func encodeNil() { value = .leaf(.null) }
    func encode(_ value: Bool) { self.value = .leaf(.bool(value)) }
    func encode(_ value: String) { self.value = .leaf(.string(value)) }
    func encode(_ value: Double) throws { self.value = .leaf(.number(try Self.format(value, codingPath))) }
    func encode(_ value: Float) throws { self.value = .leaf(.number(try Self.format(Double(value), codingPath))) }
    func encode(_ value: Int) { self.value = .leaf(.number(String(value))) }
    func encode(_ value: Int8) { self.value = .leaf(.number(String(value))) }
    func encode(_ value: Int16) { self.value = .leaf(.number(String(value))) }
    func encode(_ value: Int32) { self.value = .leaf(.number(String(value))) }
    func encode(_ value: Int64) { self.value = .leaf(.number(String(value))) }
    func encode(_ value: UInt) { self.value = .leaf(.number(String(value))) }
    func encode(_ value: UInt8) { self.value = .leaf(.number(String(value))) }
    func encode(_ value: UInt16) { self.value = .leaf(.number(String(value))) }
    func encode(_ value: UInt32) { self.value = .leaf(.number(String(value))) }
    func encode(_ value: UInt64) { self.value = .leaf(.number(String(value))) }
    func encode<T: Encodable>(_ value: T) throws { try encodeValue(value) }
}

struct KeyedNodeEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: NodeEncoder
    let box: ObjectBox
    let codingPath: [any CodingKey]

    private func put(_ value: EncodedValue, _ key: Key) { box.members.append((key.stringValue, value)) }

    mutating func encodeNil(forKey key: Key) { put(.leaf(.null), key) }
    mutating func encode(_ value: Bool, forKey key: Key) { put(.leaf(.bool(value)), key) }
    mutating func encode(_ value: String, forKey key: Key) { put(.leaf(.string(value)), key) }
    mutating func encode(_ value: Int, forKey key: Key) { put(.leaf(.number(String(value))), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        put(.leaf(.number(try NodeEncoder.format(value, codingPath + [key]))), key)
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        put(try NodeEncoder.encoded(value, options: encoder.options, codingPath: codingPath + [key]), key)
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) {
        if let value { put(.leaf(.string(value)), key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) {
        if let value { put(.leaf(.bool(value)), key) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) {
        if let value { put(.leaf(.number(String(value))), key) }
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBox()
        put(.object(nested), key)
        return KeyedEncodingContainer(
            KeyedNodeEncoding<NestedKey>(encoder: encoder, box: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        put(.array(nested), key)
        return UnkeyedNodeEncoding(encoder: encoder, box: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        let nested = NodeEncoder(options: encoder.options, codingPath: codingPath + [SuperKey.key])
        box.members.append(("super", .encoder(nested)))
        return nested
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let nested = NodeEncoder(options: encoder.options, codingPath: codingPath + [key])
        put(.encoder(nested), key)
        return nested
    }
}

struct UnkeyedNodeEncoding: UnkeyedEncodingContainer {
    let encoder: NodeEncoder
    let box: ArrayBox
    let codingPath: [any CodingKey]

    var count: Int { box.elements.count }

    mutating func encodeNil() { box.elements.append(.leaf(.null)) }
    mutating func encode(_ value: String) { box.elements.append(.leaf(.string(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        box.elements.append(
            try NodeEncoder.encoded(value, options: encoder.options, codingPath: codingPath + [IndexKey(count)]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBox()
        let path = codingPath + [IndexKey(count)]
        box.elements.append(.object(nested))
        return KeyedEncodingContainer(KeyedNodeEncoding<NestedKey>(encoder: encoder, box: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        let path = codingPath + [IndexKey(count)]
        box.elements.append(.array(nested))
        return UnkeyedNodeEncoding(encoder: encoder, box: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let nested = NodeEncoder(options: encoder.options, codingPath: codingPath + [IndexKey(count)])
        box.elements.append(.encoder(nested))
        return nested
    }
}
