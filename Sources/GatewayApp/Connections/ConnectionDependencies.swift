import Foundation
import GatewayCore
import GatewayLogging
import PostgresKit

/// What the connection and account-information services share: storage, the vault, the bank side and the clock.
/// Built once by the composition root (`Application`) or by tests.
public struct ConnectionDependencies: Sendable {
    let db: StoreDatabase
    let store: ConnectionStore
    let clients: BankClientFactory
    let vault: SecretVault
    let adapters: AdapterDirectory
    let catalog: BankCatalog
    let settings: Config.Connections
    let now: @Sendable () -> Date
    let logger: Logger
    /// Access tokens opened once per sealed value, shared by every `TokenKeeper` over these dependencies.
    let openedTokens: OpenedAccessTokens

    /// Access tokens of connections over these dependencies (stateless: its cache is `openedTokens`).
    var tokens: TokenKeeper { TokenKeeper(deps: self) }

    /// - Parameters:
    ///   - db: The application's pool.
    ///   - registrations: The registration store shared with `RegistrationService` (so that its changes drop this
    ///     side's cached rows); a private one when nil.
    ///   - recordCacheTTL: How long cached connection and account-id rows are trusted (`RecordCache`).
    ///   - clients: Builds the certificates-and-client view of a registration for each bank call.
    ///   - vault: Seals tokens and PKCE verifiers with owner-bound associated data.
    ///   - adapters: One adapter per provider.
    ///   - catalog: The bank catalog (after overrides).
    ///   - settings: `Config.connections`.
    ///   - now: The wall clock (injected in tests to move across token expiries and the unattended window).
    ///   - logger: Receives the services' own lines (never secrets).
    public init(
        db: PostgresClient, registrations: RegistrationStore? = nil, recordCacheTTL: Duration = Config.Database().recordCacheTTL,
        clients: BankClientFactory, vault: SecretVault, adapters: AdapterDirectory, catalog: BankCatalog,
        settings: Config.Connections, now: @escaping @Sendable () -> Date = { Date() }, logger: Logger
    ) {
        self.db = StoreDatabase(db)
        let registrations = registrations ?? RegistrationStore(db: db, cacheTTL: recordCacheTTL, now: now)
        self.store = ConnectionStore(db: db, registrations: registrations, cacheTTL: recordCacheTTL)
        self.clients = clients
        self.vault = vault
        self.openedTokens = OpenedAccessTokens(vault: vault)
        self.adapters = adapters
        self.catalog = catalog
        self.settings = settings
        self.now = now
        self.logger = logger
    }

    /// The registration and bank client a connection's calls use.
    /// - Throws: `GatewayError.conflict` when the registration is gone.
    func client(for connection: ConnectionRecord) async throws -> BankClient {
        try await clients.client(for: connection, in: store)
    }
}

extension Config.Connections {
    /// The context of one bank call: the inbound request id, a deadline from `bankCallTimeoutSeconds`, the PSU
    /// headers.
    func adapterContext(requestID: String, logger: Logger, psu: PSUContext = PSUContext()) -> AdapterContext {
        AdapterContext(
            requestID: requestID, deadline: .now + .milliseconds(Int(bankCallTimeoutSeconds * 1000)), logger: logger,
            psu: psu)
    }
}

extension BankClientFactory {
    /// The client of `connection`'s calls, over its registration as `store` reads it for a bank call.
    /// - Throws: `GatewayError.conflict` when the registration is gone.
    func client(for connection: ConnectionRecord, in store: any ConnectionRepository) async throws -> BankClient {
        try await client(for: connection, registration: try await store.registrationForBankCall(connection.registrationID))
    }

    /// The client of `connection`'s calls, over its registration `registration` (as read by the caller).
    /// - Throws: `GatewayError.conflict` when the registration is gone.
    func client(for connection: ConnectionRecord, registration: RegistrationRecord?) async throws -> BankClient {
        guard let registration, registration.status != .deleted else {
            throw GatewayError.conflict(
                "the registration of connection \(connection.id.uuidString.lowercased()) no longer exists")
        }
        return try await client(for: registration, bank: connection.bankID)
    }
}
