import Foundation
import GatewayCore
import GatewayLogging
import Synchronization

/// An in-memory `BankAdapter` and `PaymentAdapter` for service tests (the role of Hummingbird's
/// `MemoryPersistDriver`): every method returns the scripted `Result` from `responses` and records the call, so a
/// test can assert what the service asked and make any step fail with any `AdapterError`.
public final class FakeBankAdapter: BankAdapter {
    /// One recorded call (secrets are not recorded).
    public enum Call: Hashable, Sendable {
        case register(clientName: String)
        case updateRegistration(clientID: String)
        case readRegistration(clientID: String)
        case deleteRegistration(clientID: String)
        case exchangeCode(redirectURI: String)
        case refresh
        case accounts
        case balances(accountID: String)
        case transactions(accountID: String, page: TransactionPageRequest)
        case putConsents(ConsentRequest)
        case trustedBeneficiaries
        case identity
        case clientCredentialsToken(scope: String)
        case submitPayment(endToEndID: String)
        case paymentStatus(resourceID: String)
        case confirmPayment(resourceID: String)
        case cancelPayment(resourceID: String)
        case confirmFunds(iban: String)
    }

    /// What each method answers. Transactions pages are looked up by request; a missing page is `.noAccounts`.
    public struct Responses: Sendable {
        /// Answer to register, update and read.
        public var registration: Result<RegistrationResult, AdapterError>
        /// Answer to delete.
        public var deleteRegistration: Result<Void, AdapterError> = .success(())
        /// Answer to the code exchange.
        public var tokens: Result<TokenSet, AdapterError>
        /// Answers to successive refreshes; the last one repeats.
        public var refreshes: [Result<TokenSet, AdapterError>]
        /// Awaited by each refresh before it answers (a slow bank's token endpoint).
        public var refreshGate: Gate?
        /// Awaited by each client-credentials token request before it answers (a slow token endpoint).
        public var clientCredentialsGate: Gate?
        /// Awaited by each registration before it answers (a slow registration endpoint).
        public var registerGate: Gate?
        /// Awaited by each registration update before it answers.
        public var updateGate: Gate?
        /// Answer to `accounts`.
        public var accounts: Result<[Account], AdapterError> = .success([])
        /// Answers to `balances`, by account id (missing: `.noAccounts`).
        public var balances: [String: Result<[Balance], AdapterError>] = [:]
        /// Answers to `transactions`, by page request (missing: `.noAccounts`).
        public var transactionPages: [TransactionPageRequest: Result<TransactionPage, AdapterError>] = [:]
        /// Answer to `putConsents`.
        public var putConsents: Result<Void, AdapterError> = .success(())
        /// Whether trusted beneficiaries may be read.
        public var trustedBeneficiaries: Result<[Beneficiary], AdapterError> = .success([])
        /// Whether the customer's identity may be read.
        public var identity: Result<Identity, AdapterError> = .failure(.notImplemented(code: "NIMP", message: nil))
        /// Answer to a client-credentials token request (`PaymentAdapter`).
        public var clientCredentials: Result<TokenSet, AdapterError>
        /// Answer to `POST /payment-requests`.
        public var submission: Result<PaymentSubmission, AdapterError> = .success(
            PaymentSubmission(
                resourceID: "pay-1", location: "/payment-requests/pay-1",
                approvalURL: "https://fake.invalid/approve/pay-1"))
        /// Answer to `GET /payment-requests/{id}`.
        public var paymentStatus: Result<PaymentBankStatus, AdapterError> = .success(PaymentBankStatus(code: "ACTC"))
        /// Answer to the confirmation.
        public var confirmation: Result<PaymentBankStatus, AdapterError> = .success(PaymentBankStatus(code: "PDNG"))
        /// Answer to the cancellation.
        public var cancellation: Result<PaymentBankStatus, AdapterError> = .success(
            PaymentBankStatus(code: "RJCT", reason: "DS02"))
        /// Answer to a funds confirmation.
        public var funds: Result<Bool, AdapterError> = .success(true)

        /// Defaults: an active registration `client-1`, tokens valid for an hour from `now`.
        public init(now: Date = Date()) {
            registration = .success(
                RegistrationResult(
                    clientID: "client-1", keyID: "kid-1", keys: [.init(kid: "kid-1", sha256Fingerprint: nil)],
                    status: .active, requestBody: "{}", responseBody: "{}", httpStatus: 201))
            let tokenSet = TokenSet(
                accessToken: Secret("access-1"), refreshToken: Secret("refresh-1"),
                expiresAt: now.addingTimeInterval(3600))
            tokens = .success(tokenSet)
            refreshes = [.success(tokenSet)]
            clientCredentials = .success(
                TokenSet(accessToken: Secret("client-1"), refreshToken: nil, expiresAt: now.addingTimeInterval(3600)))
        }
    }

    /// The provider the fake stands for.
    public let provider: Provider
    private let state: Mutex<(responses: Responses, calls: [Call])>

    /// - Parameters:
    ///   - provider: The provider the fake stands for.
    ///   - responses: The initial script.
    public init(provider: Provider, responses: Responses = Responses()) {
        self.provider = provider
        state = Mutex((responses, []))
    }

    /// Changes the script.
    public func update(_ change: (inout Responses) -> Void) {
        state.withLock { change(&$0.responses) }
    }

    /// Every call so far, in order.
    public var calls: [Call] { state.withLock { $0.calls } }

    /// The access token presented by the latest `accounts` call (a fake's test hook: which token a read used).
    public var lastAccessToken: String? { lastToken.withLock { $0 } }
    private let lastToken = Mutex<String?>(nil)

