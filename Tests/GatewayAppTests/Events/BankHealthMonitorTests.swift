import Foundation
import GatewayLogging
import PostgresKit
import Testing
import TestSupport

@testable import CurlKit
@testable import GatewayApp

/// `BankHealthMonitor` on its own over a fresh database: what it decides from the calls it sees is written in the
/// order it decided it.
@Suite struct BankHealthMonitorTests {
    static func call(_ bank: String, status: Int) -> OutboundAuditRecord {
        OutboundAuditRecord(
            startedAt: Date().timeIntervalSince1970, requestID: nil, bankID: bank, method: "POST",
            host: "bank.example", pathTemplate: "/register", signedHeaderNames: [], status: status,
            duration: .milliseconds(5), attempts: 1, bytesSent: 0, bytesReceived: 0, bankCorrelationID: nil,
            errorKind: nil)
    }

    // Writing each change in a task of its own (the recovery may commit before the outage, or be dated before a
    // late outage write) leaves some of these banks down, with no `bank.recovered`.
    @Test func anOutageAndTheRecoveryRightAfterItAreWrittenInTheirOrder() async throws {
        try await TestDatabases.withClient { db in
            let store = StoreDatabase(db)
            let monitor = BankHealthMonitor(
                inner: InMemoryOutboundAuditSink(), db: store, threshold: 1,
                logger: Logger(label: "test", level: .error))
            let banks = (0..<20).map { "cmcic:bank\($0)" }
            for bank in banks {
                monitor.record(Self.call(bank, status: 503))
                monitor.record(Self.call(bank, status: 200))
            }
            var events: [StoredEvent] = []
            for _ in 0..<200 where events.count < 2 * banks.count {
                events = try await EventStore(db: store).events(after: 0, kinds: [], limit: 1000)
                if events.count < 2 * banks.count { try await Task.sleep(for: .milliseconds(25)) }
            }
            for bank in banks {
                let kinds = events.filter { $0.resourceID == bank }.map(\.kind)
                #expect(kinds == [.bankUnavailable, .bankRecovered], "\(bank)")
            }
            let down = try await store.query("SELECT bank_id FROM bank_health WHERE status = 'down'")
            #expect(down.isEmpty, "every bank is up again")
        }
    }
}
