import FoundationEssentials

/// Decodes `Decodable` values from JSON bytes through a `JSONNode` tree: the same results as Foundation's
/// `JSONDecoder` for the types Passerelle decodes (tested side by side), at a fraction of the cost — Foundation
/// builds a dictionary for every keyed container and goes through boxed generic containers for every field.
///
/// Special types, as Foundation decodes them by default: `Date` (seconds since 2001, or `dateDecoding` from a
/// string), `Data` (base64), `URL` (a string), `Decimal` (a number).
public struct JSONNodeDecoder: Sendable {
    /// Reads a `Date` from a JSON string; nil: `Date` is decoded as Foundation's `.deferredToDate` does.
    public var dateDecoding: (@Sendable (String) -> Date?)?

    public init(dateDecoding: (@Sendable (String) -> Date?)? = nil) { self.dateDecoding = dateDecoding }

    /// - Throws: `JSONSyntaxError` when the bytes are not JSON; `DecodingError` when they do not fit `T`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decode(type, from: try JSONParser.parse(bytes))
    }

    /// - Throws: `DecodingError` when the tree does not fit `T`.
    public func decode<T: Decodable>(_ type: T.Type, from node: JSONNode) throws -> T {
        try NodeDecoder(node: node, parent: nil, key: nil, options: self, tracker: nil).decodeValue(T.self)
    }

    /// Decodes `T` and lists the object members `T`'s `Decodable` conformance never looked at, as paths
    /// (`contact.fax`, `items[2].extra`): an API that declares `additionalProperties: false` refuses them, and
    /// the type's own coding keys are the one list of what is known.
    /// - Throws: `DecodingError` when the tree does not fit `T`.
    public func decodeListingUnknownMembers<T: Decodable>(_ type: T.Type, from node: JSONNode) throws
        -> (value: T, unknownMembers: [String])
    {
        let tracker = MemberTracker()
        let value = try NodeDecoder(node: node, parent: nil, key: nil, options: self, tracker: tracker)
            .decodeValue(T.self)
        var unknown: [String] = []
        tracker.collectUnvisited(node, path: "", into: &unknown)
        return (value, unknown)
    }
}

/// The object members a decoding looked up, by path (one decoding, one thread).
final class MemberTracker {
    private var visited: Set<String> = []

    func visit(_ path: [any CodingKey]) { visited.insert(Self.render(path)) }

    /// `a.b[0].c` (index keys in brackets).
    static func render(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let i = key.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
        }
        return out
    }

    func collectUnvisited(_ node: JSONNode, path: String, into unknown: inout [String]) {
        switch node {
        case .object(let members):
            for (key, value) in members {
                let child = path.isEmpty ? key : path + "." + key
                if visited.contains(child) {
                    collectUnvisited(value, path: child, into: &unknown)
                } else if !unknown.contains(child) {
                    unknown.append(child)
                }
            }
        case .array(let elements):
            for (i, element) in elements.enumerated() { collectUnvisited(element, path: path + "[\(i)]", into: &unknown) }
        default: break
        }
    }
}

/// An array index as a coding key (for coding paths).
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

/// One value being decoded. The coding path is the chain of parents (built only when an error needs it).
final class NodeDecoder: Decoder, SingleValueDecodingContainer {
    let node: JSONNode
    let parent: NodeDecoder?
    let key: (any CodingKey)?
    let options: JSONNodeDecoder
    /// Set by `decodeListingUnknownMembers` only.
    let tracker: MemberTracker?

    init(node: JSONNode, parent: NodeDecoder?, key: (any CodingKey)?, options: JSONNodeDecoder, tracker: MemberTracker?) {
        self.node = node
        self.parent = parent
        self.key = key
        self.options = options
        self.tracker = tracker
    }

    /// A decoder for a child node.
    func child(_ node: JSONNode, key: any CodingKey) -> NodeDecoder {
        NodeDecoder(node: node, parent: self, key: key, options: options, tracker: tracker)
    }

