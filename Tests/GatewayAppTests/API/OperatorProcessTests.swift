import Foundation
import GatewayCore
import GatewayLogging
import OpenSSLKit
import PostgresKit
import Testing
import TestSupport

@testable import GatewayApp

/// The README's operator commands run as processes (`passerelle migrate`, `passerelle rotate-master-key`), the
/// start-up database wait of `passerelle serve`, and the binding of each sealed secret to its row *and* column.
@Suite struct OperatorProcessTests {
    static func binary() throws -> String {
        guard let binary = TestEnvironment.executablePath(), !binary.isEmpty else {
            throw ProcessFailure(description: "PASSERELLE_TEST_BINARY is not set: run the suite with scripts/test")
        }
        return binary
    }

    static func environment(database: String, _ extra: [String: String] = [:]) -> [String: String] {
        ["PASSERELLE_DATABASE_URL": database, "PASSERELLE_LOG_LEVEL": "info", "PATH": "/usr/bin:/bin"]
            .merging(extra) { _, new in new }
    }

    static func migrations(_ database: String) async throws -> [Int] {
        let db = PostgresClient(
            configuration: PostgresConfiguration(url: Secret(database), poolSize: 1), logger: Logger(label: "test", level: .error))
        do {
            let rows = try await db.query("SELECT version::int AS v FROM schema_migrations ORDER BY version")
            await db.shutdown()
            return try rows.map { try $0.decode("v", as: Int.self) }
        } catch {
            await db.shutdown()
            throw error
        }
    }

    // Making `migrate` exit before `AppDatabase.prepare` (or skip it) leaves schema_migrations empty and fails here.
    @Test func migrateAppliesEveryMigrationOnceAndThenHasNothingToDo() async throws {
        try await TestDatabases.with(migrated: false) { db in
            let first = try await runProcessCapturingAll(try Self.binary(), ["migrate"], environment: Self.environment(database: db))
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            #expect(first.stdout.contains("applied migrations"), "\(first.stdout)")
            let applied = try await Self.migrations(db)
            let shipped = try AppDatabase.migrations().map(\.version).sorted()
            #expect(applied == shipped && applied.count >= 5, "applied \(applied), shipped \(shipped)")

            let second = try await runProcessCapturingAll(try Self.binary(), ["migrate"], environment: Self.environment(database: db))
            #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
            #expect(second.stdout.contains("database is up to date"), "\(second.stdout)")
            #expect(try await Self.migrations(db) == applied)
        }
    }

    // Making the command skip `MasterKeyRotation.run` leaves the secret under version 1: it no longer opens with
    // only the new key, and the last expectation fails.
    @Test func rotateMasterKeyAsAProcessRewrapsSoTheOldKeyCanGo() async throws {
        let oldKey = AppHarness.masterKey
        let newKey = Base64.encode(Random.bytes(32))
        try await TestDatabases.with { database in
            let id = try await AppHarness.with(databaseURL: database) { first in
                let upload = try await CertificatesAPITests.upload(first, cert: "qseal-chain.pem", key: "qseal.key")
                return try #require(UUID(uuidString: upload.json["id"] as? String ?? ""))
            }

            let env = Self.environment(database: database, ["PASSERELLE_MASTER_KEY": "2:\(newKey),1:\(oldKey)"])
            let rotated = try await runProcessCapturingAll(try Self.binary(), ["rotate-master-key"], environment: env)
            #expect(rotated.status == 0, "\(rotated.stdout)\(rotated.stderr)")
            #expect(rotated.stdout.contains("re-wrapped 1 secret(s) under master key version 2"), "\(rotated.stdout)")
            #expect(!rotated.stdout.contains(newKey) && !rotated.stderr.contains(newKey) && !rotated.stdout.contains(oldKey))
            let again = try await runProcessCapturingAll(try Self.binary(), ["rotate-master-key"], environment: env)
            #expect(again.stdout.contains("re-wrapped 0 secret(s)"), "\(again.stdout)")

            try await AppHarness.with(environment: ["PASSERELLE_MASTER_KEY": "2:\(newKey)"], databaseURL: database) { only in
                let material = try await only.app.certificates.material(id)
                #expect(material.privateKeyPEM.reveal.contains("BEGIN PRIVATE KEY"))
            }
        }
    }

