import BankSimulator
import FoundationEssentials
import GatewayLogging
import HTTPServerKit
import OpenSSLKit

#if canImport(Glibc)
    import Glibc
#endif

/// `passerelle simulator`: the strict Euro-Information and BPCE sandboxes (docs/simulator.md) over TLS. Client
/// certificates are requested and, when sent, must chain to `PASSERELLE_SIMULATOR_CLIENT_CA`; the simulator itself
/// refuses bank calls without one (the authorize pages are for browsers and need none).
enum SimulatorCommand {
    static func run(arguments: [String]) async -> Int32 {
        let env = ProcessInfo.processInfo.environment
        let level = env["PASSERELLE_LOG_LEVEL"].flatMap(Logger.Level.init(name:)) ?? .info
        let logger = Logger(label: "passerelle.simulator", level: level)
        let configuration: SimulatorConfiguration
        do {
            configuration = try SimulatorConfiguration(environment: env)
        } catch {
            writeToStandardError("passerelle simulator: \(error)\n")
            return 78
        }
        var missing: [String] = []
        if configuration.tlsCertificateFile == nil { missing.append("PASSERELLE_SIMULATOR_TLS_CERT") }
        if configuration.tlsKeyFile == nil { missing.append("PASSERELLE_SIMULATOR_TLS_KEY") }
        if configuration.clientCAFile == nil { missing.append("PASSERELLE_SIMULATOR_CLIENT_CA") }
        guard missing.isEmpty, let certFile = configuration.tlsCertificateFile, let keyFile = configuration.tlsKeyFile,
            let caFile = configuration.clientCAFile
        else {
            writeToStandardError("passerelle simulator: missing \(missing.joined(separator: ", "))\n")
            return 78
        }
        do {
            let caPEM = try String(contentsOfFile: caFile, encoding: .utf8)
            let simulator = BankSimulator(
                configuration: configuration, crypto: try OpenSSLSimulatorCrypto(caBundlePEM: caPEM))
            let tls = TLSConfiguration(
                certificateChain: .file(certFile), privateKey: .file(keyFile),
                clientVerification: .optional(trustRoots: .file(caFile)))
            let server = try HTTPServer(
                configuration: .init(host: configuration.host, port: configuration.port, tls: tls), handler: simulator,
                logger: logger)
            logger.info(
                "bank simulator listening on https://\(configuration.host):\(server.boundPort)",
                metadata: ["port": String(server.boundPort), "activation": configuration.activationMode.rawValue])
            await server.run(untilSignals: [SIGTERM, SIGINT], gracePeriod: .seconds(5))
            return 0
        } catch {
            writeToStandardError("passerelle simulator: cannot start: \(error)\n")
            return 1
        }
    }
}
