import CurlKit
import Foundation
import GatewayLogging
import Synchronization

@testable import BankAdapters
@testable import GatewayCore

/// An `HTTPTransport` that records every request and answers from a script (in order; the last answer repeats).
final class RecordingTransport: HTTPTransport {
    enum Answer: Sendable {
        case response(OutboundResponse)
        case failure(OutboundError)
    }

    private let state: Mutex<(requests: [OutboundRequest], answers: [Answer])>

    init(_ answers: [Answer]) { state = Mutex(([], answers)) }

    convenience init(status: Int, json: String, headers: [(name: String, value: String)] = []) {
        self.init([.json(status, json, headers: headers)])
    }

    var requests: [OutboundRequest] { state.withLock { $0.requests } }

    func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        let answer = state.withLock { state -> Answer in
            state.requests.append(request)
            return state.answers.count > 1 ? state.answers.removeFirst() : state.answers[0]
        }
        switch answer {
        case .response(let response): return response
        case .failure(let error): throw error
        }
    }
}

extension RecordingTransport.Answer {
    static func json(_ status: Int, _ text: String, headers: [(name: String, value: String)] = []) -> Self {
        .response(
            OutboundResponse(
                status: status, headers: [(name: "Content-Type", value: "application/json")] + headers,
                body: Array(text.utf8)))
    }

    static func empty(_ status: Int) -> Self { .response(OutboundResponse(status: status)) }
}

/// The committed OpenSSLKit known-answer key and certificate (Tests/OpenSSLKitTests/Fixtures), so that signatures
/// are golden values checked against the openssl CLI.
enum KAT {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("OpenSSLKitTests/Fixtures")

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    /// The KAT certificate and key as a QWAC / QSealC.
    static func material(id: String) throws -> CertificateMaterial {
        CertificateMaterial(
            id: id, certificatePEM: try text("kat-rsa2048.crt"), privateKeyPEM: Secret(try text("kat-rsa2048.key")))
    }

    /// SHA-256 of the KAT certificate, lowercase hex.
    static let fingerprint = "5522dc4d63849a2a03161df33f199a819b5e3875e1ca0b37a2fe434e6bbf9b1b"
}

/// Fixed clock and request id: Wednesday 18 November 2026, 08:00:00 UTC.
enum Fixed {
    static let now = Date(timeIntervalSince1970: 1_794_988_800)
    static let date = "Wed, 18 Nov 2026 08:00:00 GMT"
    static let requestID = "0f8fad5b-d9cb-469f-a165-70867728950e"

    static func dependencies(_ transport: RecordingTransport) -> AdapterDependencies {
        AdapterDependencies(transport: transport, now: { now }, newRequestID: { requestID })
    }

    static func context(psu: PSUContext = PSUContext()) -> AdapterContext {
        AdapterContext(
            requestID: "inbound-1", deadline: .now + .seconds(30), logger: Logger(label: "test", level: .error),
            psu: psu)
    }
}

/// Profiles pointing at fixed test hosts.
enum TestBanks {
    static let ei: BankProfile = {
        var p = BankCatalog.builtIn.profile(for: BankID("cmcic:cic")!)!
        p.sandbox = BankProfile.Endpoints(
            apiRoot: "https://ei.test/sandbox/cic/stet-psd2-api/v2.1",
            token: "https://ei.test/sandbox/cic/oauth2/token",
            registration: "https://ei.test/sandbox/cic/oauth2/registrations",
            authorize: "https://ei.test/sandbox/cic/oauth2/{lang}/sandbox/signin.html")
        return p
    }()

    static let bpce: BankProfile = {
        var p = BankCatalog.builtIn.profile(for: BankID("bpce:13807")!)!
        p.sandbox = BankProfile.Endpoints(
            apiRoot: "https://bpce.test/stet/psd2/v1", token: "https://bpce.test/stet/psd2/oauth/token",
            registration: "https://bpce.test/stet/setting/v1/register",
            authorize: "https://bpce.test/stet/psd2/oauth/authorize")
        return p
    }()

    static func client(_ bank: BankProfile, clientID: String? = nil, keyID: String? = nil) throws -> BankClient {
        BankClient(
            bank: bank, environment: .sandbox, qwac: try KAT.material(id: "qwac-1"),
            qseal: try KAT.material(id: "qseal-1"), clientID: clientID, keyID: keyID)
    }

    static let registration = RegistrationRequest(
        clientName: "Passerelle Test", redirectURIs: ["https://tpp.example/callback"], roles: [.aisp],
        contact: .init(name: "Ops", email: "psd2@tpp.example", phone: "+33100000000"), softwareID: "Passerelle",
        providerLegalID: "PSDFR-ACPR-12345", keyID: "qseal-2026", certificateURL: "https://tpp.example/certs/qseal.pem")
}

extension OutboundRequest {
    var headerNames: [String] { headers.map(\.name) }
    var bodyText: String { String(decoding: body, as: UTF8.self) }
}
