// MARK: - Reading a tree

extension JSONNode {
    /// The value of the first member named `key`; nil when there is none or this is not an object.
    public subscript(key: String) -> JSONNode? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The text of a string; nil for any other kind of value.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The elements of an array; nil for any other kind of value.
    public var arrayValue: [JSONNode]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The strings of an array made only of strings; nil otherwise.
    public var stringArray: [String]? {
        guard case .array(let elements) = self else { return nil }
        var out: [String] = []
        out.reserveCapacity(elements.count)
        for element in elements {
            guard case .string(let text) = element else { return nil }
            out.append(text)
        }
        return out
    }

    /// True for `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

// MARK: - Writing a tree

extension JSONNode {
    /// Compact JSON text: object members in the order they stand (a document built member by member, such as a
    /// registration request whose golden bytes tests compare), or — with `sortedKeys` — sorted as
    /// `JSONNodeEncoder` sorts them (a key written twice keeps its last value there, as the encoder does).
    /// Strings are escaped as `JSONString` escapes them, `/` included as is; numbers are written as their text.
    public func bytes(sortedKeys: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        JSONWriter.write(self, sortedKeys: sortedKeys, into: &out)
        return out
    }

    /// `bytes(sortedKeys:)` as a `String`.
    public func text(sortedKeys: Bool = false) -> String {
        String(decoding: bytes(sortedKeys: sortedKeys), as: UTF8.self)
    }
}

// MARK: - Literals, for documents built in code

extension JSONNode: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONNode...) { self = .array(elements) }
}

// MARK: - From another decoder

extension JSONNode: Decodable {
    /// Reads any JSON value through a `Decoder` — for the readers JSONKit does not replace (Foundation's JSON5
    /// reader, used for a bank whose documents are JSON5). Booleans stay apart from numbers; integers keep their
    /// digits, other numbers are written as Swift writes a `Double`. A `Decoder` does not keep member order, so
    /// object members come sorted by key (JSONKit's own parser keeps the order; prefer it).
    public init(from decoder: any Decoder) throws {
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
        } else if let list = try? single.decode([JSONNode].self) {
            self = .array(list)
        } else {
            let container = try decoder.container(keyedBy: NodeMemberKey.self)
            self = .object(
                try container.allKeys.map(\.stringValue).sorted().map { key in
                    (key, try container.decode(JSONNode.self, forKey: NodeMemberKey(key)))
                })
        }
    }
}

/// Any member name, for `JSONNode.init(from:)`.
private struct NodeMemberKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
