import Foundation
import GatewayLogging
import PostgresKit
import Synchronization
import Testing
import TestSupport

/// Replicas: three `passerelle serve` processes sharing one database, many concurrent calls on one connection across
/// its access token's expiries → the simulator (a `passerelle simulator` process with one-time refresh tokens)
/// counts exactly one refresh per refresh-token generation and no refresh-token reuse, and every call answers 200.
///
/// Time is real on both sides (the gateway decides expiry by its own clock from the bank's `expires_in`): access
/// tokens live 5 s. With a refresh margin of 2 s each replica wants to refresh 3 s after each issuance, ahead of
/// the bank's expiry. With a margin of 0 the gateway uses a token up to its very end, so near each expiry the bank
/// (whose clock counts whole seconds) may already refuse it with 401: every replica that got one forces a refresh of
/// that generation, and only the first may do it. The background refresher is off, so every refresh is raced for by
/// request paths.
@Suite(.serialized) struct ReplicaRefreshRaceTests {
    static let accessTokenSeconds = 5
    static let workers = 12
    static let psu = [("PSU-IP-Address", "192.0.2.10"), ("PSU-User-Agent", "race/1.0")]

    /// One configuration of the race.
    struct Race: Sendable, CustomTestStringConvertible {
        var bank: String
        var refreshMarginSeconds: Int
        var firingSeconds: Double
        var testDescription: String { "\(bank), margin \(refreshMarginSeconds) s" }
    }

    @Test(arguments: [
        Race(bank: "cmcic:cic", refreshMarginSeconds: 2, firingSeconds: 8),
        Race(bank: "bpce:13807", refreshMarginSeconds: 2, firingSeconds: 8),
        Race(bank: "cmcic:cic", refreshMarginSeconds: 0, firingSeconds: 11.5),
    ])
    func threeReplicasRefreshOncePerGenerationUnderConcurrentCalls(race: Race) async throws {
        let cluster = try await ReplicaCluster.start(
            replicas: 3,
            simulatorEnvironment: [
                "PASSERELLE_SIMULATOR_ONE_TIME_REFRESH_TOKENS": "true",
                "PASSERELLE_SIMULATOR_ACCESS_TOKEN_SECONDS": "\(Self.accessTokenSeconds)",
            ],
            gatewayEnvironment: [
                "PASSERELLE_TOKEN_REFRESH_MARGIN_SECONDS": "\(race.refreshMarginSeconds)",
                "PASSERELLE_TOKEN_REFRESHER_INTERVAL_SECONDS": "0",
            ])
        do {
            try await Self.run(race, on: cluster)
        } catch {
            Issue.record("simulator log tail:\n\(cluster.simulator.logTail(30))")
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    static func run(_ race: Race, on cluster: ReplicaCluster) async throws {
        let bank = race.bank
        let first = cluster.gateways[0]
        // Registration and authorization through replica 1.
        let (connection, clientID, _) = try await connect(first, cluster: cluster, bank: bank, persona: "marc")
        let authorizedAt = ContinuousClock.now
        let before = try await cluster.counters()
        #expect(before.refreshesByGeneration.isEmpty, "no refresh before the race: \(before.raw)")

        // Many concurrent attended reads spread over the three replicas, across at least two expiries.
        let tally = Shared<[Int: [Int: Int]]>([:])  // replica → status → count
        let failures = Shared<[String]>([])
        let deadline = ContinuousClock.now + .seconds(race.firingSeconds)
        let ports = cluster.gateways.map(\.port)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var n = worker
                    while ContinuousClock.now < deadline {
                        let replica = n % ports.count
                        n += 1
                        let status: Int
                        do {
                            let response = try await TestHTTPClient(port: ports[replica]).send(
                                "GET", "/v1/connections/\(connection)/accounts",
                                headers: psu + [("Authorization", "Bearer \(ReplicaCluster.apiKey)")])
                            status = response.status
                            if status != 200 || (response.json["accounts"] as? [Any])?.count != 3 {
                                failures.withLock {
                                    if $0.count < 10 { $0.append("replica \(replica + 1): \(status) \(response.text.prefix(300))") }
                                }
                            }
                        } catch {
                            status = -1
                            failures.withLock { if $0.count < 10 { $0.append("replica \(replica + 1): \(error)") } }
                        }
                        tally.withLock { $0[replica, default: [:]][status, default: 0] += 1 }
                    }
                }
            }
        }

