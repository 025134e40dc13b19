import FoundationEssentials
import GatewayCore

/// A row of `connections`: one PSU's authorization at one bank. Sealed columns (tokens, PKCE verifier) stay inside
/// `ConnectionService` and `TokenKeeper`; they never reach a response or a log line. Public for the
/// `ConnectionRepository` implementations; its rules (events, tokens) stay in this module.
public struct ConnectionRecord: Sendable {
    public var id: UUID
    public var registrationID: UUID
    public var bankID: BankID
    public var environment: Environment
    public var psuReference: String
    public var redirectURI: String
    public var roles: [Role]
    public var status: ConnectionStatus
    /// SHA-256 of the single-use state; `nil` once used.
    public var stateHash: [UInt8]?
    public var stateExpiresAt: Date?
    public var pkceVerifierSealed: [UInt8]?
    public var accessTokenSealed: [UInt8]?
    public var accessExpiresAt: Date?
    public var refreshTokenSealed: [UInt8]?
    public var refreshExpiresAt: Date?
    public var authorizedAt: Date?
    public var reauthorizeBy: Date?
    /// Bumped by every committed token change; a caller that used generation N and got a 401 refreshes only if the
    /// row still holds generation N.
    public var tokenGeneration: Int
    public var lastRefreshError: String?
    public var nextRefreshAt: Date?
    /// `error: description` the bank redirected back with when the authorization was refused (sanitized).
    public var authorizationError: String? = nil
    /// The customer's name as the bank's accounts list gives it (STET `connectedPsu`, BPCE).
    public var connectedPSU: String? = nil
    /// The last consent forwarded to the bank (`PUT /consents`, where the bank has one).
    public var consents: ConsentRequest? = nil
    /// The last bank read through this connection (at most a minute off: see `ConnectionStore.markUsed`).
    public var lastUsedAt: Date? = nil
    public var createdAt: Date
    public var updatedAt: Date

    /// The lifecycle event `kind` about this connection (docs/events.md), its state as it is now.
    func event(_ kind: LifecycleEvent.Kind, reason: String? = nil, extra: [String: String] = [:]) -> LifecycleEvent {
        var data = [
            "connectionId": id.uuidString.lowercased(), "bank": bankID.description, "psuReference": psuReference,
            "status": status.rawValue,
        ]
        if let reauthorizeBy { data["reauthorizeBy"] = RFC3339.string(reauthorizeBy) }
        if let reason { data["reason"] = reason }
        data.merge(extra) { _, new in new }
        return LifecycleEvent(kind: kind, resourceID: id.uuidString.lowercased(), data: data)
    }

    /// Ends the tokens' life (revoked, or the customer must authorize again): `status`, no token to use or refresh.
    mutating func dropTokens(becoming status: ConnectionStatus, at now: Date) {
        self.status = status
        accessTokenSealed = nil
        refreshTokenSealed = nil
        nextRefreshAt = nil
        updatedAt = now
    }

    /// Seals `tokens` into the row and bumps its generation (the caller writes the row).
    mutating func holdTokens(_ tokens: TokenSet, vault: SecretVault, now: Date) throws {
        accessTokenSealed = try vault.seal(tokens.accessToken, owner: Self.sealOwner(id, "access_token"))
        accessExpiresAt = tokens.expiresAt
        refreshTokenSealed = try tokens.refreshToken.map {
            try vault.seal($0, owner: Self.sealOwner(id, "refresh_token"))
        }
        refreshExpiresAt = tokens.refreshExpiresAt
        if let refreshExpiresAt = tokens.refreshExpiresAt { reauthorizeBy = refreshExpiresAt }
        tokenGeneration += 1
        updatedAt = now
    }

    /// The owner string sealing `column` of connection `id` (associated data of the envelope encryption).
    static func sealOwner(_ id: UUID, _ column: String) -> String {
        "connections/\(id.uuidString.lowercased())/\(column)"
    }
}
