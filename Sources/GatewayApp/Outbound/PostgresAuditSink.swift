import CurlKit
import Foundation
import GatewayLogging
import PostgresKit
import Synchronization

/// Writes the outbound audit log (`outbound_requests`, one row per bank call) to PostgreSQL, off the request's hot
/// path: `record` only appends to a bounded in-memory queue; `run()` flushes it in batches. A failed write is
/// logged and the batch dropped (auditing never fails a bank call). Rows carry no token, body, IBAN or identifier.
public final class PostgresAuditSink: OutboundAuditSink {
    private let db: PostgresClient
    private let logger: Logger
    private let queue = Mutex<[OutboundAuditRecord]>([])
    private let capacity: Int
    private let dropped = Atomic<Int>(0)

    public init(db: PostgresClient, logger: Logger, capacity: Int = 10_000) {
        self.db = db
        self.logger = logger
        self.capacity = capacity
    }

    public func record(_ record: OutboundAuditRecord) {
        let accepted = queue.withLock { q -> Bool in
            guard q.count < capacity else { return false }
            q.append(record)
            return true
        }
        if !accepted { dropped.add(1, ordering: .relaxed) }
    }

    /// Flushes every `interval` until cancelled, then once more.
    public func run(interval: Duration = .milliseconds(250)) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await flush()
        }
        await flush()
    }

    /// Writes what is queued now.
    public func flush() async {
        let batch = queue.withLock { q -> [OutboundAuditRecord] in
            defer { q.removeAll(keepingCapacity: true) }
            return q
        }
        let lost = dropped.exchange(0, ordering: .relaxed)
        if lost > 0 { logger.warning("outbound audit queue full; records dropped", metadata: ["count": "\(lost)"]) }
        guard !batch.isEmpty else { return }
        do {
            try await db.withTransaction { tx in
                for r in batch {
                    let ms = Double(r.duration.components.seconds) * 1000 + Double(r.duration.components.attoseconds) / 1e15
                    _ = try await tx.execute("""
                        INSERT INTO outbound_requests (at, request_id, bank_id, method, path_template, signed_headers,
                          status, duration_ms, bytes_sent, bytes_received, bank_correlation_id, error_kind)
                        VALUES (\(Date(timeIntervalSince1970: r.startedAt)), \(r.requestID ?? ""), \(r.bankID), \(r.method),
                          \(r.pathTemplate), \(r.signedHeaderNames), \(r.status), \(ms), \(r.bytesSent), \(r.bytesReceived),
                          \(r.bankCorrelationID), \(r.errorKind))
                        """)
                }
            }
        } catch {
            logger.error("writing the outbound audit log failed", metadata: ["count": "\(batch.count)", "error": "\(error)"])
        }
    }
}
