import FoundationEssentials
import GatewayLogging

/// The OAuth tokens of one connection, as the service stores them (encrypted) and hands them to adapters.
public struct TokenSet: Sendable, Equatable {
    /// The access token, sent as `Authorization: Bearer`; never logged.
    public var accessToken: Secret<String>
    /// `nil` when the bank sent none; on a refresh, keep the previous one then (`merged(keepingRefreshOf:)`).
    public var refreshToken: Secret<String>?
    /// When the access token expires.
    public var expiresAt: Date
    /// When the refresh token stops working, when known (BPCE: 90 days from the SCA).
    public var refreshExpiresAt: Date?
    /// The granted scope as the bank wrote it (`aisp offline_access`).
    public var scope: String?

    /// Memberwise initializer.
    public init(
        accessToken: Secret<String>, refreshToken: Secret<String>?, expiresAt: Date, refreshExpiresAt: Date? = nil,
        scope: String? = nil
    ) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresAt = expiresAt
        self.refreshExpiresAt = refreshExpiresAt
        self.scope = scope
    }

    /// After a refresh: keeps `previous`'s refresh token when the bank returned none, and its refresh expiry when the
    /// bank does not rotate refresh tokens (BPCE's 90 days run from the SCA, unextended: docs/protocol.md §5.3).
    public func merged(keepingRefreshOf previous: TokenSet, rotates: Bool) -> TokenSet {
        var merged = self
        if merged.refreshToken == nil {
            merged.refreshToken = previous.refreshToken
            merged.refreshExpiresAt = previous.refreshExpiresAt
        } else if !rotates || merged.refreshToken == previous.refreshToken {
            merged.refreshExpiresAt = previous.refreshExpiresAt ?? merged.refreshExpiresAt
        }
        return merged
    }
}

/// The authorization code coming back from the bank, to exchange for tokens.
public struct CodeExchange: Sendable {
    /// The authorization code; never logged.
    public var code: Secret<String>
    /// Exactly the `redirect_uri` of the authorize call.
    public var redirectURI: String
    /// The PKCE verifier, where the bank supports PKCE.
    public var codeVerifier: Secret<String>?

    /// Memberwise initializer.
    public init(code: Secret<String>, redirectURI: String, codeVerifier: Secret<String>? = nil) {
        self.code = code
        self.redirectURI = redirectURI
        self.codeVerifier = codeVerifier
    }
}

/// What goes into a bank's authorization URL (built without I/O).
public struct AuthorizationRequest: Sendable, Hashable {
    /// The `client_id` the bank assigned.
    public var clientID: String
    /// Exactly the redirect URI registered and used on the authorize call.
    public var redirectURI: String
    /// The single-use state bound to the connection.
    public var state: String
    /// The TPP roles.
    public var roles: [Role]
    /// Ask for history beyond 90 days where the bank supports it (Euro-Information `extended_transaction_history`).
    public var extendedTransactionHistory: Bool
    /// PKCE S256 challenge (base64url of SHA-256 of the verifier); sent only where the bank supports PKCE.
    public var codeChallenge: String?
    /// Language of the bank's pages (Euro-Information `{lang}`); the bank's first language when `nil` or unknown.
    public var language: String?

    /// Memberwise initializer.
    public init(
        clientID: String, redirectURI: String, state: String, roles: [Role] = [.aisp],
        extendedTransactionHistory: Bool = false, codeChallenge: String? = nil, language: String? = nil
    ) {
        self.clientID = clientID
        self.redirectURI = redirectURI
        self.state = state
        self.roles = roles
        self.extendedTransactionHistory = extendedTransactionHistory
        self.codeChallenge = codeChallenge
        self.language = language
    }
}
