import CurlKit
import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit
import PostgresKit

/// Delivers events to webhook endpoints (docs/events.md), on every replica at once without double sends:
///
/// 1. **Enqueue**: each live endpoint (not deleted, not disabled) gets a `webhook_deliveries` row for every matching
///    event after its `enqueued_seq` (endpoints locked with `SKIP LOCKED`, rows unique per endpoint and event).
/// 2. **Claim heads**: per endpoint only the oldest pending delivery may be attempted (so each receiver sees events
///    in order), and only when due and not leased; the claim is one `UPDATE … RETURNING` that a second replica's
///    identical statement re-checks under the row lock, so it claims nothing.
/// 3. **Send** each claimed delivery in its own task (a slow or silent receiver holds only its own lease, never
///    an event loop or another receiver), signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
///    `webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`).
/// 4. **Record**: 2xx → `delivered`; otherwise retried with exponential backoff until the retry window (24 h by
///    default) has passed since the delivery was created, then `failed`.
///
/// The schedule (when a delivery is created and due, when its window ends, the backlog's age) follows the
/// application's clock, like the events' own timestamps; only leases, which guard against a replica that died
/// mid-send, follow the database's.
final class WebhookDispatcher: Sendable {
    struct Settings: Sendable {
        var pollInterval: Duration = .seconds(1)
        var timeout: Duration = .seconds(10)
        var retryBase: Duration = .seconds(5)
        var retryMax: Duration = .seconds(3600)
        var retryWindowSeconds: Double = 86_400
    }

    let db: StoreDatabase
    let vault: SecretVault
    let transport: any HTTPTransport
    let settings: Settings
    let now: @Sendable () -> Date
    let logger: Logger
    let outcomes: Counter
    let oldestPending: Gauge

    init(db: StoreDatabase, vault: SecretVault, transport: any HTTPTransport, settings: Settings,
         now: @escaping @Sendable () -> Date, logger: Logger, metrics: MetricsRegistry) {
        self.db = db
        self.vault = vault
        self.transport = transport
        self.settings = settings
        self.now = now
        self.logger = logger
        self.outcomes = metrics.counter(
            "passerelle_webhook_deliveries_total", help: "Webhook delivery attempts by outcome (delivered, retry, failed).")
        self.oldestPending = metrics.gauge(
            "passerelle_webhook_oldest_pending_seconds", help: "Age of the oldest event not yet delivered to a live endpoint.")
    }

    /// A claimed delivery, with what sending it needs.
    struct Claimed: Sendable {
        var deliveryID: Int64
        var endpointID: UUID
        var url: String
        var secretSealed: [UInt8]
        var attempts: Int
        var createdAt: Date
        var event: StoredEvent
    }

