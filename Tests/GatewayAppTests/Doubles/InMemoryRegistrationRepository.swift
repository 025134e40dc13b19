import Foundation
import GatewayCore
import Synchronization

@testable import GatewayApp

/// `RegistrationRepository` in memory, for tests of the HTTP contract without PostgreSQL. It keeps the promises of
/// `RegistrationStore`: reads answer each registration as in effect at the clock, `list` leaves deleted ones out,
/// newest first; the primary key refuses a second row with the same id (the `GatewayError` `StoreDatabase` gives a
/// unique violation); every write bumps the version; a bank-call claim is exclusive until it is committed,
/// released or expires, and a commit with a claim that is no longer the row's stores nothing. It writes no event
/// (the outbox is PostgreSQL's). With `certificates`, each row's use of certificates is recorded there, as the
/// shared `registrations` table tells `CertificateStore`.
final class InMemoryRegistrationRepository: RegistrationRepository {
    private struct Row {
        var record: RegistrationRecord
        var lease: (id: UUID, until: Date)?
    }

    private struct State {
        /// Newest first.
        var rows: [Row] = []
        var failWrites: GatewayError?
        var heldAnswers = 0
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Date
    private let certificates: InMemoryCertificateRepository?

    /// - Parameters:
    ///   - now: The clock pending changes and claims are measured against (the service's).
    ///   - certificates: Told which certificates each registration uses.
    init(now: @escaping @Sendable () -> Date = { Date() }, certificates: InMemoryCertificateRepository? = nil) {
        self.now = now
        self.certificates = certificates
    }

    // MARK: - Test hooks

    /// Every row as stored (deleted ones included, pending changes not applied), newest first.
    var records: [RegistrationRecord] { state.withLock { $0.rows.map(\.record) } }

    /// The id of the claim recorded on registration `id` (expired or not).
    func claim(of id: UUID) -> UUID? {
        state.withLock { s in s.rows.first { $0.record.id == id }?.lease?.id }
    }

    /// How many claims were answered `.held` so far (a caller waiting for another's claim).
    var heldAnswers: Int { state.withLock { $0.heldAnswers } }

    /// From now on, `complete` and `commitBankCall` throw `error` (nil: they store again), as a database that is
    /// unavailable or refuses the row would.
    func failWrites(with error: GatewayError?) {
        state.withLock { $0.failWrites = error }
    }

    // MARK: - Reads

    func find(_ id: UUID) async throws -> RegistrationRecord? {
        state.withLock { s in s.rows.first { $0.record.id == id }?.record }?.inEffect(at: now())
    }

    func list() async throws -> [RegistrationRecord] {
        let at = now()
        return records.filter { $0.status != .deleted }.map { $0.inEffect(at: at) }
    }

    func candidates(provider: Provider, environment: Environment, bankID: BankID?) async throws
        -> [RegistrationRecord]
    {
        let at = now()
        return records.filter {
            $0.provider == provider && $0.environment == environment && [.active, .pending].contains($0.status)
                && (bankID == nil || $0.bankID == bankID)
        }.map { $0.inEffect(at: at) }
    }

    // MARK: - The intent

    func insert(_ record: RegistrationRecord) async throws {
        try state.withLock { s in
            guard !s.rows.contains(where: { $0.record.id == record.id }) else {
                throw GatewayError.conflict("a record with the same identifying values already exists")
            }
            s.rows.insert(Row(record: record), at: 0)
        }
        recordUse(record)
    }

    func complete(_ record: RegistrationRecord) async throws {
        try write(record.id) { row, failure in
            if let failure { throw failure }
            row.record = updated(row.record, to: record)
        }
    }

    func markFailed(_ id: UUID, clientID: String, registrationClientURI: String?) async throws {
        try write(id) { row, _ in
            guard row.record.status == .registering else { return }
            row.record.status = .failed
            row.record.clientID = clientID
            row.record.registrationClientURI = registrationClientURI
            row.record.version += 1
            row.record.updatedAt = now()
        }
    }

    func removeIntent(_ id: UUID) async throws {
        let removed = state.withLock { s in
            s.rows.firstIndex { $0.record.id == id && $0.record.status == .registering }.map { s.rows.remove(at: $0) }
        }
        if var gone = removed?.record {
            gone.status = .deleted  // no row: for the certificates, the same as a deleted one
            recordUse(gone)
        }
    }

    // MARK: - The bank-call lease

    func claimBankCall(_ id: UUID, for duration: TimeInterval) async throws -> BankCallClaim {
        let at = now()
        return state.withLock { s in
            guard let i = s.rows.firstIndex(where: { $0.record.id == id }) else { return .noSuchRegistration }
            if let held = s.rows[i].lease, held.until > at {
                s.heldAnswers += 1
                return .held(until: held.until)
            }
            let lease = UUID()
            s.rows[i].lease = (lease, at.addingTimeInterval(duration))
            return .claimed(s.rows[i].record.inEffect(at: at), lease: lease)
        }
    }

    func commitBankCall(_ record: RegistrationRecord, lease: UUID) async throws {
        try write(record.id) { row, failure in
            guard row.lease?.id == lease else {
                throw GatewayError.conflict(
                    "the registration was changed by another call during the bank call; read it again")
            }
            if let failure { throw failure }
            row.record = updated(row.record, to: record)
            row.lease = nil
        }
    }

    func releaseBankCall(_ id: UUID, lease: UUID) async throws {
        state.withLock { s in
            if let i = s.rows.firstIndex(where: { $0.record.id == id && $0.lease?.id == lease }) {
                s.rows[i].lease = nil
            }
        }
    }

    // MARK: - Helpers

    /// Changes row `id` (if any) with `change`, given the failure `failWrites` set; tells the certificates.
    private func write(_ id: UUID, _ change: (inout Row, GatewayError?) throws -> Void) throws {
        let written = try state.withLock { s -> RegistrationRecord? in
            guard let i = s.rows.firstIndex(where: { $0.record.id == id }) else { return nil }
            try change(&s.rows[i], s.failWrites)
            return s.rows[i].record
        }
        if let written { recordUse(written) }
    }

    /// `stored` with every member `RegistrationStore.update` writes taken from `new`: all but the id, provider,
    /// bank, environment and creation time; the version bumped, the update time now.
    private func updated(_ stored: RegistrationRecord, to new: RegistrationRecord) -> RegistrationRecord {
        var record = new
        record.updatedAt = now()
        record.id = stored.id
        record.provider = stored.provider
        record.bankID = stored.bankID
        record.environment = stored.environment
        record.createdAt = stored.createdAt
        record.version = stored.version + 1
        return record
    }

    private func recordUse(_ record: RegistrationRecord) {
        certificates?.recordRegistration(
            record.id, qwac: record.qwacCertificateID, qseal: record.qsealCertificateID, status: record.status.rawValue)
    }
}
