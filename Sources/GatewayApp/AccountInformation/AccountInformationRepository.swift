import FoundationEssentials
import GatewayCore

/// What `AccountInformationService` needs beyond `ConnectionRepository`: the connection's stable account ids, what
/// the reads record on the connection, and the ledger of unattended requests (`UnattendedBudget`).
/// `ConnectionStore` keeps them in PostgreSQL (`connection_accounts`, `unattended_requests`); tests use
/// `InMemoryConnectionRepository` (GatewayAppTests), which keeps the same promises. Errors are already the API's.
public protocol AccountInformationRepository: ConnectionRepository {
    /// Records a bank read through `connection` at `now`, at most once a minute per connection.
    func markUsed(_ connection: ConnectionRecord, now: Date) async throws

    /// Records the customer's name the bank gave (`connectedPsu`).
    func setConnectedPSU(_ id: UUID, _ name: String) async throws

    /// Records the consent the bank accepted.
    func setConsents(_ id: UUID, _ consents: ConsentRequest) async throws

    /// Maps each `(key, resourceId)` to the connection's stable account id: a new id for a key not seen before on
    /// this connection, the same id (and the bank's current resourceId recorded) for a known one. Ids never change
    /// once given. Returns the ids in input order.
    func accountIDs(connectionID: UUID, accounts: [(key: String, resourceID: String)], now: Date) async throws
        -> [String]

    /// The stable key and the bank's current resourceId of account `accountID` of the connection, or nil.
    func bankAccount(connectionID: UUID, accountID: String) async throws -> (key: String, resourceID: String)?

    /// Counts one unattended request for `key` at `now` unless `limit` requests of that key are already counted in
    /// the window `(now - window, now]`; atomic across callers and replicas for one key.
    func countUnattendedRequest(_ key: UnattendedKey, now: Date, window: TimeInterval, limit: Int) async throws
        -> UnattendedCount
}

/// What one unattended count is kept for: bank × customer × account × resource (docs/adapters.md).
public struct UnattendedKey: Sendable, Hashable {
    public var bank: BankID
    /// The TPP's reference of the customer (`psuReference`), stable across the customer's connections.
    public var psuReference: String
    /// The stable account key (derived from the IBAN), or empty for a connection-level resource.
    public var accountKey: String
    /// An `UnattendedBudget.Resource` raw value.
    public var resource: String
}

/// The answer of `AccountInformationRepository.countUnattendedRequest`.
public enum UnattendedCount: Sendable, Equatable {
    /// The request is counted.
    case counted
    /// The window is full; nothing counted. The window frees a request when `oldest` leaves it.
    case full(oldest: Date)
}
