import Foundation
import GatewayCore
import GatewayLogging
import PostgresKit

/// Client-credentials tokens per registration and scope (`pisp`, `cbpii`; docs/payments.md): cached in PostgreSQL
/// (sealed) until `refreshMargin` before expiry and shared by every replica. A new token is fetched under a
/// transaction-scoped advisory lock on the registration and scope, after re-reading the row, so concurrent callers
/// — tasks or replicas — wait for the first one and use its token: one token call per expiry, no storm.
struct ClientCredentialsTokens: Sendable {
    let deps: ConnectionDependencies
    /// Opened tokens by (registration, scope), with the sealed bytes they came from.
    private let opened = RecordCache<String, Opened>(ttl: nil)

    private struct Opened: Sendable {
        var sealed: [UInt8]
        var token: Secret<String>
        var expiresAt: Date
    }

    init(deps: ConnectionDependencies) { self.deps = deps }

    static func owner(_ registration: UUID, _ scope: String) -> String {
        "registration_tokens/\(registration.uuidString.lowercased())/\(scope)"
    }

    /// A token for `scope` at `registration`, valid beyond the refresh margin.
    /// - Parameter replacing: a token the bank just refused (401): fetch a new one unless another caller already did.
    /// - Throws: the adapter's error, translated (`translateBankError`), or a database error.
    func token(
        scope: String, registration: UUID, client: BankClient, adapter: any PaymentAdapter, context: AdapterContext,
        replacing: Secret<String>? = nil
    ) async throws -> Secret<String> {
        let key = Self.owner(registration, scope)
        let margin = deps.settings.refreshMarginSeconds
        if replacing == nil, let hit = opened.get(key), hit.expiresAt > deps.now().addingTimeInterval(margin) {
            return hit.token
        }
        // Another replica (or this one before a restart) may have stored a fresh token: a plain read first, the
        // lock only when a new token is needed.
        if replacing == nil, let row = try await deps.db.query("""
            SELECT access_token_sealed, expires_at FROM registration_tokens
            WHERE registration_id = \(registration) AND scope = \(scope)
            """).first
        {
            let sealed: [UInt8] = try row.decode("access_token_sealed")
            let expiresAt: Date = try row.decode("expires_at")
            if expiresAt > deps.now().addingTimeInterval(margin) {
                let token = try deps.vault.open(sealed, owner: key)
                opened.put(key, Opened(sealed: sealed, token: token, expiresAt: expiresAt))
                return token
            }
        }
        return try await deps.db.withTransaction { tx in
            _ = try await tx.query("SELECT pg_advisory_xact_lock(hashtextextended(\(key), 0))")
            let rows = try await tx.query("""
                SELECT access_token_sealed, expires_at FROM registration_tokens
                WHERE registration_id = \(registration) AND scope = \(scope)
                """)
            if let row = rows.first {
                let sealed: [UInt8] = try row.decode("access_token_sealed")
                let expiresAt: Date = try row.decode("expires_at")
                let token = try deps.vault.open(sealed, owner: key)
                if expiresAt > deps.now().addingTimeInterval(margin), token.reveal != replacing?.reveal {
                    opened.put(key, Opened(sealed: sealed, token: token, expiresAt: expiresAt))
                    return token
                }
            }
            let issued: TokenSet
            do {
                issued = try await adapter.clientCredentialsToken(scope: scope, client: client, context: context)
            } catch {
                throw translateBankError(error, bank: client.bank.id)
            }
            let sealed = try deps.vault.seal(issued.accessToken, owner: key)
            let now = deps.now()
            _ = try await tx.execute("""
                INSERT INTO registration_tokens (registration_id, scope, access_token_sealed, expires_at, updated_at)
                VALUES (\(registration), \(scope), \(sealed), \(issued.expiresAt), \(now))
                ON CONFLICT (registration_id, scope) DO UPDATE SET access_token_sealed = EXCLUDED.access_token_sealed,
                  expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at
                """)
            opened.put(key, Opened(sealed: sealed, token: issued.accessToken, expiresAt: issued.expiresAt))
            deps.logger.info(
                "client-credentials token issued",
                metadata: [
                    "registration.id": registration.uuidString.lowercased(), "bank": client.bank.id.description,
                    "scope": scope,
                ])
            return issued.accessToken
        }
    }
}
