import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit

extension PaymentService {
    /// What `POST /v1/funds-confirmations` asks, validated.
    struct FundsRequest: Sendable {
        /// Whose `cbpii` token asks: the customer's (authorization code) of a connection, or a registration's
        /// client-credentials one (docs/protocol.md §2.7), at `bank` or at the registration's own bank.
        enum Via: Sendable {
            case connection(UUID)
            case registration(UUID, bank: BankID?)
        }
        var via: Via
        var iban: String
        var amount: DecimalAmount
        var currency: String
        var payee: String?
    }

    /// Asks the bank whether `request.amount` is available on the account: the bank's `result`.
    /// - Throws: `.notFound` (connection, registration); `.conflict` for a connection not active or without the
    ///   `cbpii` role; `.refusedFields` for a registration without it; the bank's errors.
    func confirmFunds(_ request: FundsRequest, caller: Caller) async throws -> Bool {
        let question = FundsQuestion(
            requestID: Self.identifier("F"), iban: request.iban, amount: request.amount, currency: request.currency,
            payee: request.payee)
        let context = bankSide.settings.adapterContext(for: caller)
        switch request.via {
        case .connection(let id): return try await confirmFunds(question, connection: id, context: context)
        case .registration(let id, let bank):
            return try await confirmFunds(question, registration: id, bank: bank, context: context)
        }
    }

    /// With the customer's token of connection `id`.
    private func confirmFunds(_ question: FundsQuestion, connection id: UUID, context: AdapterContext) async throws
        -> Bool
    {
        guard let connection = try await connections.store.find(id) else {
            throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
        }
        guard connection.roles.contains(.cbpii) else {
            throw GatewayError.conflict("connection was not authorized for the cbpii role")
        }
        let client = try await bankSide.clients.client(
            for: connection, registration: try await connections.store.registration(connection.registrationID))
        let adapter = try paymentAdapter(connection.bankID)
        return try await accessTokens.withAccessToken(connection, client: client, context: context) { token in
            try await adapter.confirmFunds(question, token: token, client: client, context: context)
        }
    }

    /// With a client-credentials token of registration `id`, at `bank` (the registration's own when nil).
    private func confirmFunds(
        _ question: FundsQuestion, registration id: UUID, bank: BankID?, context: AdapterContext
    ) async throws -> Bool {
        guard let registration = try await connections.store.registration(id), registration.status != .deleted else {
            throw GatewayError.notFound(resource: "registration", id: id.uuidString.lowercased())
        }
        try ConnectionService.requireUsable(registration, now: now())
        guard registration.roles.contains(.cbpii) else {
            throw GatewayError.refusedFields([
                FieldIssue(field: "registrationId", message: "the registration does not have the cbpii role")
            ])
        }
        let bank = bank ?? registration.bankID
        guard bank.provider == registration.provider else {
            throw GatewayError.refusedFields([
                FieldIssue(field: "bank", message: "is not a bank of the registration's provider")
            ])
        }
        let client = try await bankSide.clients.client(for: registration, bank: bank)
        let adapter = try paymentAdapter(bank)
        var token = try await tokens.token(
            scope: "cbpii", registration: registration.id, client: client, adapter: adapter, context: context)
        do {
            return try await adapter.confirmFunds(question, token: token, client: client, context: context)
        } catch AdapterError.tokenExpired {
            token = try await tokens.token(
                scope: "cbpii", registration: registration.id, client: client, adapter: adapter, context: context,
                replacing: token)
            return try await bankCall(bank) {
                try await adapter.confirmFunds(question, token: token, client: client, context: context)
            }
        } catch {
            throw translateBankError(error, bank: bank)
        }
    }
}

/// The customer's access token of a connection for one bank call, refreshed when needed (`TokenKeeper`).
protocol ConnectionAccessTokens: Sendable {
    /// Runs `body` with a valid access token of `connection`.
    /// - Throws: `GatewayError` only.
    func withAccessToken<T: Sendable>(
        _ connection: ConnectionRecord, client: BankClient, context: AdapterContext,
        _ body: (Secret<String>) async throws -> T
    ) async throws -> T
}

extension TokenKeeper: ConnectionAccessTokens {}
