import FoundationEssentials
import GatewayLogging
import PostgresKit

/// The application's PostgreSQL: the pool built from `Config.Database` and the migrations shipped as resources.
public enum AppDatabase {
    /// The migrations in `Sources/GatewayApp/Migrations` (`NNNN_name.sql`), in version order.
    /// - Throws: when the resource folder is missing or a file name is malformed.
    public static func migrations() throws -> [Migration] {
        guard let folder = AppResources.migrations else {
            throw DatabaseError(.other, message: AppResources.problem() ?? "migration files not found")
        }
        return try Migration.load(from: folder)
    }

    /// A pool configured from `config`.
    /// - Precondition: `config.url` is set (the configuration reader requires it for serve and migrate).
    public static func client(_ config: Config.Database, logger: Logger) -> PostgresClient {
        var configuration = PostgresConfiguration(
            url: config.url ?? Secret(""),
            poolSize: config.poolSize,
            timeout: .milliseconds(Int(config.timeoutSeconds * 1000)),
            statementTimeout: .milliseconds(Int(config.statementTimeoutSeconds * 1000)),
            applicationName: "passerelle")
        configuration.password = config.password
        return PostgresClient(configuration: configuration, logger: logger.labeled("passerelle.db"))
    }

    /// Waits for the server (bounded by `startupWaitSeconds`, unless it is infinite), then applies pending
    /// migrations under the advisory lock, so replicas starting together apply each one exactly once.
    /// - Returns: the versions applied by this call.
    @discardableResult
    public static func prepare(_ client: PostgresClient, config: Config.Database, logger: Logger) async throws -> [Int] {
        let migrator = Migrator(client: client, migrations: try migrations(), logger: logger)
        let wait = config.startupWaitSeconds
        try await client.waitUntilAvailable(
            timeout: wait.isFinite ? .milliseconds(Int(wait * 1000)) : nil, logger: logger)
        return try await migrator.migrate()
    }

    /// For the one-shot commands (`migrate`, `api-key`, `rotate-master-key`): a pool from `config`, prepared, given to
    /// `body` with the versions `prepare` applied; shut down after, whatever happens.
    /// - Returns: `body`'s exit status, or what `failed` makes of an error thrown by `prepare` or `body`.
    public static func withPrepared(
        _ config: Config.Database, logger: Logger, failed: (any Error) -> Int32,
        _ body: (PostgresClient, _ applied: [Int]) async throws -> Int32
    ) async -> Int32 {
        let db = client(config, logger: logger)
        let code: Int32
        do {
            code = try await body(db, try await prepare(db, config: config, logger: logger))
        } catch {
            code = failed(error)
        }
        await db.shutdown()
        return code
    }
}
