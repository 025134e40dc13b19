import Foundation
import GatewayLogging
import HTTPServerKit
import TestSupport
import Testing

@testable import BankSimulator

/// Which cryptography the simulator checks with: OpenSSLKit (what `passerelle simulator` runs) or the `openssl`
/// command-line tool (no code of ours: the independent oracle, so a bug shared by OpenSSLKit's signer and
/// verifier cannot hide).
enum CryptoBackend: CaseIterable, Sendable, CustomTestStringConvertible {
    case openSSLKit, commandLine
    var testDescription: String { self == .openSSLKit ? "OpenSSLKit" : "openssl CLI" }
}

/// An in-process simulator with a fixed clock, the test PKI and helpers that play the gateway's part.
final class SimulatorHarness: Sendable {
    enum Family { case ei, bpce }

    let simulator: BankSimulator
    let sink = CapturingLogSink()
    let pki: String
    let crypto: any SimulatorCrypto

    /// Wednesday 18 November 2026, 08:00 UTC (09:00 in Paris).
    static let start = ParisCalendar.days(from: .init(year: 2026, month: 11, day: 18)) * 86400 + 8 * 3600

    init(
        start: Int64 = SimulatorHarness.start, crypto backend: CryptoBackend = .openSSLKit,
        _ configure: (inout SimulatorConfiguration) -> Void = { _ in }
    ) throws {
        pki = try TestEnvironment.pkiDirectory()
        var config = SimulatorConfiguration()
        config.activationMode = .immediate
        configure(&config)
        switch backend {
        case .openSSLKit:
            crypto = try OpenSSLSimulatorCrypto(caBundlePEM: String(contentsOfFile: pki + "/ca.crt", encoding: .utf8))
        case .commandLine:
            crypto = OpenSSLCLICrypto(caFile: pki + "/ca.crt")
        }
        simulator = BankSimulator(configuration: config, crypto: crypto, clock: .fixed(at: start))
    }

    var now: Int64 { simulator.clock.now() }
    var logText: String { sink.text }

    // MARK: - PKI

    func der(_ name: String) throws -> [UInt8] {
        let pem = try String(contentsOfFile: pki + "/" + name, encoding: .utf8)
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return Array(Data(base64Encoded: body)!)
    }

    func key(_ name: String) -> String { pki + "/" + name }

    // MARK: - Sending

    func send(_ request: HTTPRequest, id: String = UUID().uuidString) async throws -> HTTPResponse {
        let logger = Logger(label: "simulator-test", level: .debug, sink: sink).with(["request.id": id])
        return try await simulator.handle(request, context: RequestContext(requestID: id, logger: logger))
    }

