import GatewayLogging
import HTTPServerKit

/// The strict Euro-Information and BPCE sandbox (docs/simulator.md) as one `HTTPHandler`.
///
/// Requests are told apart like this:
/// - `/__simulator/…`: introspection for tests (counters, reset, clock, token expiry).
/// - Host `bpce-<codetab>[.<label>].localhost[:port]` or `www.<codetab>.sandbox.api.89c3.com`, or the path prefix
///   `/bpce/<codetab>/…`: BPCE bank `<codetab>`.
/// - `/<segment>/…` or `/sandbox/<segment>/…` with a known Euro-Information segment: that brand.
///
/// Every refusal answers like the bank would and logs the precise reason at info level with `request.id`.
public struct BankSimulator: HTTPHandler {
    public let configuration: SimulatorConfiguration
    let crypto: any SimulatorCrypto
    /// The injectable clock (tests advance it; `/__simulator/clock/advance` too).
    public let clock: SimulatorClock
    let store = SimulatorStore()

    /// - Parameters:
    ///   - configuration: Lifetimes, modes, faults.
    ///   - crypto: Digest, certificate parsing and signature verification (OpenSSLKit in the executable).
    ///   - clock: The time source; the system clock by default.
    public init(
        configuration: SimulatorConfiguration, crypto: any SimulatorCrypto, clock: SimulatorClock = SimulatorClock()
    ) {
        self.configuration = configuration
        self.crypto = crypto
        self.clock = clock
    }

    /// Which simulated bank a request is for, and the path below that bank's root.
    enum Target: Equatable {
        /// `root` is the path prefix up to and including the segment, e.g. `/sandbox/cic/`.
        case euroInformation(segment: String, root: String, rest: [String])
        /// `prefix` is `/bpce/<codetab>` when selected by path, empty when by Host.
        case bpce(codetab: String, prefix: String, rest: [String])
    }

    public func handle(_ request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        let segments = request.pathSegments
        if segments.first == "__simulator" && configuration.introspectionEnabled {
            return introspection(request, rest: Array(segments.dropFirst()))
        }
        guard let target = resolve(request) else {
            logRefusal(
                context, bank: "-", status: 404,
                reason: "no simulated bank at host \(request.headers["Host"] ?? "-") path \(request.path)")
            return .text(404, "Not Found")
        }
        let bank: String
        switch target {
        case .euroInformation(let segment, _, _): bank = "cmcic:" + segment
        case .bpce(let codetab, _, _): bank = "bpce:" + codetab
        }
        store.state.withLock {
            $0.counters.requests += 1
            $0.counters.requestsByBank[bank, default: 0] += 1
        }
        // Faults: configuration per bank first, then the request's header.
        var faults = configuration.faults["*"] ?? []
        faults += configuration.faults[String(bank.prefix { $0 != ":" })] ?? []
        faults += configuration.faults[bank] ?? []
        faults += store.state.withLock { s -> [SimulatorFault] in
            var out: [SimulatorFault] = []
            for key in ["*", String(bank.prefix { $0 != ":" }), bank] {
                guard var entry = s.runtimeFaults[key] else { continue }
                // A fault limited to one kind of request (`path=`, `method=`) leaves the others alone.
                if let path = entry.path, !request.path.contains(path) { continue }
                if let method = entry.method, method != request.method.rawValue { continue }
                out += entry.faults
                if let n = entry.remaining {
                    entry.remaining = n - 1
                    s.runtimeFaults[key] = n - 1 > 0 ? entry : nil
                }
            }
            return out
        }
        for value in request.headers.values(for: SimulatorFault.headerName) {
            guard let parsed = SimulatorFault.parseList(value) else {
                logRefusal(context, bank: bank, status: 400, reason: "unknown \(SimulatorFault.headerName) '\(value)'")
                return .text(400, "unknown simulator fault")
            }
            faults += parsed
        }
        for fault in faults {
            switch fault {
            case .latency(let ms): try await Task.sleep(for: .milliseconds(ms))
            case .drop:
                context.logger.info(
                    "simulator fault: dropping the connection",
                    metadata: ["request.id": context.requestID, "bank": bank])
                throw SimulatorDropConnection()
            case .internalError:
                return SimulatorRejection.stetResponse(500, "INTE", path: request.path, now: clock.now())
            case .unavailable:
                return .text(503, "ERREUR Technique")
            case .htmlErrorPage:
                return .text(
                    500,
                    "<html><head><title>Erreur</title></head><body><h1>Service momentanément indisponible</h1></body></html>",
                    contentType: "text/html; charset=utf-8")
            case .tokenFailure, .expiredRefreshToken: break  // applied by the token endpoints
            case .dropAfterCommit, .internalErrorAfterCommit, .latencyAfterCommit: break  // below
            }
        }
        let call = Call(request: request, context: context, bank: bank, now: clock.now(), faults: faults)
        var response = route(target, call)
        // Faults after the request took effect: the bank committed (a payment exists), the client never learns it.
        for fault in faults where fault.isAfterCommit {
            context.logger.info(
                "simulator fault after commit", metadata: ["request.id": context.requestID, "bank": bank])
            switch fault {
            case .dropAfterCommit: throw SimulatorDropConnection()
            case .internalErrorAfterCommit:
                return SimulatorRejection.stetResponse(500, "INTE", path: request.path, now: clock.now())
            case .latencyAfterCommit(let ms): try await Task.sleep(for: .milliseconds(ms))
            default: break
            }
        }
        if let id = request.headers["X-Request-ID"] { response.headers.set("X-Request-ID", id) }
        return response
    }

