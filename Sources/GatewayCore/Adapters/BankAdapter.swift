import FoundationEssentials
import GatewayLogging

/// Everything bank-specific behind one interface: one implementation per `Provider` (Euro-Information, BPCE), in
/// `BankAdapters`. An adapter is a `Sendable` struct with injected transport and signer; it holds no database handle
/// and persists nothing: the services store what it returns.
///
/// Errors: every method throws only `AdapterError` (the shared taxonomy); what stops a call before any bank is
/// reached is `.notCallable` (no URL for the environment, no `client_id` yet, unusable certificate material) or
/// `.internalFailure` (a signature that could not be computed). Services translate them in one place
/// (`translateBankError` in GatewayApp). Common to all network calls:
/// `.timeout` when `context.deadline` passes, `.transport` when the connection fails (TLS, DNS, reset),
/// `.unavailable` for 5xx / `INTE` / `ERREUR Technique` / HTML error pages, `.rateLimited` for 429 / `TMRQ`,
/// `.unauthorized` when the bank refuses the TPP (certificate, signature, unknown client),
/// `.invalidResponse` for a 2xx body that cannot be decoded. Method-specific cases are listed on each method.
public protocol BankAdapter: Sendable {
    /// The provider this adapter serves.
    var provider: Provider { get }

    // MARK: - Registration

    /// Registers the TPP at the bank (EI: RFC 7591 POST with the QSealC JWKS; BPCE: registration token, then signed
    /// `POST /register`). Nothing is stored by the adapter; BPCE results are `pending` with `activatesAt`.
    /// - Throws: `.rejected` with the bank's `error`/`error_description` for a refused body (400) or 404.
    func register(_ request: RegistrationRequest, client: BankClient, context: AdapterContext) async throws
        -> RegistrationResult

    /// Replaces the registration at the bank with `request` (full document; EI keeps `existing.keys` beside a new
    /// QSealC during rotation, BPCE replaces the key and goes `pending` again).
    /// - Throws: `.rejected` (400/404 from the bank).
    func updateRegistration(
        _ existing: RegistrationReference, with request: RegistrationRequest, client: BankClient,
        context: AdapterContext
    ) async throws -> RegistrationResult

    /// Reads the registration as the bank has it.
    /// - Throws: `.rejected(404, …)` when the bank does not know the client.
    func readRegistration(_ existing: RegistrationReference, client: BankClient, context: AdapterContext) async throws
        -> RegistrationResult

    /// Deletes the registration at the bank (204).
    /// - Throws: `.rejected(404, …)` when the bank does not know the client (the service may then delete locally).
    func deleteRegistration(_ existing: RegistrationReference, client: BankClient, context: AdapterContext) async throws

    // MARK: - Authorization and tokens

    /// The browser URL sending the PSU to the bank's authorization page, with the bank's scope syntax and PKCE where
    /// supported. Pure: no I/O.
    /// - Throws: `AdapterError.notCallable` when the bank has no URL for the client's environment.
    func authorizationURL(_ request: AuthorizationRequest, client: BankClient) throws -> String

    /// Exchanges an authorization code (EI: with `code_verifier`; BPCE: without `scope`).
    /// - Throws: `.rejected` (OAuth `invalid_grant` for a bad or reused code, `invalid_request`…).
    func exchangeCode(_ exchange: CodeExchange, client: BankClient, context: AdapterContext) async throws -> TokenSet

    /// Refreshes the access token. The result may lack a refresh token; the service then keeps the old one
    /// (`TokenSet.merged(keepingRefreshOf:rotates:)`).
    /// - Throws: `.refreshTokenDead` for `invalid_grant` / "Refresh token has expired" / "Invalid refresh token".
    func refresh(_ refreshToken: Secret<String>, client: BankClient, context: AdapterContext) async throws -> TokenSet

    // MARK: - Account information

    /// `GET /accounts`.
    /// - Throws: `.tokenExpired` on a 401 for the access token; `.noAccounts` for 204 / `NAAC` (the service answers
    ///   an empty list).
    func accounts(accessToken: Secret<String>, client: BankClient, context: AdapterContext) async throws -> AccountList

    /// `GET /accounts/{id}/balances`.
    /// - Throws: `.tokenExpired`; `.rejected(403, "NAAC"…)`/`.noAccounts` when the account is not consented (BPCE).
    func balances(accountID: String, accessToken: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> [Balance]

    /// One page of `GET /accounts/{id}/transactions`: the first page for a date window, or the bank's `next` URL.
    /// The service follows pages up to its cap and guards against loops.
    /// - Throws: `.tokenExpired`; `.noAccounts`; `.invalidResponse` when a `next` link leaves the bank's API host.
    func transactions(
        accountID: String, page: TransactionPageRequest, accessToken: Secret<String>, client: BankClient,
        context: AdapterContext
    ) async throws -> TransactionPage

    /// `PUT /consents` (BPCE, mandatory before balances and transactions). Adapters of banks without the call
    /// (`BankProfile.supportsPutConsents == false`) return without calling the bank.
    /// - Throws: `.tokenExpired`; `.rejected` for IBANs the PSU does not hold.
    func putConsents(
        _ consents: ConsentRequest, accessToken: Secret<String>, client: BankClient, context: AdapterContext)
        async throws

    /// `GET /trusted-beneficiaries`; 204 or 404 give an empty list.
    /// - Throws: `.tokenExpired`; `.notImplemented` (`NIMP`, 501) where the bank lacks it.
    func trustedBeneficiaries(accessToken: Secret<String>, client: BankClient, context: AdapterContext) async throws
        -> [Beneficiary]

    /// `GET /end-user-identity`.
    /// - Throws: `.tokenExpired`; `.notImplemented` where the bank lacks it.
    func identity(accessToken: Secret<String>, client: BankClient, context: AdapterContext) async throws -> Identity
}
