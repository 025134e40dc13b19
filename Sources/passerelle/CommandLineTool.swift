import FoundationEssentials
import GatewayApp
import GatewayLogging

#if canImport(Glibc)
    import Glibc
#endif

/// Dispatches `passerelle <command>`.
enum CommandLineTool {
    static let usage = """
        usage: passerelle <command> [options]

        commands:
          serve       run the gateway (HTTP API) — configured by PASSERELLE_* environment variables
          migrate     apply database migrations and exit
          api-key     create, list or revoke internal API keys
          rotate-master-key  re-wrap stored secrets under the current PASSERELLE_MASTER_KEY version
          simulator   run the strict bank simulator (Euro-Information and BPCE sandboxes) over TLS
          sign-request  print the Digest and Signature headers for a request (debugging; see --help)
          version     print the version
          help        print this message
        """

    static func run(arguments: [String]) async -> Int32 {
        guard let command = arguments.first else {
            writeToStandardError(usage + "\n")
            return 64
        }
        let rest = Array(arguments.dropFirst())
        // Commands that read the migrations or the OpenAPI document refuse to start without them.
        let needsResources = ["version", "--version", "-v", "serve", "migrate", "api-key", "rotate-master-key"]
        if needsResources.contains(command), let problem = AppResources.problem() {
            writeToStandardError("passerelle: \(problem)\n")
            return 70
        }
        switch command {
        case "version", "--version", "-v":
            print("passerelle \(PasserelleVersion.current)")
            return 0
        case "help", "--help", "-h":
            print(usage)
            return 0
        case "serve":
            return await ServeCommand.run(arguments: rest)
        case "migrate":
            return await MigrateCommand.run(arguments: rest)
        case "api-key":
            return await APIKeyCommand.run(arguments: rest)
        case "rotate-master-key":
            return await RotateMasterKeyCommand.run(arguments: rest)
        case "sign-request": return SignRequestCommand.run(arguments: rest)
        case "simulator": return await SimulatorCommand.run(arguments: rest)
        default:
            writeToStandardError("passerelle: unknown command '\(command)'\n\n\(usage)\n")
            return 64
        }
    }

    /// Reads the configuration or prints every problem and returns nil (the command then exits 78, EX_CONFIG).
    static func loadConfig(requireMasterKey: Bool = false) -> Config? {
        do {
            return try Config(environment: ProcessInfo.processInfo.environment, requireMasterKey: requireMasterKey)
        } catch {
            writeToStandardError("passerelle: \(error.description)\n")
            return nil
        }
    }
}

/// Writes `text` to standard error as is: the commands' messages (standard output carries their results).
func writeToStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var rest = UnsafeRawBufferPointer(bytes)
        while !rest.isEmpty {
            let written = write(STDERR_FILENO, rest.baseAddress, rest.count)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            rest = UnsafeRawBufferPointer(rebasing: rest[written...])
        }
    }
}