    /// Runs the family handler; a rejection becomes the bank's answer plus a logged reason.
    func route(_ target: Target, _ call: Call) -> HTTPResponse {
        do {
            switch target {
            case .euroInformation(let segment, let root, let rest):
                return try EuroInformationBank(simulator: self, segment: segment, root: root).handle(call, rest: rest)
            case .bpce(let codetab, let prefix, let rest):
                return try BPCEBank(simulator: self, codetab: codetab, prefix: prefix).handle(call, rest: rest)
            }
        } catch {
            store.state.withLock { $0.counters.rejections += 1 }
            logRefusal(call.context, bank: call.bank, status: error.response.status, reason: error.reason)
            return error.response
        }
    }

    func logRefusal(_ context: RequestContext, bank: String, status: Int, reason: String) {
        context.logger.info(
            "simulator refused the request: \(reason)",
            metadata: [
                "request.id": context.requestID, "bank": bank, "http.status": String(status),
                "simulator.reason": reason,
            ])
    }

    // MARK: - Bank selection

    func resolve(_ request: HTTPRequest) -> Target? {
        let segments = request.pathSegments
        if let host = request.headers["Host"]?.lowercased() {
            let name = host.split(separator: ":").first.map(String.init) ?? host
            var codetab: String?
            if name.hasPrefix("bpce-") && name.hasSuffix(".localhost") {
                // bpce-<codetab>.localhost, or bpce-<codetab>.<anything>.localhost (TLS clients such as curl refuse
                // a `*.localhost` wildcard, so certificates may use `*.sim.localhost`).
                codetab = name.dropFirst(5).split(separator: ".").first.map(String.init)
            } else if name.hasPrefix("www.") && name.hasSuffix(".api.89c3.com") {
                codetab = name.dropFirst(4).split(separator: ".").first.map(String.init)
            }
            if let codetab, isBPCECode(codetab) { return .bpce(codetab: codetab, prefix: "", rest: segments) }
        }
        if segments.count >= 2, segments[0] == configuration.bpcePathPrefix, isBPCECode(segments[1]) {
            return .bpce(
                codetab: segments[1], prefix: "/\(segments[0])/\(segments[1])", rest: Array(segments.dropFirst(2)))
        }
        if segments.count >= 2, segments[0] == "sandbox", configuration.euroInformationSegments.contains(segments[1]) {
            return .euroInformation(
                segment: segments[1], root: "/sandbox/\(segments[1])/", rest: Array(segments.dropFirst(2)))
        }
        if let first = segments.first, configuration.euroInformationSegments.contains(first) {
            return .euroInformation(segment: first, root: "/\(first)/", rest: Array(segments.dropFirst()))
        }
        return nil
    }

    func isBPCECode(_ code: String) -> Bool {
        if !configuration.bpceBankCodes.isEmpty { return configuration.bpceBankCodes.contains(code) }
        return code.count == 5 && code.allSatisfy(\.isNumber)
    }
}

/// One request as the family handlers see it.
struct Call: Sendable {
    var request: HTTPRequest
    var context: RequestContext
    /// `cmcic:<segment>` or `bpce:<codetab>`.
    var bank: String
    var now: Int64
    var faults: [SimulatorFault]

    var path: String { request.path }

    /// The `scheme://host` the client used, for absolute links.
    var origin: String { "https://" + (request.headers["Host"] ?? "localhost") }

    /// Where a customer's browser reaches the bank's pages (the payment consent approval link): the configured
    /// public origin, else the one the call came to. A gateway in a container reaches the bank at another name
    /// (`https://simulator:8443`) than the customer's browser does (`https://localhost:8443`).
    func pageOrigin(_ configuration: SimulatorConfiguration) -> String { configuration.publicOrigin ?? origin }

    /// Form fields of an `application/x-www-form-urlencoded` body.
    var form: [(name: String, value: String)] {
        PercentEncoding.parseQuery(String(decoding: request.body, as: UTF8.self))
    }

    func formValue(_ name: String) -> String? { form.first { $0.name == name }?.value }

    func stet(_ status: Int, _ message: String, _ reason: String) -> SimulatorRejection {
        .stet(status, message, path: request.path, now: now, reason: reason)
    }
}

/// Matches `rest` against a pattern such as `["oauth2", "registrations", "{id}"]`.
func match(_ rest: [String], _ pattern: [String]) -> [String: String]? {
    guard rest.count == pattern.count else { return nil }
    var params: [String: String] = [:]
    for (r, p) in zip(rest, pattern) {
        if p.hasPrefix("{") { params[String(p.dropFirst().dropLast())] = r } else if r != p { return nil }
    }
    return params
}
