import FoundationEssentials
import GatewayCore
import GatewayLogging
import PostgresKit

/// The time-based events (docs/events.md): certificates in use nearing or past `notAfter`, active connections
/// nearing `reauthorizeBy`, pending registrations reaching `activatesAt`. Every replica scans; each event has a
/// `once_key` (the resource, the instant and the notice), so it is written exactly once whoever sees it first.
/// Also publishes the lifecycle gauges of `/metrics`.
final class LifecycleScheduler: Sendable {
    struct Settings: Sendable {
        var scanInterval: Duration = .seconds(60)
        /// Days before `reauthorizeBy` at which `connection.reauthorization_due` is sent.
        var reauthorizationNoticeDays: [Int] = [7, 1]
        /// Days before `notAfter` at which `certificate.expiring` is sent.
        var certificateNoticeDays: [Int] = [30, 7, 1]
    }

    let db: StoreDatabase
    let settings: Settings
    let now: @Sendable () -> Date
    let logger: Logger
    let connectionsByStatus: Gauge
    let connectionsDue: Gauge
    let certificateExpiry: Gauge

    init(db: StoreDatabase, settings: Settings, now: @escaping @Sendable () -> Date, logger: Logger, metrics: MetricsRegistry) {
        self.db = db
        self.settings = settings
        self.now = now
        self.logger = logger
        connectionsByStatus = metrics.gauge("passerelle_connections", help: "Connections by status.")
        connectionsDue = metrics.gauge(
            "passerelle_connections_reauthorization_due", help: "Active connections whose reauthorizeBy is within 7 days.")
        certificateExpiry = metrics.gauge(
            "passerelle_certificate_expiry_seconds", help: "Seconds until the earliest notAfter of certificates in use, by usage.")
    }