    // `PASSERELLE_DATABASE_STARTUP_WAIT_SECONDS`: `serve` listens at once (`/health` 200, `/ready` 503 while it
    // waits), then gives up when the wait is over and exits 1. Ignoring the setting (the default is 60 s) makes
    // the process outlive the test's 30 s bound.
    @Test func serveWaitsForTheDatabaseOnlyAsLongAsConfiguredWhileHealthAnswers() async throws {
        let closedPort = try TemporaryCluster.freePort()  // nothing listens there
        let process = try ChildProcess.spawn(
            name: "serve-no-db", executable: try Self.binary(), arguments: ["serve"],
            environment: Self.environment(
                database: "postgresql://postgres@127.0.0.1:\(closedPort)/nowhere",
                [
                    "PASSERELLE_DATABASE_STARTUP_WAIT_SECONDS": "1.5", "PASSERELLE_MASTER_KEY": AppHarness.masterKey,
                    "PASSERELLE_HTTP_HOST": "127.0.0.1", "PASSERELLE_HTTP_PORT": "0",
                ]))
        defer { process.removeLog() }
        do {
            let port = try ReplicaCluster.port(
                in: try await process.waitForLine(containing: "\"message\":\"listening\""), key: "http.port")
            let health = try await TestHTTPClient(port: port).send("GET", "/health")
            #expect(health.status == 200)
            let ready = try await TestHTTPClient(port: port).send("GET", "/ready")
            #expect(ready.status == 503, "\(ready.text)")
            #expect(!process.hasExited, "still waiting for the database")
        } catch {
            await process.kill()
            throw error
        }
        var status: Int32?
        for _ in 0..<300 where status == nil {
            if process.hasExited { status = await process.kill() } else { try await Task.sleep(for: .milliseconds(100)) }
        }
        if status == nil { await process.kill() }
        #expect(status == 1, "exit status \(String(describing: status)); log:\n\(process.logTail())")
        #expect(process.log.contains("database preparation failed"), "\(process.logTail())")
    }

    // A value sealed for one column of a row does not open as another column of the same row (the row half is
    // `MasterKeyRotationTests.aSealedKeyMovedToAnotherRowDoesNotOpen`). Sealing with the row id alone fails here.
    @Test func aSealedTokenMovedToAnotherColumnOfItsRowDoesNotOpen() throws {
        let config = try Config(environment: [
            "PASSERELLE_DATABASE_URL": "postgresql://x@127.0.0.1/x", "PASSERELLE_MASTER_KEY": AppHarness.masterKey,
        ])
        let vault = SecretVault(keyring: try #require(config.masterKeyring))
        let row = UUID()
        let sealed = try vault.seal(Secret("an access token"), owner: ConnectionRecord.sealOwner(row, "access_token_sealed"))
        #expect(try vault.open(sealed, owner: ConnectionRecord.sealOwner(row, "access_token_sealed")).reveal == "an access token")
        // Refused by authentication (the associated data differs), not by anything else.
        let otherColumn = #expect(throws: GatewayError.self) {
            _ = try vault.open(sealed, owner: ConnectionRecord.sealOwner(row, "refresh_token_sealed"))
        }
        #expect(otherColumn?.description.contains("cannot be decrypted") == true, "\(String(describing: otherColumn))")
        let otherRow = #expect(throws: GatewayError.self) {
            _ = try vault.open(sealed, owner: ConnectionRecord.sealOwner(UUID(), "access_token_sealed"))
        }
        #expect(otherRow?.description.contains("cannot be decrypted") == true, "\(String(describing: otherRow))")
    }
}
