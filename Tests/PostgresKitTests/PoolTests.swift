import Foundation
import GatewayLogging
import PostgresKit
import Synchronization
import Testing
import TestSupport

@Suite struct PoolTests {
    @Test func moreConcurrentTasksThanConnectionsAllSucceedOnAtMostPoolSizeSessions() async throws {
        try await TestDatabase.withClient(try TestDatabase.configuration(poolSize: 2)) { db in
            let results = try await withThrowingTaskGroup(of: (Int, Int, Int32).self) { group in
                for i in 0..<12 {
                    group.addTask {
                        let row = try await db.query("SELECT \(i) AS n, pg_backend_pid() AS pid, pg_sleep(0.02)")[0]
                        return (i, try row.decode("n", as: Int.self), try row.decode("pid", as: Int32.self))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 12)
            #expect(results.allSatisfy { $0.0 == $0.1 })
            #expect(Set(results.map(\.2)).count <= 2)
            #expect(db.poolCounts.open <= 2)
            #expect(db.poolCounts.waiting == 0)
        }
    }

    @Test func waitingCallerGetsTimeoutWhenThePoolStaysExhausted() async throws {
        let config = try TestDatabase.configuration(poolSize: 1, timeout: .milliseconds(300))
        try await TestDatabase.withClient(config) { db in
            let held = Signal()
            let release = Signal()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await db.withConnection { connection in
                        try await connection.query("SELECT 1")
                        held.fire()
                        await release.wait()
                    }
                }
                await held.wait()
                await #expect(throws: DatabaseError(.timeout)) { try await db.query("SELECT 2") }
                release.fire()
                try await group.waitForAll()
            }
            // The lease came back: the pool serves again.
            #expect(try await db.query("SELECT 3 AS n")[0].decode("n", as: Int.self) == 3)
        }
    }

    @Test func waitersAreServedInArrivalOrder() async throws {
        try await TestDatabase.withClient(try TestDatabase.configuration(poolSize: 1)) { db in
            let order = Recorder<Int>()
            let held = Signal()
            let release = Signal()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await db.withConnection { _ in
                        held.fire()
                        await release.wait()
                    }
                }
                await held.wait()
                for i in 1...4 {
                    group.addTask {
                        try await db.withConnection { _ in order.append(i) }
                    }
                    // Enqueue one at a time so arrival order is known.
                    #expect(await TestDatabase.eventually { db.poolCounts.waiting == i })
                }
                release.fire()
                try await group.waitForAll()
            }
            #expect(order.all == [1, 2, 3, 4])
        }
    }

    @Test func shutdownFailsWaitersAndLaterCallsWithPoolClosed() async throws {
        let db = PostgresClient(
            configuration: try TestDatabase.configuration(poolSize: 1), logger: Logger(label: "test", level: .error))
        try await db.query("SELECT 1")
        await db.shutdown()
        await #expect(throws: DatabaseError(.poolClosed)) { try await db.query("SELECT 1") }
    }

    @Test func cancellingAWaitingCallerReturnsPromptly() async throws {
        try await TestDatabase.withClient(try TestDatabase.configuration(poolSize: 1, timeout: .seconds(60))) { db in
            let held = Signal()
            let release = Signal()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await db.withConnection { _ in
                        held.fire()
                        await release.wait()
                    }
                }
                await held.wait()
                let waiter = Task { try await db.query("SELECT 1") }
                #expect(await TestDatabase.eventually { db.poolCounts.waiting == 1 })
                waiter.cancel()
                await #expect(throws: CancellationError.self) { try await waiter.value }
                #expect(db.poolCounts.waiting == 0)
                release.fire()
                try await group.waitForAll()
            }
        }
    }
}