    var codingPath: [any CodingKey] {
        var path: [any CodingKey] = []
        var current: NodeDecoder? = self
        while let decoder = current, let key = decoder.key {
            path.append(key)
            current = decoder.parent
        }
        return path.reversed()
    }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = node else {
            throw mismatch([String: Any].self)
        }
        return KeyedDecodingContainer(KeyedNodeContainer<Key>(decoder: self, members: members))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = node else { throw mismatch([Any].self) }
        return UnkeyedNodeContainer(decoder: self, elements: elements)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    /// This node is not a `type`. The error carries the expected type; the message does not print it: decoders
    /// probe with `try?` (a link as a string, then as an object), and printing a type's name costs more than the
    /// rest of the decoding.
    func mismatch(_ type: Any.Type) -> DecodingError {
        if case .null = node {
            return .valueNotFound(type, .init(codingPath: codingPath, debugDescription: "found null"))
        }
        return .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "found " + node.kind))
    }

    /// A number that does not fit the type asked for.
    func unrepresentable(_ text: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath, debugDescription: "Number \(text) is not representable in Swift."))
    }

    // MARK: Values (shared by the three container kinds)

    /// Decodes `T` from this decoder's node, with the special cases Foundation's decoder has.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == String.self { return try string() as! T }
        if T.self == Bool.self { return try bool() as! T }
        if T.self == Int.self { return try integer(Int.self) as! T }
        if T.self == Double.self { return try floating(Double.self) as! T }
        if T.self == Date.self { return try date() as! T }
        if T.self == Decimal.self { return try decimal() as! T }
        if T.self == URL.self {
            guard let url = URL(string: try string()) else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "Invalid URL string."))
            }
            return url as! T
        }
        if T.self == Data.self {
            guard let data = Data(base64Encoded: try string()) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: codingPath, debugDescription: "Encountered Data is not valid Base64."))
            }
            return data as! T
        }
        return try T(from: self)
    }

    func string() throws -> String {
        guard case .string(let text) = node else { throw mismatch(String.self) }
        return text
    }

    func bool() throws -> Bool {
        guard case .bool(let flag) = node else { throw mismatch(Bool.self) }
        return flag
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard case .number(let text) = node else { throw mismatch(T.self) }
        if let value = T(text) { return value }
        // "1.0", "1e3": accepted when exactly an integer in range, as Foundation does.
        if let double = Double(text), let value = T(exactly: double) { return value }
        throw unrepresentable(text)
    }

    func floating<T: BinaryFloatingPoint & LosslessStringConvertible>(_ type: T.Type) throws -> T {
        guard case .number(let text) = node else { throw mismatch(T.self) }
        guard let value = T(text), value.isFinite else { throw unrepresentable(text) }
        return value
    }

    func decimal() throws -> Decimal {
        guard case .number(let text) = node else { throw mismatch(Decimal.self) }
        guard let value = Decimal(string: text) else { throw unrepresentable(text) }
        return value
    }

    func date() throws -> Date {
        if let read = options.dateDecoding {
            let text = try string()
            guard let date = read(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "invalid date"))
            }
            return date
        }
        return Date(timeIntervalSinceReferenceDate: try floating(Double.self))
    }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool {
        if case .null = node { return true }
        return false
    }
    func decode(_ type: Bool.Type) throws -> Bool { try bool() }
    func decode(_ type: String.Type) throws -> String { try string() }
    func decode(_ type: Double.Type) throws -> Double { try floating(Double.self) }
    func decode(_ type: Float.Type) throws -> Float { try floating(Float.self) }
    func decode(_ type: Int.Type) throws -> Int { try integer(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(T.self) }
}

struct KeyedNodeContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoder
    let members: [(key: String, value: JSONNode)]

    var codingPath: [any CodingKey] { decoder.codingPath }

    var allKeys: [Key] {
        var keys: [Key] = []
        keys.reserveCapacity(members.count)
        for (index, member) in members.enumerated() {
            // A name written twice is listed once, where it first appears (its first value is the one decoded).
            if members[..<index].contains(where: { $0.key == member.key }) { continue }
            if let key = Key(stringValue: member.key) { keys.append(key) }
        }
        return keys
    }

    /// The first member with this name (duplicates: the first wins, as with Foundation's `JSONDecoder`).
    private func find(_ key: Key) -> JSONNode? {
        let name = key.stringValue
        if let tracker = decoder.tracker { tracker.visit(codingPath + [key]) }
        return members.first { $0.key == name }?.value
    }

    private func child(_ key: Key) throws -> NodeDecoder {
        guard let value = find(key) else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue)."))
        }
        return decoder.child(value, key: key)
    }

    /// nil when the key is absent or null (`decodeIfPresent`).
    private func presentChild(_ key: Key) -> NodeDecoder? {
        guard let value = find(key) else { return nil }
        if case .null = value { return nil }
        return decoder.child(value, key: key)
    }

    func contains(_ key: Key) -> Bool { find(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool { try child(key).decodeNil() }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(T.self) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).string() }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).bool() }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).integer(Int.self) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).floating(Double.self) }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try presentChild(key)?.decodeValue(T.self)
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try presentChild(key)?.string() }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try presentChild(key)?.bool() }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try presentChild(key)?.integer(Int.self)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        decoder.child(find(SuperKey.key) ?? .null, key: SuperKey.key)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        decoder.child(find(key) ?? .null, key: key)
    }

    private func find(_ key: SuperKey) -> JSONNode? { members.first { $0.key == key.stringValue }?.value }
}

/// The `super` key of `superDecoder()` / `superEncoder()`.
struct SuperKey: CodingKey {
    static let key = SuperKey()
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) { nil }
    init?(intValue: Int) { nil }
}

struct UnkeyedNodeContainer: UnkeyedDecodingContainer {
    let decoder: NodeDecoder
    let elements: [JSONNode]
    private(set) var currentIndex = 0

    init(decoder: NodeDecoder, elements: [JSONNode]) {
        self.decoder = decoder
        self.elements = elements
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next(_ type: Any.Type) throws -> NodeDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "Unkeyed container is at end."))
        }
        defer { currentIndex += 1 }
        return decoder.child(elements[currentIndex], key: IndexKey(currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any?.self, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "Unkeyed container is at end."))
        }
        if case .null = elements[currentIndex] {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(T.self).decodeValue(T.self) }
    mutating func decode(_ type: String.Type) throws -> String { try next(String.self).string() }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next([String: Any].self).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next([Any].self).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try next(Any.self) }
}
