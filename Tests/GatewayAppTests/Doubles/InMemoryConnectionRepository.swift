import Foundation
import GatewayCore
import Synchronization

@testable import GatewayApp

/// `ConnectionRepository`, `RefreshLeaseRepository` and `AccountInformationRepository` in memory, for tests of the
/// HTTP contract without PostgreSQL. It keeps the promises of `ConnectionStore`: a step of `modify`, `claimRefresh`
/// or `commitRefresh` runs alone on the stored rows and writes the row and its event together or nothing (so a
/// state is used once and a second revocation records no second event); a refresh lease is exclusive until it
/// expires and a commit with a lease that is no longer the row's stores nothing; listings are newest first by
/// (`createdAt`, `id`) with a keyset position; account ids never change once given; unattended requests are counted
/// per bank × customer × account key × resource within the window. Registrations (`recordRegistration`) and
/// unattended requests (`recordUnattendedRequest`) are what the `registrations` and `unattended_requests` tables
/// would hold.
final class InMemoryConnectionRepository: RefreshLeaseRepository, AccountInformationRepository {
    /// One counted unattended request (a row of `unattended_requests`).
    struct UnattendedRequest: Sendable {
        var key: UnattendedKey
        var at: Date
    }

    private struct State {
        var connections: [ConnectionRecord] = []
        var events: [LifecycleEvent] = []
        var registrations: [RegistrationRecord] = []
        var unattended: [UnattendedRequest] = []
        var leases: [UUID: RefreshLease] = [:]
        /// By connection: account key → (account id, the bank's resourceId).
        var accounts: [UUID: [String: (id: String, resourceID: String)]] = [:]
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Date

    /// - Parameter now: The clock registrations are read at (a pending registration whose activation time has
    ///   passed is active, as `RegistrationStore` reads it).
    init(now: @escaping @Sendable () -> Date = { Date() }) { self.now = now }

    /// Every connection stored, in insertion order.
    var connections: [ConnectionRecord] { state.withLock { $0.connections } }

    /// Every lifecycle event written with a change, in order.
    var events: [LifecycleEvent] { state.withLock { $0.events } }

    /// Records (or replaces) a registration connections may be made with.
    func recordRegistration(_ registration: RegistrationRecord) {
        state.withLock { s in
            s.registrations.removeAll { $0.id == registration.id }
            s.registrations.append(registration)
        }
    }

    /// Counts one unattended request of `psuReference` at `bank` for the account with key `accountKey` (empty: a
    /// connection-level resource).
    func recordUnattendedRequest(
        bank: BankID, psuReference: String, accountKey: String = "", resource: String, at: Date
    ) {
        let key = UnattendedKey(bank: bank, psuReference: psuReference, accountKey: accountKey, resource: resource)
        state.withLock { s in s.unattended.append(UnattendedRequest(key: key, at: at)) }
    }

    /// The refresh lease recorded on connection `id` (expired or not).
    func refreshLease(_ id: UUID) -> RefreshLease? { state.withLock { $0.leases[id] } }

    // MARK: - ConnectionRepository

    func insert(_ connection: ConnectionRecord) async throws {
        try state.withLock { s in
            guard !s.connections.contains(where: { $0.id == connection.id }) else {
                throw GatewayError.conflict("connection \(connection.id.uuidString.lowercased()) already exists")
            }
            s.connections.append(connection)
        }
    }

    func find(_ id: UUID) async throws -> ConnectionRecord? {
        state.withLock { s in s.connections.first { $0.id == id } }
    }

    func list(psuReference: String?, after: (createdAt: Date, id: UUID)?, limit: Int) async throws
        -> [ConnectionRecord]
    {
        let rows = state.withLock { s in
            s.connections.filter { psuReference == nil || $0.psuReference == psuReference }
        }
        return KeysetOrder.page(rows, after: after, limit: limit) { ($0.createdAt, $0.id) }
    }

    func dueForReauthorization(before: Date, psuReference: String?, limit: Int) async throws
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

    func modify(_ id: UUID, _ change: @Sendable (inout ConnectionRecord) throws -> LifecycleEvent?) async throws
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