    func request(
        _ method: HTTPMethod, _ target: String, host: String = "localhost", headers: [(String, String)] = [],
        body: [UInt8] = [], cert: String? = "qwac.crt"
    ) throws -> HTTPRequest {
        var headers = headers
        if !body.isEmpty && !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        }
        var r = try HTTPRequest(
            method: method, target: target, headers: HTTPHeaders([("Host", host)] + headers), body: body)
        r.peerCertificateDER = try cert.map { try der($0) }
        return r
    }

    func form(_ pairs: [(String, String)]) -> [UInt8] { Array(PercentEncoding.formEncode(pairs).utf8) }

    /// How to spoil a signed request, for the negative tests.
    struct Tamper: Sendable {
        var signedHeaders: (@Sendable ([String]) -> [String])? = nil
        var headersBeforeSigning: (@Sendable (inout [(String, String)]) -> Void)? = nil
        var headersAfterSigning: (@Sendable (inout [(String, String)]) -> Void)? = nil
        var algorithm = "rsa-sha256"
        var keyFile = "qseal.key"
        var keyId: String? = nil
        var bodyAfterSigning: [UInt8]? = nil
        static let none = Tamper()
    }

    /// A request signed the way the gateway signs it for `family` (docs/protocol.md §3, §4.4, §5.5).
    func signed(
        _ family: Family, _ method: HTTPMethod, _ target: String, host: String = "localhost", token: String?,
        keyId: String,
        body: [UInt8] = [], extra: [(String, String)] = [], cert: String? = "qwac.crt", tamper: Tamper = .none
    ) throws -> HTTPRequest {
        var headers: [(String, String)] = [
            ("Host", host), ("Date", ParisCalendar.httpDate(now)), ("X-Request-ID", UUID().uuidString),
            ("Accept", "application/hal+json"), ("User-Agent", "passerelle-test"),
        ]
        if let token { headers.append(("Authorization", "Bearer " + token)) }
        if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
        if !body.isEmpty || family == .bpce {
            headers.append(("Digest", "SHA-256=" + Base64Text.encode(crypto.sha256(body))))
        }
        headers += extra
        tamper.headersBeforeSigning?(&headers)
        var names: [String] =
            family == .ei
            ? ["(request-target)", "host", "date", "x-request-id"] + (body.isEmpty ? [] : ["content-type", "digest"])
            : ["(request-target)", "date", "digest", "x-request-id"] + (body.isEmpty ? [] : ["content-type"])
        names += extra.map { $0.0.lowercased() }.filter { $0.hasPrefix("psu-") }
        names = tamper.signedHeaders?(names) ?? names
        let lines = names.map { name -> String in
            if name == "(request-target)" { return "(request-target): \(method.rawValue.lowercased()) \(target)" }
            let values = headers.filter { $0.0.lowercased() == name }.map { $0.1 }
            return "\(name): " + values.joined(separator: ", ")
        }
        let signature = OpenSSLCLICrypto.sign(Array(lines.joined(separator: "\n").utf8), keyFile: key(tamper.keyFile))
        headers.append(
            (
                "Signature",
                "keyId=\"\(tamper.keyId ?? keyId)\",algorithm=\"\(tamper.algorithm)\",headers=\"\(names.joined(separator: " "))\",signature=\"\(Base64Text.encode(signature))\""
            ))
        tamper.headersAfterSigning?(&headers)
        var r = try HTTPRequest(
            method: method, target: target, headers: HTTPHeaders(headers), body: tamper.bodyAfterSigning ?? body)
        r.peerCertificateDER = try cert.map { try der($0) }
        return r
    }

    // MARK: - Euro-Information flow

    struct EIClient {
        var clientID: String
        var kid: String
    }

    func eiRegistrationBody(
        scope: String = "aisp pisp cbpii", redirect: String = "https://tpp.example/callback",
        chain: [String] = ["qseal.crt", "ca.crt"]
    ) throws -> JSON {
        .object([
            ("redirect_uris", .array([.string(redirect)])), ("token_endpoint_auth_method", "tls_client_auth"),
            ("grant_types", .array(["authorization_code", "refresh_token", "client_credentials"])),
            ("response_types", .array(["code"])), ("client_name", "Passerelle Test"), ("scope", .string(scope)),
            ("contacts", .array(["psd2@tpp.example"])),
            (
                "jwks",
                .object([
                    (
                        "keys",
                        .array([try eiKey(chain: chain)])
                    )
                ])
            ),
        ])
    }

    /// A Euro-Information JWK for the certificate chain `chain` (leaf first): `kty`, `kid` when given, `n` and
    /// `e` of the leaf (RFC 7518 §6.3.1), `x5u` when given, the chain in `x5c`.
    func eiKey(chain: [String] = ["qseal.crt", "ca.crt"], kid: String? = nil, x5u: String? = nil) throws -> JSON {
        let ders = try chain.map { try der($0) }
        let info = try crypto.certificateInfo(der: ders[0])
        var members: [(String, JSON)] = [("kty", "RSA")]
        if let kid { members.append(("kid", .string(kid))) }
        members += [
            ("n", .string(Base64Text.encodeURL(info.rsaModulus ?? []))),
            ("e", .string(Base64Text.encodeURL(info.rsaExponent ?? []))),
        ]
        if let x5u { members.append(("x5u", .string(x5u))) }
        members.append(("x5c", .array(ders.map { .string(Base64Text.encode($0)) })))
        return .object(members)
    }

    func registerEI(segment: String = "cic", body: JSON? = nil) async throws -> EIClient {
        let r = try await send(
            request(
                .post, "/sandbox/\(segment)/oauth2/registrations", headers: [("Content-Type", "application/json")],
                body: (body ?? eiRegistrationBody()).bytes))
        guard r.status == 201, let doc = JSON.parse(r.body), let id = doc["client_id"]?.stringValue,
            let kid = doc["jwks"]?["keys"]?.arrayValue?.first?["kid"]?.stringValue
        else { throw Failure("EI registration failed: \(r.status) \(String(decoding: r.body, as: UTF8.self))") }
        return EIClient(clientID: id, kid: kid)
    }

    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-simulator-test"

    func eiAuthorize(
        _ c: EIClient, segment: String = "cic", persona: String = "marc", scope: String = "aisp",
        verifier: String = SimulatorHarness.verifier, extra: [(String, String)] = []
    ) async throws -> String {
        let challenge = Base64Text.encodeURL(crypto.sha256(Array(verifier.utf8)))
        let q = PercentEncoding.formEncode(
            [
                ("response_type", "code"), ("client_id", c.clientID), ("redirect_uri", "https://tpp.example/callback"),
                ("scope", scope), ("state", "st-1"), ("code_challenge", challenge), ("code_challenge_method", "S256"),
                ("persona", persona),
            ] + extra)
        let r = try await send(request(.get, "/\(segment)/oauth2/fr/sandbox/signin.html?" + q, cert: nil))
        guard r.status == 302, let location = r.headers["Location"], let code = Self.queryItem(location, "code") else {
            throw Failure(
                "authorize failed: \(r.status) \(r.headers["Location"] ?? String(decoding: r.body, as: UTF8.self))")
        }
        return code
    }

    func eiToken(_ c: EIClient, segment: String = "cic", _ pairs: [(String, String)]) async throws -> HTTPResponse {
        try await send(
            request(
                .post, "/sandbox/\(segment)/oauth2/token",
                headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: form([("client_id", c.clientID)] + pairs)))
    }

    /// Registration, authorization and code exchange: (client, access token, refresh token).
    func eiConnected(persona: String = "marc", scope: String = "aisp") async throws -> (EIClient, String, String) {
        let c = try await registerEI()
        let code = try await eiAuthorize(c, persona: persona, scope: scope)
        let r = try await eiToken(
            c,
            [
                ("grant_type", "authorization_code"), ("code", code),
                ("redirect_uri", "https://tpp.example/callback"), ("code_verifier", Self.verifier),
            ])
        guard r.status == 200, let doc = JSON.parse(r.body), let a = doc["access_token"]?.stringValue,
            let rt = doc["refresh_token"]?.stringValue
        else {
            throw Failure("token failed: \(r.status) \(String(decoding: r.body, as: UTF8.self))")
        }
        return (c, a, rt)
    }

    // MARK: - BPCE flow

    static let bpceHost = "bpce-13807.localhost:8443"

    func bpceRegistrationToken(cert: String = "qwac.crt") async throws -> String {
        let r = try await send(
            request(
                .post, "/stet/psd2/oauth/token", host: Self.bpceHost,
                headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                body: form([
                    ("client_id", "PSD2_TPPRegister"), ("grant_type", "client_credentials"),
                    ("scope", "manageRegistration"),
                ]), cert: cert))
        guard r.status == 200, let t = JSON.parse(r.body)?["access_token"]?.stringValue else {
            throw Failure("registration token failed: \(r.status) \(String(decoding: r.body, as: UTF8.self))")
        }
        return t
    }

    func bpceRegistrationBody(name: String = "Passerelle Test SAS") throws -> JSON {
        let qseal = try der("qseal.crt")
        let thumb = try crypto.certificateInfo(der: qseal).sha256Base64URL
        return .object([
            ("redirect_uris", .array(["https://tpp.example/callback"])),
            ("token_endpoint_auth_method", "tls_client_auth"),
            ("grant_types", .array(["client_credentials"])), ("response_types", .array(["code"])),
            ("client_name", .string(name)), ("scope", "aisp, pisp, cbpii"),
            (
                "contact",
                .object([("contact_name", "Ops"), ("email", "psd2@tpp.example"), ("phone_number", "+33100000000")])
            ),
            ("provider_legal_id", "PSDFR-ACPR-12345"),
            (
                "jwks",
                .object([
                    (
                        "keys",
                        .array([
                            .object([
                                ("kty", "RSA"), ("use", "sig"), ("alg", "RS256"), ("key_ops", .array(["verify"])),
                                ("kid", "qseal-2026"), ("x5c", .array([.string(Base64Text.encode(qseal))])),
                                ("x5t#S256", .string(thumb)),
                            ])
                        ])
                    )
                ])
            ),
            ("software_id", "Passerelle"), ("software_version", "1.0"),
        ])
    }

    func bpceRegister(body: JSON? = nil, token: String? = nil) async throws -> HTTPResponse {
        let t: String
        if let token { t = token } else { t = try await bpceRegistrationToken() }
        return try await send(
            signed(
                .bpce, .post, "/stet/setting/v1/register", host: Self.bpceHost, token: t,
                keyId: "https://tpp.example/certs/qseal.pem", body: (body ?? bpceRegistrationBody()).bytes))
    }

    func bpceClient() async throws -> String {
        let r = try await bpceRegister()
        guard r.status == 201, let id = JSON.parse(r.body)?["client_id"]?.stringValue else {
            throw Failure("BPCE registration failed: \(r.status) \(String(decoding: r.body, as: UTF8.self))")
        }
        return id
    }

    func bpceConnected(persona: String = "marc") async throws -> (String, String, String) {
        let id = try await bpceClient()
        let q = PercentEncoding.formEncode([
            ("response_type", "code"), ("client_id", id), ("redirect_uri", "https://tpp.example/callback"),
            ("scope", "aisp"), ("state", "s"), ("persona", persona),
        ])
        let a = try await send(request(.get, "/stet/psd2/oauth/authorize?" + q, host: Self.bpceHost, cert: nil))
        guard a.status == 302, let code = Self.queryItem(a.headers["Location"] ?? "", "code") else {
            throw Failure("BPCE authorize failed \(a.status)")
        }
        let r = try await send(
            request(
                .post, "/stet/psd2/oauth/token", host: Self.bpceHost,
                headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                body: form([
                    ("client_id", id), ("grant_type", "authorization_code"), ("code", code),
                    ("redirect_uri", "https://tpp.example/callback"),
                ])))
        guard r.status == 200, let doc = JSON.parse(r.body), let at = doc["access_token"]?.stringValue,
            let rt = doc["refresh_token"]?.stringValue
        else {
            throw Failure("BPCE token failed: \(r.status) \(String(decoding: r.body, as: UTF8.self))")
        }
        return (id, at, rt)
    }

    // MARK: - Small helpers

    static func queryItem(_ url: String, _ name: String) -> String? {
        guard let q = url.split(separator: "?", maxSplits: 1).last else { return nil }
        return PercentEncoding.parseQuery(String(q)).first { $0.name == name }?.value
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}

extension HTTPResponse {
    var json: JSON? { JSON.parse(body) }
    var text: String { String(decoding: body, as: UTF8.self) }
}

extension JSON {
    /// A copy with `key` replaced (or removed with nil), following a dotted path of object members.
    func setting(_ path: String, _ value: JSON?) -> JSON {
        let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
        guard case .object(var members) = self else { return self }
        if parts.count == 2 {
            if let i = members.firstIndex(where: { $0.0 == parts[0] }) {
                members[i].1 = members[i].1.setting(parts[1], value)
            }
            return .object(members)
        }
        members.removeAll { $0.0 == parts[0] }
        if let value { members.append((parts[0], value)) }
        return .object(members)
    }
}
