import Foundation
import PostgresKit
import GatewayLogging
import Testing
import TestSupport

@testable import CurlKit
@testable import GatewayApp

/// The outbound audit log's batched writes, against the real PostgreSQL.
@Suite struct PostgresAuditSinkTests {
    static func record(_ i: Int) -> OutboundAuditRecord {
        OutboundAuditRecord(
            startedAt: 1_900_000_000 + Double(i), requestID: i % 7 == 0 ? nil : "req-\(i)", bankID: "cmcic:cic",
            method: "GET", host: "bank.example", pathTemplate: "/stet/psd2/v2.0/accounts/{id}/balances",
            signedHeaderNames: i % 2 == 0 ? ["(request-target)", "date", "x-request-id"] : [],
            status: i % 5 == 0 ? nil : 200, duration: .milliseconds(i), attempts: 1, bytesSent: i, bytesReceived: 2 * i,
            bankCorrelationID: i % 3 == 0 ? "corr-\(i)" : nil, errorKind: i % 5 == 0 ? "timeout" : nil)
    }

    @Test func aLargeBatchIsWrittenCompletelyInChunks() async throws {
        try await ConnectionsTestBed.with { bed in
            let sink = PostgresAuditSink(db: bed.db, logger: bed.logger)
            let count = 1_201  // three statements: 500 + 500 + 201
            for i in 0..<count { sink.record(Self.record(i)) }
            await sink.flush()
            let rows = try await bed.db.query("""
                SELECT request_id, array_to_string(signed_headers, ' ') AS signed, status, duration_ms, bytes_sent,
                  bytes_received, bank_correlation_id, error_kind, extract(epoch FROM at)::float8 AS at
                FROM outbound_requests ORDER BY at
                """)
            #expect(rows.count == count)
            for (i, row) in rows.enumerated() {
                let expected = Self.record(i)
                #expect(try row.decode("request_id", as: String.self) == (expected.requestID ?? ""))
                #expect(try row.decode("signed", as: String.self) == expected.signedHeaderNames.joined(separator: " "))
                #expect(try row.decode("status", as: Int?.self) == expected.status)
                #expect(try row.decode("duration_ms", as: Double.self) == Double(i))
                #expect(try row.decode("bytes_sent", as: Int.self) == i)
                #expect(try row.decode("bytes_received", as: Int.self) == 2 * i)
                #expect(try row.decode("bank_correlation_id", as: String?.self) == expected.bankCorrelationID)
                #expect(try row.decode("error_kind", as: String?.self) == expected.errorKind)
                #expect(try row.decode("at", as: Double.self) == expected.startedAt)
            }
            // Flushed means gone from the queue: a second flush writes nothing more.
            await sink.flush()
            #expect(try await bed.db.query("SELECT count(*)::int AS n FROM outbound_requests")[0].decode("n", as: Int.self) == count)
        }
    }

    /// Shutdown cancels the writer's task: its last flush must still commit every queued row (a cancelled
    /// transaction would roll the batch back).
    @Test func cancellingTheWriterStillWritesEveryQueuedRow() async throws {
        try await ConnectionsTestBed.with { bed in
            let sink = PostgresAuditSink(db: bed.db, logger: bed.logger)
            for i in 0..<300 { sink.record(Self.record(i)) }
            let writer = Task { await sink.run(interval: .seconds(3600)) }
            writer.cancel()
            await writer.value
            let n = try await bed.db.query("SELECT count(*)::int AS n FROM outbound_requests")[0].decode("n", as: Int.self)
            #expect(n == 300, "rows written when the writer was cancelled")
        }
    }

    /// A database that cannot take the batch (here: stopped) does not lose it: the next flush writes it.
    @Test(.timeLimit(.minutes(2)))
    func aBatchTheDatabaseCouldNotTakeIsWrittenByTheNextFlush() async throws {
        try await TemporaryCluster.with { cluster in
            let db = PostgresClient(
                configuration: PostgresConfiguration(url: Secret(cluster.url), poolSize: 2, timeout: .seconds(1)),
                logger: Logger(label: "test", level: .error))
            try await AppDatabase.prepare(db, config: Config.Database(), logger: Logger(label: "test", level: .error))
            let sink = PostgresAuditSink(db: db, logger: Logger(label: "test", level: .error))
            for i in 0..<10 { sink.record(Self.record(i)) }
            try await cluster.stop()
            await sink.flush()
            try await cluster.startAgain()
            for i in 10..<15 { sink.record(Self.record(i)) }
            await sink.flush()
            let n = try await db.query("SELECT count(*)::int AS n FROM outbound_requests")[0].decode("n", as: Int.self)
            await db.shutdown()
            #expect(n == 15)
        }
    }
}
