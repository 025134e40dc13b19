import Foundation
import GatewayLogging
import PostgresKit
import Testing
import TestSupport

/// Every wait on the server has a deadline: a server frozen with SIGSTOP (connections accepted by the kernel, no
/// answer ever) costs a statement at most its response deadline, and an availability probe at most its own
/// timeout. Each test runs on a cluster of its own, thawed whatever happens.
@Suite(.serialized) struct DeadlineTests {
    /// Figures are printed, not asserted (the machine's speed is not the code's).
    static func elapsed(since start: ContinuousClock.Instant) -> String {
        let d = ContinuousClock.now - start
        let (s, atto) = d.components
        return String(format: "%.2f s", Double(s) + Double(atto) / 1e18)
    }

    @Test(.timeLimit(.minutes(3)))
    func aFrozenServerCostsAStatementItsResponseDeadlineAndTheSessionIsReplacedAfterwards() async throws {
        try await TemporaryCluster.with { cluster in
            var config = try TestDatabase.configuration(url: cluster.url, poolSize: 2, timeout: .milliseconds(500))
            config.statementTimeout = .milliseconds(500)
            config.responseTimeout = .seconds(1)
            try await TestDatabase.withClient(config) { db in
                try await db.waitUntilAvailable(timeout: .seconds(30), logger: Logger(label: "test", level: .error))
                #expect(try await db.query("SELECT 1 AS n")[0].decode("n", as: Int.self) == 1)

                try cluster.freeze()
                var start = ContinuousClock.now
                let error = try await #require(throws: DatabaseError.self) { try await db.query("SELECT 2") }
                print("frozen server: a statement on a pooled session failed after \(Self.elapsed(since: start)): \(error)")
                #expect(error.code == .timeout)
                start = ContinuousClock.now
                let available = await db.isAvailable(within: .milliseconds(500))
                print("frozen server: isAvailable(within: 0.5 s) answered \(available) after \(Self.elapsed(since: start))")
                #expect(!available)
                await #expect(throws: DatabaseError.self) {
                    try await db.withTransaction { tx in try await tx.query("SELECT 3") }
                }

                cluster.thaw()
                #expect(try await TestDatabase.eventually(within: .seconds(30)) {
                    (try? await db.query("SELECT 4 AS n")[0].decode("n", as: Int.self)) == 4
                })
                #expect(await db.isAvailable(within: .seconds(5)))
            }
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aStoppedServerIsReportedUnavailableByTheProbe() async throws {
        try await TemporaryCluster.with { cluster in
            let config = try TestDatabase.configuration(url: cluster.url, poolSize: 2, timeout: .seconds(1))
            try await TestDatabase.withClient(config) { db in
                #expect(await db.isAvailable(within: .seconds(5)))
                try await cluster.stop()
                #expect(!(await db.isAvailable(within: .seconds(2))))
                try await cluster.startAgain()
                #expect(try await TestDatabase.eventually(within: .seconds(30)) { await db.isAvailable(within: .seconds(2)) })
            }
        }
    }
}
