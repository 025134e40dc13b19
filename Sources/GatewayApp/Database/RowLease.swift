import FoundationEssentials
import PostgresKit

/// A claim on the work of one row that involves a bank call (a token refresh, a registration change): an id and an
/// expiry, kept in two columns of the row. It is taken and checked inside short transactions holding the row lock,
/// so that no connection or lock is held during the bank call itself (docs/race.md, docs/connections.md).
struct RowLease: Sendable, Equatable {
    var id: UUID
    var until: Date

    /// Where a table keeps its lease: `<prefix>_id` and `<prefix>_until` on the row whose `id` is the key.
    struct Columns: Sendable {
        let table: String
        let prefix: String

        /// The lease recorded on row `id` (expired or not), in the caller's transaction.
        func read(_ id: UUID, on tx: PostgresConnection) async throws -> RowLease? {
            guard let row = try await tx.query("""
                SELECT \(identifier: prefix + "_id") AS lease_id, \(identifier: prefix + "_until") AS lease_until
                FROM \(identifier: table) WHERE id = \(id)
                """).first
            else { return nil }
            guard let leaseID = try row.decode("lease_id", as: UUID?.self),
                let until = try row.decode("lease_until", as: Date?.self)
            else { return nil }
            return RowLease(id: leaseID, until: until)
        }

        /// Records `lease` on row `id` (nil: released), in the caller's transaction.
        func write(_ id: UUID, _ lease: RowLease?, on tx: PostgresConnection) async throws {
            _ = try await tx.execute("""
                UPDATE \(identifier: table) SET \(identifier: prefix + "_id") = \(lease?.id),
                  \(identifier: prefix + "_until") = \(lease?.until)
                WHERE id = \(id)
                """)
        }

        /// Releases `lease` on row `id` if it is still recorded there (outside any transaction: after a failure).
        func release(_ id: UUID, _ lease: UUID, db: StoreDatabase) async throws {
            _ = try await db.execute("""
                UPDATE \(identifier: table) SET \(identifier: prefix + "_id") = NULL, \(identifier: prefix + "_until") = NULL
                WHERE id = \(id) AND \(identifier: prefix + "_id") = \(lease)
                """)
        }
    }
}
