import CurlKit
import FoundationEssentials
import GatewayLogging
import PostgresKit
import Synchronization

/// Writes the outbound audit log (`outbound_requests`, one row per bank call) to PostgreSQL, off the request's hot
/// path: `record` only appends to a bounded in-memory queue; `run()` flushes it in batches. A write that the
/// database could not take (unreachable, no answer in time) is put back in the queue for the next flush; any other
/// failed write is logged and the batch dropped (auditing never fails a bank call). A flush is never cut short by
/// cancellation: shutdown cancels the writer, and a cancelled transaction would roll its batch back and lose it.
/// Rows carry no token, body, IBAN or identifier.
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

    /// Writes what is queued now, to the end even if the calling task is cancelled (graceful shutdown).
    public func flush() async {
        // An unstructured task does not inherit the caller's cancellation; awaiting its value waits for the write.
        await Task { await self.write() }.value
    }

    private func write() async {
        let batch = queue.withLock { q -> [OutboundAuditRecord] in
            defer { q.removeAll(keepingCapacity: true) }
            return q
        }
        let lost = dropped.exchange(0, ordering: .relaxed)
        if lost > 0 { logger.warning("outbound audit queue full; records dropped", metadata: ["count": "\(lost)"]) }
        guard !batch.isEmpty else { return }
        do {
            // One COPY for the whole batch: one round trip, nothing to bind or plan per row (a multi-row INSERT
            // cost the server about 60 % more per row, measured in docs/bench-proxy.md). All rows or none.
            let rows = Self.copyRows(batch)
            _ = try await db.withConnection { try await $0.copyIn(Self.copyStatement, rows: rows) }
        } catch let error as DatabaseError where error.isUnavailable || error.code == .timeout {
            // Kept for the next flush, ahead of newer records, within the queue's capacity (the rest is counted as
            // dropped).
            let kept = queue.withLock { q -> Int in
                let room = max(0, capacity - q.count)
                q.insert(contentsOf: batch.prefix(room), at: 0)
                return min(room, batch.count)
            }
            if kept < batch.count { dropped.add(batch.count - kept, ordering: .relaxed) }
            logger.warning(
                "writing the outbound audit log failed; kept for the next attempt",
                metadata: ["count": "\(batch.count)", "error": "\(error)"])
        } catch {
            logger.error("writing the outbound audit log failed", metadata: ["count": "\(batch.count)", "error": "\(error)"])
        }
    }

    static let copyStatement = """
        COPY outbound_requests (at, request_id, bank_id, method, path_template, signed_headers, status, duration_ms,
          bytes_sent, bytes_received, bank_correlation_id, error_kind, inbound_request_id) FROM STDIN
        """

    /// `rows` in COPY's text format, in `copyStatement`'s column order.
    static func copyRows(_ rows: [OutboundAuditRecord]) -> CopyRows {
        var out = CopyRows(reservingBytes: rows.count * 256)
        for r in rows {
            let ms = Double(r.duration.components.seconds) * 1000 + Double(r.duration.components.attoseconds) / 1e15
            out.field(Date(timeIntervalSince1970: r.startedAt))
            out.field(r.requestID ?? "")
            out.field(r.bankID)
            out.field(r.method)
            out.field(r.pathTemplate)
            out.field(PostgresTextArray(r.signedHeaderNames))
            out.field(r.status)
            out.field(ms)
            out.field(r.bytesSent)
            out.field(r.bytesReceived)
            out.field(r.bankCorrelationID)
            out.field(r.errorKind)
            out.field(r.inboundRequestID)
            out.endRow()
        }
        return out
    }
}
