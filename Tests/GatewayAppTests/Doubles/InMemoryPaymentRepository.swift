import Foundation
import GatewayCore
import Synchronization

@testable import GatewayApp

/// `PaymentRepository` in memory, for tests without PostgreSQL. It keeps the promises of `PaymentStore`: the
/// identifiers and the (principal, idempotency key) pair are unique, a step of `modify` runs alone on the stored
/// rows and writes the row and its `payment.status_changed` event together or nothing, listings are newest first by
/// (`createdAt`, `id`) with a keyset position, and the reconciler's due payments are `submitting` or `unknown`.
final class InMemoryPaymentRepository: PaymentRepository {
    private struct State {
        var payments: [PaymentRecord] = []
        var events: [LifecycleEvent] = []
    }

    private let state = Mutex(State())

    /// Every payment stored, in insertion order.
    var payments: [PaymentRecord] { state.withLock { $0.payments } }

    /// Every lifecycle event written with a change, in order.
    var events: [LifecycleEvent] { state.withLock { $0.events } }

    // MARK: - PaymentRepository

    func insert(_ payment: PaymentRecord) async throws {
        try state.withLock { s in
            let o = payment.order
            let taken = s.payments.contains {
                $0.id == payment.id || $0.order.paymentInformationID == o.paymentInformationID
                    || $0.order.instructionID == o.instructionID || $0.order.endToEndID == o.endToEndID
                    || ($0.principal == payment.principal && $0.idempotencyKey == payment.idempotencyKey)
            }
            guard !taken else { throw GatewayError.conflict("a payment with these identifiers already exists") }
            s.payments.append(payment)
        }
    }

    func find(_ id: UUID) async throws -> PaymentRecord? {
        state.withLock { s in s.payments.first { $0.id == id } }
    }

    func find(principal: String, idempotencyKey key: String) async throws -> PaymentRecord? {
        state.withLock { s in s.payments.first { $0.principal == principal && $0.idempotencyKey == key } }
    }

    func modify(_ id: UUID, _ change: @Sendable (inout PaymentRecord) throws -> Void) async throws
        -> PaymentRecord
    {
        try state.withLock { s in
            guard let index = s.payments.firstIndex(where: { $0.id == id }) else {
                throw GatewayError.notFound(resource: "payment", id: id.uuidString.lowercased())
            }
            var row = s.payments[index]
            try change(&row)
            if let event = row.statusChangedEvent(from: s.payments[index].status) { s.events.append(event) }
            s.payments[index] = row
            return row
        }
    }

    func list(psuReference: String, after: (createdAt: Date, id: UUID)?, limit: Int) async throws
        -> [PaymentRecord]
    {
        let rows = state.withLock { s in s.payments.filter { $0.psuReference == psuReference } }
        return KeysetOrder.page(rows, after: after, limit: limit) { ($0.createdAt, $0.id) }
    }

    func dueForReconciliation(now: Date, limit: Int) async throws -> [UUID] {
        let due = state.withLock { s in
            s.payments.filter { p in
                guard p.status == .submitting || p.status == .unknown, let at = p.nextCheckAt else { return false }
                return at <= now
            }
        }
        return Array(
            due.sorted { ($0.nextCheckAt!, KeysetOrder.key($0.id)) < ($1.nextCheckAt!, KeysetOrder.key($1.id)) }
                .map(\.id).prefix(limit))
    }
}
