import Foundation
import PostgresKit
import Testing

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
            #expect(try await db.query("SELECT count(*) AS n FROM \(identifier: table)")[0].decode("n", as: Int.self) == 0)
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
            #expect(try await db.query("SELECT count(*) AS n FROM \(identifier: table)")[0].decode("n", as: Int.self) == 0)
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
            #expect(try await db.query("SELECT count(*) AS n FROM \(identifier: table)")[0].decode("n", as: Int.self) == 0)
            try await db.execute("DROP TABLE \(identifier: table)")
        }
    }
}
