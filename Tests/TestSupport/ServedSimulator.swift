import BankSimulator
import CurlKit
import GatewayLogging
import HTTPServerKit
import OpenSSLKit

/// The strict bank simulator served in-process by `HTTPServer` over TLS on port 0, with the test PKI's server
/// certificate and client certificates checked against the test CA: what end-to-end tests of the adapters and the
/// gateway talk to.
public final class ServedSimulator: Sendable {
    public let simulator: BankSimulator
    public let server: HTTPServer
    private let runTask: Task<Void, Never>

    /// The port the server listens on (127.0.0.1).
    public var port: Int { server.boundPort }

    /// Starts serving at once.
    /// - Parameters:
    ///   - clock: The simulator's clock (tests move it).
    ///   - logger: The server's logger (errors only by default).
    ///   - configure: Changes to the configuration; activation is immediate by default.
    public init(
        clock: SimulatorClock = SimulatorClock(), logger: Logger = Logger(label: "simulator", level: .error),
        configure: (inout SimulatorConfiguration) -> Void = { _ in }
    ) throws {
        var configuration = SimulatorConfiguration()
        configuration.activationMode = .immediate
        configure(&configuration)
        let pki = try TestEnvironment.pkiDirectory()
        simulator = BankSimulator(
            configuration: configuration,
            crypto: try OpenSSLSimulatorCrypto(caBundlePEM: try TestEnvironment.pkiContents("ca.crt")), clock: clock)
        let server = try HTTPServer(
            configuration: HTTPServer.Configuration(
                host: "127.0.0.1", port: 0,
                tls: TLSConfiguration(
                    certificateChain: .file(pki + "/server-chain.pem"), privateKey: .file(pki + "/server.key"),
                    clientVerification: .optional(trustRoots: .file(pki + "/ca.crt")))),
            handler: simulator, logger: logger)
        self.server = server
        runTask = Task { await server.run() }
    }

    /// A `CurlTransport` (two reactors) trusting only the test CA, as the gateway's adapters use against the simulator.
    public static func transport(logger: Logger = Logger(label: "simulator", level: .error)) throws -> CurlTransport {
        var configuration = CurlTransport.Configuration()
        configuration.trustAnchors = .pemFile(try TestEnvironment.pki("ca.crt"))
        configuration.reactors = 2
        return try CurlTransport(configuration: configuration, logger: logger)
    }

    /// Stops the server, letting requests in flight finish for `gracePeriod`.
    public func stop(gracePeriod: Duration = .milliseconds(200)) async {
        server.shutdown(gracePeriod: gracePeriod)
        await runTask.value
    }
}
