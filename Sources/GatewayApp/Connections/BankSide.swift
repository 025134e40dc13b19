import FoundationEssentials
import GatewayCore
import GatewayLogging

/// The bank side the connection, token, account-information and payment services share: the clients of
/// registrations, the vault, the adapters, the connection settings and the clock. Built once by the composition root
/// (`Application`) or by tests; each service keeps its own store (its repository protocol) beside it.
struct BankSide: Sendable {
    /// Builds the certificates-and-client view of a registration for each bank call, from the bank catalog (after
    /// overrides).
    let clients: BankClientFactory
    /// Seals tokens and PKCE verifiers with owner-bound associated data, and opens them.
    let vault: SecretVault
    /// One adapter per provider.
    let adapters: AdapterDirectory
    /// `Config.connections`: lifetimes, margins, the refresher, the bank call's deadline.
    let settings: Config.Connections
    /// The wall clock (injected in tests to move across token expiries and the unattended window).
    let now: @Sendable () -> Date

    /// The bank catalog, the one the client factory builds clients from.
    var catalog: BankCatalog { clients.catalog }
}

/// Who asks for a bank call on an API request (account information, payments): the inbound request's id, its
/// logger and the customer's `PSU-*` headers (`ConnectionsRoutes.caller`).
struct Caller: Sendable {
    var requestID: String
    var logger: Logger
    var psu: PSUContext
}

extension Config.Connections {
    /// The context of one bank call: the inbound request id, a deadline from `bankCallTimeoutSeconds`, the PSU
    /// headers.
    func adapterContext(requestID: String, logger: Logger, psu: PSUContext = PSUContext()) -> AdapterContext {
        AdapterContext(
            requestID: requestID, deadline: .now + .milliseconds(Int(bankCallTimeoutSeconds * 1000)), logger: logger,
            psu: psu)
    }

    /// The context of one bank call made for `caller`.
    func adapterContext(for caller: Caller) -> AdapterContext {
        adapterContext(requestID: caller.requestID, logger: caller.logger, psu: caller.psu)
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
