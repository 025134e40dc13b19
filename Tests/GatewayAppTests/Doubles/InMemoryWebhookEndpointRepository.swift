import Foundation
import GatewayCore
import Synchronization

@testable import GatewayApp

/// `WebhookEndpointRepository` in memory, for tests of the HTTP contract without PostgreSQL. It keeps the promises of
/// `WebhookEndpointStore`: live endpoints oldest first, deleted ones gone from every read, disabling or deleting an
/// endpoint cancels its pending deliveries, setting the state an endpoint has changes nothing. Deliveries are added
/// by the test (`addDelivery`), standing for the dispatcher.
final class InMemoryWebhookEndpointRepository: WebhookEndpointRepository {
    private struct Stored {
        var endpoint: WebhookEndpoint
        var secretSealed: [UInt8]
        /// Newest event first.
        var deliveries: [WebhookDelivery] = []
    }

    /// In insertion order.
    private let state = Mutex([Stored]())

    // MARK: - Test hooks

    /// Every endpoint stored (deleted ones included), in insertion order.
    var endpoints: [WebhookEndpoint] { state.withLock { $0.map(\.endpoint) } }

    /// The sealed secret stored for endpoint `id`.
    func secretSealed(of id: UUID) -> [UInt8]? {
        state.withLock { s in s.first { $0.endpoint.id == id }?.secretSealed }
    }

    /// Records `delivery` (of an event newer than the others) for endpoint `id`, as the dispatcher would.
    func addDelivery(_ delivery: WebhookDelivery, to id: UUID) {
        state.withLock { s in
            if let i = s.firstIndex(where: { $0.endpoint.id == id }) { s[i].deliveries.insert(delivery, at: 0) }
        }
    }

    // MARK: - WebhookEndpointRepository

    func insert(_ endpoint: WebhookEndpoint, secretSealed: [UInt8]) async throws {
        try state.withLock { s in
            guard !s.contains(where: { $0.endpoint.id == endpoint.id }) else {
                throw GatewayError.conflict("a record with the same identifying values already exists")
            }
            s.append(Stored(endpoint: endpoint, secretSealed: secretSealed))
        }
    }

    /// Ordered as PostgreSQL orders them (`ORDER BY created_at, id`: a uuid compares as its bytes, as its hex does).
    func list() async throws -> [WebhookEndpoint] {
        endpoints.filter { $0.deletedAt == nil }
            .sorted { ($0.createdAt, $0.id.uuidString) < ($1.createdAt, $1.id.uuidString) }
    }

    func find(_ id: UUID) async throws -> WebhookEndpoint? {
        endpoints.first { $0.id == id && $0.deletedAt == nil }
    }

    func setEnabled(_ id: UUID, _ enabled: Bool, at: Date) async throws {
        state.withLock { s in
            guard let i = s.firstIndex(where: { $0.endpoint.id == id && $0.endpoint.deletedAt == nil }),
                s[i].endpoint.enabled != enabled
            else { return }
            s[i].endpoint.disabledAt = enabled ? nil : at
            if !enabled { Self.cancelPending(&s[i], at: at) }
        }
    }

    func delete(_ id: UUID, at: Date) async throws {
        try state.withLock { s in
            guard let i = s.firstIndex(where: { $0.endpoint.id == id && $0.endpoint.deletedAt == nil }) else {
                throw GatewayError.notFound(resource: "webhook", id: id.uuidString.lowercased())
            }
            s[i].endpoint.deletedAt = at
            Self.cancelPending(&s[i], at: at)
        }
    }

    func deliveries(of id: UUID, limit: Int) async throws -> [WebhookDelivery] {
        state.withLock { s in Array((s.first { $0.endpoint.id == id }?.deliveries ?? []).prefix(limit)) }
    }

    private static func cancelPending(_ stored: inout Stored, at: Date) {
        for i in stored.deliveries.indices where stored.deliveries[i].status == .pending {
            stored.deliveries[i].status = .cancelled
            stored.deliveries[i].finishedAt = at
            stored.deliveries[i].nextAttemptAt = nil
        }
    }
}
