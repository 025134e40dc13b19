/// Lifecycle of a registration at a bank.
public enum RegistrationStatus: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Written before the bank is called, completed with its answer. One left in this state means the process
    /// stopped during the bank call: the bank may hold a client for it (docs/operations.md, "Failure modes").
    case registering
    /// Accepted by the bank but not usable yet (BPCE: until `activatesAt`, docs/protocol.md §5.2).
    case pending
    /// Usable for customer flows.
    case active
    /// The bank refused it, or a step failed; kept for support.
    case failed
    /// Deleted at the bank; the row may be kept as history.
    case deleted

    public var description: String { rawValue }
}

/// Lifecycle of a customer connection (one PSU at one bank).
public enum ConnectionStatus: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// The authorization URL was handed out; waiting for the code.
    case pendingAuthorization = "pending_authorization"
    /// Tokens are held and usable.
    case active
    /// The refresh token is dead or its lifetime ran out: a new SCA is needed.
    case reauthorizationRequired = "reauthorization_required"
    /// Deleted by the TPP; tokens forgotten.
    case revoked
    /// The customer refused (or the bank ended) the authorization: the bank redirected back with an OAuth error.
    case refused

    public var description: String { rawValue }
}
