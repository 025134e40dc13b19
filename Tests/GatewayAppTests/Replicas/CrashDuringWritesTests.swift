import Foundation
import GatewayCore
import GatewayLogging
import PostgresKit
import Synchronization
import Testing
import TestSupport

@testable import GatewayApp

/// kill -9 of `passerelle serve` while 8 clients create connections (one row each, no bank call): after a restart
/// on the same database every acknowledged write (201) is there and readable, and no row is partial. The figures
/// (writes acknowledged, rows found) are printed.
@Suite(.serialized) struct CrashDuringWritesTests {
    static let masterKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    static let apiKey = "pk_crash_test_0123456789abcdef"

    @Test(.timeLimit(.minutes(2)))
    func killDuringWritesLosesNoAcknowledgedWriteAndLeavesNoPartialRow() async throws {
        guard let binary = TestEnvironment.executablePath() else {
            throw ProcessFailure(description: "PASSERELLE_TEST_BINARY is not set: run the suite with scripts/test")
        }
        try await TestDatabases.with { database in
            let environment = [
                "PASSERELLE_DATABASE_URL": database, "PASSERELLE_HTTP_HOST": "127.0.0.1", "PASSERELLE_HTTP_PORT": "0",
                "PASSERELLE_MASTER_KEY": Self.masterKey, "PASSERELLE_BOOTSTRAP_API_KEY": Self.apiKey,
                "PASSERELLE_TOKEN_REFRESHER_INTERVAL_SECONDS": "0", "PASSERELLE_LOG_LEVEL": "info",
            ]
            let first = try await Self.start(binary, environment, name: "serve-crash-1")
            let acknowledged = Acknowledged()
            do {
                let api = TestHTTPClient(port: first.port)
                let auth = [("Authorization", "Bearer \(Self.apiKey)")]
                var certificates: [String] = []
                for (cert, key) in [("qwac.crt", "qwac.key"), ("qseal.crt", "qseal.key")] {
                    let uploaded = try await api.sendJSON(
                        "POST", "/v1/certificates",
                        ["certificate": try TestEnvironment.pkiContents(cert), "privateKey": try TestEnvironment.pkiContents(key)],
                        headers: auth)
                    certificates.append(try #require(uploaded.json["id"] as? String, "\(uploaded.text)"))
                }
                try await Self.insertRegistration(database, qwac: certificates[0], qseal: certificates[1])

                // Eight writers until the process dies.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<8 {
                        group.addTask {
                            var n = 0
                            while true {
                                n += 1
                                let body: [String: Any] = [
                                    "bank": "cmcic:cic", "psuReference": "crash-\(worker)-\(n)",
                                    "redirectUri": ConnectionsTestBed.redirect,
                                ]
                                guard let created = try? await api.sendJSON("POST", "/v1/connections", body, headers: auth)
                                else { return }  // the process is gone
                                guard created.status == 201, let id = created.json["id"] as? String else {
                                    if created.status >= 500 { return }
                                    throw ProcessFailure(description: "unexpected \(created.status): \(created.text)")
                                }
                                acknowledged.add(id)
                            }
                        }
                    }
                    // SIGKILL once writes are flowing (bounded poll): some acknowledged, others in flight.
                    for _ in 0..<3000 where acknowledged.ids.count < 40 { try await Task.sleep(for: .milliseconds(10)) }
                    await first.process.kill()
                    try await group.waitForAll()
                }
            } catch {
                await first.process.kill()
                throw error
            }
            first.process.removeLog()

            let second = try await Self.start(binary, environment, name: "serve-crash-2")
            let ids = acknowledged.ids
            var missing: [String] = []
            do {
                for id in ids {
                    let read = try await TestHTTPClient(port: second.port).send(
                        "GET", "/v1/connections/\(id)", headers: [("Authorization", "Bearer \(Self.apiKey)")])
                    if read.status != 200 || read.json["status"] as? String != "pending_authorization" { missing.append(id) }
                }
            } catch {
                await second.process.kill()
                second.process.removeLog()
                throw error
            }
            await second.process.kill()
            second.process.removeLog()
            let db = PostgresClient(
                configuration: PostgresConfiguration(url: Secret(database), poolSize: 1),
                logger: Logger(label: "test", level: .error))
            let rows = try await db.query("SELECT count(*)::int AS n FROM connections")[0].decode("n", as: Int.self)
            let partial = try await db.query("""
                SELECT count(*)::int AS n FROM connections
                WHERE state_hash IS NULL OR state_expires_at IS NULL OR redirect_uri IS NULL OR psu_reference IS NULL
                """)[0].decode("n", as: Int.self)
            await db.shutdown()
            print(
                "CrashDuringWritesTests: \(ids.count) writes acknowledged before kill -9, \(rows) rows after restart "
                    + "(\(rows - ids.count) written but not acknowledged), \(missing.count) acknowledged writes missing, "
                    + "\(partial) partial rows")
            #expect(ids.count > 0)
            #expect(missing.isEmpty, "acknowledged but lost: \(missing.prefix(5))")
            #expect(rows >= ids.count)
            #expect(partial == 0)
        }
    }

    /// A `serve` process, once listening and ready.
    static func start(_ binary: String, _ environment: [String: String], name: String) async throws
        -> (process: ChildProcess, port: Int)
    {
        let process = try ChildProcess.spawn(name: name, executable: binary, arguments: ["serve"], environment: environment)
        do {
            let listening = try await process.waitForLine(containing: "\"message\":\"listening\"")
            let port = try ReplicaCluster.port(in: listening, key: "http.port")
            _ = try await process.waitForLine(containing: "\"message\":\"ready\"")
            return (process, port)
        } catch {
            await process.kill()
            throw error
        }
    }

    /// An active Euro-Information sandbox registration, written directly (no bank is running in this test).
    static func insertRegistration(_ database: String, qwac: String, qseal: String) async throws {
        guard let qwacID = UUID(uuidString: qwac), let qsealID = UUID(uuidString: qseal) else {
            throw ProcessFailure(description: "odd certificate ids")
        }
        let db = PostgresClient(
            configuration: PostgresConfiguration(url: Secret(database), poolSize: 1),
            logger: Logger(label: "test", level: .error))
        do {
            try await ConnectionsTestBed.insertRegistration(
                db: db, provider: .euroInformation, bank: BankID("cmcic:cic")!, qwac: qwacID, qseal: qsealID,
                status: .active, clientID: "ei-client", now: Date())
        } catch {
            await db.shutdown()
            throw error
        }
        await db.shutdown()
    }
}

/// The ids a test's writers got 201 for.
private final class Acknowledged: Sendable {
    private let list = Mutex<[String]>([])
    func add(_ id: String) { list.withLock { $0.append(id) } }
    var ids: [String] { list.withLock { $0 } }
}
