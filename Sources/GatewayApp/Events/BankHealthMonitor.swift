import CurlKit
import Foundation
import GatewayLogging
import PostgresKit
import Synchronization

/// Notices banks that stop answering and answer again (`bank.unavailable`, `bank.recovered`; docs/events.md).
///
/// It sits in front of the outbound audit sink, so it sees the outcome of every bank call without a line in the
/// request path: a call that failed at transport level or got a 5xx counts as a failure; `threshold` failures in a
/// row make the bank unavailable; the next success makes it available again. The state that decides an event is
/// the `bank_health` row, changed with `UPDATE … WHERE status <> new` in the transaction that writes the event, so
/// replicas that notice the same outage together write one event.
final class BankHealthMonitor: OutboundAuditSink {
    let inner: any OutboundAuditSink
    let db: StoreDatabase
    let threshold: Int
    let logger: Logger
    /// Per bank: failures in a row (this replica) and whether the bank is known to be down (database, refreshed).
    private let state = Mutex<(failures: [String: Int], down: Set<String>)>(([:], []))

    init(inner: any OutboundAuditSink, db: StoreDatabase, threshold: Int, logger: Logger) {
        self.inner = inner
        self.db = db
        self.threshold = threshold
        self.logger = logger
    }

    func record(_ record: OutboundAuditRecord) {
        inner.record(record)
        let bank = record.bankID
        let failed = record.errorKind != nil || (record.status ?? 0) >= 500
        let change: String? = state.withLock { s in
            if failed {
                let n = (s.failures[bank] ?? 0) + 1
                s.failures[bank] = n
                return n == threshold && !s.down.contains(bank) ? "down" : nil
            }
            s.failures[bank] = 0
            return s.down.contains(bank) ? "up" : nil
        }
        guard let change else { return }
        // Decided here, written off the caller's thread (`record` must return at once).
        Task { await self.transition(bank, to: change) }
    }

    /// Writes the change and its event, unless another replica did already.
    func transition(_ bank: String, to status: String) async {
        state.withLock { s in if status == "down" { s.down.insert(bank) } else { s.down.remove(bank) } }
        do {
            let changed = try await db.withTransaction { tx -> Bool in
                _ = try await tx.execute("""
                    INSERT INTO bank_health (bank_id, status, changed_at) VALUES (\(bank), 'up', now())
                    ON CONFLICT (bank_id) DO NOTHING
                    """)
                let updated = try await tx.execute("""
                    UPDATE bank_health SET status = \(status), changed_at = now()
                    WHERE bank_id = \(bank) AND status <> \(status)
                    """)
                guard updated == 1 else { return false }
                let event = LifecycleEvent(
                    status == "down" ? .bankUnavailable : .bankRecovered, resourceID: bank,
                    data: ["bank": bank, "status": status == "down" ? "unavailable" : "available"])
                try await EventOutbox.append(event, at: Date(), on: tx)
                return true
            }
            if changed {
                logger.warning(status == "down" ? "bank unavailable" : "bank recovered", metadata: ["bank": bank])
            }
        } catch {
            logger.warning("recording a bank's availability failed", metadata: ["bank": bank, "error": "\(error)"])
        }
    }

    /// Reads which banks are down (another replica may have noticed), until cancelled.
    func run(every interval: Duration = .seconds(5), isReady: @escaping @Sendable () -> Bool) async {
        while !Task.isCancelled {
            if isReady(), let rows = try? await db.query("SELECT bank_id FROM bank_health WHERE status = 'down'") {
                let down = Set(rows.compactMap { try? $0.decode("bank_id", as: String.self) })
                state.withLock { $0.down = down }
            }
            try? await Task.sleep(for: interval)
        }
    }
}
