import Foundation
import GatewayLogging
import TestSupport
import Testing

@testable import PostgresKit

@Suite struct MigratorTests {
    /// A fresh schema and a client whose `search_path` points at it, so `schema_migrations` is private to the test.
    private func withSchema(_ body: (String, PostgresConfiguration) async throws -> Void) async throws {
        let schema = TestDatabase.uniqueName("s")
        try await TestDatabase.withClient { admin in
            try await admin.execute("CREATE SCHEMA \(identifier: schema)")
            var config = try TestDatabase.configuration(poolSize: 2)
            config.searchPath = schema
            do {
                try await body(schema, config)
            } catch {
                _ = try? await admin.execute("DROP SCHEMA \(identifier: schema) CASCADE")
                throw error
            }
            try await admin.execute("DROP SCHEMA \(identifier: schema) CASCADE")
        }
    }

    private static let migrations = [
        Migration(version: 1, name: "accounts", sql: "CREATE TABLE accounts (id int PRIMARY KEY);"),
        Migration(
            version: 2, name: "counter",
            sql: """
                CREATE TABLE counter (n int NOT NULL);
                INSERT INTO counter VALUES (0);
                """),
        Migration(version: 3, name: "bump", sql: "UPDATE counter SET n = n + 1; ALTER TABLE accounts ADD note text;"),
    ]

    @Test func twoConcurrentMigratorsApplyEachMigrationExactlyOnce() async throws {
        try await withSchema { schema, config in
            let logger = Logger(label: "test", level: .error, sink: CapturingLogSink())
            try await TestDatabase.withClient(config) { first in
                try await TestDatabase.withClient(config) { second in
                    #expect(
                        try await Migrator(client: first, migrations: Self.migrations, logger: logger).pendingCount()
                            == 3)
                    async let a = Migrator(client: first, migrations: Self.migrations, logger: logger).migrate()
                    async let b = Migrator(client: second, migrations: Self.migrations.reversed(), logger: logger)
                        .migrate()
                    let (appliedA, appliedB) = try await (a, b)
                    #expect((appliedA + appliedB).sorted() == [1, 2, 3])
                    #expect(appliedA.isEmpty || appliedB.isEmpty)

                    let rows = try await first.query(
                        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version")
                    #expect(try rows.map { try $0.decode("version", as: Int.self) } == [1, 2, 3])
                    #expect(try rows.map { try $0.decode("name", as: String.self) } == ["accounts", "counter", "bump"])
                    #expect(try rows.allSatisfy { try $0.decode("checksum", as: String.self).count == 64 })
                    #expect(try await first.query("SELECT n FROM counter")[0].decode("n", as: Int.self) == 1)
                    #expect(
                        try await Migrator(client: second, migrations: Self.migrations, logger: logger).pendingCount()
                            == 0)
                    // Running again is a no-op.
                    #expect(
                        try await Migrator(client: second, migrations: Self.migrations, logger: logger).migrate() == [])
                    #expect(try await first.query("SELECT n FROM counter")[0].decode("n", as: Int.self) == 1)
                    // The tables went into the test's schema.
                    let tables = try await first.query(
                        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = \(schema)")
                    #expect(try tables[0].decode("n", as: Int.self) == 3)
                }
            }
        }
    }

    @Test func changedChecksumOfAnAppliedMigrationIsRefused() async throws {
        try await withSchema { _, config in
            let logger = Logger(label: "test", level: .error, sink: CapturingLogSink())
            try await TestDatabase.withClient(config) { db in
                try await Migrator(client: db, migrations: Array(Self.migrations.prefix(2)), logger: logger).migrate()
                var edited = Self.migrations
                edited[1].sql += "\nINSERT INTO counter VALUES (99);"
                let error = try await #require(throws: DatabaseError.self) {
                    try await Migrator(client: db, migrations: edited, logger: logger).migrate()
                }
                #expect(error.code == .migrationMismatch)
                #expect(error.message.contains("migration 2"))
                // Nothing after the refusal ran, and the advisory lock was released (a correct list still works).
                #expect(
                    try await db.query("SELECT count(*) AS n FROM schema_migrations")[0].decode("n", as: Int.self) == 2)
                #expect(try await Migrator(client: db, migrations: Self.migrations, logger: logger).migrate() == [3])
            }
        }
    }

    @Test func failingMigrationRollsBackAloneAndStopsTheRun() async throws {
        try await withSchema { _, config in
            let logger = Logger(label: "test", level: .error, sink: CapturingLogSink())
            try await TestDatabase.withClient(config) { db in
                let broken = [
                    Self.migrations[0],
                    Migration(version: 2, name: "broken", sql: "CREATE TABLE half (id int); SELECT * FROM nowhere;"),
                    Migration(version: 3, name: "never", sql: "CREATE TABLE never (id int);"),
                ]
                await #expect(throws: DatabaseError.self) {
                    try await Migrator(client: db, migrations: broken, logger: logger).migrate()
                }
                let applied = try await db.query("SELECT version FROM schema_migrations").map {
                    try $0.decode("version", as: Int.self)
                }
                #expect(applied == [1])
                #expect(
                    try await db.query("SELECT to_regclass('half') IS NULL AS gone")[0].decode("gone", as: Bool.self))
                #expect(try await Migrator(client: db, migrations: broken, logger: logger).pendingCount() == 2)
                let duplicate = [Self.migrations[0], Migration(version: 1, name: "again", sql: "SELECT 1")]
                await #expect(throws: DatabaseError(.migrationMismatch)) {
                    try await Migrator(client: db, migrations: duplicate, logger: logger).migrate()
                }
            }
        }
    }
}
