import FoundationEssentials
import GatewayCore

/// The unattended-access budget, counted as the bank counts it (BPCE: 4 requests a day per TPP × bank × customer ×
/// account × method without `PSU-IP-Address`, docs/protocol.md §5.4; docs/adapters.md "Unattended budget"): every
/// bank request of a read without the customer present — each transactions page, each retry — is counted per
/// bank × customer (the TPP's `psuReference`) × account (the stable account key of `connection_accounts`, derived
/// from the IBAN, so the same in every authorization) × resource, over a rolling window in PostgreSQL, whatever the
/// connection; the request past the limit is refused with 429 before the bank is called.
///
/// The rules are here (window, limit, the retry delay); the counting is the repository's
/// (`AccountInformationRepository.countUnattendedRequest`: in PostgreSQL under a transaction-scoped advisory lock on
/// a hash of the key, so two replicas counting the same key are serialized).
struct UnattendedBudget: Sendable {
    let store: any AccountInformationRepository
    let settings: Config.Connections
    let now: @Sendable () -> Date

    /// The resources that are counted, as named in the API's `unattendedBudget.used[].resource`.
    enum Resource: String, Sendable, CaseIterable {
        case accounts
        case balances
        case transactions
        case trustedBeneficiaries = "trusted-beneficiaries"
        case identity
    }

    /// Counts one unattended bank request for `key`.
    /// - Throws: `GatewayError.budgetExhausted` with the seconds until the oldest counted request leaves the window.
    func consume(_ key: UnattendedKey) async throws {
        let now = now()
        let window = settings.unattendedWindowSeconds
        let counted = try await store.countUnattendedRequest(
            key, now: now, window: window, limit: settings.unattendedLimit)
        if case .full(let oldest) = counted {
            let freeAt = oldest.addingTimeInterval(window)
            throw GatewayError.budgetExhausted(retryAfter: max(1, Int(freeAt.timeIntervalSince(now).rounded(.up))))
        }
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
}
