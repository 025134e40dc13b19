import Foundation
import PostgresKit

/// The refresh lease of a connection (migration 0007): who is refreshing its tokens and until when. Taken and
/// released inside `withLockedRow` transactions, so the claim itself is serialized by the row lock, but no lock is
/// held while the bank is called (docs/race.md).
extension ConnectionStore {
    /// A claim on refreshing one connection's tokens.
    struct RefreshLease: Sendable, Equatable {
        var id: UUID
        var until: Date
    }

    /// The lease recorded on connection `id` (expired or not), in the caller's transaction.
    func refreshLease(_ id: UUID, on tx: PostgresConnection) async throws -> RefreshLease? {
        guard let row = try await tx.query(
            "SELECT refresh_lease_id, refresh_lease_until FROM connections WHERE id = \(id)"
        ).first else { return nil }
        guard let leaseID = try row.decode("refresh_lease_id", as: UUID?.self),
            let until = try row.decode("refresh_lease_until", as: Date?.self)
        else { return nil }
        return RefreshLease(id: leaseID, until: until)
    }

    /// Records `lease` on connection `id` (nil: released), in the caller's transaction.
    func setRefreshLease(_ id: UUID, to lease: RefreshLease?, on tx: PostgresConnection) async throws {
        _ = try await tx.execute("""
            UPDATE connections SET refresh_lease_id = \(lease?.id), refresh_lease_until = \(lease?.until)
            WHERE id = \(id)
            """)
    }
}
