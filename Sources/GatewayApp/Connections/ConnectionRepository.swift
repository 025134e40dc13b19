import FoundationEssentials
import GatewayCore

/// Where connections are kept: the narrow surface `ConnectionService` needs. `ConnectionStore` keeps them in
/// PostgreSQL (table `connections`, the events in `events`); tests of the HTTP contract use
/// `InMemoryConnectionRepository` (GatewayAppTests), which keeps the same promises. Errors are already the API's
/// (`GatewayError`).
///
/// Every change of a connection goes through `modify`: one step under the row's lock, written together with the
/// lifecycle event it causes, or not at all. The rules of a step (which state is accepted, what a revocation
/// forgets) are the service's closure, so both implementations apply the same ones.
public protocol ConnectionRepository: Sendable {
    // MARK: - Connections

    /// Stores a new connection.
    func insert(_ connection: ConnectionRecord) async throws

    /// Connection `id`, if stored (possibly from a short-lived cache: a step that decides on state or tokens
    /// reads the row again in `modify`).
    func find(_ id: UUID) async throws -> ConnectionRecord?

    /// One page of connections, of one customer when `psuReference` is given, newest first (`createdAt`, then
    /// `id`, descending), strictly after the keyset position `after`, at most `limit`.
    func list(psuReference: String?, after: (createdAt: Date, id: UUID)?, limit: Int) async throws -> [ConnectionRecord]

    /// Active connections whose `reauthorizeBy` comes before `before` (of one customer when `psuReference` is
    /// given), soonest first, at most `limit`.
    func dueForReauthorization(before: Date, psuReference: String?, limit: Int) async throws -> [ConnectionRecord]

    /// Changes connection `id` in one step: locks it, hands `change` the row as last committed, then writes the
    /// changed row and the lifecycle event `change` returns (if any) together. When `change` throws, nothing is
    /// written. Two steps on one connection never interleave.
    /// - Returns: The row as written.
    /// - Throws: `GatewayError.notFound` when there is no connection `id`; what `change` throws.
    func modify(_ id: UUID, _ change: @Sendable (inout ConnectionRecord) throws -> LifecycleEvent?) async throws
        -> ConnectionRecord

    /// The unattended requests counted since `since` for the customers of `connections` at their banks: for each
    /// connection, per account of that connection (nil: a connection-level resource) and resource, oldest first
    /// within a line.
    func unattendedUsage(of connections: [ConnectionRecord], since: Date) async throws -> [UUID: [UnattendedUsage]]

    // MARK: - The registrations connections are made with

    /// Registration `id` as in effect now, if stored (deleted ones included).
    func registration(_ id: UUID) async throws -> RegistrationRecord?

    /// Registration `id` for a bank call of one of its connections: as `registration`, possibly from a short-lived
    /// cache (the read path then needs no query).
    func registrationForBankCall(_ id: UUID) async throws -> RegistrationRecord?

    /// Active and pending registrations of `provider` in `environment`, newest first, as in effect now.
    func registrations(provider: Provider, environment: Environment) async throws -> [RegistrationRecord]
}
