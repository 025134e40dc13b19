import FoundationEssentials
import GatewayCore

/// Where webhook endpoints and their deliveries are read and changed: the narrow surface `WebhookService` needs.
/// `WebhookEndpointStore` keeps them in PostgreSQL (tables `webhook_endpoints`, `webhook_deliveries`); tests of the
/// HTTP contract use `InMemoryWebhookEndpointRepository` (GatewayAppTests), which keeps the same promises. Errors
/// are already the API's (`GatewayError`). Deliveries themselves are written by `WebhookDispatcher`.
public protocol WebhookEndpointRepository: Sendable {
    /// Stores `endpoint` with its sealed signing secret; it receives the events committed after this call.
    func insert(_ endpoint: WebhookEndpoint, secretSealed: [UInt8]) async throws

    /// Every endpoint not deleted, oldest first.
    func list() async throws -> [WebhookEndpoint]

    /// Endpoint `id`, unless deleted.
    func find(_ id: UUID) async throws -> WebhookEndpoint?

    /// Disables endpoint `id` at `at` (its pending deliveries become `cancelled`; events committed while it is
    /// disabled are never delivered to it) or enables it (it receives the events committed after this call).
    /// Setting the state it already has, or naming no live endpoint, changes nothing.
    func setEnabled(_ id: UUID, _ enabled: Bool, at: Date) async throws

    /// Deletes endpoint `id` at `at`: no delivery starts afterwards (pending ones become `cancelled`).
    /// - Throws: `GatewayError.notFound` for an unknown or already deleted endpoint.
    func delete(_ id: UUID, at: Date) async throws

    /// Endpoint `id`'s deliveries, newest event first, at most `limit`.
    func deliveries(of id: UUID, limit: Int) async throws -> [WebhookDelivery]
}
