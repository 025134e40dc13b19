import FoundationEssentials
import GatewayCore
import JSONKit
import PostgresKit

/// A change a TPP's services want to hear about (docs/events.md). Written by `EventOutbox` in the transaction of
/// the change itself, read by `GET /v1/events` and delivered by `WebhookDispatcher`.
public struct LifecycleEvent: Sendable, Equatable {
    /// The event types, as the API and the OpenAPI document's `webhooks` section name them.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case connectionAuthorized = "connection.authorized"
        case connectionRefused = "connection.refused"
        case connectionReauthorizationDue = "connection.reauthorization_due"
        case connectionReauthorizationRequired = "connection.reauthorization_required"
        case connectionRevoked = "connection.revoked"
        case registrationActivated = "registration.activated"
        case registrationFailed = "registration.failed"
        case certificateExpiring = "certificate.expiring"
        case certificateExpired = "certificate.expired"
        case paymentStatusChanged = "payment.status_changed"
        case bankUnavailable = "bank.unavailable"
        case bankRecovered = "bank.recovered"

        /// The resource an event of this kind is about (`resource` of the event).
        public var resource: String { String(rawValue.prefix { $0 != "." }) }
    }

    public var kind: Kind
    /// The id of the connection, registration, certificate or payment (the bank id for `bank.*`).
    public var resourceID: String
    /// The payload's members (strings only: ids, statuses, RFC 3339 instants).
    public var data: [String: String]
}

/// An event as stored and served: its place in the feed (`seq`), its id (`webhook-id` of every delivery).
public struct StoredEvent: Sendable, Equatable {
    public var seq: Int64
    public var id: UUID
    public var kind: LifecycleEvent.Kind
    public var resourceID: String
    public var occurredAt: Date
    public var data: [String: String]
}

/// The JSON of an event, the same in the feed and in webhook bodies (docs/events.md).
extension StoredEvent: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, seq, type, timestamp, resource, resourceId, data
    }

    public func encode(to encoder: any Encoder) throws {
        var json = encoder.container(keyedBy: CodingKeys.self)
        try json.encode(id.uuidString.lowercased(), forKey: .id)
        try json.encode(String(seq), forKey: .seq)
        try json.encode(kind.rawValue, forKey: .type)
        try json.encode(occurredAt, forKey: .timestamp)
        try json.encode(kind.resource, forKey: .resource)
        try json.encode(resourceID, forKey: .resourceId)
        try json.encode(data, forKey: .data)
    }
}

/// Writes events. Every writer first takes the same transaction-level advisory lock, so events commit in `seq`
/// order and a reader that resumes after a `seq` never skips one committed later with a smaller number.
enum EventOutbox {
    /// The advisory lock key of event writers ("EVNT").
    static let lockKey: Int64 = 0x4556_4E54

    /// Appends `event` in the caller's transaction `tx`: it commits, or rolls back, with the change it reports.
    static func append(_ event: LifecycleEvent, at now: Date, on tx: PostgresConnection) async throws {
        _ = try await insert(event, at: now, onceKey: nil, on: tx)
    }

    /// Appends `event` unless one with `onceKey` exists (time-based events, decided by several replicas): returns
    /// whether this call wrote it.
    static func appendOnce(_ event: LifecycleEvent, onceKey: String, at now: Date, db: StoreDatabase) async throws -> Bool {
        try await db.withTransaction { tx in try await insert(event, at: now, onceKey: onceKey, on: tx) }
    }

    private static func insert(_ event: LifecycleEvent, at now: Date, onceKey: String?, on tx: PostgresConnection)
        async throws -> Bool
    {
        _ = try await tx.query("SELECT pg_advisory_xact_lock(\(lockKey))")
        let data = JSONCoding.string(event.data)
        return try await tx.execute("""
            INSERT INTO events (id, type, resource, resource_id, occurred_at, data, once_key)
            VALUES (\(UUID()), \(event.kind.rawValue), \(event.kind.resource), \(event.resourceID), \(now),
                    CAST(\(data) AS jsonb), \(onceKey))
            ON CONFLICT (once_key) DO NOTHING
            """) == 1
    }
}

/// Reads the feed.
struct EventStore: Sendable {
    let db: StoreDatabase

    /// Events after `seq`, oldest first, of `kinds` (all when empty), at most `limit`.
    func events(after seq: Int64, kinds: [LifecycleEvent.Kind], limit: Int) async throws -> [StoredEvent] {
        let types = kinds.map(\.rawValue)
        let all = types.isEmpty
        return try await db.query("""
            SELECT seq, id, type, resource_id, occurred_at, data::text AS data FROM events
            WHERE seq > \(seq) AND (\(all) OR type = ANY(\(PostgresTextArray(types))))
            ORDER BY seq LIMIT \(limit)
            """).map(Self.decode)
    }

    /// The newest event's `seq` (0 when there is none).
    func lastSeq(on tx: PostgresConnection? = nil) async throws -> Int64 {
        let query: Query = "SELECT COALESCE(max(seq), 0) AS seq FROM events"
        let rows: [Row]
        if let tx { rows = try await tx.query(query) } else { rows = try await db.query(query) }
        return try rows[0].decode("seq", as: Int64.self)
    }

    static func decode(_ row: Row) throws -> StoredEvent {
        let type: String = try row.decode("type")
        let text: String = try row.decode("data")
        guard let kind = LifecycleEvent.Kind(rawValue: type), let data = stringMembers(text) else {
            throw GatewayError.internal("an events row this version cannot read (type \(type))")
        }
        return StoredEvent(
            seq: try row.decode("seq"), id: try row.decode("id"), kind: kind, resourceID: try row.decode("resource_id"),
            occurredAt: try row.decode("occurred_at"), data: data)
    }

    /// The members of a JSON object whose values are all strings (an event's `data` column); nil otherwise.
    private static func stringMembers(_ text: String) -> [String: String]? {
        guard case .object(let members)? = try? JSONParser.parse(Array(text.utf8)) else { return nil }
        var result: [String: String] = [:]
        for (key, value) in members {
            guard case .string(let string) = value else { return nil }
            result[key] = string
        }
        return result
    }
}
