import FoundationEssentials

/// One bound parameter in text format: its value (`nil` is SQL NULL) and its type OID (0 lets the server infer it).
public struct PostgresBind: Sendable, Equatable {
    /// The value in PostgreSQL's text input format.
    public var text: String?
    /// The parameter's type OID, e.g. 20 for `int8`; 0 means "unknown, infer from context".
    public var type: UInt32

    /// A bind of `text` (nil for NULL) with type OID `type`.
    public init(text: String?, type: UInt32) {
        self.text = text
        self.type = type
    }
}

/// A SQL statement whose interpolated values become `$1`, `$2`, … placeholders with separate binds, so values can
/// never change the SQL text (the idea of postgres-nio's `PostgresQuery`):
///
/// ```swift
/// let rows = try await db.query("SELECT id FROM registrations WHERE bank = \(bank) AND id = \(id)")
/// ```
///
/// `description` shows only the SQL text, never the values. `Query(unsafeSQL:)` is the named escape hatch for SQL
/// assembled at run time from trusted parts.
public struct Query: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The SQL text with `$n` placeholders.
    public private(set) var sql: String
    /// The values of the placeholders, in order.
    public private(set) var binds: [PostgresBind]

    /// A query from SQL text built at run time. Nothing in `unsafeSQL` is escaped: never put input in it.
    public init(unsafeSQL: String, binds: [PostgresBind] = []) {
        self.sql = unsafeSQL
        self.binds = binds
    }

    /// A query without parameters, from a literal in the source.
    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    /// A query from an interpolated literal: each value became a placeholder.
    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    /// The SQL text only (placeholders, never values), safe to log.
    public var description: String { sql }

    /// Appends another query, renumbering its placeholders.
    public mutating func append(_ other: Query) {
        var interpolation = StringInterpolation(literalCapacity: 0, interpolationCount: 0)
        // Move (not copy) the storage, so that appending many fragments stays linear.
        swap(&interpolation.sql, &sql)
        swap(&interpolation.binds, &binds)
        interpolation.appendInterpolation(other)
        sql = interpolation.sql
        binds = interpolation.binds
    }

    /// Builds the SQL text and binds of an interpolated `Query` literal.
    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var binds: [PostgresBind] = []

        /// Called by the compiler for each interpolated literal.
        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
        }

        /// Literal text goes into the SQL as written.
        public mutating func appendLiteral(_ literal: String) { sql += literal }

        /// `\(value)`: a `$n` placeholder bound to `value`.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            binds.append(PostgresBind(text: value.postgresText, type: type(of: value).postgresType))
            sql += "$\(binds.count)"
        }

        /// `\(optional)`: a placeholder bound to the value or to NULL.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            binds.append(PostgresBind(text: value?.postgresText, type: Value.postgresType))
            sql += "$\(binds.count)"
        }

        /// `\(json: value)`: a placeholder bound to `value` encoded with `JSONEncoder` (for `json`/`jsonb` columns).
        public mutating func appendInterpolation(json value: some Encodable) throws {
            let data = try JSONEncoder().encode(value)
            appendInterpolation(JSONText(String(decoding: data, as: UTF8.self)))
        }

        /// `\(identifier: name)`: a double-quoted SQL identifier (table or column name), with `"` doubled.
        /// For names chosen by the program (unique test tables, schemas), not for values.
        public mutating func appendInterpolation(identifier name: String) {
            sql += "\"" + name.replacing("\"", with: "\"\"") + "\""
        }

        /// `\(fragment)`: splices another `Query`, renumbering its placeholders.
        public mutating func appendInterpolation(_ fragment: Query) {
            let offset = binds.count
            binds += fragment.binds
            guard offset > 0 else {
                sql += fragment.sql
                return
            }
            // Renumber `$k` → `$(k+offset)`, outside quoted strings and identifiers.
            var out = ""
            var chars = fragment.sql[...]
            var quote: Character?
            while let ch = chars.popFirst() {
                if let q = quote {
                    out.append(ch)
                    if ch == q { quote = nil }
                } else if ch == "'" || ch == "\"" {
                    quote = ch
                    out.append(ch)
                } else if ch == "$", let first = chars.first, first.isASCII, first.isNumber {
                    let digits = chars.prefix { $0.isASCII && $0.isNumber }
                    chars = chars.dropFirst(digits.count)
                    out += "$\(Int(digits)! + offset)"
                } else {
                    out.append(ch)
                }
            }
            sql += out
        }
    }
}
