import CurlKit
import FoundationEssentials
import GatewayCore
import GatewayLogging

/// What both STET banks do the same way once the request plumbing is per-profile data: OAuth authorize URL and
/// token calls, and every account-information call. Each adapter adopts this and keeps only what differs
/// (registration). Implemented once here so the two adapters cannot drift apart.
protocol STETAdapter: BankAdapter {
    /// Transport, caches, clock and request ids shared by the calls.
    var dependencies: AdapterDependencies { get }
}

extension STETAdapter {
    // MARK: - Authorization and tokens

    public func authorizationURL(_ request: AuthorizationRequest, client: BankClient) throws -> String {
        try STETOAuth.authorizationURL(request, bank: client.bank, environment: client.environment)
    }

    public func exchangeCode(_ exchange: CodeExchange, client: BankClient, context: AdapterContext) async throws
        -> TokenSet
    {
        try await STETTokenEndpoint(caller: caller(client)).exchange(
            exchange, clientID: try client.requireClientID(), context: context)
    }

    public func refresh(_ refreshToken: Secret<String>, client: BankClient, context: AdapterContext) async throws
        -> TokenSet
    {
        try await STETTokenEndpoint(caller: caller(client)).refresh(
            refreshToken, clientID: try client.requireClientID(), context: context)
    }

    // MARK: - Account information

    public func accounts(accessToken: Secret<String>, client: BankClient, context: AdapterContext) async throws
        -> AccountList
    {
        try await ais(client).accounts(token: accessToken, context: context)
    }

    public func balances(accountID: String, accessToken: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> [Balance]
    {
        try await ais(client).balances(accountID: accountID, token: accessToken, context: context)
    }

    public func transactions(
        accountID: String, page: TransactionPageRequest, accessToken: Secret<String>, client: BankClient,
        context: AdapterContext
    ) async throws -> TransactionPage {
        try await ais(client).transactions(accountID: accountID, page: page, token: accessToken, context: context)
    }

    /// `PUT /consents` with the IBANs (201, no body); a no-op unless the profile says the bank has the call
    /// (Euro-Information, docs/protocol.md §4.5).
    public func putConsents(
        _ consents: ConsentRequest, accessToken: Secret<String>, client: BankClient, context: AdapterContext
    ) async throws {
        try await ais(client).putConsents(consents, token: accessToken, context: context)
    }

    public func trustedBeneficiaries(accessToken: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> [Beneficiary]
    {
        try await ais(client).trustedBeneficiaries(token: accessToken, context: context)
    }

    public func identity(accessToken: Secret<String>, client: BankClient, context: AdapterContext) async throws
        -> Identity
    {
        try await ais(client).identity(token: accessToken, context: context)
    }

    func caller(_ client: BankClient) -> BankCaller { BankCaller(client: client, dependencies: dependencies) }

    func ais(_ client: BankClient) throws -> STETAccountInformation {
        try STETAccountInformation(client: client, dependencies: dependencies)
    }
}
