import Foundation
import GatewayCore
import PostgresKit

/// The unattended-access budget, counted as the bank counts it (BPCE: 4 requests a day per TPP × bank × customer ×
/// account × method without `PSU-IP-Address`, docs/protocol.md §5.4; docs/adapters.md "Unattended budget"): every
/// bank request of a read without the customer present — each transactions page, each retry — is counted per
/// bank × customer (the TPP's `psuReference`) × account (the stable account key of `connection_accounts`, derived
/// from the IBAN, so the same in every authorization) × resource, over a rolling window in PostgreSQL, whatever the
/// connection; the request past the limit is refused with 429 before the bank is called.
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

    /// What one count is kept for.
    struct Key: Sendable, Hashable {
        var bank: BankID
        /// The TPP's reference of the customer (`psuReference`), stable across the customer's connections.
        var psuReference: String
        /// `connection_accounts.account_key`, or empty for a connection-level resource.
        var accountKey: String
        var resource: Resource

        var lockName: String { "unattended:\(bank)|\(psuReference)|\(accountKey)|\(resource.rawValue)" }
    }

    /// Counts one unattended bank request for `key`.
    /// - Throws: `GatewayError.budgetExhausted` with the seconds until the oldest counted request leaves the window.
    func consume(_ key: Key) async throws {
        let now = deps.now()
        let window = deps.settings.unattendedWindowSeconds
        let limit = deps.settings.unattendedLimit
        let since = now.addingTimeInterval(-window)
        let (bank, psu, account, resource) = (key.bank.description, key.psuReference, key.accountKey, key.resource.rawValue)
        let retryAfter: Int? = try await deps.db.withTransaction { tx in
            _ = try await tx.query("SELECT pg_advisory_xact_lock(hashtextextended(\(key.lockName), 0))")
            _ = try await tx.execute("""
                DELETE FROM unattended_requests WHERE bank_id = \(bank) AND psu_reference = \(psu)
                  AND account_key = \(account) AND resource = \(resource) AND at <= \(since)
                """)
            let rows = try await tx.query("""
                SELECT count(*) AS n, min(at) AS oldest FROM unattended_requests
                WHERE bank_id = \(bank) AND psu_reference = \(psu) AND account_key = \(account)
                  AND resource = \(resource) AND at > \(since)
                """)
            let count: Int = try rows.first?.decode("n") ?? 0
            if count >= limit {
                let oldest: Date? = try rows.first?.decode("oldest")
                let freeAt = (oldest ?? now).addingTimeInterval(window)
                return max(1, Int(freeAt.timeIntervalSince(now).rounded(.up)))
            }
            _ = try await tx.execute("""
                INSERT INTO unattended_requests (bank_id, psu_reference, account_key, resource, at)
                VALUES (\(bank), \(psu), \(account), \(resource), \(now))
                """)
            return nil
        }
        if let retryAfter { throw GatewayError.budgetExhausted(retryAfter: retryAfter) }
    }
}

/// One line of a connection's `unattendedBudget.used`: the requests counted in the window for one account of the
/// connection (nil: a connection-level resource) and resource (`ConnectionRepository.unattendedUsage`).
public struct UnattendedUsage: Sendable, Equatable {
    public var accountID: String?
    /// An `UnattendedBudget.Resource` raw value.
    public var resource: String
    public var count: Int
    /// The oldest counted request: the window frees one request when it leaves.
    public var oldest: Date

    public init(accountID: String?, resource: String, count: Int, oldest: Date) {
        self.accountID = accountID
        self.resource = resource
        self.count = count
        self.oldest = oldest
    }
}
