import CurlKit
import Foundation
import GatewayApp
import GatewayCore
import GatewayLogging
import HTTPServerKit
import PostgresKit
import TestSupport

/// Runs the real `Application` (router, API-key gate, services, PostgreSQL) on a loopback port for end-to-end
/// tests, with a database of its own (a fresh copy of the migrated template, `TestDatabases`, dropped by `stop()`;
/// or one given, which the caller drops), a captured log and an API key. `with` stops it in all paths.
final class AppHarness: @unchecked Sendable {  // immutable after start
    static let apiKey = "pk_test_harness_key_0123456789abcdef"
    static let masterKey = "q0VpU7Yb0pUj0c8b3bGx3bq6qL6u2v8bq7wR3vZ5Y4E="

    let app: Application
    let server: HTTPServer
    let client: TestHTTPClient
    let logs: CapturingLogSink
    let databaseURL: String
    /// The harness created the database: `stop()` drops it.
    private let ownsDatabase: Bool
    let runTask: Task<Void, Never>

    private init(app: Application, server: HTTPServer, logs: CapturingLogSink, databaseURL: String, ownsDatabase: Bool) {
        self.app = app
        self.server = server
        self.logs = logs
        self.databaseURL = databaseURL
        self.ownsDatabase = ownsDatabase
        self.client = TestHTTPClient(port: server.boundPort)
        self.runTask = Task { await server.run() }
    }

    /// Starts the application.
    /// - Parameters:
    ///   - adapters: bank adapters by provider.
    ///   - environment: extra `PASSERELLE_*` variables.
    ///   - databaseURL: reuse a database (restart tests); a fresh one by default.
    static func start(
        adapters: [Provider: any BankAdapter] = [:],
        makeAdapters: (@Sendable (any HTTPTransport) -> [Provider: any BankAdapter])? = nil,
        environment: [String: String] = [:], databaseURL: String? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> AppHarness {
        let url: String
        if let databaseURL { url = databaseURL } else { url = try await TestDatabases.create() }
        do {
            var env: [String: String] = [
                "PASSERELLE_DATABASE_URL": url, "PASSERELLE_HTTP_HOST": "127.0.0.1", "PASSERELLE_HTTP_PORT": "0",
                "PASSERELLE_MASTER_KEY": masterKey, "PASSERELLE_BOOTSTRAP_API_KEY": apiKey, "PASSERELLE_LOG_LEVEL": "debug",
                "PASSERELLE_DATABASE_POOL_SIZE": "4",
            ]
            env.merge(environment) { _, new in new }
            let config = try Config(environment: env)
            let logs = CapturingLogSink()
            let logger = Logger(label: "passerelle", level: .debug, sink: logs)
            let app = try Application(config: config, logger: logger, adapters: adapters, makeAdapters: makeAdapters, now: now)
            do {
                try await app.prepare()
                let server = try app.makeServer()
                return AppHarness(app: app, server: server, logs: logs, databaseURL: url, ownsDatabase: databaseURL == nil)
            } catch {
                await app.shutdown()
                throw error
            }
        } catch {
            if databaseURL == nil { await TestDatabases.drop(url) }
            throw error
        }
    }

    /// Starts the application (as `start`), runs `body` with it and stops it whatever happens.
    static func with<T>(
        adapters: [Provider: any BankAdapter] = [:],
        makeAdapters: (@Sendable (any HTTPTransport) -> [Provider: any BankAdapter])? = nil,
        environment: [String: String] = [:], databaseURL: String? = nil,
        now: @escaping @Sendable () -> Date = { Date() }, _ body: (AppHarness) async throws -> T
    ) async throws -> T {
        let h = try await start(
            adapters: adapters, makeAdapters: makeAdapters, environment: environment, databaseURL: databaseURL, now: now)
        return try await h.stopping { try await body(h) }
    }

    /// Runs `body`, then stops the harness whatever happens.
    func stopping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let value = try await body()
            await stop()
            return value
        } catch {
            await stop()
            throw error
        }
    }

    /// Sends a request with the harness API key (unless `authorized` is false).
    func request(
        _ method: String, _ path: String, json: Any? = nil, headers: [(String, String)] = [], authorized: Bool = true
    ) async throws -> TestResponse {
        var all = headers
        if authorized { all.append(("Authorization", "Bearer \(Self.apiKey)")) }
        if let json { return try await client.sendJSON(method, path, json, headers: all) }
        return try await client.send(method, path, headers: all)
    }

    /// Stops the server and the application; drops the database when the harness created it.
    func stop() async {
        server.shutdown(gracePeriod: .seconds(1))
        await runTask.value
        await app.shutdown()
        if ownsDatabase { await TestDatabases.drop(databaseURL) }
    }
}
