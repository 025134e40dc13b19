import FoundationEssentials
import GatewayCore

/// What `TokenKeeper` needs beyond `ConnectionRepository`: the refresh lease of a connection and the connections due
/// for a refresh. `ConnectionStore` keeps the lease in two columns of the row (migration 0010); tests use
/// `InMemoryConnectionRepository` (GatewayAppTests), which keeps the same promises. Errors are already the API's.
///
/// A refresh is claimed in one short step, the bank is called holding nothing, and the answer is committed in a
/// second short step that checks the claim is still the row's: a lease is exclusive until it is committed or
/// expires, and each claim is a new lease id (its generation), so an answer that comes back after its lease expired
/// and another caller claimed the refresh is refused rather than stored over a newer token.
public protocol RefreshLeaseRepository: ConnectionRepository {
    /// One step under connection `id`'s lock: hands `step` the row as last committed and whether another caller's
    /// lease is unexpired at `now`; then does what `step` returns (`RefreshClaimStep`, the lease being `lease`).
    /// - Throws: `GatewayError.notFound` when there is no connection `id`; what `step` throws (nothing written).
    func claimRefresh<T: Sendable>(
        _ id: UUID, lease: RefreshLease, now: Date,
        _ step: @Sendable (inout ConnectionRecord, _ heldByAnother: Bool) throws -> RefreshClaimStep<T>
    ) async throws -> T

    /// One step under connection `id`'s lock, only while `lease` is still the row's lease: ends the lease, hands
    /// `step` the row, and writes the changed row and the event `step` returns (if any) together.
    /// - Returns: What `step` answered, or nil — nothing written — when `lease` is no longer the row's (it expired
    ///   and another caller claimed the refresh).
    /// - Throws: `GatewayError.notFound` when there is no connection `id`; what `step` throws (nothing written).
    func commitRefresh<T: Sendable>(
        _ id: UUID, lease: UUID, _ step: @Sendable (inout ConnectionRecord) throws -> (T, LifecycleEvent?)
    ) async throws -> T?

    /// Active connections whose access token expires before `horizon`, whose back-off (`nextRefreshAt`) has passed
    /// at `now`, and that will be needed: used (or authorized) since `usedSince`, or — when `keepAliveUntil` is
    /// given — whose refresh token expires before it; soonest expiry first, at most `limit`.
    func dueForRefresh(horizon: Date, now: Date, usedSince: Date, keepAliveUntil: Date?, limit: Int) async throws
        -> [UUID]
}

/// A claim on a connection's refresh: its id (a new one per claim) and when it expires.
public struct RefreshLease: Sendable, Equatable {
    public var id: UUID
    public var until: Date

    public init(id: UUID, until: Date) {
        self.id = id
        self.until = until
    }
}

/// What the step of `RefreshLeaseRepository.claimRefresh` decided.
public enum RefreshClaimStep<T: Sendable>: Sendable {
    /// Record the lease on the row (nothing else changes); answer `T`.
    case claim(T)
    /// Write nothing; answer `T`.
    case answer(T)
    /// Write the row as changed by the step, with its event, leaving the lease as it is; answer `T`.
    case change(T, LifecycleEvent)
}
