import FoundationEssentials
import GatewayCore

/// Changes of a registration that need a bank call (update, delete), one at a time per registration across
/// replicas, without holding a database connection or the row lock during that call (docs/race.md): the
/// repository's claim, commit and release (`RegistrationRepository`, migration 0012 in PostgreSQL) run here.
extension RegistrationService {
    /// Runs `body` with the registration as it is once this caller holds its bank-call claim, then stores the
    /// record `body` returns — only if the claim is still this caller's — and returns it as stored.
    ///
    /// 1. The claim lasts what remains of the call's deadline plus 10 s for the transactions around it (a caller
    ///    that died holding one delays the next change by at most this). A caller that finds another's claim
    ///    looks again every 50 ms, holding nothing, until it ends; it then sees the first one's result.
    /// 2. `body` runs with no transaction open: it calls the bank.
    /// 3. The commit checks the claim and stores the record. It is retried while the database is unavailable
    ///    (`retryingWhileUnavailable`): the bank has the change. If it still fails, the row keeps the previous
    ///    version and the caller gets the error; the bank's document is made whole again by the next successful
    ///    change (each one sends the whole document). When `body` or the commit throws, the claim is released
    ///    (best effort: otherwise it expires).
    /// - Throws: `GatewayError.notFound` for no such registration or a deleted one; what `body` throws;
    ///   `GatewayError.conflict` when the claim ran out and another caller took it.
    func withBankCallLease(
        _ id: UUID, context: AdapterContext, _ body: (RegistrationRecord) async throws -> RegistrationRecord
    ) async throws -> RegistrationRecord {
        let remaining = (context.deadline - .now).components
        let duration = max(0, Double(remaining.seconds) + Double(remaining.attoseconds) / 1e18) + 10
        let (current, lease) = try await claimBankCall(id, for: duration)
        do {
            guard current.status != .deleted else {
                throw GatewayError.notFound(resource: "registration", id: id.uuidString.lowercased())
            }
            var record = try await body(current)
            try await Self.retryingWhileUnavailable { try await store.commitBankCall(record, lease: lease) }
            record.version = current.version + 1
            record.updatedAt = now()
            return record
        } catch {
            try? await store.releaseBankCall(id, lease: lease)
            throw error
        }
    }

    /// Claims registration `id`, waiting while another caller holds it.
    private func claimBankCall(_ id: UUID, for duration: TimeInterval) async throws -> (RegistrationRecord, UUID) {
        while true {
            switch try await store.claimBankCall(id, for: duration) {
            case .noSuchRegistration:
                throw GatewayError.notFound(resource: "registration", id: id.uuidString.lowercased())
            case .held: try await Task.sleep(for: .milliseconds(50))
            case .claimed(let record, let lease): return (record, lease)
            }
        }
    }
}
