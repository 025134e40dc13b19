import GatewayApp
import GatewayLogging

/// `passerelle serve`: placeholder until the HTTP server and database layers are wired (issues 2 and 3).
enum ServeCommand {
    static func run(arguments: [String]) async -> Int32 {
        guard let config = CommandLineTool.loadConfig() else { return 78 }
        let logger = Logger(label: "passerelle", level: config.logLevel)
        logger.error("serve is not wired yet")
        return 1
    }
}
