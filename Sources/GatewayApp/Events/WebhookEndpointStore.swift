import FoundationEssentials
import GatewayCore
import PostgresKit

/// PostgreSQL persistence of webhook endpoints (table `webhook_endpoints`) and the reading and cancelling of their
/// deliveries (table `webhook_deliveries`, written by `WebhookDispatcher`).
public struct WebhookEndpointStore: WebhookEndpointRepository {
    let db: StoreDatabase

    public init(db: StoreDatabase) { self.db = db }

    static let columnsSQL = Query(unsafeSQL: "id, url, event_types, created_at, deleted_at, disabled_at")

    /// The endpoint's starting point is the feed's end, read under the event writers' lock.
    public func insert(_ endpoint: WebhookEndpoint, secretSealed: [UInt8]) async throws {
        try await db.withTransaction { tx in
            let last = try await lockedFeedEnd(on: tx)
            _ = try await tx.execute("""
                INSERT INTO webhook_endpoints (id, url, event_types, secret_sealed, after_seq, enqueued_seq, created_at)
                VALUES (\(endpoint.id), \(endpoint.url), \(PostgresTextArray(endpoint.kinds.map(\.rawValue))),
                  \(secretSealed), \(last), \(last), \(endpoint.createdAt))
                """)
        }
    }

    public func list() async throws -> [WebhookEndpoint] {
        try await db.query("""
            SELECT \(Self.columnsSQL) FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY created_at, id
            """).map(Self.decode)
    }

    public func find(_ id: UUID) async throws -> WebhookEndpoint? {
        try await db.query("""
            SELECT \(Self.columnsSQL) FROM webhook_endpoints WHERE id = \(id) AND deleted_at IS NULL
            """).first.map(Self.decode)
    }

    /// Enabling moves the endpoint's start to the feed's end, read under the event writers' lock.
    public func setEnabled(_ id: UUID, _ enabled: Bool, at: Date) async throws {
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
    }

    public func delete(_ id: UUID, at: Date) async throws {
        let deleted = try await db.withTransaction { tx -> Int in
            let n = try await tx.execute(
                "UPDATE webhook_endpoints SET deleted_at = \(at) WHERE id = \(id) AND deleted_at IS NULL")
            try await cancelPending(id, at: at, on: tx)
            return n
        }
        if deleted == 0 { throw GatewayError.notFound(resource: "webhook", id: id.uuidString.lowercased()) }
    }

    public func deliveries(of id: UUID, limit: Int) async throws -> [WebhookDelivery] {
        try await db.query("""
            SELECT e.id AS event_id, e.type, d.status, d.attempts, d.last_status, d.last_error, d.next_attempt_at,
                   d.created_at, d.finished_at
            FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
            WHERE d.endpoint_id = \(id) ORDER BY d.event_seq DESC LIMIT \(limit)
            """).map { row in
            let type: String = try row.decode("type")
            let text: String = try row.decode("status")
            guard let kind = LifecycleEvent.Kind(rawValue: type), let status = WebhookDelivery.Status(rawValue: text)
            else {
                throw GatewayError.internal("a delivery row this version cannot read (\(type), \(text))")
            }
            return WebhookDelivery(
                eventID: try row.decode("event_id"), kind: kind, status: status, attempts: try row.decode("attempts"),
                lastStatus: try row.decode("last_status"), lastError: try row.decode("last_error"),
                nextAttemptAt: status == .pending ? try row.decode("next_attempt_at") : nil,
                createdAt: try row.decode("created_at"), finishedAt: try row.decode("finished_at"))
        }
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

    static func decode(_ row: Row) throws -> WebhookEndpoint {
        let types: [String] = try row.decode("event_types", as: [String].self)
        return WebhookEndpoint(
            id: try row.decode("id"), url: try row.decode("url"),
            kinds: types.compactMap(LifecycleEvent.Kind.init(rawValue:)),
            createdAt: try row.decode("created_at"), deletedAt: try row.decode("deleted_at"),
            disabledAt: try row.decode("disabled_at"))
    }
}
