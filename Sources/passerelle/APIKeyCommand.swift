import FoundationEssentials
import GatewayApp
import GatewayCore
import GatewayLogging

/// `passerelle api-key create --name NAME | list | revoke NAME_OR_ID`.
enum APIKeyCommand {
    static let usage = """
        usage: passerelle api-key create --name NAME   print a new key once (only its hash is stored)
               passerelle api-key list                 list keys (never the keys themselves)
               passerelle api-key revoke NAME_OR_ID    revoke a key
        """

    static func run(arguments: [String]) async -> Int32 {
        guard let sub = arguments.first else { return fail(usage) }
        guard let config = CommandLineTool.loadConfig() else { return 78 }
        let logger = Logger(label: "passerelle", level: max(config.logLevel, .warning))
        return await AppDatabase.withPrepared(config.database, logger: logger) { error in
            if let gatewayError = error as? GatewayError, case .conflict = gatewayError {
                writeToStandardError("an API key with that name already exists\n")
            } else {
                writeToStandardError("passerelle api-key: \(error)\n")
            }
            return 1
        } _: { db, _ in
            let store = APIKeyStore(db: db)
            switch sub {
            case "create":
                guard let i = arguments.firstIndex(of: "--name"), i + 1 < arguments.count,
                    !arguments[i + 1].isEmpty
                else { return fail(usage) }
                let (key, info) = try await store.create(name: arguments[i + 1])
                print(key.reveal)
                writeToStandardError("created API key '\(info.name)' (\(info.id.uuidString.lowercased())); it is shown only this once\n")
                return 0
            case "list":
                let keys = try await store.list()
                print("ID                                    NAME                  PREFIX  CREATED               STATUS")
                for k in keys {
                    let status = k.revokedAt.map { "revoked \(RFC3339.string($0))" } ?? "active"
                    let name = k.name.count >= 20 ? String(k.name.prefix(20)) : k.name + String(repeating: " ", count: 20 - k.name.count)
                    print(
                        "\(k.id.uuidString.lowercased())  \(name)  \(k.prefix)  \(RFC3339.string(k.createdAt))  \(status)")
                }
                return 0
            case "revoke":
                guard arguments.count == 2 else { return fail(usage) }
                if try await store.revoke(nameOrID: arguments[1]) {
                    print("revoked \(arguments[1])")
                    return 0
                }
                writeToStandardError("no active API key named or with id '\(arguments[1])'\n")
                return 1
            default:
                return fail(usage)
            }
        }
    }

    static func fail(_ message: String) -> Int32 {
        writeToStandardError(message + "\n")
        return 64
    }
}
