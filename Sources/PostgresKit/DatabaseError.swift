/// The one error type PostgresKit throws. Its `description` is safe to log: it carries the SQLSTATE, the server's
/// primary message (with quoted values redacted for data exceptions) and the constraint name — never bind values,
/// the `DETAIL` field (which repeats key values) or the connection URL.
///
/// Equality compares `code` only, so tests and callers can write `error == DatabaseError(.uniqueViolation)`.
public struct DatabaseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; repositories switch on it (e.g. `.uniqueViolation` → HTTP 409).
    public enum Code: String, Sendable, CaseIterable {
        /// SQLSTATE 23505.
        case uniqueViolation
        /// SQLSTATE 23503.
        case foreignKeyViolation
        /// SQLSTATE 40001 (retry the transaction).
        case serializationFailure
        /// SQLSTATE 40P01 (retry the transaction).
        case deadlockDetected
        /// SQLSTATE 55P03 (`NOWAIT` / `lock_timeout`).
        case lockNotAvailable
        /// The server is unreachable or the connection broke (SQLSTATE class 08, 57P01–57P03, or `PQstatus` bad).
        case connectionFailed
        /// No connection became free within the acquire timeout, or a statement hit `statement_timeout`
        /// (SQLSTATE 57014) or the wait for the server ran out.
        case timeout
        /// The client was shut down.
        case poolClosed
        /// The connection URL is malformed (a configuration error: waiting does not help).
        case invalidURL
        /// A column was missing, NULL where a value was expected, or not in the expected text format.
        case decodingFailed
        /// A migration already applied has a different checksum, or the migration list is inconsistent.
        case migrationMismatch
        /// Anything else; see `sqlState`.
        case other
    }

    /// The kind of failure; the only field compared by `==`.
    public var code: Code
    /// The five-character SQLSTATE, when the server sent one.
    public var sqlState: String?
    /// The server's primary message or a short description of the local failure.
    public var message: String
    /// The violated constraint, for integrity errors.
    public var constraint: String?
    /// The table involved, when the server names it.
    public var table: String?
    /// The libpq call or client operation that failed (`PQexecParams`, `acquire`, …).
    public var operation: String?

    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: A description without secrets or bind values.
    public init(
        _ code: Code, message: String = "", sqlState: String? = nil, constraint: String? = nil,
        table: String? = nil, operation: String? = nil
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.constraint = constraint
        self.table = table
        self.operation = operation
    }

    /// True when the database could not be reached or the connection broke: callers answer 503 for these.
    public var isUnavailable: Bool { code == .connectionFailed || code == .poolClosed }

    /// A one-line summary without bind values or secrets.
    public var description: String {
        var out = "DatabaseError(\(code.rawValue)"
        if let sqlState { out += ", sqlState: \(sqlState)" }
        if let operation { out += ", operation: \(operation)" }
        if let constraint { out += ", constraint: \(constraint)" }
        if let table { out += ", table: \(table)" }
        if !message.isEmpty { out += "): \(message)" } else { out += ")" }
        return out
    }

    /// Compares `code` only.
    public static func == (lhs: DatabaseError, rhs: DatabaseError) -> Bool { lhs.code == rhs.code }

    /// Maps a SQLSTATE to a code (PostgreSQL Appendix A, "Error Codes").
    static func code(forSQLState state: String) -> Code {
        switch state {
        case "23505": return .uniqueViolation
        case "23503": return .foreignKeyViolation
        case "40001": return .serializationFailure
        case "40P01": return .deadlockDetected
        case "55P03": return .lockNotAvailable
        case "57014": return .timeout
        case "57P01", "57P02", "57P03": return .connectionFailed
        default: return state.hasPrefix("08") ? .connectionFailed : .other
        }
    }

    /// Class 22 (data exception) messages quote the offending input, e.g. `invalid input syntax for type integer:
    /// "abc"`, and that input is usually a bind value: quoted parts are replaced.
    static func redactedMessage(_ message: String, sqlState: String?) -> String {
        guard let sqlState, sqlState.hasPrefix("22") else { return message }
        var out = ""
        var inQuote = false
        for ch in message {
            if ch == "\"" {
                if !inQuote { out += "\"<redacted>" } else { out.append(ch) }
                inQuote.toggle()
            } else if !inQuote {
                out.append(ch)
            }
        }
        return out
    }
}
