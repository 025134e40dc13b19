import Foundation
import GatewayLogging
import PostgresKit
import Testing
import TestSupport

@Suite struct RecoveryTests {
    @Test func recoversAfterTheBackendsOfThePoolAreTerminated() async throws {
        let config = try TestDatabase.configuration(poolSize: 3)
        let appName = config.applicationName
        try await TestDatabase.withClient { admin in
            try await TestDatabase.withClient(config) { db in
                // Open all three connections at once.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<3 { group.addTask { try await db.query("SELECT pg_sleep(0.1)") } }
                    try await group.waitForAll()
                }
                func sessions() async throws -> Int {
                    try await admin.query(
                        "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = \(appName)"
                    )[0].decode("n", as: Int.self)
                }
                #expect(try await sessions() == 3)
                let killed = try await admin.query(
                    "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = \(appName)")
                #expect(killed.count == 3)
                #expect(try await TestDatabase.eventually { try await sessions() == 0 })

                // Every pooled connection is dead; the client notices and replaces them by itself.
                for i in 0..<5 {
                    #expect(try await db.query("SELECT \(i) AS n")[0].decode("n", as: Int.self) == i)
                }
                let inTransaction = try await db.withTransaction { tx in
                    try await tx.query("SELECT 7 AS n")[0].decode("n", as: Int.self)
                }
                #expect(inTransaction == 7)
            }
        }
    }

    @Test func connectionKilledInsideATransactionFailsClearly() async throws {
        let table = TestDatabase.uniqueName()
        try await TestDatabase.withClient { admin in
            try await admin.execute("CREATE TABLE \(identifier: table) (id int)")
            try await TestDatabase.withClient { db in
                let error = try await #require(throws: DatabaseError.self) {
                    try await db.withTransaction { tx in
                        try await tx.execute("INSERT INTO \(identifier: table) VALUES (\(1))")
                        let pid = try await tx.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int32.self)
                        try await admin.query("SELECT pg_terminate_backend(\(pid))")
                        try await tx.execute("INSERT INTO \(identifier: table) VALUES (\(2))")
                    }
                }
                #expect(error.code == .connectionFailed)
                #expect(error.isUnavailable)
                // The broken connection was replaced; nothing of the transaction was committed.
                #expect(
                    try await db.query("SELECT count(*) AS n FROM \(identifier: table)")[0].decode("n", as: Int.self)
                        == 0)
            }
            try await admin.execute("DROP TABLE \(identifier: table)")
        }
    }

    @Test func unreachableServerFailsWithAClearErrorAndNoSecretLeaks() async throws {
        let port = try TemporaryCluster.freePort()  // nothing listens there
        let sink = CapturingLogSink()
        let logger = Logger(label: "test", level: .debug, sink: sink)
        let config = try TestDatabase.configuration(
            url: "postgresql://postgres:hunter2-secret@127.0.0.1:\(port)/postgres", poolSize: 2, timeout: .seconds(2))
        #expect(!"\(config.url)".contains("hunter2"))
        try await TestDatabase.withClient(config, logger: logger) { db in
            let error = try await #require(throws: DatabaseError.self) { try await db.query("SELECT 1") }
            #expect(error.code == .connectionFailed)
            #expect(error.isUnavailable)
            #expect(!error.description.contains("hunter2"))
            // Concurrent callers all fail too (no hang), and the pool keeps no half-open slot.
            try await withThrowingTaskGroup(of: DatabaseError?.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        do {
                            try await db.query("SELECT 1")
                            return nil
                        } catch let error as DatabaseError { return error }
                    }
                }
                for try await error in group { #expect(error?.isUnavailable == true) }
            }
            #expect(db.poolCounts.open == 0)
            let waitError = try await #require(throws: DatabaseError.self) {
                try await db.waitUntilAvailable(timeout: .milliseconds(600), logger: logger)
            }
            #expect(waitError.code == .connectionFailed)
        }
        #expect(sink.text.contains("database not available yet, retrying"))
        #expect(!sink.text.contains("hunter2"))
    }

    @Test func statementThatLosesItsConnectionIsRetriedOnceOutsideTransactionsOnly() async throws {
        let sink = CapturingLogSink()
        try await TestDatabase.withClient(logger: Logger(label: "test", level: .debug, sink: sink)) { db in
            // The statement kills its own session, so every attempt loses its connection mid-statement.
            let error = try await #require(throws: DatabaseError.self) {
                try await db.query("SELECT pg_terminate_backend(pg_backend_pid())")
            }
            #expect(error.code == .connectionFailed)
            #expect(sink.captured.filter { $0.contains("retrying once") }.count == 1)

            await #expect(throws: DatabaseError(.connectionFailed)) {
                try await db.withTransaction { tx in
                    try await tx.query("SELECT pg_terminate_backend(pg_backend_pid())")
                }
            }
            #expect(sink.captured.filter { $0.contains("retrying once") }.count == 1)
            #expect(try await db.query("SELECT 1 AS n")[0].decode("n", as: Int.self) == 1)
        }
    }

    @Test func malformedURLIsRefusedWithoutEchoingIt() async throws {
        let config = try TestDatabase.configuration(url: "postgresql://postgres:pa%zzword-leak@127.0.0.1:1/postgres")
        try await TestDatabase.withClient(config) { db in
            let error = try await #require(throws: DatabaseError.self) { try await db.query("SELECT 1") }
            #expect(error.code == .invalidURL)
            #expect(!error.description.contains("word-leak"))
            // Not retried: waiting does not fix a malformed URL.
            let sink = CapturingLogSink()
            let waited = try await #require(throws: DatabaseError.self) {
                try await db.waitUntilAvailable(timeout: .seconds(60), logger: Logger(label: "t", level: .debug, sink: sink))
            }
            #expect(waited.code == .invalidURL)
            #expect(!sink.text.contains("retrying"))
        }
        #expect(!PostgresConfiguration.isWellFormed(url: Secret("postgresql://postgres:pa%zzword-leak@127.0.0.1:1/postgres")))
        #expect(!PostgresConfiguration.isWellFormed(url: Secret("not a url")))
        #expect(PostgresConfiguration.isWellFormed(url: Secret("postgresql://u@db:5432/x?sslmode=require")))
        #expect(PostgresConfiguration.isWellFormed(url: Secret("host=db dbname=x")))
    }

    @Test(.timeLimit(.minutes(3)))
    func recoversAfterARealServerRestartAndFailsClearlyWhileItIsDown() async throws {
        try await TemporaryCluster.with { cluster in
            let config = try TestDatabase.configuration(url: cluster.url, poolSize: 2, timeout: .seconds(3))
            try await TestDatabase.withClient(config) { db in
                try await db.waitUntilAvailable(timeout: .seconds(30), logger: Logger(label: "test", level: .error))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<2 { group.addTask { try await db.query("SELECT pg_sleep(0.05)") } }
                    try await group.waitForAll()
                }
                let before = try await db.query("SELECT pg_postmaster_start_time() AS t")[0].decode("t", as: Date.self)

                try await cluster.restart()
                let firstAfterRestart = ContinuousClock.now
                let after = try await db.query("SELECT pg_postmaster_start_time() AS t")[0].decode("t", as: Date.self)
                print("server restarted: the first statement after it succeeded in \(ContinuousClock.now - firstAfterRestart)")
                #expect(after > before)
                #expect(try await db.query("SELECT 1 AS n")[0].decode("n", as: Int.self) == 1)

                try await cluster.stop()
                let downStart = ContinuousClock.now
                let error = try await #require(throws: DatabaseError.self) { try await db.query("SELECT 1") }
                print("server stopped: a statement failed (\(error.code)) in \(ContinuousClock.now - downStart)")
                #expect(error.isUnavailable)
                await #expect(throws: DatabaseError.self) {
                    try await db.withTransaction { tx in try await tx.query("SELECT 1") }
                }

                try await cluster.startAgain()
                try await db.waitUntilAvailable(timeout: .seconds(30), logger: Logger(label: "test", level: .error))
                #expect(try await db.query("SELECT 2 AS n")[0].decode("n", as: Int.self) == 2)
            }
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func passwordGivenApartFromTheURLAuthenticatesAndOverridesTheURLs() async throws {
        let cluster = try await TemporaryCluster.start(password: "s3cret-apart")
        do {
            let withoutPassword = try TestDatabase.configuration(url: cluster.url, poolSize: 1)
            try await TestDatabase.withClient(withoutPassword) { db in
                let error = try await #require(throws: DatabaseError.self) { try await db.query("SELECT 1") }
                #expect(error.code == .connectionFailed)
            }
            var apart = withoutPassword
            apart.password = Secret("s3cret-apart")
            let one = try await TestDatabase.withClient(apart) { db in
                try await db.query("SELECT 1 AS n")[0].decode("n", as: Int.self)
            }
            #expect(one == 1)
            let wrongInURL = cluster.url.replacingOccurrences(of: "postgres@", with: "postgres:wrong@")
            var overriding = try TestDatabase.configuration(url: wrongInURL, poolSize: 1)
            overriding.password = Secret("s3cret-apart")
            let two = try await TestDatabase.withClient(overriding) { db in
                try await db.query("SELECT 2 AS n")[0].decode("n", as: Int.self)
            }
            #expect(two == 2)
        } catch {
            await cluster.remove()
            throw error
        }
        await cluster.remove()
    }

    @Test(.timeLimit(.minutes(3)))
    func waitingWithoutATimeoutLastsUntilTheServerComesUpAndLogsEachAttempt() async throws {
        let cluster = try await TemporaryCluster.start()
        do {
            try await cluster.stop()
            let sink = CapturingLogSink()
            let logger = Logger(label: "test", level: .info, sink: sink)
            let config = try TestDatabase.configuration(url: cluster.url, poolSize: 1, timeout: .seconds(2))
            try await TestDatabase.withClient(config) { db in
                let waiter = Task { try await db.waitUntilAvailable(timeout: nil, logger: logger) }
                // Several failed attempts are logged while the server is down; the waiter keeps going.
                while sink.captured.filter({ $0.contains("database not available yet, retrying") }).count < 3 {
                    try await Task.sleep(for: .milliseconds(100))
                }
                try await cluster.startAgain()
                try await waiter.value
                #expect(sink.text.contains("database is available"))
                #expect(try await db.query("SELECT 1 AS n")[0].decode("n", as: Int.self) == 1)
            }
        } catch {
            await cluster.remove()
            throw error
        }
        await cluster.remove()
    }
}
