import Foundation
import GatewayApp
import GatewayCore
import GatewayLogging
import HTTPServerKit
import PostgresKit
import Testing
import TestSupport

/// The API while its PostgreSQL is stopped or frozen (SIGSTOP), on a cluster of its own: calls that need the
/// database answer 503 `/problems/unavailable` with `Retry-After`, calls that do not (the bank catalog, with a key
/// seen recently) keep answering, `/ready` answers 503 in time, and everything recovers by itself.
@Suite(.serialized) struct DatabaseOutageTests {
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let (s, atto) = (ContinuousClock.now - start).components
        return Double(s) + Double(atto) / 1e18
    }

    /// The gateway on a throwaway cluster, with short database deadlines (0.5 s wait, 0.5 s statement timeout: a
    /// frozen server costs a statement about 1 s) and a short API-key cache so that the outage path is taken.
    static func withGatewayOnOwnCluster(_ body: (AppHarness, TemporaryCluster) async throws -> Void) async throws {
        try await TemporaryCluster.with { cluster in
            let h = try await AppHarness.start(
                environment: [
                    "PASSERELLE_DATABASE_TIMEOUT_SECONDS": "0.5", "PASSERELLE_DATABASE_STATEMENT_TIMEOUT_SECONDS": "0.5",
                    "PASSERELLE_RECORD_CACHE_SECONDS": "0.1",
                ],
                databaseURL: cluster.url)
            do {
                try await body(h, cluster)
            } catch {
                cluster.thaw()
                await h.stop()
                throw error
            }
            cluster.thaw()
            await h.stop()
        }
    }

    static func expectUnavailable(_ response: TestResponse, _ what: String) {
        #expect(response.status == 503, "\(what): \(response.status) \(response.text)")
        #expect(response.json["type"] as? String == "/problems/unavailable", "\(what): \(response.text)")
        #expect(response.header("Retry-After") == String(StoreDatabase.retryAfterSeconds), "\(what)")
        #expect((response.json["requestId"] as? String)?.isEmpty == false, "\(what)")
        #expect(!response.text.contains("DatabaseError"), "\(what): no database detail leaks")
    }

    @Test(.timeLimit(.minutes(3)))
    func aStoppedDatabaseGets503WithRetryAfterWhileTheCatalogKeepsAnsweringAndItRecovers() async throws {
        try await Self.withGatewayOnOwnCluster { h, cluster in
            #expect(try await h.request("GET", "/v1/certificates").status == 200)
            #expect(try await h.request("GET", "/v1/banks/cmcic:cic").status == 200)  // the key is now known

            try await cluster.stop()
            try await Task.sleep(for: .milliseconds(150))  // past the record cache: the key check asks the database
            let bank = try await h.request("GET", "/v1/banks/cmcic:cic")
            #expect(bank.status == 200, "the catalog needs no database: \(bank.text)")
            Self.expectUnavailable(try await h.request("GET", "/v1/certificates"), "GET /v1/certificates")
            Self.expectUnavailable(
                try await h.request("POST", "/v1/connections", json: [
                    "bank": "cmcic:cic", "psuReference": "customer-42", "redirectUri": "https://tpp.example/callback",
                ]),
                "POST /v1/connections")
            let unknownKey = try await h.request(
                "GET", "/v1/banks", headers: [("Authorization", "Bearer pk_never_seen_0123456789abcdefghij")],
                authorized: false)
            Self.expectUnavailable(unknownKey, "an unknown key cannot be checked")
            let start = ContinuousClock.now
            let ready = try await h.client.send("GET", "/ready")
            print("database stopped: /ready answered \(ready.status) in \(String(format: "%.2f", Self.seconds(since: start))) s")
            #expect(ready.status == 503)

            try await cluster.startAgain()
            let recovered = try await eventually { try await h.request("GET", "/v1/certificates").status == 200 }
            #expect(recovered, "the API recovers by itself when the database is back")
            #expect(try await h.client.send("GET", "/ready").status == 200)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aFrozenDatabaseGetsAnswersInTimeAndReadyAnswers503WithinTwoSeconds() async throws {
        try await Self.withGatewayOnOwnCluster { h, cluster in
            #expect(try await h.request("GET", "/v1/certificates").status == 200)
            #expect(try await h.client.send("GET", "/ready").status == 200)

            #expect(try await h.request("GET", "/v1/banks/cmcic:cic").status == 200)  // the key is now known
            try cluster.freeze()
            try await Task.sleep(for: .milliseconds(150))  // past the record cache: the key check asks the database
            var start = ContinuousClock.now
            let bank = try await h.request("GET", "/v1/banks/cmcic:cic")
            print("database frozen: GET /v1/banks/cmcic:cic answered \(bank.status) in \(String(format: "%.2f", Self.seconds(since: start))) s")
            #expect(bank.status == 200, "the catalog needs no database: \(bank.text)")
            for attempt in 1...3 {
                start = ContinuousClock.now
                let ready = try await h.client.send("GET", "/ready")
                let took = Self.seconds(since: start)
                print("database frozen: /ready #\(attempt) answered \(ready.status) in \(String(format: "%.2f", took)) s")
                #expect(ready.status == 503)
            }
            start = ContinuousClock.now
            let list = try await h.request("GET", "/v1/certificates")
            print("database frozen: GET /v1/certificates answered \(list.status) in \(String(format: "%.2f", Self.seconds(since: start))) s")
            Self.expectUnavailable(list, "GET /v1/certificates (frozen)")

            cluster.thaw()
            let recovered = try await eventually { try await h.request("GET", "/v1/certificates").status == 200 }
            #expect(recovered, "the API recovers by itself when the database answers again")
            #expect(try await eventually { try await h.client.send("GET", "/ready").status == 200 })
        }
    }

    @Test func aUniqueViolationIsAConflictAndOtherDatabaseErrorsAreInternal() async throws {
        try await AppHarness.with { h in
            _ = try await h.app.apiKeys.create(name: "twice")
            let duplicate = try await #require(throws: GatewayError.self) { try await h.app.apiKeys.create(name: "twice") }
            #expect(duplicate.problemType == .conflict)
            let store = StoreDatabase(h.app.db)
            let broken = try await #require(throws: GatewayError.self) { try await store.query("SELECT * FROM no_such_table") }
            #expect(broken.problemType == .internal)
            #expect(broken.publicDetail.contains("request id") && !broken.publicDetail.contains("no_such_table"))
        }
    }

    @Test func anExhaustedPoolIsUnavailableWithRetryAfter() async throws {
        let db = PostgresClient(
            configuration: PostgresConfiguration(url: Secret(try TestEnvironment.databaseURL()), poolSize: 1, timeout: .milliseconds(300)),
            logger: Logger(label: "test", level: .error))
        let store = StoreDatabase(db)
        let holding = Signal()
        let release = Signal()
        let holder = Task {
            try await db.withConnection { connection in
                try await connection.query("SELECT 1")
                holding.fire()
                await release.wait()
            }
        }
        await holding.wait()
        let start = ContinuousClock.now
        let error = try await #require(throws: GatewayError.self) { try await store.query("SELECT 1") }
        print("pool exhausted (1 connection held, 0.3 s acquire timeout): 503 after \(ContinuousClock.now - start)")
        release.fire()
        try await holder.value
        await db.shutdown()
        #expect(error == .unavailable("the database is unavailable", retryAfter: StoreDatabase.retryAfterSeconds))
        let problem = error.problem(instance: "/v1/certificates", requestID: "r1")
        #expect(problem.status == 503 && problem.headers["Retry-After"] == String(StoreDatabase.retryAfterSeconds))
    }

    /// Polls `condition` (twice a second, up to 30 s).
    func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<60 {
            if (try? await condition()) == true { return true }
            try await Task.sleep(for: .milliseconds(500))
        }
        return false
    }
}
