import FoundationEssentials

/// A Swift value that can be bound as a query parameter in PostgreSQL's text format.
public protocol PostgresEncodable: Sendable {
    /// The parameter type OID sent with `PQexecParams`; 0 lets the server infer it from context.
    static var postgresType: UInt32 { get }
    /// The value in the type's text input format.
    var postgresText: String { get }
}

/// A Swift value that can be read from a column in PostgreSQL's text output format.
public protocol PostgresDecodable {
    /// Parses the column's text. - Throws: `DatabaseError` `.decodingFailed` (without the value).
    init(postgresText text: String) throws
    /// The value for SQL NULL; throws for non-optional types.
    static func postgresNull() throws -> Self
}

extension PostgresDecodable {
    public static func postgresNull() throws -> Self {
        throw DatabaseError(.decodingFailed, message: "unexpected NULL for \(Self.self)")
    }
}

/// Both directions.
public typealias PostgresCodable = PostgresEncodable & PostgresDecodable

/// Type OIDs from `pg_type` (stable since PostgreSQL 7).
enum PostgresOID {
    static let unknown: UInt32 = 0
    static let bool: UInt32 = 16
    static let bytea: UInt32 = 17
    static let int8: UInt32 = 20
    static let int4: UInt32 = 23
    static let float8: UInt32 = 701
    static let textArray: UInt32 = 1009
    static let timestamptz: UInt32 = 1184
    static let uuid: UInt32 = 2950
}

func decodingFailure<T>(_ type: T.Type) -> DatabaseError {
    // The offending text is not included: it may be personal data.
    DatabaseError(.decodingFailed, message: "column text is not a valid \(T.self)")
}

// MARK: - Conformances

extension String: PostgresCodable {
    /// Unknown (0): the server infers `text`, `varchar`, `uuid`, `jsonb`… from where the parameter is used.
    public static var postgresType: UInt32 { PostgresOID.unknown }
    public var postgresText: String { self }
    public init(postgresText text: String) { self = text }
}

/// Integers travel as their decimal text.
extension PostgresEncodable where Self: FixedWidthInteger {
    public var postgresText: String { String(self) }
}

extension PostgresDecodable where Self: FixedWidthInteger {
    public init(postgresText text: String) throws {
        guard let v = Self(text) else { throw decodingFailure(Self.self) }
        self = v
    }
}

extension Int: PostgresCodable {
    public static var postgresType: UInt32 { PostgresOID.int8 }
}

extension Int64: PostgresCodable {
    public static var postgresType: UInt32 { PostgresOID.int8 }
}

extension Int32: PostgresCodable {
    public static var postgresType: UInt32 { PostgresOID.int4 }
}

extension Bool: PostgresCodable {
    public static var postgresType: UInt32 { PostgresOID.bool }
    public var postgresText: String { self ? "true" : "false" }
    public init(postgresText text: String) throws {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw decodingFailure(Bool.self)
        }
    }
}

extension Double: PostgresCodable {
    public static var postgresType: UInt32 { PostgresOID.float8 }
    public var postgresText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return "\(self)"
    }
    public init(postgresText text: String) throws {
        guard let v = Double(text) else { throw decodingFailure(Double.self) }
        self = v
    }
}

/// `bytea`: sent and read in hex format (`\x0a1b…`, the default `bytea_output` since PostgreSQL 9.0).
extension Array: PostgresEncodable where Element == UInt8 {
    public static var postgresType: UInt32 { PostgresOID.bytea }
    public var postgresText: String { PostgresTextFormat.byteaHex(self) }
}

extension Array: PostgresDecodable where Element == UInt8 {
    public init(postgresText text: String) throws {
        guard let bytes = PostgresTextFormat.parseByteaHex(text) else { throw decodingFailure([UInt8].self) }
        self = bytes
    }
}

/// `timestamptz` in UTC with microsecond precision (PostgreSQL's resolution).
extension Date: PostgresCodable {
    public static var postgresType: UInt32 { PostgresOID.timestamptz }
    public var postgresText: String { PostgresTextFormat.timestamp(self) }
    public init(postgresText text: String) throws {
        guard let date = PostgresTextFormat.parseTimestamp(text) else { throw decodingFailure(Date.self) }
        self = date
    }
}

extension UUID: PostgresCodable {
    public static var postgresType: UInt32 { PostgresOID.uuid }
    public var postgresText: String { uuidString.lowercased() }
    public init(postgresText text: String) throws {
        guard let v = UUID(uuidString: text) else { throw decodingFailure(UUID.self) }
        self = v
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init(postgresText text: String) throws { self = .some(try Wrapped(postgresText: text)) }
    public static func postgresNull() -> Self { nil }
}

/// JSON kept as text, for `json`/`jsonb` columns. Bound with an unknown type so the column decides.
public struct JSONText: PostgresCodable, Hashable {
    /// The JSON document.
    public var text: String
    public init(_ text: String) { self.text = text }
    public static var postgresType: UInt32 { PostgresOID.unknown }
    public var postgresText: String { text }
    public init(postgresText text: String) { self.text = text }
}
