import FoundationEssentials
import GatewayCore
import GatewayLogging

/// Client-credentials tokens per registration and scope (`pisp`, `cbpii`; docs/payments.md): cached in PostgreSQL
/// (sealed) until `refreshMargin` before expiry and shared by every replica. A new token is fetched inside the
/// repository's `renew` (in PostgreSQL a transaction-scoped advisory lock on the registration and scope, the row
/// re-read under it), so concurrent callers — tasks or replicas — wait for the first one and use its token: one
/// token call per expiry, no storm. Within a process, concurrent renewals of one key are one flight
/// (`SharedFlights`): a replica waits on another's renewal with one database connection, not one per waiting
/// request, so a slow token endpoint cannot take the whole pool.
struct ClientCredentialsTokens: Sendable {
    /// Where the sealed tokens are kept (`ClientTokenStore` in PostgreSQL).
    let store: any ClientTokenRepository
    let vault: SecretVault
    /// `Config.Connections.refreshMarginSeconds`: a token this close to its expiry is replaced.
    let refreshMargin: TimeInterval
    let now: @Sendable () -> Date
    let logger: Logger
    /// Opened tokens by (registration, scope), with the sealed bytes they came from.
    private let opened = RecordCache<String, Opened>(ttl: nil)
    /// Renewals in flight in this process, by (registration, scope) and whether they replace a refused token.
    let renewals = SharedFlights<String, Secret<String>>()

    private struct Opened: Sendable {
        var sealed: [UInt8]
        var token: Secret<String>
        var expiresAt: Date
    }

    init(
        store: any ClientTokenRepository, vault: SecretVault, refreshMargin: TimeInterval,
        now: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.store = store
        self.vault = vault
        self.refreshMargin = refreshMargin
        self.now = now
        self.logger = logger
    }

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
        if replacing == nil, let hit = opened.get(key), hit.expiresAt > now().addingTimeInterval(refreshMargin) {
            return hit.token
        }
        // Another replica (or this one before a restart) may have stored a fresh token: a plain read first, the
        // renewal only when a new token is needed.
        if replacing == nil, let stored = try await store.find(registration: registration, scope: scope),
            stored.expiresAt > now().addingTimeInterval(refreshMargin)
        {
            let token = try vault.open(stored.sealed, owner: key)
            opened.put(key, Opened(sealed: stored.sealed, token: token, expiresAt: stored.expiresAt))
            return token
        }
        // Callers replacing a refused token share a flight of their own: a flight started without one may hand
        // back the very token refused. One that still gets its refused token renews once more, alone.
        let flightKey = replacing == nil ? key : key + "#replacing"
        let token = try await renewals.run(flightKey) {
            try await renew(
                scope: scope, registration: registration, client: client, adapter: adapter, context: context,
                replacing: replacing)
        }
        guard let replacing, token.reveal == replacing.reveal else { return token }
        return try await renew(
            scope: scope, registration: registration, client: client, adapter: adapter, context: context,
            replacing: replacing)
    }

    /// The renewal under the repository's lock: the stored token if it is fresh (and not `replacing`), or a new one
    /// from the bank, stored.
    private func renew(
        scope: String, registration: UUID, client: BankClient, adapter: any PaymentAdapter, context: AdapterContext,
        replacing: Secret<String>?
    ) async throws -> Secret<String> {
        let key = Self.owner(registration, scope)
        return try await store.renew(registration: registration, scope: scope) { current in
            if let current {
                let token = try vault.open(current.sealed, owner: key)
                if current.expiresAt > now().addingTimeInterval(refreshMargin), token.reveal != replacing?.reveal {
                    opened.put(key, Opened(sealed: current.sealed, token: token, expiresAt: current.expiresAt))
                    return (nil, token)
                }
            }
            let issued: TokenSet
            do {
                issued = try await adapter.clientCredentialsToken(scope: scope, client: client, context: context)
            } catch {
                throw translateBankError(error, bank: client.bank.id)
            }
            let sealed = try vault.seal(issued.accessToken, owner: key)
            opened.put(key, Opened(sealed: sealed, token: issued.accessToken, expiresAt: issued.expiresAt))
            logger.info(
                "client-credentials token issued",
                metadata: [
                    "registration.id": registration.uuidString.lowercased(), "bank": client.bank.id.description,
                    "scope": scope,
                ])
            let stored = StoredClientToken(sealed: sealed, expiresAt: issued.expiresAt, updatedAt: now())
            return (stored, issued.accessToken)
        }
    }
}
