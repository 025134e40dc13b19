import Foundation
import GatewayApp
import GatewayCore
import Synchronization

/// `ConnectionRepository` in memory, for tests of the HTTP contract without PostgreSQL. It keeps the promises of
/// `ConnectionStore`: a step of `modify` runs alone on the stored rows and writes the row and its event together
/// or nothing (so a state is used once and a second revocation records no second event), listings are newest
/// first by (`createdAt`, `id`) with a keyset position, and the unattended usage is counted per customer and bank
/// within the window. Registrations (`recordRegistration`) and unattended requests (`recordUnattendedRequest`) are
/// what the `registrations` and `unattended_requests` tables would hold.
public final class InMemoryConnectionRepository: ConnectionRepository {
    /// One counted unattended request (a row of `unattended_requests`, with the account it was for already named by
    /// the connection's account id).
    public struct UnattendedRequest: Sendable {
        public var bank: BankID
        public var psuReference: String
        /// The connection and its account id the request read (nil: a connection-level resource).
        public var account: (connectionID: UUID, accountID: String)?
        public var resource: String
        public var at: Date
    }

    private struct State {
        var connections: [ConnectionRecord] = []
        var events: [LifecycleEvent] = []
        var registrations: [RegistrationRecord] = []
        var unattended: [UnattendedRequest] = []
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Date

    /// - Parameter now: The clock registrations are read at (a pending registration whose activation time has
    ///   passed is active, as `RegistrationStore` reads it).
    public init(now: @escaping @Sendable () -> Date = { Date() }) { self.now = now }

    /// Every connection stored, in insertion order.
    public var connections: [ConnectionRecord] { state.withLock { $0.connections } }

    /// Every lifecycle event written with a change, in order.
    public var events: [LifecycleEvent] { state.withLock { $0.events } }

    /// Records (or replaces) a registration connections may be made with.
    public func recordRegistration(_ registration: RegistrationRecord) {
        state.withLock { s in
            s.registrations.removeAll { $0.id == registration.id }
            s.registrations.append(registration)
        }
    }

    /// Counts one unattended request of `psuReference` at `bank`.
    public func recordUnattendedRequest(
        bank: BankID, psuReference: String, account: (connectionID: UUID, accountID: String)? = nil,
        resource: String, at: Date
    ) {
        state.withLock { s in
            s.unattended.append(
                UnattendedRequest(bank: bank, psuReference: psuReference, account: account, resource: resource, at: at))
        }
    }

    // MARK: - ConnectionRepository

    public func insert(_ connection: ConnectionRecord) async throws {
        try state.withLock { s in
            guard !s.connections.contains(where: { $0.id == connection.id }) else {
                throw GatewayError.conflict("connection \(connection.id.uuidString.lowercased()) already exists")
            }
            s.connections.append(connection)
        }
    }

    public func find(_ id: UUID) async throws -> ConnectionRecord? {
        state.withLock { s in s.connections.first { $0.id == id } }
    }

    public func list(psuReference: String?, after: (createdAt: Date, id: UUID)?, limit: Int) async throws
        -> [ConnectionRecord]
    {
        let rows = state.withLock { s in
            s.connections.filter { psuReference == nil || $0.psuReference == psuReference }
        }
        return KeysetOrder.page(rows, after: after, limit: limit) { ($0.createdAt, $0.id) }
    }

    public func dueForReauthorization(before: Date, psuReference: String?, limit: Int) async throws
        -> [ConnectionRecord]
    {
        let rows = state.withLock { s in
            s.connections.filter { c in
                guard c.status == .active, let by = c.reauthorizeBy, by < before else { return false }
                return psuReference == nil || c.psuReference == psuReference
            }
        }
        return Array(
            rows.sorted {
                ($0.reauthorizeBy!, KeysetOrder.key($0.id)) < ($1.reauthorizeBy!, KeysetOrder.key($1.id))
            }.prefix(limit))
    }

    public func modify(_ id: UUID, _ change: @Sendable (inout ConnectionRecord) throws -> LifecycleEvent?) async throws
        -> ConnectionRecord
    {
        try state.withLock { s in
            guard let index = s.connections.firstIndex(where: { $0.id == id }) else {
                throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
            }
            var row = s.connections[index]
            let event = try change(&row)
            s.connections[index] = row
            if let event { s.events.append(event) }
            return row
        }
    }

    public func unattendedUsage(of connections: [ConnectionRecord], since: Date) async throws
        -> [UUID: [UnattendedUsage]]
    {
        let requests = state.withLock { $0.unattended }.filter { $0.at > since }
        var result: [UUID: [UnattendedUsage]] = [:]
        for connection in connections {
            var lines: [String: UnattendedUsage] = [:]
            for request in requests where request.bank == connection.bankID
                && request.psuReference == connection.psuReference
            {
                // An account-level request counts only on the connection that has that account.
                if let account = request.account, account.connectionID != connection.id { continue }
                let accountID = request.account?.accountID
                let line = "\(accountID ?? "")|\(request.resource)"
                var usage = lines[line] ?? UnattendedUsage(
                    accountID: accountID, resource: request.resource, count: 0, oldest: request.at)
                usage.count += 1
                usage.oldest = min(usage.oldest, request.at)
                lines[line] = usage
            }
            if !lines.isEmpty {
                // As the store orders them: connection-level lines first, then by account id and resource.
                result[connection.id] = lines.values.sorted {
                    ($0.accountID == nil ? 0 : 1, $0.accountID ?? "", $0.resource)
                        < ($1.accountID == nil ? 0 : 1, $1.accountID ?? "", $1.resource)
                }
            }
        }
        return result
    }

    public func registration(_ id: UUID) async throws -> RegistrationRecord? {
        let at = now()
        return state.withLock { s in s.registrations.first { $0.id == id } }?.inEffect(at: at)
    }

    public func registrations(provider: Provider, environment: Environment) async throws -> [RegistrationRecord] {
        let at = now()
        return state.withLock { s in
            s.registrations.filter {
                $0.provider == provider && $0.environment == environment
                    && ($0.status == .active || $0.status == .pending)
            }
        }
        .sorted { $0.createdAt > $1.createdAt }
        .map { $0.inEffect(at: at) }
    }
}
