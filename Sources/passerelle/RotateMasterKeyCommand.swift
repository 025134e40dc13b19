import GatewayApp
import GatewayLogging

/// `passerelle rotate-master-key`: re-wraps every stored secret under the current (highest) master key version.
enum RotateMasterKeyCommand {
    static func run(arguments: [String]) async -> Int32 {
        guard let config = CommandLineTool.loadConfig(requireMasterKey: true), let keyring = config.masterKeyring
        else { return 78 }
        let logger = Logger(label: "passerelle", level: config.logLevel)
        let db = AppDatabase.client(config.database, logger: logger)
        do {
            try await AppDatabase.prepare(db, config: config.database, logger: logger)
            let n = try await MasterKeyRotation.run(db: db, vault: SecretVault(keyring: keyring), logger: logger)
            logger.info("master key rotation done", metadata: ["rewrapped": "\(n)", "current_version": "\(keyring.currentVersion)"])
            print("re-wrapped \(n) secret(s) under master key version \(keyring.currentVersion)")
            await db.shutdown()
            return 0
        } catch {
            logger.error("master key rotation failed", metadata: ["error": "\(error)"])
            await db.shutdown()
            return 1
        }
    }
}
