import Foundation
import GatewayCore
import PostgresKit

/// The unattended-access budget (BPCE: 4 batch calls a day per PSU × account × method, docs/protocol.md §5.4): a read
/// without `PSU-IP-Address` is counted per connection × account × resource over a rolling window in PostgreSQL,
/// and the one past the limit is refused with 429 before the bank is called.
///
/// Atomic across replicas: the count and the insert run in one transaction holding a transaction-scoped advisory
/// lock on a hash of the key, so two replicas counting the same key are serialized.
struct UnattendedBudget: Sendable {
    let deps: ConnectionDependencies

    /// The resources that are counted, as named in the API's `unattendedBudget.used[].resource`.
    enum Resource: String, Sendable, CaseIterable {
        case accounts
        case balances
        case transactions
        case trustedBeneficiaries = "trusted-beneficiaries"
        case identity
    }

    /// One line of `unattendedBudget.used`.
    struct Usage: Sendable {
        var accountID: String?
        var resource: String
        var count: Int
        var oldest: Date
    }

    /// Counts one unattended read of `resource` (on `accountID`, or connection-wide when nil).
    /// - Throws: `GatewayError.budgetExhausted` with the seconds until the oldest counted read leaves the window.
    func consume(connectionID: UUID, accountID: String?, resource: Resource) async throws {
        let now = deps.now()
        let window = deps.settings.unattendedWindowSeconds
        let limit = deps.settings.unattendedLimit
        let since = now.addingTimeInterval(-window)
        let account = accountID ?? ""
        let lockKey = "unattended:\(connectionID.uuidString.lowercased()):\(account):\(resource.rawValue)"
        let retryAfter: Int? = try await deps.db.withTransaction { tx in
            _ = try await tx.query("SELECT pg_advisory_xact_lock(hashtextextended(\(lockKey), 0))")
            _ = try await tx.execute("""
                DELETE FROM unattended_reads WHERE connection_id = \(connectionID) AND account_key = \(account)
                  AND resource = \(resource.rawValue) AND at <= \(since)
                """)
            let rows = try await tx.query("""
                SELECT count(*) AS n, min(at) AS oldest FROM unattended_reads
                WHERE connection_id = \(connectionID) AND account_key = \(account) AND resource = \(resource.rawValue)
                  AND at > \(since)
                """)
            let count: Int = try rows.first?.decode("n") ?? 0
            if count >= limit {
                let oldest: Date? = try rows.first?.decode("oldest")
                let freeAt = (oldest ?? now).addingTimeInterval(window)
                return max(1, Int(freeAt.timeIntervalSince(now).rounded(.up)))
            }
            _ = try await tx.execute("""
                INSERT INTO unattended_reads (connection_id, account_key, resource, at)
                VALUES (\(connectionID), \(account), \(resource.rawValue), \(now))
                """)
            return nil
        }
        if let retryAfter { throw GatewayError.budgetExhausted(retryAfter: retryAfter) }
    }

    /// The connection's counted reads in the current window, per account and resource.
    func usage(connectionID: UUID) async throws -> [Usage] {
        try await usage(connectionIDs: [connectionID])[connectionID] ?? []
    }

    /// The usage of several connections in one query (a page of the connections list).
    func usage(connectionIDs: [UUID]) async throws -> [UUID: [Usage]] {
        guard !connectionIDs.isEmpty else { return [:] }
        let since = deps.now().addingTimeInterval(-deps.settings.unattendedWindowSeconds)
        let ids = connectionIDs.map { $0.uuidString.lowercased() }
        var result: [UUID: [Usage]] = [:]
        for row in try await deps.db.query("""
            SELECT connection_id, account_key, resource, count(*) AS n, min(at) AS oldest FROM unattended_reads
            WHERE connection_id = ANY(\(ids)::uuid[]) AND at > \(since)
            GROUP BY connection_id, account_key, resource ORDER BY connection_id, account_key, resource
            """)
        {
            let id: UUID = try row.decode("connection_id")
            let account: String = try row.decode("account_key")
            result[id, default: []].append(
                Usage(
                    accountID: account.isEmpty ? nil : account, resource: try row.decode("resource"),
                    count: try row.decode("n"), oldest: try row.decode("oldest")))
        }
        return result
    }
}