    private func answer<T>(_ call: Call, _ pick: (inout Responses) -> Result<T, AdapterError>) throws -> T {
        try state.withLock { state -> Result<T, AdapterError> in
            state.calls.append(call)
            return pick(&state.responses)
        }.get()
    }

    // MARK: - BankAdapter

    public func register(_ request: RegistrationRequest, client: BankClient, context: AdapterContext) async throws
        -> RegistrationResult
    {
        if let gate = state.withLock({ $0.responses.registerGate }) { await gate.wait() }
        return try answer(.register(clientName: request.clientName)) { $0.registration }
    }

    public func updateRegistration(
        _ existing: RegistrationReference, with request: RegistrationRequest, client: BankClient,
        context: AdapterContext
    ) async throws -> RegistrationResult {
        if let gate = state.withLock({ $0.responses.updateGate }) { await gate.wait() }
        return try answer(.updateRegistration(clientID: existing.clientID)) { $0.registration }
    }

    public func readRegistration(_ existing: RegistrationReference, client: BankClient, context: AdapterContext)
        async throws -> RegistrationResult
    {
        try answer(.readRegistration(clientID: existing.clientID)) { $0.registration }
    }

    public func deleteRegistration(_ existing: RegistrationReference, client: BankClient, context: AdapterContext)
        async throws
    {
        try answer(.deleteRegistration(clientID: existing.clientID)) { $0.deleteRegistration }
    }

    /// `https://fake.invalid/authorize?client_id=…&state=…`.
    public func authorizationURL(_ request: AuthorizationRequest, client: BankClient) throws -> String {
        "https://fake.invalid/authorize?client_id=\(request.clientID)&state=\(request.state)"
    }

    public func exchangeCode(_ exchange: CodeExchange, client: BankClient, context: AdapterContext) async throws
        -> TokenSet
    {
        try answer(.exchangeCode(redirectURI: exchange.redirectURI)) { $0.tokens }
    }

    public func refresh(_ refreshToken: Secret<String>, client: BankClient, context: AdapterContext) async throws
        -> TokenSet
    {
        if let gate = state.withLock({ $0.responses.refreshGate }) { await gate.wait() }
        return try answer(.refresh) { responses in
            responses.refreshes.count > 1
                ? responses.refreshes.removeFirst() : responses.refreshes.first ?? responses.tokens
        }
    }

    public func accounts(accessToken: Secret<String>, client: BankClient, context: AdapterContext) async throws
        -> AccountList
    {
        lastToken.withLock { $0 = accessToken.reveal }
        return AccountList(try answer(.accounts) { $0.accounts })
    }

    public func balances(
        accountID: String, accessToken: Secret<String>, client: BankClient, context: AdapterContext
    ) async throws -> [Balance] {
        try answer(.balances(accountID: accountID)) { $0.balances[accountID] ?? .failure(.noAccounts) }
    }

    public func transactions(
        accountID: String, page: TransactionPageRequest, accessToken: Secret<String>, client: BankClient,
        context: AdapterContext
    ) async throws -> TransactionPage {
        try answer(.transactions(accountID: accountID, page: page)) {
            $0.transactionPages[page] ?? .failure(.noAccounts)
        }
    }

    public func putConsents(
        _ consents: ConsentRequest, accessToken: Secret<String>, client: BankClient, context: AdapterContext
    ) async throws {
        try answer(.putConsents(consents)) { $0.putConsents }
    }

    public func trustedBeneficiaries(accessToken: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> [Beneficiary]
    {
        try answer(.trustedBeneficiaries) { $0.trustedBeneficiaries }
    }

    public func identity(accessToken: Secret<String>, client: BankClient, context: AdapterContext) async throws
        -> Identity
    {
        try answer(.identity) { $0.identity }
    }
}

// MARK: - PaymentAdapter

extension FakeBankAdapter: PaymentAdapter {
    public func clientCredentialsToken(scope: String, client: BankClient, context: AdapterContext) async throws
        -> TokenSet
    {
        if let gate = state.withLock({ $0.responses.clientCredentialsGate }) { await gate.wait() }
        return try answer(.clientCredentialsToken(scope: scope)) { $0.clientCredentials }
    }

    public func submitPayment(
        _ order: PaymentOrder, token: Secret<String>, client: BankClient, context: AdapterContext
    ) async throws -> PaymentSubmission {
        try answer(.submitPayment(endToEndID: order.endToEndID)) { $0.submission }
    }

    /// The approval link with `state` appended.
    public func paymentApprovalURL(_ approvalURL: String, _ request: AuthorizationRequest, client: BankClient) throws
        -> String
    {
        "\(approvalURL)?client_id=\(request.clientID)&state=\(request.state)"
    }

    public func paymentStatus(resourceID: String, token: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> PaymentBankStatus
    {
        try answer(.paymentStatus(resourceID: resourceID)) { $0.paymentStatus }
    }

    public func confirmPayment(resourceID: String, token: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> PaymentBankStatus
    {
        try answer(.confirmPayment(resourceID: resourceID)) { $0.confirmation }
    }

    public func cancelPayment(resourceID: String, token: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> PaymentBankStatus
    {
        try answer(.cancelPayment(resourceID: resourceID)) { $0.cancellation }
    }

    public func confirmFunds(
        _ question: FundsQuestion, token: Secret<String>, client: BankClient, context: AdapterContext
    ) async throws -> Bool {
        try answer(.confirmFunds(iban: question.iban)) { $0.funds }
    }
}
