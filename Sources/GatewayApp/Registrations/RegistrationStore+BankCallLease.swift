import FoundationEssentials
import GatewayCore
import PostgresKit

/// The bank-call lease of registrations in PostgreSQL (migration 0012): a claim id and an expiry in two columns of
/// the row, taken and checked in short transactions holding the row lock, so that no connection or lock is held
/// while the bank answers (`RegistrationService.withBankCallLease` runs the change).
extension RegistrationStore {
    /// Where registrations keep their bank-call lease (migration 0012).
    static let bankCallLease = RowLease.Columns(table: "registrations", prefix: "bank_call_lease")

    public func claimBankCall(_ id: UUID, for duration: TimeInterval) async throws -> BankCallClaim {
        try await db.withTransaction { tx in
            guard let row = try await lock(id, on: tx) else { return .noSuchRegistration }
            if let held = try await Self.bankCallLease.read(id, on: tx), held.until > now() {
                return .held(until: held.until)
            }
            let lease = RowLease(id: UUID(), until: now().addingTimeInterval(duration))
            try await Self.bankCallLease.write(id, lease, on: tx)
            return .claimed(row, lease: lease.id)
        }
    }

    /// Checked with the row locked, so that a claim taken meanwhile by another caller (after this one expired)
    /// cannot be overwritten.
    public func commitBankCall(_ record: RegistrationRecord, lease: UUID) async throws {
        defer { forget(record.id) }
        try await db.withTransaction { tx in
            guard try await lock(record.id, on: tx) != nil,
                try await Self.bankCallLease.read(record.id, on: tx)?.id == lease
            else {
                throw GatewayError.conflict(
                    "the registration was changed by another call during the bank call; read it again")
            }
            try await update(record, on: tx)
            try await Self.bankCallLease.write(record.id, nil, on: tx)
        }
    }

    public func releaseBankCall(_ id: UUID, lease: UUID) async throws {
        try await Self.bankCallLease.release(id, lease, db: db)
    }
}