        let byReplica = tally.withLock { $0 }
        let total = byReplica.values.flatMap(\.values).reduce(0, +)
        let ok = byReplica.values.compactMap { $0[200] }.reduce(0, +)
        let counters = try await cluster.counters()
        let elapsed = ContinuousClock.now - authorizedAt
        func logged(_ message: String) -> [Int] {
            cluster.gateways.map { gateway in gateway.process.log.split(separator: "\n").filter { $0.contains(message) }.count }
        }
        let refreshLines = logged("refreshed the access token")
        let retryLines = logged("bank refused the access token; refreshing once and retrying")
        let summary =
            "calls \(total) (200: \(ok)) per replica \(byReplica.sorted { $0.key < $1.key }.map { "\($0.key + 1): \($0.value)" }); "
            + "refreshes logged per replica \(refreshLines); 401 retries per replica \(retryLines); simulator \(counters.raw)"
        print("ReplicaRefreshRaceTests \(race.testDescription): \(summary)")

        // Every call answered 200 with the three accounts, on every replica.
        #expect(ok == total, "\(failures.withLock { $0 })")
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        for replica in 0..<cluster.gateways.count {
            #expect((byReplica[replica]?[200] ?? 0) > 0, "replica \(replica + 1) answered: \(summary)")
        }
        // Exactly one refresh per refresh-token generation, at least two generations, no reuse of a refresh token.
        let generations = counters.refreshesByGeneration.keys.sorted()
        #expect(generations.count >= 2, "at least two expiries crossed: \(summary)")
        #expect(generations == Array(1...max(1, generations.count)), "generations 1…N refreshed: \(summary)")
        #expect(counters.refreshesByGeneration.values.allSatisfy { $0 == 1 }, "one refresh per generation: \(summary)")
        #expect(counters.refreshReuseAttempts == 0, "no refresh-token reuse: \(summary)")
        // A replica that waited for the lock used the fresh token instead of refreshing again: a token is refreshed
        // only once inside the margin, i.e. at most once per (lifetime − margin) since the authorization.
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let bound = Int(seconds / Double(accessTokenSeconds - race.refreshMarginSeconds)) + 1
        #expect(generations.count <= bound, "no more than \(bound) refreshes in \(elapsed): \(summary)")
        #expect(counters.refreshesByClient[clientID] == generations.count, "\(summary)")
        #expect(counters.tokenIssuancesByClient[clientID] == 1 + generations.count, "the code + the refreshes: \(summary)")
        // The simulator refused nothing but expired access tokens, each answered by a refresh-and-retry.
        #expect(counters.rejections == retryLines.reduce(0, +), "\(summary)")
        if race.refreshMarginSeconds > 0 { #expect(counters.rejections == 0, "refreshed ahead of the bank: \(summary)") }
        // The gateways agree: as many refreshes logged (over all replicas) as the bank counted.
        #expect(refreshLines.reduce(0, +) == generations.count, "\(summary)")
        // And the connection is still active after the race.
        let after = try await first.request("GET", "/v1/connections/\(connection)")
        #expect(after.json["status"] as? String == "active", "\(after.text)")
    }

