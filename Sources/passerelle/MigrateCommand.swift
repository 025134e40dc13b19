import GatewayApp
import GatewayLogging

/// `passerelle migrate`: waits for the database, applies pending migrations under the advisory lock, exits.
enum MigrateCommand {
    static func run(arguments: [String]) async -> Int32 {
        guard let config = CommandLineTool.loadConfig() else { return 78 }
        let logger = Logger(label: "passerelle", level: config.logLevel)
        return await AppDatabase.withPrepared(config.database, logger: logger) { error in
            logger.error("migration failed", metadata: ["error": "\(error)"])
            return 1
        } _: { _, applied in
            logger.info(
                applied.isEmpty ? "database is up to date" : "applied migrations",
                metadata: ["migrations": applied.map(String.init).joined(separator: ",")])
            return 0
        }
    }
}
