import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit

/// A receiver of events (`POST /v1/webhooks`).
public struct WebhookEndpoint: Sendable, Equatable {
    public var id: UUID
    public var url: String
    public var kinds: [LifecycleEvent.Kind]
    public var createdAt: Date
    public var deletedAt: Date?
    /// When it was disabled (`PATCH /v1/webhooks/{id}`); nil while it receives events.
    public var disabledAt: Date?
    public var enabled: Bool { disabledAt == nil }
}

/// One attempt history of one event to one endpoint (`GET /v1/webhooks/{id}/deliveries`).
public struct WebhookDelivery: Sendable, Equatable {
    public enum Status: String, Sendable, Codable { case pending, delivered, failed, cancelled }
    public var eventID: UUID
    public var kind: LifecycleEvent.Kind
    public var status: Status
    public var attempts: Int
    public var lastStatus: Int?
    public var lastError: String?
    public var nextAttemptAt: Date?
    public var createdAt: Date
    public var finishedAt: Date?
}

/// The API's `Delivery` (`GET /v1/webhooks/{id}/deliveries`).
extension WebhookDelivery: Encodable {
    enum CodingKeys: String, CodingKey {
        case eventId, type, status, attempts, lastStatus, lastError, nextAttemptAt, createdAt, finishedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var json = encoder.container(keyedBy: CodingKeys.self)
        try json.encode(eventID.uuidString.lowercased(), forKey: .eventId)
        try json.encode(kind.rawValue, forKey: .type)
        try json.encode(status.rawValue, forKey: .status)
        try json.encode(attempts, forKey: .attempts)
        try json.encodeIfPresent(lastStatus, forKey: .lastStatus)
        try json.encodeIfPresent(lastError, forKey: .lastError)
        try json.encodeIfPresent(nextAttemptAt, forKey: .nextAttemptAt)
        try json.encode(createdAt, forKey: .createdAt)
        try json.encodeIfPresent(finishedAt, forKey: .finishedAt)
    }
}

/// Webhook endpoints: create (the signing secret shown once), list, read, disable and enable, delete (deliveries
/// stop at once), and each endpoint's deliveries. Secrets are sealed like every other secret (docs/events.md).
public struct WebhookService: Sendable {
    let store: any WebhookEndpointRepository
    let vault: SecretVault
    let now: @Sendable () -> Date

    /// - Parameters:
    ///   - store: `WebhookEndpointStore` (PostgreSQL), or an in-memory repository in tests.
    ///   - vault: Seals signing secrets with owner-bound associated data.
    ///   - now: The wall clock (creation, disabling and deletion times).
    public init(store: any WebhookEndpointRepository, vault: SecretVault, now: @escaping @Sendable () -> Date) {
        self.store = store
        self.vault = vault
        self.now = now
    }

    static func sealOwner(_ id: UUID) -> String { "webhook_endpoints/\(id.uuidString.lowercased())/secret" }

    /// A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes (the HMAC key is the decoded bytes).
    static func newSecret() -> String { "whsec_" + Base64.encode(Random.bytes(32)) }

    /// The HMAC key of a `whsec_` secret.
    static func key(of secret: String) -> [UInt8] {
        Base64.decode(String(secret.dropFirst("whsec_".count))) ?? []
    }

    /// Registers `url` for `kinds`; events committed after this call are delivered to it.
    /// - Returns: the endpoint and its secret (never readable again).
    public func create(url: String, kinds: [LifecycleEvent.Kind]) async throws -> (WebhookEndpoint, secret: String) {
        let id = UUID()
        let secret = Self.newSecret()
        let sealed = try vault.seal(Secret(secret), owner: Self.sealOwner(id))
        let endpoint = WebhookEndpoint(
            id: id, url: url, kinds: kinds, createdAt: now(), deletedAt: nil, disabledAt: nil)
        try await store.insert(endpoint, secretSealed: sealed)
        return (endpoint, secret)
    }

    /// Live endpoints, oldest first.
    public func list() async throws -> [WebhookEndpoint] { try await store.list() }

    /// - Throws: `.notFound` for an unknown or deleted endpoint.
    public func get(_ id: UUID) async throws -> WebhookEndpoint {
        guard let endpoint = try await store.find(id) else {
            throw GatewayError.notFound(resource: "webhook", id: id.uuidString.lowercased())
        }
        return endpoint
    }

    /// Disables (`enabled` false) or enables the endpoint. Disabling stops deliveries as deleting does (pending ones
    /// become `cancelled`); events committed while it is disabled are never delivered to it (the feed has them).
    /// Enabling delivers the events committed after it. Setting the state it already has changes nothing.
    /// - Throws: `.notFound` for an unknown or deleted endpoint.
    public func setEnabled(_ id: UUID, _ enabled: Bool) async throws -> WebhookEndpoint {
        try await store.setEnabled(id, enabled, at: now())
        return try await get(id)
    }

    /// Deletes the endpoint: no delivery starts after this commits (pending ones become `cancelled`).
    /// - Throws: `.notFound` for an unknown or already deleted endpoint.
    public func delete(_ id: UUID) async throws {
        try await store.delete(id, at: now())
    }

    /// The endpoint's deliveries, newest first, at most `limit`.
    /// - Throws: `.notFound` for an unknown or deleted endpoint.
    public func deliveries(_ id: UUID, limit: Int = 100) async throws -> [WebhookDelivery] {
        _ = try await get(id)
        return try await store.deliveries(of: id, limit: limit)
    }
}
