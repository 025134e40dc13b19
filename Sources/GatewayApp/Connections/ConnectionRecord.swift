import Foundation
import GatewayCore

/// A row of `connections`: one PSU's authorization at one bank. Sealed columns (tokens, PKCE verifier) stay inside
/// `ConnectionService` and `TokenKeeper`; they never reach a response or a log line.
struct ConnectionRecord: Sendable {
    var id: UUID
    var registrationID: UUID
    var bankID: BankID
    var environment: Environment
    var psuReference: String
    var redirectURI: String
    var roles: [Role]
    var status: ConnectionStatus
    /// SHA-256 of the single-use state; `nil` once used.
    var stateHash: [UInt8]?
    var stateExpiresAt: Date?
    var pkceVerifierSealed: [UInt8]?
    var accessTokenSealed: [UInt8]?
    var accessExpiresAt: Date?
    var refreshTokenSealed: [UInt8]?
    var refreshExpiresAt: Date?
    var authorizedAt: Date?
    var reauthorizeBy: Date?
    /// Bumped by every committed token change; a caller that used generation N and got a 401 refreshes only if the
    /// row still holds generation N.
    var tokenGeneration: Int
    var lastRefreshError: String?
    var nextRefreshAt: Date?
    /// `error: description` the bank redirected back with when the authorization was refused (sanitized).
    var authorizationError: String? = nil
    /// The customer's name as the bank's accounts list gives it (STET `connectedPsu`, BPCE).
    var connectedPSU: String? = nil
    /// The last consent forwarded to the bank (`PUT /consents`, where the bank has one).
    var consents: ConsentRequest? = nil
    /// The last bank read through this connection (at most a minute off: see `ConnectionStore.markUsed`).
    var lastUsedAt: Date? = nil
    var createdAt: Date
    var updatedAt: Date

    /// The lifecycle event `kind` about this connection (docs/events.md), its state as it is now.
    func event(_ kind: LifecycleEvent.Kind, reason: String? = nil, extra: [String: String] = [:]) -> LifecycleEvent {
        var data = [
            "connectionId": id.uuidString.lowercased(), "bank": bankID.description, "psuReference": psuReference,
            "status": status.rawValue,
        ]
        if let reauthorizeBy { data["reauthorizeBy"] = RFC3339.string(reauthorizeBy) }
        if let reason { data["reason"] = reason }
        data.merge(extra) { _, new in new }
        return LifecycleEvent(kind, resourceID: id.uuidString.lowercased(), data: data)
    }

    /// Ends the tokens' life (revoked, or the customer must authorize again): `status`, no token to use or refresh.
    mutating func dropTokens(becoming status: ConnectionStatus, at now: Date) {
        self.status = status
        accessTokenSealed = nil
        refreshTokenSealed = nil
        nextRefreshAt = nil
        updatedAt = now
    }

    /// The owner string sealing `column` of connection `id` (associated data of the envelope encryption).
    static func sealOwner(_ id: UUID, _ column: String) -> String {
        "connections/\(id.uuidString.lowercased())/\(column)"
    }
}
