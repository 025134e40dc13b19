import Foundation
import GatewayLogging
import PostgresKit

/// The application's PostgreSQL: the pool built from `Config.Database` and the migrations shipped as resources.
public enum AppDatabase {
    /// The migrations in `Sources/GatewayApp/Migrations` (`NNNN_name.sql`), in version order.
    /// - Throws: when the resource folder is missing or a file name is malformed.
    public static func migrations() throws -> [Migration] {
        guard let folder = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw DatabaseError(.other, message: "migration resources not found in the bundle")
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
}
