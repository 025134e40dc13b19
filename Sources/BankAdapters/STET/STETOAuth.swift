import GatewayCore
import GatewayLogging

/// The pure parts of STET OAuth 2.0 (docs/protocol.md §2.3, §4.3, §5.3): the authorization URL with each bank's
/// scope syntax, and the token-endpoint form bodies.
public enum STETOAuth {
    /// The authorization URL of `bank` in `environment`: `response_type=code`, `client_id`, `redirect_uri`, `scope`,
    /// `state`, plus PKCE S256 when the bank supports it and a challenge is given. Euro-Information pages take the
    /// language in the path (`{lang}`); an unknown or missing language falls back to the bank's first.
    /// - Throws: `AdapterError.notCallable` when the bank has no URL for `environment`.
    public static func authorizationURL(
        _ request: AuthorizationRequest, bank: BankProfile, environment: Environment
    ) throws -> String {
        guard let endpoints = bank.endpoints(for: environment) else {
            throw AdapterError.notCallable(reason: "environment: \(bank.id) has no \(environment) environment")
        }
        let language =
            request.language.flatMap { bank.languages.contains($0) ? $0 : nil } ?? bank.languages.first ?? "fr"
        let base = endpoints.authorize.replacing("{lang}", with: language)
        return base + (base.contains("?") ? "&" : "?") + PercentEncoding.formEncode(authorizationQuery(request, bank: bank))
    }

    /// The customer's approval of a payment request (docs/protocol.md §2.7, §4.7): the bank's
    /// `_links.consentApproval.href` as given, followed by the authorize parameters (`scope` from the request's
    /// roles, PKCE where the bank supports it) that the href does not already carry.
    public static func paymentApprovalURL(_ href: String, _ request: AuthorizationRequest, bank: BankProfile) -> String {
        let present = Set(
            (href.split(separator: "?", maxSplits: 1).dropFirst().first ?? "").split(separator: "&").map {
                String($0.prefix { $0 != "=" })
            })
        let query = authorizationQuery(request, bank: bank).filter { !present.contains($0.0) }
        guard !query.isEmpty else { return href }
        return href + (href.contains("?") ? "&" : "?") + PercentEncoding.formEncode(query)
    }

    /// `response_type`, `client_id`, `redirect_uri`, `scope`, `state`, then PKCE S256 where supported.
    static func authorizationQuery(_ request: AuthorizationRequest, bank: BankProfile) -> [(String, String)] {
        var query: [(String, String)] = [
            ("response_type", "code"), ("client_id", request.clientID), ("redirect_uri", request.redirectURI),
            ("scope", scope(for: request.roles, extendedHistory: request.extendedTransactionHistory, bank: bank)),
            ("state", request.state),
        ]
        if bank.supportsPKCE, let challenge = request.codeChallenge {
            query += [("code_challenge", challenge), ("code_challenge_method", "S256")]
        }
        return query
    }

    /// The authorize `scope`: space-separated lowercase roles; `extended_transaction_history` follows `aisp` where the
    /// bank is Euro-Information (BPCE does not support it [P]).
    public static func scope(for roles: [Role], extendedHistory: Bool, bank: BankProfile) -> String {
        var scopes: [String] = []
        for role in (roles.isEmpty ? [.aisp] : roles).sorted() where !scopes.contains(role.rawValue) {
            scopes.append(role.rawValue)
            if role == .aisp, extendedHistory, bank.provider == .euroInformation {
                scopes.append("extended_transaction_history")
            }
        }
        return scopes.joined(separator: " ")
    }

    /// The registration `scope` in the bank's syntax: `aisp extended_transaction_history` (EI), `aisp, pisp` (BPCE).
    public static func registrationScope(for roles: [Role], extendedHistory: Bool, bank: BankProfile) -> String {
        let scopes = scope(for: roles, extendedHistory: extendedHistory, bank: bank).split(separator: " ").map(
            String.init)
        return scopes.joined(separator: bank.registrationScopeSeparator)
    }

    /// The `authorization_code` form: `code_verifier` where the bank supports PKCE; never `scope` (BPCE refuses it).
    public static func codeExchangeForm(_ exchange: CodeExchange, clientID: String, bank: BankProfile) -> Secret<String>
    {
        var fields = [
            ("grant_type", "authorization_code"), ("client_id", clientID), ("code", exchange.code.reveal),
            ("redirect_uri", exchange.redirectURI),
        ]
        if bank.supportsPKCE, let verifier = exchange.codeVerifier { fields.append(("code_verifier", verifier.reveal)) }
        return Secret(PercentEncoding.formEncode(fields))
    }

    /// The `refresh_token` form (no `scope`).
    public static func refreshForm(_ refreshToken: Secret<String>, clientID: String) -> Secret<String> {
        Secret(
            PercentEncoding.formEncode([
                ("grant_type", "refresh_token"), ("refresh_token", refreshToken.reveal), ("client_id", clientID),
            ]))
    }

    /// The `client_credentials` form (`scope=pisp`, `cbpii`, or BPCE's `manageRegistration` with `PSD2_TPPRegister`).
    public static func clientCredentialsForm(clientID: String, scope: String) -> String {
        PercentEncoding.formEncode([("grant_type", "client_credentials"), ("client_id", clientID), ("scope", scope)])
    }
}