    func unattendedUsage(of connections: [ConnectionRecord], since: Date) async throws
        -> [UUID: [UnattendedUsage]]
    {
        let (requests, accounts) = state.withLock { s in (s.unattended.filter { $0.at > since }, s.accounts) }
        var result: [UUID: [UnattendedUsage]] = [:]
        for connection in connections {
            var lines: [String: UnattendedUsage] = [:]
            for request in requests where request.key.bank == connection.bankID
                && request.key.psuReference == connection.psuReference
            {
                // An account-level request counts only on a connection that has that account.
                var accountID: String?
                if !request.key.accountKey.isEmpty {
                    guard let account = accounts[connection.id]?[request.key.accountKey] else { continue }
                    accountID = account.id
                }
                let line = "\(accountID ?? "")|\(request.key.resource)"
                var usage = lines[line] ?? UnattendedUsage(
                    accountID: accountID, resource: request.key.resource, count: 0, oldest: request.at)
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

    func registration(_ id: UUID) async throws -> RegistrationRecord? {
        let at = now()
        return state.withLock { s in s.registrations.first { $0.id == id } }?.inEffect(at: at)
    }

    func registrationForBankCall(_ id: UUID) async throws -> RegistrationRecord? {
        try await registration(id)
    }

    func registrations(provider: Provider, environment: Environment) async throws -> [RegistrationRecord] {
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

    // MARK: - RefreshLeaseRepository

    func claimRefresh<T: Sendable>(
        _ id: UUID, lease: RefreshLease, now: Date,
        _ step: @Sendable (inout ConnectionRecord, _ heldByAnother: Bool) throws -> RefreshClaimStep<T>
    ) async throws -> T {
        try state.withLock { s in
            guard let index = s.connections.firstIndex(where: { $0.id == id }) else {
                throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
            }
            var row = s.connections[index]
            let heldByAnother = s.leases[id].map { $0.id != lease.id && $0.until > now } ?? false
            switch try step(&row, heldByAnother) {
            case .answer(let value):
                return value
            case .claim(let value):
                s.leases[id] = lease
                return value
            case .change(let value, let event):
                s.connections[index] = row
                s.events.append(event)
                return value
            }
        }
    }

    func commitRefresh<T: Sendable>(
        _ id: UUID, lease: UUID, _ step: @Sendable (inout ConnectionRecord) throws -> (T, LifecycleEvent?)
    ) async throws -> T? {
        try state.withLock { s in
            guard let index = s.connections.firstIndex(where: { $0.id == id }) else {
                throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
            }
            guard s.leases[id]?.id == lease else { return nil }
            var row = s.connections[index]
            let (value, event) = try step(&row)
            s.leases[id] = nil
            s.connections[index] = row
            if let event { s.events.append(event) }
            return value
        }
    }

    func dueForRefresh(horizon: Date, now: Date, usedSince: Date, keepAliveUntil: Date?, limit: Int)
        async throws -> [UUID]
    {
        let due = state.withLock { s in
            s.connections.filter { c in
                guard c.status == .active, let expires = c.accessExpiresAt, expires <= horizon else { return false }
                if let next = c.nextRefreshAt, next > now { return false }
                if let used = c.lastUsedAt ?? c.authorizedAt, used >= usedSince { return true }
                if let keepAliveUntil, let refreshExpires = c.refreshExpiresAt { return refreshExpires <= keepAliveUntil }
                return false
            }
        }
        return Array(due.sorted { $0.accessExpiresAt! < $1.accessExpiresAt! }.prefix(limit).map(\.id))
    }

    // MARK: - AccountInformationRepository

    func markUsed(_ connection: ConnectionRecord, now: Date) async throws {
        state.withLock { s in
            guard let index = s.connections.firstIndex(where: { $0.id == connection.id }) else { return }
            if let last = s.connections[index].lastUsedAt, now.timeIntervalSince(last) < 60 { return }
            s.connections[index].lastUsedAt = now
        }
    }

    func setConnectedPSU(_ id: UUID, _ name: String) async throws {
        state.withLock { s in
            guard let index = s.connections.firstIndex(where: { $0.id == id }) else { return }
            s.connections[index].connectedPSU = name
        }
    }

    func setConsents(_ id: UUID, _ consents: ConsentRequest) async throws {
        state.withLock { s in
            guard let index = s.connections.firstIndex(where: { $0.id == id }) else { return }
            s.connections[index].consents = consents
        }
    }

    func accountIDs(connectionID: UUID, accounts: [(key: String, resourceID: String)], now: Date) async throws
        -> [String]
    {
        state.withLock { s in
            var map = s.accounts[connectionID] ?? [:]
            let ids = accounts.map { account in
                let id = map[account.key]?.id ?? Self.newAccountID()
                map[account.key] = (id, account.resourceID)
                return id
            }
            s.accounts[connectionID] = map
            return ids
        }
    }

    func bankAccount(connectionID: UUID, accountID: String) async throws -> (key: String, resourceID: String)? {
        state.withLock { s in
            s.accounts[connectionID]?.first { $0.value.id == accountID }.map { ($0.key, $0.value.resourceID) }
        }
    }

    func countUnattendedRequest(_ key: UnattendedKey, now: Date, window: TimeInterval, limit: Int)
        async throws -> UnattendedCount
    {
        let since = now.addingTimeInterval(-window)
        return state.withLock { s in
            s.unattended.removeAll { $0.key == key && $0.at <= since }
            let counted = s.unattended.filter { $0.key == key && $0.at > since }
            if counted.count >= limit { return .full(oldest: counted.map(\.at).min() ?? now) }
            s.unattended.append(UnattendedRequest(key: key, at: now))
            return .counted
        }
    }

    /// `acc_` and 20 random hex digits, as the store makes them.
    private static func newAccountID() -> String {
        "acc_" + (0..<10).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}
