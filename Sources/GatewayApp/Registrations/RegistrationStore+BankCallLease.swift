import Foundation
import GatewayCore
import PostgresKit

/// Changes of a registration that need a bank call (update, delete) without holding a database connection or the
/// row lock during that call (migration 0012): one change per registration at a time, across replicas.
extension RegistrationStore {
    /// Where registrations keep their bank-call lease (migration 0012).
    static let bankCallLease = RowLease.Columns(table: "registrations", prefix: "bank_call_lease")

    private enum Claim: Sendable {
        case claimed(RegistrationRecord?)
        case wait
    }

    /// Runs `body` with the registration as it is once this caller holds its bank-call lease, then stores the
    /// record `body` returns (`update`, which bumps the version) — only if the lease is still this caller's.
    ///
    /// 1. A short transaction locks the row and takes the lease (`bank_call_lease_id`, `…_until` = now +
    ///    `duration`); a caller that finds another's unexpired lease looks again every 50 ms, holding nothing, and
    ///    then sees the first one's result (concurrent changes of one registration run one after the other).
    /// 2. `body` runs with no transaction open: it calls the bank. It gets nil when there is no such row.
    /// 3. A second short transaction checks the lease, writes the record and releases the lease; when `body`
    ///    throws, the lease is released (best effort: otherwise it expires).
    /// - Parameters:
    ///   - duration: How long the claim lasts: longer than the bank call's deadline.
    ///   - now: The service's clock.
    /// - Throws: what `body` throws; `GatewayError.conflict` when the lease ran out and another caller took it.
    func withBankCallLease(
        _ id: UUID, duration: TimeInterval, now: @Sendable () -> Date,
        _ body: (RegistrationRecord?) async throws -> RegistrationRecord
    ) async throws -> RegistrationRecord {
        defer { forget(id) }
        let lease = UUID()
        var locked: RegistrationRecord?
        claiming: while true {
            let claim: Claim = try await db.withTransaction { tx in
                guard let row = try await lock(id, on: tx) else { return .claimed(nil) }
                if let held = try await Self.bankCallLease.read(id, on: tx), held.until > now() { return .wait }
                let taken = RowLease(id: lease, until: now().addingTimeInterval(duration))
                try await Self.bankCallLease.write(id, taken, on: tx)
                return .claimed(row)
            }
            switch claim {
            case .wait: try await Task.sleep(for: .milliseconds(50))
            case .claimed(let row):
                locked = row
                break claiming
            }
        }
        let result: RegistrationRecord
        do {
            result = try await body(locked)
        } catch {
            if locked != nil { try? await Self.bankCallLease.release(id, lease, db: db) }
            throw error
        }
        // The bank has the change now: storing it is retried while the database is unavailable (three attempts in
        // about a second). If it still fails, the row keeps the previous version and the caller gets the error; the
        // bank's document is made whole again by the next successful change (each one sends the whole document).
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await db.withTransaction { tx in
                    guard try await Self.bankCallLease.read(id, on: tx)?.id == lease else {
                        throw GatewayError.conflict(
                            "the registration was changed by another call during the bank call; read it again")
                    }
                    try await update(result, on: tx)
                    try await Self.bankCallLease.write(id, nil, on: tx)
                }
                return result
            } catch GatewayError.unavailable(_, _) where attempt < 3 {
                try? await Task.sleep(for: .milliseconds(300 * attempt))
            } catch {
                try? await Self.bankCallLease.release(id, lease, db: db)
                throw error
            }
        }
    }
}