    /// Uploads the test QWAC and QSealC through `gateway`; returns their ids.
    static func uploadCertificates(_ gateway: ReplicaCluster.Gateway) async throws -> [String] {
        var certificates: [String] = []
        for (cert, key) in [("qwac-chain.pem", "qwac.key"), ("qseal-chain.pem", "qseal.key")] {
            let uploaded = try await gateway.request(
                "POST", "/v1/certificates",
                json: ["certificate": try TestEnvironment.pkiContents(cert), "privateKey": try TestEnvironment.pkiContents(key)])
            try #require(uploaded.status == 201, "\(uploaded.text)")
            certificates.append(try #require(uploaded.json["id"] as? String))
        }
        return certificates
    }

    /// Uploads the test QWAC and QSealC, registers at `bank`, creates a connection, plays the browser with `persona`
    /// and posts the code, all through `gateway`; returns the connection id, the registration's client id and the
    /// authorization code (spent).
    static func connect(_ gateway: ReplicaCluster.Gateway, cluster: ReplicaCluster, bank: String, persona: String)
        async throws -> (connection: String, clientID: String, code: String)
    {
        let certificates = try await uploadCertificates(gateway)
        let registered = try await gateway.request(
            "POST", "/v1/registrations",
            json: RegistrationsAPITests.body(
                bank: bank, qwac: certificates[0], qseal: certificates[1], name: "Passerelle race \(UUID().uuidString.prefix(6))"))
        try #require(registered.status == 201, "\(registered.text)")
        let clientID = try #require(registered.json["clientId"] as? String)
        if registered.json["status"] as? String == "pending" {
            // BPCE: the gateway (real time here) waits for the next working day 14:00 Paris; the simulator activated
            // it at once. Move the activation time into the past, as if that day had come.
            let registration = try #require(registered.json["id"] as? String)
            try await cluster.execute(
                "UPDATE registrations SET activates_at = now() - interval '1 second' WHERE id = CAST(\(registration) AS uuid)")
        }
        let created = try await gateway.request(
            "POST", "/v1/connections",
            json: ["bank": bank, "psuReference": "race-\(persona)", "redirectUri": "https://tpp.example/callback"])
        try #require(created.status == 201, "\(created.text)")
        let id = try #require(created.json["id"] as? String)
        let state = try #require(created.json["state"] as? String)
        let url = try #require(created.json["authorizationUrl"] as? String)
        let location = try await cluster.followAuthorization(url, persona: persona)
        try #require(location.queryValue("state") == state, "\(location)")
        let code = try #require(location.queryValue("code"), "\(location)")
        let authorized = try await gateway.request(
            "POST", "/v1/connections/\(id)/authorization", json: ["code": code, "state": state])
        try #require(authorized.status == 200, "\(authorized.text)")
        #expect(authorized.json["status"] as? String == "active")
        return (id, clientID, code)
    }
}

/// A value shared by the tasks of a test.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}

/// A `passerelle simulator` process and N `passerelle serve` processes on free ports sharing one fresh database,
/// one master key and one bootstrap API key, with the simulator as their banks (`cmcic:*` by path, `bpce:*` by
/// host). Every process is killed by `stop()` — or, if starting fails half-way, before `start` throws.
final class ReplicaCluster: Sendable {
    static let apiKey = "pk_test_replica_key_0123456789abcdef"
    static let masterKey = "q0VpU7Yb0pUj0c8b3bGx3bq6qL6u2v8bq7wR3vZ5Y4E="

    /// One `serve` process and its port.
    struct Gateway: Sendable {
        let process: ChildProcess
        let port: Int

        /// A request with the cluster's API key.
        func request(_ method: String, _ path: String, json: [String: Any]? = nil) async throws -> TestResponse {
            let auth = [("Authorization", "Bearer \(ReplicaCluster.apiKey)")]
            let client = TestHTTPClient(port: port)
            if let json { return try await client.sendJSON(method, path, json, headers: auth) }
            return try await client.send(method, path, headers: auth)
        }
    }

    let simulator: ChildProcess
    let simulatorPort: Int
    let gateways: [Gateway]
    let banksFile: String
    let databaseURL: String
    /// How the gateways were started (for `startGateway`).
    private let binary: String
    private let gatewayEnvironment: [String: String]

    private init(
        simulator: ChildProcess, simulatorPort: Int, gateways: [Gateway], banksFile: String, databaseURL: String,
        binary: String, gatewayEnvironment: [String: String]
    ) {
        self.simulator = simulator
        self.simulatorPort = simulatorPort
        self.gateways = gateways
        self.banksFile = banksFile
        self.databaseURL = databaseURL
        self.binary = binary
        self.gatewayEnvironment = gatewayEnvironment
    }

    /// One more `serve` process like the others, once ready; the caller stops it (`stop()` does not know it).
    func startGateway(name: String) async throws -> Gateway {
        let process = try ChildProcess.spawn(name: name, executable: binary, arguments: ["serve"], environment: gatewayEnvironment)
        do {
            return try await Self.ready(process)
        } catch {
            await process.kill()
            process.removeLog()
            throw error
        }
    }

    /// Waits for a `serve` process to listen and be ready.
    private static func ready(_ process: ChildProcess) async throws -> Gateway {
        let port = try port(in: try await process.waitForLine(containing: "\"message\":\"listening\""), key: "http.port")
        _ = try await process.waitForLine(containing: "\"message\":\"ready\"")
        return Gateway(process: process, port: port)
    }

