import GatewayApp
import GatewayLogging

/// `passerelle migrate`: waits for the database, applies pending migrations under the advisory lock, exits.
enum MigrateCommand {
    static func run(arguments: [String]) async -> Int32 {
        guard let config = CommandLineTool.loadConfig() else { return 78 }
        let logger = Logger(label: "passerelle", level: config.logLevel)
        let db = AppDatabase.client(config.database, logger: logger)
        do {
            let applied = try await AppDatabase.prepare(db, config: config.database, logger: logger)
            logger.info(
                applied.isEmpty ? "database is up to date" : "applied migrations",
                metadata: ["migrations": applied.map(String.init).joined(separator: ",")])
            await db.shutdown()
            return 0
        } catch {
            logger.error("migration failed", metadata: ["error": "\(error)"])
            await db.shutdown()
            return 1
        }
    }
}
