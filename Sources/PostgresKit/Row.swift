import FoundationEssentials

/// The column names of a result, shared by all its rows.
final class RowColumns: Sendable {
    let names: [String]
    let index: [String: Int]

    init(names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() where index[name] == nil { index[name] = i }
        self.index = index
    }
}

/// One result row, copied out of the `PGresult` (text format). Decode columns by name:
///
/// ```swift
/// let id = try row.decode("id", as: UUID.self)
/// let note = try row.decode("note", as: String?.self)   // nil for NULL
/// ```
public struct Row: Sendable {
    let columns: RowColumns
    let values: [String?]

    init(columns: RowColumns, values: [String?]) {
        self.columns = columns
        self.values = values
    }

    /// The column names, in result order.
    public var columnNames: [String] { columns.names }

    /// The raw text of `column` (nil for NULL).
    /// - Throws: `DatabaseError` `.decodingFailed` when there is no such column.
    public func text(_ column: String) throws -> String? {
        guard let index = columns.index[column] else {
            throw DatabaseError(.decodingFailed, message: "no column named \(column)")
        }
        return values[index]
    }

    /// Decodes `column` as `type`; use an optional type (`String?.self`) for nullable columns.
    /// - Throws: `DatabaseError` `.decodingFailed` for a missing column, an unexpected NULL or bad text; the
    ///   message names the column, never the value.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        do {
            guard let text = try text(column) else { return try T.postgresNull() }
            return try T(postgresText: text)
        } catch var error as DatabaseError {
            error.message = "column \(column): \(error.message)"
            throw error
        }
    }

    /// Decodes a `text[]` column.
    public func decode(_ column: String, as type: [String].Type) throws -> [String] {
        try decode(column, as: PostgresTextArray.self).values
    }

    /// Decodes a nullable `text[]` column.
    public func decode(_ column: String, as type: [String]?.Type) throws -> [String]? {
        try decode(column, as: PostgresTextArray?.self)?.values
    }

    /// Decodes a `json`/`jsonb` column with `JSONDecoder`.
    public func decodeJSON<T: Decodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        let json = try decode(column, as: JSONText.self)
        return try JSONDecoder().decode(T.self, from: Data(json.text.utf8))
    }
}