    /// Starts a cluster, runs `body` on it and always stops it.
    static func with(
        replicas: Int, simulatorEnvironment: [String: String], gatewayEnvironment: [String: String],
        _ body: (ReplicaCluster) async throws -> Void
    ) async throws {
        let cluster = try await start(
            replicas: replicas, simulatorEnvironment: simulatorEnvironment, gatewayEnvironment: gatewayEnvironment)
        do {
            try await body(cluster)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    static func start(
        replicas: Int, simulatorEnvironment: [String: String], gatewayEnvironment: [String: String]
    ) async throws -> ReplicaCluster {
        guard let binary = TestEnvironment.executablePath(), !binary.isEmpty else {
            throw ProcessFailure(
                description: "PASSERELLE_TEST_BINARY is not set: run the suite with scripts/test, which exports the built passerelle")
        }
        let pki = try TestEnvironment.pkiDirectory()
        var started: [ChildProcess] = []
        var banksFile: String?
        var createdDatabase: String?
        do {
            var simEnv = [
                "PASSERELLE_SIMULATOR_HOST": "127.0.0.1", "PASSERELLE_SIMULATOR_PORT": "0",
                "PASSERELLE_SIMULATOR_TLS_CERT": pki + "/server-chain.pem",
                "PASSERELLE_SIMULATOR_TLS_KEY": pki + "/server.key", "PASSERELLE_SIMULATOR_CLIENT_CA": pki + "/ca.crt",
                "PASSERELLE_SIMULATOR_ACTIVATION": "immediate", "PASSERELLE_SIMULATOR_EI_API_VERSION": "v2.0,v2.1",
                "PASSERELLE_LOG_LEVEL": "info",
            ]
            simEnv.merge(simulatorEnvironment) { _, new in new }
            let simulator = try ChildProcess.spawn(
                name: "simulator", executable: binary, arguments: ["simulator"], environment: simEnv)
            started.append(simulator)
            let simulatorPort = try port(in: try await simulator.waitForLine(containing: "bank simulator listening"), key: "port")

            let file = NSTemporaryDirectory() + "passerelle-race-banks-\(UUID().uuidString).json"
            banksFile = file
            try banksJSON(port: simulatorPort).write(toFile: file, atomically: true, encoding: .utf8)
            let databaseURL = try await TestDatabases.create()
            createdDatabase = databaseURL
            var env = [
                "PASSERELLE_DATABASE_URL": databaseURL, "PASSERELLE_HTTP_HOST": "127.0.0.1", "PASSERELLE_HTTP_PORT": "0",
                "PASSERELLE_MASTER_KEY": masterKey, "PASSERELLE_BOOTSTRAP_API_KEY": apiKey,
                "PASSERELLE_LOG_LEVEL": "info", "PASSERELLE_DATABASE_POOL_SIZE": "4",
                "PASSERELLE_BANKS_FILE": file, "PASSERELLE_BANK_CA_FILE": pki + "/ca.crt",
                "PASSERELLE_SHUTDOWN_GRACE_SECONDS": "1",
            ]
            env.merge(gatewayEnvironment) { _, new in new }
            // All replicas start together: migrations and the bootstrap key race too (advisory lock, idempotent).
            var processes: [ChildProcess] = []
            for index in 1...replicas {
                let process = try ChildProcess.spawn(
                    name: "serve-\(index)", executable: binary, arguments: ["serve"], environment: env)
                started.append(process)
                processes.append(process)
            }
            var gateways: [Gateway] = []
            for process in processes { gateways.append(try await ready(process)) }
            return ReplicaCluster(
                simulator: simulator, simulatorPort: simulatorPort, gateways: gateways, banksFile: file,
                databaseURL: databaseURL, binary: binary, gatewayEnvironment: env)
        } catch {
            for process in started {
                await process.kill()
                Issue.record("\(process.name) log tail:\n\(process.logTail())")
                process.removeLog()
            }
            if let banksFile { try? FileManager.default.removeItem(atPath: banksFile) }
            if let createdDatabase { await TestDatabases.drop(createdDatabase) }
            throw error
        }
    }

    /// Runs one statement on the replicas' database (test set-up only).
    func execute(_ query: Query) async throws {
        let db = PostgresClient(
            configuration: PostgresConfiguration(url: Secret(databaseURL), poolSize: 1), logger: Logger(label: "test", level: .error))
        do {
            _ = try await db.execute(query)
        } catch {
            await db.shutdown()
            throw error
        }
        await db.shutdown()
    }

    /// The column `value` of every row of `query` on the replicas' database, as text.
    func texts(_ query: Query) async throws -> [String] {
        let db = PostgresClient(
            configuration: PostgresConfiguration(url: Secret(databaseURL), poolSize: 1), logger: Logger(label: "test", level: .error))
        do {
            let rows = try await db.query(query)
            await db.shutdown()
            return try rows.map { try $0.decode("value", as: String.self) }
        } catch {
            await db.shutdown()
            throw error
        }
    }

    /// Kills every process (SIGKILL, reaped), removes the banks file and the logs, drops the database.
    func stop() async {
        for gateway in gateways { await gateway.process.kill() }
        await simulator.kill()
        for process in [simulator] + gateways.map(\.process) { process.removeLog() }
        try? FileManager.default.removeItem(atPath: banksFile)
        await TestDatabases.drop(databaseURL)
    }

    /// The banks file of scripts/lib/simulator-banks.sh for `port` (Euro-Information by path, BPCE by host).
    static func banksJSON(port: Int) -> String {
        let ei = { (segment: String) in
            "\"cmcic:\(segment)\": {\"sandbox\": {\"origin\": \"https://localhost:\(port)\", "
                + "\"authorize\": \"https://localhost:\(port)/sandbox/\(segment)/oauth2/{lang}/sandbox/signin.html\"}}"
        }
        let bpce = { (code: String) in
            "\"bpce:\(code)\": {\"sandbox\": {\"origin\": \"https://bpce-\(code).sim.localhost:\(port)\"}}"
        }
        return "{\"banks\": {\(ei("cic")), \(ei("becm")), \(bpce("13807")), \(bpce("17515"))}}"
    }

    /// The number in `"key":"digits"` of a JSON log line.
    static func port(in line: String, key: String) throws -> Int {
        let marker = "\"\(key)\":\""
        guard let range = line.range(of: marker), let port = Int(line[range.upperBound...].prefix { $0.isNumber }) else {
            throw ProcessFailure(description: "no \(key) in \(line)")
        }
        return port
    }

    /// Plays the customer's browser without a client certificate: GETs the authorize URL with `persona=` and
    /// returns where the bank redirects.
    func followAuthorization(_ url: String, persona: String) async throws -> URL {
        let separator = url.contains("?") ? "&" : "?"
        let out = try await runProcess(
            "/usr/bin/curl",
            ["-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{redirect_url}", "--cacert",
             try TestEnvironment.pki("ca.crt"), url + separator + "persona=" + persona])
        guard let location = URL(string: out.trimmingCharacters(in: .whitespacesAndNewlines)), location.scheme != nil else {
            throw ProcessFailure(description: "the authorize page did not redirect (got \"\(out)\")")
        }
        return location
    }

    /// What `GET /__simulator/counters` says.
    struct Counters {
        var raw: String
        var refreshesByGeneration: [Int: Int]
        var refreshesByClient: [String: Int]
        var tokenIssuancesByClient: [String: Int]
        var refreshReuseAttempts: Int
        var rejections: Int
    }

    /// One call to the simulator's introspection (`/__simulator/…`); returns the body (fails on a non-2xx answer).
    @discardableResult
    func simulator(_ method: String, _ path: String) async throws -> String {
        try await runProcess(
            "/usr/bin/curl",
            ["-sS", "--fail", "--max-time", "20", "-X", method, "--cacert", try TestEnvironment.pki("ca.crt"),
             "https://localhost:\(simulatorPort)/__simulator/\(path)"])
    }

    func counters() async throws -> Counters {
        let out = try await simulator("GET", "counters")
        guard let object = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String: Any] else {
            throw ProcessFailure(description: "counters are not a JSON object: \(out)")
        }
        func ints(_ key: String) -> [String: Int] {
            ((object[key] as? [String: Any]) ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
        }
        return Counters(
            raw: out.trimmingCharacters(in: .whitespacesAndNewlines),
            refreshesByGeneration: Dictionary(
                uniqueKeysWithValues: ints("refreshesByGeneration").compactMap { k, v in Int(k).map { ($0, v) } }),
            refreshesByClient: ints("refreshesByClient"), tokenIssuancesByClient: ints("tokenIssuancesByClient"),
            refreshReuseAttempts: (object["refreshReuseAttempts"] as? NSNumber)?.intValue ?? -1,
            rejections: (object["rejections"] as? NSNumber)?.intValue ?? -1)
    }
}
