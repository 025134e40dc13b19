import FoundationEssentials
import GatewayCore
import GatewayLogging

/// Resolves payments whose bank outcome is unknown (docs/payments.md): a `submitting` row whose process died
/// becomes `unknown`; an `unknown` payment whose bank resource is known (the `Location` was received) is read from
/// the bank. Nothing here ever POSTs a payment. A payment the bank never named stays `unknown` for an operator
/// (STET has no search by `paymentInformationId`, docs/protocol.md §2.7); it is looked at again with a growing
/// back-off, at most `maxAttempts` times.
extension PaymentService {
    /// Runs passes every `settings.reconcilerIntervalSeconds` until the task is cancelled (0 disables it).
    public func runReconciler(isReady: @escaping @Sendable () -> Bool = { true }) async {
        guard settings.reconcilerIntervalSeconds > 0 else { return }
        var passes = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int(settings.reconcilerIntervalSeconds * 1000)))
            guard isReady() else { continue }
            _ = await reconcileDue()
            // The idempotency keys' retention job, every 100 passes (and on the first).
            if passes % 100 == 0 { _ = try? await idempotency.purge(retention: settings.idempotencyRetentionSeconds) }
            passes += 1
        }
    }

    /// One pass: looks at every due payment; returns how many were resolved (left `unknown` and `submitting`).
    @discardableResult
    public func reconcileDue(limit: Int = 100) async -> Int {
        guard let due = try? await store.dueForReconciliation(now: now(), limit: limit) else { return 0 }
        var resolved = 0
        for id in due {
            do {
                var record = try await get(id, logger: logger)
                if record.status == .unknown {
                    record = try await finish(id) { row in
                        guard row.status == .unknown else { return }
                        row.reconcileAttempts += 1
                        let delay = min(3600.0, 30.0 * Double(1 << min(row.reconcileAttempts, 7)))
                        row.nextCheckAt =
                            row.reconcileAttempts >= PaymentService.maxReconcileAttempts
                            ? nil : now().addingTimeInterval(delay)
                    }
                }
                if record.status != .unknown && record.status != .submitting { resolved += 1 }
            } catch {
                logger.warning(
                    "payment reconciliation failed",
                    metadata: ["payment.id": id.uuidString.lowercased(), "error": "\(error)"])
            }
        }
        if resolved > 0 { logger.info("payments reconciled", metadata: ["count": String(resolved)]) }
        return resolved
    }

    /// After this many looks an unresolved payment waits for an operator.
    static let maxReconcileAttempts = 20
}
