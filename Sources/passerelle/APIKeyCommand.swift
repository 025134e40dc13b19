import Foundation
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
                FileHandle.standardError.write(Data("an API key with that name already exists\n".utf8))
            } else {
                FileHandle.standardError.write(Data("passerelle api-key: \(error)\n".utf8))
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
                FileHandle.standardError.write(
                    Data("created API key '\(info.name)' (\(info.id.uuidString.lowercased())); it is shown only this once\n".utf8))
                return 0
            case "list":
                let keys = try await store.list()
                print("ID                                    NAME                  PREFIX  CREATED               STATUS")
                let format = ISO8601DateFormatter()
                for k in keys {
                    let status = k.revokedAt.map { "revoked \(format.string(from: $0))" } ?? "active"
                    print(
                        "\(k.id.uuidString.lowercased())  \(k.name.padding(toLength: 20, withPad: " ", startingAt: 0))  "
                            + "\(k.prefix)  \(format.string(from: k.createdAt))  \(status)")
                }
                return 0
            case "revoke":
                guard arguments.count == 2 else { return fail(usage) }
                if try await store.revoke(nameOrID: arguments[1]) {
                    print("revoked \(arguments[1])")
                    return 0
                }
                FileHandle.standardError.write(Data("no active API key named or with id '\(arguments[1])'\n".utf8))
                return 1
            default:
                return fail(usage)
            }
        }
    }

    static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        return 64
    }
}
