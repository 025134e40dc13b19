import BankSimulator
import Foundation
import GatewayApp
import GatewayCore
import GatewayLogging
import HTTPServerKit
import OpenSSLKit
import TestSupport

/// The strict bank simulator served in-process over TLS (client certificates checked against the test CA), for
/// end-to-end tests of the gateway with the real adapters, libcurl and mutual TLS.
final class SimulatorHarness: Sendable {
    let served: ServedSimulator
    let logs: CapturingLogSink
    let banksFile: String

    var simulator: BankSimulator { served.simulator }
    var port: Int { served.port }

    private init(served: ServedSimulator, logs: CapturingLogSink, banksFile: String) {
        self.served = served
        self.logs = logs
        self.banksFile = banksFile
    }

    /// Starts the simulator on a free port and writes a banks file pointing `cmcic:cic`, `cmcic:becm`,
    /// `bpce:13807` and `bpce:17515` (sandbox) at it.
    /// - Parameter configure: changes to the default configuration (activation is immediate by default).
    static func start(
        clock: SimulatorClock = SimulatorClock(), configure: (inout SimulatorConfiguration) -> Void = { _ in }
    ) async throws -> SimulatorHarness {
        let logs = CapturingLogSink()
        let served = try ServedSimulator(
            clock: clock, logger: Logger(label: "simulator", level: .info, sink: logs), configure: configure)
        let port = served.port
        let file = NSTemporaryDirectory() + "passerelle-banks-\(UUID().uuidString).json"
        let ei = { (segment: String) in
            "\"cmcic:\(segment)\": {\"sandbox\": {\"origin\": \"https://localhost:\(port)\", "
                + "\"authorize\": \"https://localhost:\(port)/sandbox/\(segment)/oauth2/{lang}/sandbox/signin.html\"}}"
        }
        let bpce = { (code: String) in
            "\"bpce:\(code)\": {\"sandbox\": {\"origin\": \"https://bpce-\(code).sim.localhost:\(port)\"}}"
        }
        let json = "{\"banks\": {\(ei("cic")), \(ei("becm")), \(bpce("13807")), \(bpce("17515"))}}"
        try json.write(toFile: file, atomically: true, encoding: .utf8)
        return SimulatorHarness(served: served, logs: logs, banksFile: file)
    }

    /// The gateway configured against this simulator: real adapters over libcurl with mutual TLS.
    func startGateway(
        environment: [String: String] = [:], databaseURL: String? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> AppHarness {
        var env = ["PASSERELLE_BANKS_FILE": banksFile, "PASSERELLE_BANK_CA_FILE": try TestEnvironment.pki("ca.crt")]
        env.merge(environment) { _, new in new }
        return try await AppHarness.start(
            makeAdapters: Application.standardAdapters(now: now), environment: env, databaseURL: databaseURL, now: now)
    }

    /// Starts the simulator and the gateway against it (`startGateway`), runs `body`, stops both whatever happens.
    static func withGateway<T>(
        environment: [String: String] = [:], _ body: (SimulatorHarness, AppHarness) async throws -> T
    ) async throws -> T {
        let sim = try await start()
        do {
            let h = try await sim.startGateway(environment: environment)
            let value = try await h.stopping { try await body(sim, h) }
            await sim.stop()
            return value
        } catch {
            await sim.stop()
            throw error
        }
    }

    /// GETs a browser-facing URL of the simulator (an authorize page) without a client certificate and returns the
    /// `Location` it redirects to.
    func followAuthorization(_ url: String, persona: String) async throws -> URL {
        let separator = url.contains("?") ? "&" : "?"
        let out = try await runProcess(
            "/usr/bin/curl",
            ["-sS", "-o", "/dev/null", "-w", "%{redirect_url}", "--cacert", try TestEnvironment.pki("ca.crt"),
             url + separator + "persona=" + persona])
        guard let location = URL(string: out.trimmingCharacters(in: .whitespacesAndNewlines)), location.scheme != nil else {
            throw ProcessFailure(description: "the authorize page did not redirect (got \"\(out)\")")
        }
        return location
    }

    func stop() async {
        await served.stop(gracePeriod: .seconds(1))
        try? FileManager.default.removeItem(atPath: banksFile)
    }
}

extension URL {
    /// The first value of query parameter `name`.
    func queryValue(_ name: String) -> String? {
        URLComponents(url: self, resolvingAgainstBaseURL: false)?.queryItems?.first { $0.name == name }?.value
    }
}
