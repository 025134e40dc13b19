import GatewayCore
import GatewayLogging
import PostgresKit

/// The stores' handle on PostgreSQL: `PostgresClient`'s `query`, `execute` and `withTransaction`, with every
/// `DatabaseError` translated into a `GatewayError` here, once, so that the HTTP edge sees `GatewayError` only:
///
/// | Database failure | Answer |
/// |---|---|
/// | unreachable, broken connection, no answer in time, no free connection, client shut down | 503 `/problems/unavailable` with `Retry-After` |
/// | unique violation | 409 `/problems/conflict` |
/// | anything else | 500 `/problems/internal` (logged here, once, with the request's problem carrying its id) |
///
/// Inside a `withTransaction` body the connection's own calls still throw `DatabaseError`, so a store can react to
/// a specific one (a foreign-key violation that means "still in use"); whatever leaves the body is translated.
public struct StoreDatabase: Sendable {
    /// The pool underneath (for the few callers that need PostgresKit itself: migrations, tests).
    public let client: PostgresClient

    /// Seconds a client is asked to wait (`Retry-After`) when the database is unavailable.
    public static let retryAfterSeconds = 2

    public init(_ client: PostgresClient) { self.client = client }

    /// `PostgresClient.query`, translated.
    @discardableResult
    public func query(_ query: Query) async throws -> [Row] {
        do { return try await client.query(query) } catch let error as DatabaseError { throw translate(error) }
    }

    /// `PostgresClient.execute`, translated.
    @discardableResult
    public func execute(_ query: Query) async throws -> Int {
        do { return try await client.execute(query) } catch let error as DatabaseError { throw translate(error) }
    }

    /// `PostgresClient.withTransaction`, with what leaves it translated.
    public func withTransaction<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await client.withTransaction(isolation: isolation, body)
        } catch let error as DatabaseError {
            throw translate(error)
        }
    }

    /// The one translation of a database failure into what the API answers.
    public func translate(_ error: DatabaseError) -> GatewayError {
        switch error.code {
        case .connectionFailed, .timeout, .poolClosed:
            client.logger.warning("database unavailable", metadata: ["error": error.description])
            return .unavailable("the database is unavailable", retryAfter: Self.retryAfterSeconds)
        case .uniqueViolation:
            return .conflict("a record with the same identifying values already exists")
        case .foreignKeyViolation, .serializationFailure, .deadlockDetected, .lockNotAvailable, .decodingFailed,
            .migrationMismatch, .invalidURL, .other:
            client.logger.error("database error", metadata: ["error": error.description])
            return .internal(error.description)
        }
    }
}
