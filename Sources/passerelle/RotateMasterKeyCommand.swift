import GatewayApp
import GatewayLogging

/// `passerelle rotate-master-key`: re-wraps every stored secret under the current (highest) master key version.
enum RotateMasterKeyCommand {
    static func run(arguments: [String]) async -> Int32 {
        guard let config = CommandLineTool.loadConfig(requireMasterKey: true), let keyring = config.masterKeyring
        else { return 78 }
        let logger = Logger(label: "passerelle", level: config.logLevel)
        return await AppDatabase.withPrepared(config.database, logger: logger) { error in
            logger.error("master key rotation failed", metadata: ["error": "\(error)"])
            return 1
        } _: { db, _ in
            let n = try await MasterKeyRotation.run(db: db, vault: SecretVault(keyring: keyring), logger: logger)
            logger.info("master key rotation done", metadata: ["rewrapped": "\(n)", "current_version": "\(keyring.currentVersion)"])
            print("re-wrapped \(n) secret(s) under master key version \(keyring.currentVersion)")
            return 0
        }
    }
}
