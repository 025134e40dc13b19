import FoundationEssentials
import GatewayCore

/// Where payments are kept: the narrow surface `PaymentService` and its reconciler need. `PaymentStore` keeps them
/// in PostgreSQL (table `payments`, the events in `events`); tests use `InMemoryPaymentRepository`
/// (GatewayAppTests), which keeps the same promises. Errors are already the API's (`GatewayError`).
///
/// Every change of a payment goes through `modify`: one step under the row's lock, written together with the
/// `payment.status_changed` event it causes (`PaymentRecord.statusChangedEvent`), or not at all. The step is a
/// synchronous closure, so no lock is ever held across a bank call; the rules of a step (which state is accepted,
/// what a bank answer means) are the service's closure, so both implementations apply the same ones.
public protocol PaymentRepository: Sendable {
    /// Stores a new payment (the `submitting` row, committed before any bank call).
    /// - Throws: `GatewayError.conflict` when its id, `paymentInformationId`, `instructionId`, `endToEndId`, or its
    ///   principal and idempotency key are already used.
    func insert(_ payment: PaymentRecord) async throws

    /// Payment `id`, if stored.
    func find(_ id: UUID) async throws -> PaymentRecord?

    /// The payment `principal` created with idempotency key `key`, if any.
    func find(principal: String, idempotencyKey key: String) async throws -> PaymentRecord?

    /// Changes payment `id` in one step: locks it, hands `change` the row as last committed, then writes the changed
    /// row and, when its API status changed, `payment.status_changed` together. When `change` throws, nothing is
    /// written. Two steps on one payment never interleave.
    /// - Returns: The row as written.
    /// - Throws: `GatewayError.notFound` when there is no payment `id`; what `change` throws.
    func modify(_ id: UUID, _ change: @Sendable (inout PaymentRecord) throws -> Void) async throws -> PaymentRecord

    /// One page of a customer's payments, newest first (`createdAt`, then `id`, descending), strictly after the
    /// keyset position `after`, at most `limit`.
    func list(psuReference: String, after: (createdAt: Date, id: UUID)?, limit: Int) async throws -> [PaymentRecord]

    /// Payments the reconciler should look at: `submitting` or `unknown` with `nextCheckAt` not after `now`, the
    /// longest due first, at most `limit`.
    func dueForReconciliation(now: Date, limit: Int) async throws -> [UUID]
}

extension PaymentRecord {
    /// The `payment.status_changed` event of this row replacing one whose status was `previous` (docs/events.md):
    /// nil when the API status did not change.
    public func statusChangedEvent(from previous: PaymentStatus) -> LifecycleEvent? {
        guard previous.apiName != status.apiName else { return nil }
        let id = id.uuidString.lowercased()
        var data = [
            "paymentId": id, "bank": bankID.description, "psuReference": psuReference,
            "previousStatus": previous.apiName, "status": status.apiName,
        ]
        if let bankStatus { data["bankStatus"] = bankStatus }
        return LifecycleEvent(kind: .paymentStatusChanged, resourceID: id, data: data)
    }
}
