import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit

extension PaymentService {
    /// What `POST /v1/funds-confirmations` asks, validated: exactly one of a connection (the customer's
    /// authorization-code `cbpii` token) or a registration (a client-credentials `cbpii` token, docs/protocol.md §2.7).
    struct FundsRequest: Sendable {
        var connectionID: UUID?
        var registrationID: UUID?
        var bank: BankID?
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
        if let connectionID = request.connectionID {
            guard let connection = try await connections.store.find(connectionID) else {
                throw GatewayError.notFound(resource: "connection", id: connectionID.uuidString.lowercased())
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
        guard let registrationID = request.registrationID,
            let registration = try await connections.store.registration(registrationID), registration.status != .deleted
        else {
            throw GatewayError.notFound(
                resource: "registration", id: request.registrationID?.uuidString.lowercased() ?? "-")
        }
        try ConnectionService.requireUsable(registration, now: now())
        guard registration.roles.contains(.cbpii) else {
            throw GatewayError.refusedFields([
                FieldIssue(field: "registrationId", message: "the registration does not have the cbpii role")
            ])
        }
        let bank = request.bank ?? registration.bankID
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
