import HTTPServerKit
import Testing

@testable import BankSimulator

/// One request per check of docs/protocol.md §4.4, each refused with the bank's status and the
/// precise logged reason; the baseline (no tampering) passes.
@Suite struct EuroInformationCheckTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var status: Int
        var reason: String
        var tamper = SimulatorHarness.Tamper()
        var cert: String? = "qwac.crt"
        var withBody = false
        var psu = false
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no client certificate", status: 403, reason: "no client certificate", cert: nil),
        Case(
            name: "QWAC not registered", status: 403, reason: "client certificate is not a QWAC registered",
            cert: "qwac2.crt"),
        Case(
            name: "no signature", status: 403, reason: "signature header missing",
            tamper: .init(headersAfterSigning: { $0.removeAll { $0.0 == "Signature" } })),
        Case(
            name: "other algorithm", status: 403, reason: "signature algorithm hmac-sha256 not supported",
            tamper: .init(algorithm: "hmac-sha256")),
        Case(name: "unknown keyId", status: 403, reason: "keyId unknown", tamper: .init(keyId: "0123456789abcdef")),
        Case(
            name: "host not signed", status: 403, reason: "host not signed",
            tamper: .init(signedHeaders: { $0.filter { $0 != "host" } })),
        Case(
            name: "date not signed", status: 403, reason: "date not signed",
            tamper: .init(signedHeaders: { $0.filter { $0 != "date" } })),
        Case(
            name: "request-target not signed", status: 403, reason: "(request-target) not signed",
            tamper: .init(signedHeaders: { $0.filter { $0 != "(request-target)" } })),
        Case(
            name: "x-request-id missing", status: 400, reason: "x-request-id header missing",
            tamper: .init(
                signedHeaders: { $0.filter { $0 != "x-request-id" } },
                headersAfterSigning: { $0.removeAll { $0.0 == "X-Request-ID" } })),
        Case(
            name: "user-agent missing", status: 400, reason: "user-agent header missing",
            tamper: .init(headersAfterSigning: { $0.removeAll { $0.0 == "User-Agent" } })),
        Case(
            name: "authorization signed", status: 403, reason: "authorization must not be signed",
            tamper: .init(signedHeaders: { $0 + ["authorization"] })),
        Case(
            name: "psu header not signed", status: 403, reason: "psu-ip-address present but not signed",
            tamper: .init(signedHeaders: { $0.filter { $0 != "psu-ip-address" } }), psu: true),
        Case(
            name: "date too old", status: 403, reason: "date outside the allowed skew",
            tamper: .init(headersBeforeSigning: { h in
                if let i = h.firstIndex(where: { $0.0 == "Date" }) {
                    h[i].1 = ParisCalendar.httpDate(SimulatorHarness.start - 301)
                }
            })),
        Case(
            name: "date not IMF-fixdate", status: 400, reason: "date header is not an IMF-fixdate",
            tamper: .init(headersBeforeSigning: { h in
                if let i = h.firstIndex(where: { $0.0 == "Date" }) { h[i].1 = "2026-11-18T08:00:00Z" }
            })),
        Case(
            name: "digest mismatch", status: 403, reason: "digest mismatch",
            tamper: .init(bodyAfterSigning: Array("{\"x\":2}".utf8)), withBody: true),
        Case(
            name: "digest not signed", status: 403, reason: "digest not signed",
            tamper: .init(signedHeaders: { $0.filter { $0 != "digest" } }), withBody: true),
        Case(
            name: "content-type not signed", status: 403, reason: "content-type not signed",
            tamper: .init(signedHeaders: { $0.filter { $0 != "content-type" } }), withBody: true),
        Case(
            name: "signed header absent", status: 400, reason: "x-custom is signed but absent",
            tamper: .init(signedHeaders: { $0 + ["x-custom"] })),
        Case(
            name: "signature by another key", status: 403, reason: "signature does not verify",
            tamper: .init(keyFile: "qseal2.key")),
        Case(
            name: "signed URL differs", status: 403, reason: "signature does not verify",
            tamper: .init(headersAfterSigning: { h in
                if let i = h.firstIndex(where: { $0.0 == "X-Request-ID" }) { h[i].1 += "-changed" }
            })),
        Case(
            name: "no bearer", status: 401, reason: "authorization header missing",
            tamper: .init(headersAfterSigning: { $0.removeAll { $0.0 == "Authorization" } })),
        Case(
            name: "unknown bearer", status: 401, reason: "access token unknown",
            tamper: .init(headersAfterSigning: { h in
                if let i = h.firstIndex(where: { $0.0 == "Authorization" }) { h[i].1 = "Bearer nope" }
            })),
    ]

    @Test(arguments: cases, CryptoBackend.allCases)
    func refusesAViolationWithTheBanksStatusAndLogsTheReason(_ c: Case, crypto: CryptoBackend) async throws {
        let h = try SimulatorHarness(crypto: crypto)
        let (client, token, _) = try await h.eiConnected()
        let path = c.withBody ? "/sandbox/cic/stet-psd2-api/v2.1/consents" : "/sandbox/cic/stet-psd2-api/v2.1/accounts"
        let body: [UInt8] = c.withBody ? Array("{\"balances\":[]}".utf8) : []
        let extra = c.psu ? [("PSU-IP-Address", "192.0.2.10")] : []
        let ok = try await h.send(
            h.signed(.ei, c.withBody ? .put : .get, path, token: token, keyId: client.kid, body: body, extra: extra))
        #expect(ok.status == (c.withBody ? 201 : 200), "baseline: \(ok.text)")
        let r = try await h.send(
            h.signed(
                .ei, c.withBody ? .put : .get, path, token: token, keyId: client.kid, body: body, extra: extra,
                cert: c.cert, tamper: c.tamper),
            id: "req-\(c.name.replacing(" ", with: "-"))")
        #expect(r.status == c.status, "\(r.text)")
        #expect(r.json?["status"]?.decimalText == String(Double(c.status)), "STET ErrorModel: \(r.text)")
        let line = h.sink.captured.first {
            $0.contains("req-\(c.name.replacing(" ", with: "-"))") && $0.contains("refused")
        }
        #expect(line?.contains(c.reason) == true, "logged: \(line ?? "nothing")")
    }

    @Test func expiredAccessTokenAndMissingScopeAreRefused() async throws {
        let h = try SimulatorHarness()
        let (c, token, _) = try await h.eiConnected(scope: "aisp")
        let cc = try await h.eiToken(c, [("grant_type", "client_credentials"), ("scope", "cbpii")])
        let cbpii = try #require(cc.json?["access_token"]?.stringValue)
        let wrongScope = try await h.send(
            h.signed(.ei, .get, "/sandbox/cic/stet-psd2-api/v2.1/accounts", token: cbpii, keyId: c.kid))
        #expect(wrongScope.status == 403)
        h.simulator.clock.advance(by: 3600)
        let expired = try await h.send(
            h.signed(.ei, .get, "/sandbox/cic/stet-psd2-api/v2.1/accounts", token: token, keyId: c.kid))
        #expect(expired.status == 401)
        #expect(expired.headers["WWW-Authenticate"]?.contains("invalid_token") == true)
        #expect(h.logText.contains("access token expired"))
    }

    @Test func keyIdMayBeTheRegisteredX5u() async throws {
        let h = try SimulatorHarness()
        var body = try h.eiRegistrationBody()
        let key = try h.eiKey(x5u: "https://tpp.example/qseal.pem")
        body = body.setting("jwks", .object([("keys", .array([key]))]))
        let c = try await h.registerEI(body: body)
        let code = try await h.eiAuthorize(c)
        let t = try await h.eiToken(
            c,
            [
                ("grant_type", "authorization_code"), ("code", code),
                ("redirect_uri", "https://tpp.example/callback"), ("code_verifier", SimulatorHarness.verifier),
            ])
        let token = try #require(t.json?["access_token"]?.stringValue)
        let r = try await h.send(
            h.signed(
                .ei, .get, "/sandbox/cic/stet-psd2-api/v2.1/accounts", token: token,
                keyId: "https://tpp.example/qseal.pem"))
        #expect(r.status == 200)
    }

    @Test func tokenOfAnotherBrandIsRefused() async throws {
        let h = try SimulatorHarness()
        let (c, token, _) = try await h.eiConnected()
        _ = c
        let other = try await h.registerEI(segment: "cm")
        let r = try await h.send(
            h.signed(.ei, .get, "/sandbox/cm/stet-psd2-api/v2.1/accounts", token: token, keyId: other.kid))
        #expect(r.status == 401)
        #expect(h.logText.contains("access token issued for cmcic:cic, not cmcic:cm"))
    }

    struct RegistrationCase: Sendable, CustomTestStringConvertible {
        var name: String
        var field: String
        var value: JSON?
        var testDescription: String { name }
    }

    static let registrationCases: [RegistrationCase] = [
        .init(name: "client_name missing", field: "client_name", value: nil),
        .init(name: "redirect_uris empty", field: "redirect_uris", value: .array([])),
        .init(name: "redirect_uri not absolute", field: "redirect_uris", value: .array(["/callback"])),
        .init(name: "auth method", field: "token_endpoint_auth_method", value: "client_secret_basic"),
        .init(name: "scope comma separated", field: "scope", value: "aisp, pisp"),
        .init(name: "scope unknown", field: "scope", value: "aisp accounts"),
        .init(name: "grant type unknown", field: "grant_types", value: .array(["password"])),
        .init(name: "response type", field: "response_types", value: .array(["token"])),
        .init(name: "no jwks", field: "jwks", value: nil),
        .init(name: "empty keys", field: "jwks", value: .object([("keys", .array([]))])),
    ]

    @Test(arguments: registrationCases)
    func registrationFieldRules(_ c: RegistrationCase) async throws {
        let h = try SimulatorHarness()
        let body = try h.eiRegistrationBody().setting(c.field, c.value)
        let r = try await h.send(h.request(.post, "/sandbox/cic/oauth2/registrations", body: body.bytes))
        #expect(r.status == 400)
        #expect(r.json?["error"]?.stringValue != nil && r.json?["error_description"]?.stringValue != nil)
    }

    /// Euro-Information production refuses scopes the certificates' PSD2 roles do not grant; its sandbox does not
    /// (docs/simulator.md). Checked: without the `PSD2RoleCheck` call in `register`, the first registration is 201.
    @Test(arguments: CryptoBackend.allCases)
    func scopesBeyondTheCertificatesRolesAreRefusedOutsideTheSandbox(_ crypto: CryptoBackend) async throws {
        let h = try SimulatorHarness(crypto: crypto)
        func register(_ root: String, scope: String) async throws -> HTTPResponse {
            try await h.send(
                h.request(
                    .post, root + "oauth2/registrations", headers: [("Content-Type", "application/json")],
                    body: h.eiRegistrationBody(scope: scope).bytes, cert: "qwac-ai.crt"))
        }
        let refused = try await register("/cic/", scope: "aisp pisp")
        #expect(refused.status == 400)
        #expect(refused.json?["error"]?.stringValue == "invalid_client_metadata")
        #expect(
            refused.json?["error_description"]?.stringValue
                == "scope pisp needs the PSD2 role PSP_PI, which the QWAC does not grant")
        #expect(try await register("/cic/", scope: "aisp").status == 201)
        #expect(try await register("/sandbox/cic/", scope: "aisp pisp cbpii").status == 201)
    }

    @Test func registrationKeyRules() async throws {
        let h = try SimulatorHarness()
        func attempt(_ key: JSON, cert: String? = "qwac.crt") async throws -> HTTPResponse {
            let body = try h.eiRegistrationBody().setting("jwks", .object([("keys", .array([key]))]))
            return try await h.send(h.request(.post, "/sandbox/cic/oauth2/registrations", body: body.bytes, cert: cert))
        }
        let qseal = Base64Text.encode(try h.der("qseal.crt"))
        let ca = Base64Text.encode(try h.der("ca.crt"))
        let good = try h.eiKey()
        #expect(try await attempt(good.setting("x5c", .array([.string(qseal)]))).status == 400)  // no chain
        #expect(try await attempt(good.setting("kty", "EC")).status == 400)
        #expect(try await attempt(good.setting("x5c", .array(["not base64!", .string(ca)]))).status == 400)
        #expect(try await attempt(good.setting("kid", "mine")).status == 400)
        // RFC 7517 §4.5 / RFC 7518 §6.3.1: no null kid; n and e present and those of x5c[0].
        #expect(try await attempt(good.setting("kid", .null)).status == 400)
        #expect(try await attempt(good.setting("n", nil)).status == 400)
        #expect(try await attempt(good.setting("e", nil)).status == 400)
        #expect(try await attempt(good.setting("n", try h.eiKey(chain: ["qseal2.crt", "ca.crt"])["n"]!)).status == 400)
        #expect(try await attempt(try h.eiKey(chain: ["rogue-client.crt", "rogue-ca.crt"])).status == 400)
        #expect(try await attempt(good, cert: nil).status == 401)
        #expect(try await attempt(good, cert: "noorgid.crt").status == 401)
        #expect(try await attempt(good).status == 201)
    }
}
