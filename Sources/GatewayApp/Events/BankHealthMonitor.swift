import CurlKit
import FoundationEssentials
import GatewayLogging
import PostgresKit
import Synchronization

/// Notices banks that stop answering and answer again (`bank.unavailable`, `bank.recovered`; docs/events.md).
///
/// It sits in front of the outbound audit sink, so it sees the outcome of every bank call without a line in the
/// request path: a call that failed at transport level or got a 5xx counts as a failure; `threshold` failures in a
/// row make the bank unavailable; the next success makes it available again. The state that decides an event is
/// the `bank_health` row, changed in the transaction that writes the event, so replicas that notice the same outage
/// together write one event. A replica's evidence is dated (the first failure of its run, or the success): a row
/// that changed after that instant is newer than the evidence, and the transition is dropped — so a replica whose
/// run of failures began before another replica saw the bank recover cannot report a second outage with it.
final class BankHealthMonitor: OutboundAuditSink {
    enum Status: String, Sendable { case up, down }

    let inner: any OutboundAuditSink
    let db: StoreDatabase
    let threshold: Int
    let logger: Logger
    /// Per bank, this replica's run of failures (count, first one's instant); banks known to be down (database,
    /// refreshed by `run`); the write of the latest change decided (each write waits for the one before).
    private let state = Mutex<
        (runs: [String: (count: Int, since: Date)], down: Set<String>, writing: Task<Void, Never>?)
    >(([:], [], nil))

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
        let now = Date()
        state.withLock { s in
            let change: (Status, since: Date)
            if failed {
                let run = (count: (s.runs[bank]?.count ?? 0) + 1, since: s.runs[bank]?.since ?? now)
                s.runs[bank] = run
                guard run.count == threshold, !s.down.contains(bank) else { return }
                s.down.insert(bank)
                change = (.down, run.since)
            } else {
                s.runs[bank] = nil
                guard s.down.remove(bank) != nil else { return }
                change = (.up, now)
            }
            // Decided here, written off the caller's thread (`record` must return at once), in the order decided and
            // dated when decided: a recovery written before the outage it ends, or dated before a late outage write,
            // would leave the bank down with no `bank.recovered`.
            let previous = s.writing
            s.writing = Task {
                await previous?.value
                await self.transition(bank, to: change.0, evidenceSince: change.since, decidedAt: now)
            }
        }
    }

    /// Writes the change and its event, unless the row has it already (another replica wrote it) or changed after
    /// `evidenceSince` (the evidence is older than the row's state). When nothing was written, this replica takes
    /// the row's status as its own (a dropped `down` starts a new run of failures). The row's `changed_at` is
    /// `decidedAt`, the instant of the evidence that decided the change.
    func transition(_ bank: String, to status: Status, evidenceSince: Date, decidedAt: Date = Date()) async {
        do {
            let current = try await db.withTransaction { tx -> Status? in
                // The first row predates every piece of evidence.
                _ = try await tx.execute("""
                    INSERT INTO bank_health (bank_id, status, changed_at) VALUES (\(bank), 'up', to_timestamp(0))
                    ON CONFLICT (bank_id) DO NOTHING
                    """)
                let updated = try await tx.execute("""
                    UPDATE bank_health SET status = \(status.rawValue), changed_at = \(decidedAt)
                    WHERE bank_id = \(bank) AND status <> \(status.rawValue) AND changed_at <= \(evidenceSince)
                    """)
                guard updated == 1 else {
                    let rows = try await tx.query("SELECT status FROM bank_health WHERE bank_id = \(bank)")
                    return Status(rawValue: try rows.first?.decode("status", as: String.self) ?? "up") ?? .up
                }
                let event = LifecycleEvent(
                    kind: status == .down ? .bankUnavailable : .bankRecovered, resourceID: bank,
                    data: ["bank": bank, "status": status == .down ? "unavailable" : "available"])
                try await EventOutbox.append(event, at: Date(), on: tx)
                return nil
            }
            guard let current else {
                logger.warning(status == .down ? "bank unavailable" : "bank recovered", metadata: ["bank": bank])
                return
            }
            state.withLock { s in
                if current == .down { s.down.insert(bank) } else { s.down.remove(bank) }
                if status == .down, current == .up, s.runs[bank]?.since == evidenceSince { s.runs[bank] = nil }
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
