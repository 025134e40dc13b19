import Foundation
import PostgresKit
import Testing
import TestSupport

@Suite struct TransactionTests {
    struct Boom: Error {}

    @Test func thrownErrorInsideTransactionRollsBack() async throws {
        let table = TestDatabase.uniqueName()
        try await TestDatabase.withClient { db in
            try await db.execute("CREATE TABLE \(identifier: table) (id int PRIMARY KEY)")
            await #expect(throws: Boom.self) {
                try await db.withTransaction { tx in
                    try await tx.execute("INSERT INTO \(identifier: table) VALUES (\(1))")
                    throw Boom()
                }
            }
            _ = try await db.withTransaction { tx in
                try await tx.execute("INSERT INTO \(identifier: table) VALUES (\(2))")
            }
            let ids = try await db.query("SELECT id FROM \(identifier: table) ORDER BY id").map {
                try $0.decode("id", as: Int.self)
            }
            #expect(ids == [2])
            try await db.execute("DROP TABLE \(identifier: table)")
        }
    }

    @Test func cancelledTaskRollsBackInsteadOfCommitting() async throws {
        let table = TestDatabase.uniqueName()
        try await TestDatabase.withClient { db in
            try await db.execute("CREATE TABLE \(identifier: table) (id int PRIMARY KEY)")
            let inserted = Signal()
            let task = Task {
                try await db.withTransaction { tx in
                    try await tx.execute("INSERT INTO \(identifier: table) VALUES (\(1))")
                    inserted.fire()
                    // Parks until cancelled (bounded so a bug cannot hang the suite).
                    try? await Task.sleep(for: .seconds(30))
                }
            }
            await inserted.wait()
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(
                try await db.query("SELECT count(*) AS n FROM \(identifier: table)")[0].decode("n", as: Int.self) == 0)
            try await db.execute("DROP TABLE \(identifier: table)")
        }
    }

    @Test func swallowedStatementErrorMakesCommitFailLoudly() async throws {
        let table = TestDatabase.uniqueName()
        try await TestDatabase.withClient { db in
            try await db.execute("CREATE TABLE \(identifier: table) (id int PRIMARY KEY)")
            await #expect(throws: DatabaseError(.other)) {
                try await db.withTransaction { tx in
                    try await tx.execute("INSERT INTO \(identifier: table) VALUES (\(1))")
                    _ = try? await tx.execute("INSERT INTO \(identifier: table) VALUES (\(1))")
                }
            }
            #expect(
                try await db.query("SELECT count(*) AS n FROM \(identifier: table)")[0].decode("n", as: Int.self) == 0)
            try await db.execute("DROP TABLE \(identifier: table)")
        }
    }

    @Test func transactionLeftOpenInWithConnectionIsRolledBackOnReturn() async throws {
        let table = TestDatabase.uniqueName()
        try await TestDatabase.withClient(try TestDatabase.configuration(poolSize: 1)) { db in
            try await db.execute("CREATE TABLE \(identifier: table) (id int)")
            try await db.withConnection { connection in
                try await connection.execute("BEGIN")
                try await connection.execute("INSERT INTO \(identifier: table) VALUES (\(1))")
            }
            #expect(
                try await db.query("SELECT count(*) AS n FROM \(identifier: table)")[0].decode("n", as: Int.self) == 0)
            try await db.execute("DROP TABLE \(identifier: table)")
        }
    }

    /// An actor-isolated caller can use the scoped APIs and touch its own state inside the closure.
    actor Repository {
        let db: PostgresClient
        var seen: [Int] = []
        init(db: PostgresClient) { self.db = db }

        func record(_ value: Int) async throws -> Int {
            try await db.withTransaction { tx in
                let n = try await tx.query("SELECT \(value) + 1 AS n")[0].decode("n", as: Int.self)
                seen.append(n)
                return n
            }
        }
    }

    @Test func actorIsolatedCallersCanUseTransactions() async throws {
        try await TestDatabase.withClient { (db: PostgresClient) async throws in
            let repository = Repository(db: db)
            #expect(try await repository.record(1) == 2)
            #expect(try await repository.record(5) == 6)
            #expect(await repository.seen == [2, 6])
        }
    }

    @Test func cancellingATaskCancelsItsRunningStatementAndTheSessionIsReplaced() async throws {
        try await TestDatabase.withClient(try TestDatabase.configuration(poolSize: 1)) { db in
            let before = try await db.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int32.self)
            let task = Task { try await db.query("SELECT pg_sleep(20)") }
            #expect(
                try await TestDatabase.eventually {
                    try await TestDatabase.withClient { admin in
                        try await admin.query(
                            "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = \(before) AND state = 'active'"
                        )[0].decode("n", as: Int.self) == 1
                    }
                })
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            let after = try await db.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int32.self)
            #expect(after != before)
        }
    }
}