    /// Runs until cancelled.
    func run(isReady: @escaping @Sendable () -> Bool) async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                if isReady() {
                    do {
                        try await enqueue()
                        for claimed in try await claimHeads() {
                            group.addTask { await self.deliver(claimed) }
                        }
                        try await publishBacklog()
                    } catch is CancellationError {
                        break
                    } catch {
                        logger.warning("webhook dispatch round failed", metadata: ["error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: settings.pollInterval)
            }
        }
    }

    /// Step 1: delivery rows for events after each live endpoint's `enqueued_seq`.
    func enqueue() async throws {
        let at = now()
        try await db.withTransaction { tx in
            _ = try await tx.execute("""
                WITH top AS (SELECT COALESCE(max(seq), 0) AS m FROM events),
                eps AS (
                    SELECT id, event_types, enqueued_seq FROM webhook_endpoints
                    WHERE deleted_at IS NULL AND disabled_at IS NULL AND enqueued_seq < (SELECT m FROM top)
                    FOR UPDATE SKIP LOCKED),
                ins AS (
                    INSERT INTO webhook_deliveries (endpoint_id, event_seq, next_attempt_at, created_at)
                    SELECT eps.id, e.seq, \(at), \(at) FROM eps
                    JOIN events e ON e.seq > eps.enqueued_seq AND e.seq <= (SELECT m FROM top)
                                 AND e.type = ANY(eps.event_types)
                    ON CONFLICT (endpoint_id, event_seq) DO NOTHING)
                UPDATE webhook_endpoints w SET enqueued_seq = (SELECT m FROM top) FROM eps WHERE w.id = eps.id
                """)
        }
    }

    /// Step 2: the due, unleased head of each live endpoint, leased for longer than a send may take.
    func claimHeads() async throws -> [Claimed] {
        let leaseSeconds = Int(settings.timeout.components.seconds) * 2 + 5
        let at = now()
        let rows = try await db.query("""
            WITH heads AS (
                SELECT DISTINCT ON (d.endpoint_id) d.id FROM webhook_deliveries d
                JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.deleted_at IS NULL AND w.disabled_at IS NULL
                WHERE d.status = 'pending' ORDER BY d.endpoint_id, d.event_seq),
            claimed AS (
                UPDATE webhook_deliveries d
                SET lease_until = now() + make_interval(secs => \(leaseSeconds)), attempts = d.attempts + 1
                FROM heads WHERE d.id = heads.id AND d.status = 'pending' AND d.next_attempt_at <= \(at)
                  AND (d.lease_until IS NULL OR d.lease_until < now())
                RETURNING d.id, d.endpoint_id, d.event_seq, d.attempts, d.created_at)
            SELECT c.id AS delivery_id, c.endpoint_id, c.attempts, c.created_at AS delivery_created_at,
                   w.url, w.secret_sealed, e.seq, e.id, e.type, e.resource_id, e.occurred_at, e.data::text AS data
            FROM claimed c JOIN webhook_endpoints w ON w.id = c.endpoint_id JOIN events e ON e.seq = c.event_seq
            """)
        return try rows.map { row in
            Claimed(
                deliveryID: try row.decode("delivery_id"), endpointID: try row.decode("endpoint_id"),
                url: try row.decode("url"), secretSealed: try row.decode("secret_sealed"),
                attempts: try row.decode("attempts"), createdAt: try row.decode("delivery_created_at"),
                event: try EventStore.decode(row))
        }
    }

    /// Steps 3 and 4 for one delivery.
    func deliver(_ claimed: Claimed) async {
        let endpoint = claimed.endpointID.uuidString.lowercased()
        var outcome: (status: Int?, error: String?)
        do {
            let secret = try vault.open(claimed.secretSealed, owner: WebhookService.sealOwner(claimed.endpointID))
            let request = Self.request(for: claimed.event, url: claimed.url, secret: secret, timeout: settings.timeout)
            let response = try await transport.send(request)
            outcome = (response.status, (200..<300).contains(response.status) ? nil : "HTTP \(response.status)")
        } catch is CancellationError {
            return  // shutting down: the lease runs out and another round (or replica) sends it again
        } catch let error as OutboundError {
            outcome = (nil, error.code.kind)
        } catch {
            outcome = (nil, "\(error)")
        }
        let delivered = outcome.error == nil
        let at = now()
        let expired = at.timeIntervalSince(claimed.createdAt) >= settings.retryWindowSeconds
        let status = delivered ? "delivered" : (expired ? "failed" : "pending")
        let delay = Self.backoff(attempt: claimed.attempts, base: settings.retryBase, max: settings.retryMax)
        let delaySeconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        do {
            _ = try await db.execute("""
                UPDATE webhook_deliveries SET status = \(status), last_status = \(outcome.status),
                    last_error = \(outcome.error), lease_until = NULL,
                    next_attempt_at = \(at.addingTimeInterval(delaySeconds)),
                    finished_at = CASE WHEN \(status) = 'pending' THEN NULL ELSE \(at) END
                WHERE id = \(claimed.deliveryID) AND status = 'pending'
                """)
        } catch {
            logger.warning("recording a webhook delivery failed", metadata: ["webhook.id": endpoint, "error": "\(error)"])
        }
        outcomes.increment(["outcome": delivered ? "delivered" : (expired ? "failed" : "retry")])
        let metadata = [
            "webhook.id": endpoint, "event.type": claimed.event.kind.rawValue, "attempt": String(claimed.attempts),
            "outcome": status, "error": outcome.error ?? "-",
        ]
        if delivered { logger.info("webhook delivered", metadata: metadata) } else { logger.warning("webhook delivery failed", metadata: metadata) }
    }

    /// The backlog's gauge: the age of the oldest event whose delivery to a live endpoint is pending (0 when none).
    func publishBacklog() async throws {
        let rows = try await db.query("""
            SELECT min(e.occurred_at) AS oldest
            FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
            JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.deleted_at IS NULL AND w.disabled_at IS NULL
            WHERE d.status = 'pending'
            """)
        let oldest: Date? = try rows[0].decode("oldest")
        oldestPending.set(oldest.map { max(0, now().timeIntervalSince($0)) } ?? 0)
    }

    /// The signed POST of `event` (Standard Webhooks).
    static func request(for event: StoredEvent, url: String, secret: Secret<String>, timeout: Duration) -> OutboundRequest {
        let body = JSONCoding.bytes(event)
        let id = event.id.uuidString.lowercased()
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let signed = Array("\(id).\(timestamp).".utf8) + body
        let signature = "v1," + Base64.encode(HMAC.sha256(key: WebhookService.key(of: secret.reveal), message: signed))
        return OutboundRequest(
            method: "POST", url: url,
            headers: [
                ("Content-Type", "application/json"), ("webhook-id", id), ("webhook-timestamp", timestamp),
                ("webhook-signature", signature),
            ],
            body: body, timeout: timeout, bankID: "webhook", pathTemplate: "webhook")
    }

    /// `base × 2^(attempt−1)`, capped at `max`.
    static func backoff(attempt: Int, base: Duration, max: Duration) -> Duration {
        let factor = 1 << Swift.min(Swift.max(attempt - 1, 0), 20)
        return Swift.min(base * factor, max)
    }
}
