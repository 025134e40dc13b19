import Foundation
import OpenSSLKit
import Testing
import TestSupport

/// The `passerelle` executable's operator commands, run as processes against the test database.
@Suite struct CommandLineTests {
    static func passerelle(_ arguments: [String], database: String) async throws -> String {
        guard let binary = TestEnvironment.executablePath() else {
            throw ProcessFailure(description: "PASSERELLE_TEST_BINARY is not set: run the suite with scripts/test")
        }
        var env = ProcessInfo.processInfo.environment
        env["PASSERELLE_DATABASE_URL"] = database
        env["PASSERELLE_LOG_LEVEL"] = "error"
        return try await runProcess(binary, arguments, environment: env)
    }

    @Test func apiKeyCreatePrintsAKeyOnceThatTheAPIAcceptsUntilRevoked() async throws {
        try await TestDatabases.with { db in
            let key = try await Self.passerelle(["api-key", "create", "--name", "ops"], database: db)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(key.hasPrefix("pk_") && key.count > 30)
            let listing = try await Self.passerelle(["api-key", "list"], database: db)
            #expect(listing.contains("ops") && listing.contains("active"))
            #expect(!listing.contains(key), "the key itself is never listed")

            // A short positive-check cache (the default is 5 s), so that the revocation is seen within a second.
            try await AppHarness.with(environment: ["PASSERELLE_RECORD_CACHE_SECONDS": "0.5"], databaseURL: db) { h in
                let ok = try await h.request("GET", "/v1/banks", headers: [("Authorization", "Bearer \(key)")], authorized: false)
                #expect(ok.status == 200)
                let stored = try await h.app.db.query("SELECT key_hash FROM api_keys WHERE name = 'ops'")
                let hash: [UInt8] = try stored[0].decode("key_hash")
                #expect(hash == Digest.sha256(key), "only the key's SHA-256 is stored")
                let columns = try await h.app.db.query("SELECT row_to_json(k)::text AS row FROM api_keys k WHERE name = 'ops'")
                #expect(try !columns[0].decode("row", as: String.self).contains(key), "the key is in no column")

                _ = try await Self.passerelle(["api-key", "revoke", "ops"], database: db)
                var status = 0
                for _ in 0..<200 {  // bounded poll: refused once the cached positive check has expired
                    status = try await h.request("GET", "/v1/banks", headers: [("Authorization", "Bearer \(key)")], authorized: false).status
                    if status == 401 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(status == 401, "the revoked key is refused")
            }
        }
    }

    @Test func configurationErrorsAreListedTogether() async throws {
        guard let binary = TestEnvironment.executablePath() else {
            throw ProcessFailure(description: "PASSERELLE_TEST_BINARY is not set: run the suite with scripts/test")
        }
        let out = try await runProcessCapturingAll(
            binary, ["serve"], environment: ["PASSERELLE_HTTP_PORT": "nope", "PASSERELLE_LOG_LEVEL": "loud", "PATH": "/usr/bin"])
        #expect(out.status == 78)
        #expect(out.stderr.contains("PASSERELLE_HTTP_PORT") && out.stderr.contains("PASSERELLE_LOG_LEVEL")
            && out.stderr.contains("PASSERELLE_DATABASE_URL"))
    }

    /// `serve` without a master key, with a malformed database URL and a banks file that is not JSON: one
    /// message listing all three, exit 78 (EX_CONFIG), at once (nothing is waited for).
    @Test func serveListsTheMasterKeyTheDatabaseURLAndTheBanksFileTogetherAndExits78() async throws {
        guard let binary = TestEnvironment.executablePath() else {
            throw ProcessFailure(description: "PASSERELLE_TEST_BINARY is not set: run the suite with scripts/test")
        }
        let banks = NSTemporaryDirectory() + "passerelle-bad-banks-\(UUID().uuidString).json"
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: banks))
        defer { try? FileManager.default.removeItem(atPath: banks) }
        let out = try await runProcessCapturingAll(
            binary, ["serve"],
            environment: [
                "PASSERELLE_DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:5432/x?nonsense=1",
                "PASSERELLE_BANKS_FILE": banks, "PASSERELLE_HTTP_PORT": "0",
                "PASSERELLE_DATABASE_STARTUP_WAIT_SECONDS": "600", "PATH": "/usr/bin",
            ])
        #expect(out.status == 78, "\(out.stderr)")
        #expect(out.stderr.contains("PASSERELLE_MASTER_KEY"))
        #expect(out.stderr.contains("PASSERELLE_DATABASE_URL"))
        #expect(out.stderr.contains("PASSERELLE_BANKS_FILE"))
        #expect(out.stderr.contains("3 problems"))
        #expect(!out.stderr.contains("hunter2") && !out.stdout.contains("hunter2"))
    }

    /// A banks file that cannot be read is a configuration problem too (exit 78, not a start-up failure).
    @Test func serveWithAnUnreadableBanksFileExits78() async throws {
        guard let binary = TestEnvironment.executablePath() else {
            throw ProcessFailure(description: "PASSERELLE_TEST_BINARY is not set: run the suite with scripts/test")
        }
        let out = try await runProcessCapturingAll(
            binary, ["serve"],
            environment: [
                "PASSERELLE_DATABASE_URL": try TestEnvironment.databaseURL(),
                "PASSERELLE_MASTER_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                "PASSERELLE_BANKS_FILE": "/nonexistent/banks.json", "PASSERELLE_HTTP_PORT": "0", "PATH": "/usr/bin",
            ])
        #expect(out.status == 78, "\(out.stderr)")
        #expect(out.stderr.contains("PASSERELLE_BANKS_FILE: cannot read /nonexistent/banks.json"))
    }

    @Test func refusesToStartWithoutItsResourcesAndSaysWhatIsMissing() async throws {
        guard let binary = TestEnvironment.executablePath() else {
            throw ProcessFailure(description: "PASSERELLE_TEST_BINARY is not set: run the suite with scripts/test")
        }
        let installed = try await runProcessCapturingAll(binary, ["version"], environment: ["PATH": "/usr/bin"])
        #expect(installed.status == 0)
        #expect(installed.stdout.hasPrefix("passerelle "))

        // The executable alone in a folder, as an image that forgot to copy the resource bundle would hold it.
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("passerelle-noresources-" + UUID().uuidString.prefix(8).lowercased())
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let lone = folder.appendingPathComponent("passerelle").path
        do { try FileManager.default.linkItem(atPath: binary, toPath: lone) } catch {
            try FileManager.default.copyItem(atPath: binary, toPath: lone)
        }
        for command in [["version"], ["serve"], ["migrate"]] {
            let out = try await runProcessCapturingAll(
                lone, command, environment: ["PATH": "/usr/bin", "PASSERELLE_DATABASE_URL": "postgresql:///x"])
            #expect(out.status == 70, "\(command): \(out.stderr)")
            #expect(out.stderr.contains("resources missing"), "\(command): \(out.stderr)")
            #expect(out.stderr.contains(folder.path + "/Passerelle_GatewayApp.resources/Migrations"))
            #expect(!out.stderr.contains("Fatal error"), "a message, not a trap")
        }
    }
}
