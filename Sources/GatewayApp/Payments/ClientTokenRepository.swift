import FoundationEssentials
import GatewayCore
import PostgresKit

/// A client-credentials token as stored: sealed (`ClientCredentialsTokens.owner` as associated data), with its expiry.
public struct StoredClientToken: Sendable, Equatable {
    public var sealed: [UInt8]
    public var expiresAt: Date
    public var updatedAt: Date
}

/// Where client-credentials tokens are kept, per registration and scope: what `ClientCredentialsTokens` needs.
/// `ClientTokenStore` keeps them in PostgreSQL (`registration_tokens`); `InMemoryClientTokenRepository`
/// (GatewayAppTests) keeps the same promises. Errors are `GatewayError`.
public protocol ClientTokenRepository: Sendable {
    /// The token stored for `registration` and `scope`, if any.
    func find(registration: UUID, scope: String) async throws -> StoredClientToken?

    /// Runs `renew` alone for `registration` and `scope` — across every replica — with the token stored now, and
    /// stores the token it returns (nil: keep the stored one). Concurrent callers wait for the one running, then
    /// see what it stored: one token call per expiry. This is the one wait that spans a bank call (the token
    /// endpoint's), on purpose; it locks no payment or connection row, and `ClientCredentialsTokens` makes the
    /// callers of one process share one renewal, so that each replica waits with one connection.
    func renew<T: Sendable>(
        registration: UUID, scope: String,
        _ renew: (StoredClientToken?) async throws -> (store: StoredClientToken?, result: T)
    ) async throws -> T
}

/// `ClientTokenRepository` in PostgreSQL: a renewal holds a transaction-scoped advisory lock on the registration and
/// scope, and re-reads the row under it.
struct ClientTokenStore: ClientTokenRepository {
    let db: StoreDatabase

    func find(registration: UUID, scope: String) async throws -> StoredClientToken? {
        try await db.query("""
            SELECT access_token_sealed, expires_at, updated_at FROM registration_tokens
            WHERE registration_id = \(registration) AND scope = \(scope)
            """).first.map(Self.decode)
    }

    func renew<T: Sendable>(
        registration: UUID, scope: String,
        _ renew: (StoredClientToken?) async throws -> (store: StoredClientToken?, result: T)
    ) async throws -> T {
        let lockKey = ClientCredentialsTokens.owner(registration, scope)
        return try await db.withTransaction { tx in
            _ = try await tx.query("SELECT pg_advisory_xact_lock(hashtextextended(\(lockKey), 0))")
            let current = try await tx.query("""
                SELECT access_token_sealed, expires_at, updated_at FROM registration_tokens
                WHERE registration_id = \(registration) AND scope = \(scope)
                """).first.map(Self.decode)
            let (new, result) = try await renew(current)
            if let new {
                _ = try await tx.execute("""
                    INSERT INTO registration_tokens
                      (registration_id, scope, access_token_sealed, expires_at, updated_at)
                    VALUES (\(registration), \(scope), \(new.sealed), \(new.expiresAt), \(new.updatedAt))
                    ON CONFLICT (registration_id, scope) DO UPDATE SET
                      access_token_sealed = EXCLUDED.access_token_sealed, expires_at = EXCLUDED.expires_at,
                      updated_at = EXCLUDED.updated_at
                    """)
            }
            return result
        }
    }

    static func decode(_ row: Row) throws -> StoredClientToken {
        StoredClientToken(
            sealed: try row.decode("access_token_sealed"), expiresAt: try row.decode("expires_at"),
            updatedAt: try row.decode("updated_at"))
    }
}
