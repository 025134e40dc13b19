import Foundation
import GatewayCore
import GatewayLogging
import OpenSSLKit
import PostgresKit

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

/// Webhook endpoints: create (the signing secret shown once), list, read, disable and enable, delete (deliveries
/// stop at once), and each endpoint's deliveries. Secrets are sealed like every other secret (docs/events.md).
public struct WebhookService: Sendable {
    let db: StoreDatabase
    let vault: SecretVault
    let now: @Sendable () -> Date

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
        let at = now()
        let endpoint = WebhookEndpoint(id: id, url: url, kinds: kinds, createdAt: at, deletedAt: nil, disabledAt: nil)
        try await db.withTransaction { tx in
            let last = try await lockedFeedEnd(on: tx)
            _ = try await tx.execute("""
                INSERT INTO webhook_endpoints (id, url, event_types, secret_sealed, after_seq, enqueued_seq, created_at)
                VALUES (\(id), \(url), \(PostgresTextArray(kinds.map(\.rawValue))), \(sealed), \(last), \(last), \(at))
                """)
        }
        return (endpoint, secret)
    }

    /// Live endpoints, oldest first.
    public func list() async throws -> [WebhookEndpoint] {
        try await db.query("""
            SELECT id, url, event_types, created_at, deleted_at, disabled_at FROM webhook_endpoints
            WHERE deleted_at IS NULL ORDER BY created_at, id
            """).map(Self.decode)
    }

    /// - Throws: `.notFound` for an unknown or deleted endpoint.
    public func get(_ id: UUID) async throws -> WebhookEndpoint {
        guard let row = try await db.query("""
            SELECT id, url, event_types, created_at, deleted_at, disabled_at FROM webhook_endpoints
            WHERE id = \(id) AND deleted_at IS NULL
            """).first
        else { throw GatewayError.notFound(resource: "webhook", id: id.uuidString.lowercased()) }
        return try Self.decode(row)
    }

    /// Disables (`enabled` false) or enables the endpoint. Disabling stops deliveries as deleting does (pending ones
    /// become `cancelled`); events committed while it is disabled are never delivered to it (the feed has them).
    /// Enabling delivers the events committed after it. Setting the state it already has changes nothing.
    /// - Throws: `.notFound` for an unknown or deleted endpoint.
    public func setEnabled(_ id: UUID, _ enabled: Bool) async throws -> WebhookEndpoint {
        let at = now()
        try await db.withTransaction { tx in
            if enabled {
                let last = try await lockedFeedEnd(on: tx)
                _ = try await tx.execute("""
                    UPDATE webhook_endpoints SET disabled_at = NULL, enqueued_seq = GREATEST(enqueued_seq, \(last))
                    WHERE id = \(id) AND deleted_at IS NULL AND disabled_at IS NOT NULL
                    """)
            } else if try await tx.execute("""
                UPDATE webhook_endpoints SET disabled_at = \(at)
                WHERE id = \(id) AND deleted_at IS NULL AND disabled_at IS NULL
                """) == 1
            {
                try await cancelPending(id, at: at, on: tx)
            }
        }
        return try await get(id)
    }

    /// Deletes the endpoint: no delivery starts after this commits (pending ones become `cancelled`).
    /// - Throws: `.notFound` for an unknown or already deleted endpoint.
    public func delete(_ id: UUID) async throws {
        let at = now()
        let deleted = try await db.withTransaction { tx -> Int in
            let n = try await tx.execute(
                "UPDATE webhook_endpoints SET deleted_at = \(at) WHERE id = \(id) AND deleted_at IS NULL")
            try await cancelPending(id, at: at, on: tx)
            return n
        }
        if deleted == 0 { throw GatewayError.notFound(resource: "webhook", id: id.uuidString.lowercased()) }
    }

    /// The endpoint's pending deliveries become `cancelled` (one being sent right now may still arrive: its
    /// outcome is not recorded).
    private func cancelPending(_ id: UUID, at: Date, on tx: PostgresConnection) async throws {
        _ = try await tx.execute("""
            UPDATE webhook_deliveries SET status = 'cancelled', finished_at = \(at)
            WHERE endpoint_id = \(id) AND status = 'pending'
            """)
    }

    /// The feed's end, read under the event writers' lock (held until `tx` ends): no event can commit between
    /// reading it and recording it as an endpoint's starting point.
    private func lockedFeedEnd(on tx: PostgresConnection) async throws -> Int64 {
        _ = try await tx.query("SELECT pg_advisory_xact_lock(\(EventOutbox.lockKey))")
        return try await EventStore(db: db).lastSeq(on: tx)
    }

    /// The endpoint's deliveries, newest first, at most `limit`.
    public func deliveries(_ id: UUID, limit: Int = 100) async throws -> [WebhookDelivery] {
        _ = try await get(id)
        return try await db.query("""
            SELECT e.id AS event_id, e.type, d.status, d.attempts, d.last_status, d.last_error, d.next_attempt_at,
                   d.created_at, d.finished_at
            FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
            WHERE d.endpoint_id = \(id) ORDER BY d.event_seq DESC LIMIT \(limit)
            """).map { row in
            let type: String = try row.decode("type")
            let text: String = try row.decode("status")
            guard let kind = LifecycleEvent.Kind(rawValue: type), let status = WebhookDelivery.Status(rawValue: text) else {
                throw GatewayError.internal("a delivery row this version cannot read (\(type), \(text))")
            }
            return WebhookDelivery(
                eventID: try row.decode("event_id"), kind: kind, status: status, attempts: try row.decode("attempts"),
                lastStatus: try row.decode("last_status"), lastError: try row.decode("last_error"),
                nextAttemptAt: status == .pending ? try row.decode("next_attempt_at") : nil,
                createdAt: try row.decode("created_at"), finishedAt: try row.decode("finished_at"))
        }
    }

    static func decode(_ row: Row) throws -> WebhookEndpoint {
        let types: [String] = try row.decode("event_types", as: [String].self)
        return WebhookEndpoint(
            id: try row.decode("id"), url: try row.decode("url"), kinds: types.compactMap(LifecycleEvent.Kind.init(rawValue:)),
            createdAt: try row.decode("created_at"), deletedAt: try row.decode("deleted_at"),
            disabledAt: try row.decode("disabled_at"))
    }
}