    /// Runs until cancelled.
    func run(isReady: @escaping @Sendable () -> Bool) async {
        while !Task.isCancelled {
            if isReady() {
                do {
                    _ = try await scan()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("lifecycle scan failed", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: settings.scanInterval)
        }
    }

    /// One scan: writes the events that are due and not yet written; returns how many this call wrote.
    @discardableResult
    func scan() async throws -> Int {
        let at = now()
        var written = 0
        func emit(_ event: LifecycleEvent, _ key: String) async throws {
            if try await EventOutbox.appendOnce(event, onceKey: key, at: at, db: db) { written += 1 }
        }
        let day: TimeInterval = 86_400

        // Certificates used by a registration that is not deleted.
        let certificates = try await db.query("""
            SELECT c.id, c.kind, c.not_after FROM certificates c
            WHERE EXISTS (SELECT 1 FROM registrations r WHERE r.status <> 'deleted'
                          AND (r.qwac_certificate_id = c.id OR r.qseal_certificate_id = c.id))
            """)
        var earliest: [String: Date] = [:]
        for row in certificates {
            let id: UUID = try row.decode("id")
            let kind: String = try row.decode("kind")
            let notAfter: Date = try row.decode("not_after")
            earliest[kind] = min(earliest[kind] ?? notAfter, notAfter)
            let key = id.uuidString.lowercased()
            var data = ["certificateId": key, "kind": kind, "notAfter": RFC3339.string(notAfter)]
            if at >= notAfter {
                try await emit(
                    LifecycleEvent(kind: .certificateExpired, resourceID: key, data: data),
                    "certificate.expired:\(key)")
            } else if let lead = Self.notice(at: at, until: notAfter, days: settings.certificateNoticeDays) {
                data["daysBefore"] = String(lead)
                try await emit(
                    LifecycleEvent(kind: .certificateExpiring, resourceID: key, data: data),
                    "certificate.expiring:\(key):\(lead)d")
            }
        }
        for kind in ["qwac", "qseal"] {
            certificateExpiry.set(earliest[kind].map { $0.timeIntervalSince(at) } ?? 0, ["usage": kind])
        }

        // Active connections nearing reauthorizeBy.
        let horizon = at.addingTimeInterval(Double(settings.reauthorizationNoticeDays.max() ?? 0) * day)
        let connections = try await db.query("""
            SELECT id, bank_id, psu_reference, status, reauthorize_by FROM connections
            WHERE status = 'active' AND reauthorize_by IS NOT NULL AND reauthorize_by <= \(horizon)
              AND reauthorize_by > \(at)
            """)
        for row in connections {
            let id: UUID = try row.decode("id")
            let reauthorizeBy: Date = try row.decode("reauthorize_by")
            guard let lead = Self.notice(at: at, until: reauthorizeBy, days: settings.reauthorizationNoticeDays) else {
                continue
            }
            let key = id.uuidString.lowercased()
            let data = [
                "connectionId": key, "bank": try row.decode("bank_id", as: String.self),
                "psuReference": try row.decode("psu_reference", as: String.self), "status": "active",
                "reauthorizeBy": RFC3339.string(reauthorizeBy), "daysBefore": String(lead),
            ]
            try await emit(
                LifecycleEvent(kind: .connectionReauthorizationDue, resourceID: key, data: data),
                "connection.reauthorization_due:\(key):\(Int(reauthorizeBy.timeIntervalSince1970)):\(lead)d")
        }

        // Registrations whose activation instant has come (BPCE applies registrations at its 14:00 window).
        let activated = try await db.query("""
            SELECT id, bank_id, activates_at FROM registrations
            WHERE status IN ('pending', 'active') AND activates_at IS NOT NULL AND activates_at <= \(at)
              AND activates_at > \(at.addingTimeInterval(-30 * day))
            """)
        for row in activated {
            let id: UUID = try row.decode("id")
            let activatesAt: Date = try row.decode("activates_at")
            let key = id.uuidString.lowercased()
            let data = [
                "registrationId": key, "bank": try row.decode("bank_id", as: String.self), "status": "active",
                "activatesAt": RFC3339.string(activatesAt),
            ]
            try await emit(
                LifecycleEvent(kind: .registrationActivated, resourceID: key, data: data),
                "registration.activated:\(key):\(Int(activatesAt.timeIntervalSince1970))")
        }

        // Changes to active registrations that the bank applies later (BPCE PATCH): their instant has come.
        let changed = try await db.query("""
            SELECT id, bank_id, (pending_change->>'activatesAt')::timestamptz AS activates_at,
                   pending_change->'fields' AS fields
            FROM registrations
            WHERE status <> 'deleted' AND pending_change IS NOT NULL
              AND (pending_change->>'activatesAt')::timestamptz <= \(at)
            """)
        for row in changed {
            let id: UUID = try row.decode("id")
            let activatesAt: Date = try row.decode("activates_at")
            let fields: String = (try? row.decode("fields", as: String.self)) ?? "[]"
            let key = id.uuidString.lowercased()
            let data = [
                "registrationId": key, "bank": try row.decode("bank_id", as: String.self), "status": "active",
                "activatesAt": RFC3339.string(activatesAt), "change": fields,
            ]
            try await emit(
                LifecycleEvent(kind: .registrationActivated, resourceID: key, data: data),
                "registration.activated:\(key):change:\(Int(activatesAt.timeIntervalSince1970))")
        }

        // Gauges.
        // Every status, zero included: a status whose last connection moved on must not keep its old count.
        var byStatus = Dictionary(uniqueKeysWithValues: ConnectionStatus.allCases.map { ($0.rawValue, 0) })
        for row in try await db.query("SELECT status, count(*)::int AS n FROM connections GROUP BY status") {
            byStatus[try row.decode("status", as: String.self)] = try row.decode("n", as: Int.self)
        }
        for (status, n) in byStatus { connectionsByStatus.set(Double(n), ["status": status]) }
        let due = try await db.query("""
            SELECT count(*)::int AS n FROM connections
            WHERE status = 'active' AND reauthorize_by IS NOT NULL AND reauthorize_by <= \(at.addingTimeInterval(7 * day))
            """)
        connectionsDue.set(Double(try due[0].decode("n", as: Int.self)))
        if written > 0 { logger.info("lifecycle events written", metadata: ["events": String(written)]) }
        return written
    }

    /// The smallest notice (in days) whose time has come before `until`, nil when none has.
    static func notice(at now: Date, until: Date, days: [Int]) -> Int? {
        days.filter { now >= until.addingTimeInterval(-Double($0) * 86_400) }.min()
    }
}
