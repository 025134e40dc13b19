import HTTPServerKit
import Testing

@testable import BankSimulator

/// One request per BPCE signed-call check (docs/protocol.md §5.5), refused with the status and logged reason.
@Suite struct BPCECheckTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var status: Int
        var reason: String
        var tamper = SimulatorHarness.Tamper()
        var cert: String? = "qwac.crt"
        var withBody = false
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
        Case(name: "unknown keyId", status: 403, reason: "keyId unknown", tamper: .init(keyId: "PSDFR-ACPR-12345")),
        Case(
            name: "x-request-id not signed", status: 403, reason: "x-request-id not signed",
            tamper: .init(signedHeaders: { $0.filter { $0 != "x-request-id" } })),
        Case(
            name: "request-target not signed", status: 403, reason: "(request-target) not signed",
            tamper: .init(signedHeaders: { $0.filter { $0 != "(request-target)" } })),
        Case(
            name: "date too far ahead", status: 403, reason: "date outside the allowed skew",
            tamper: .init(headersBeforeSigning: { h in
                if let i = h.firstIndex(where: { $0.0 == "Date" }) {
                    h[i].1 = ParisCalendar.httpDate(SimulatorHarness.start + 400)
                }
            })),
        Case(
            name: "digest mismatch", status: 403, reason: "digest mismatch",
            tamper: .init(bodyAfterSigning: Array("{\"psuIdentity\":false}".utf8)), withBody: true),
        Case(
            name: "digest not signed", status: 403, reason: "digest not signed",
            tamper: .init(signedHeaders: { $0.filter { $0 != "digest" } }), withBody: true),
        Case(
            name: "another key", status: 403, reason: "signature does not verify", tamper: .init(keyFile: "qseal2.key")),
        Case(
            name: "expired or unknown bearer", status: 401, reason: "access token unknown",
            tamper: .init(headersAfterSigning: { h in
                if let i = h.firstIndex(where: { $0.0 == "Authorization" }) { h[i].1 = "Bearer x" }
            })),
    ]

    @Test(arguments: cases, CryptoBackend.allCases)
    func refusesAViolation(_ c: Case, crypto: CryptoBackend) async throws {
        let h = try SimulatorHarness(crypto: crypto)
        let (id, token, _) = try await h.bpceConnected()
        let path = c.withBody ? "/stet/psd2/v1/consents" : "/stet/psd2/v1/accounts"
        let body: [UInt8] = c.withBody ? Array("{\"psuIdentity\":true}".utf8) : []
        let ip = [("PSU-IP-Address", "192.0.2.10")]
        let ok = try await h.send(
            h.signed(
                .bpce, c.withBody ? .put : .get, path, host: SimulatorHarness.bpceHost, token: token, keyId: id,
                body: body, extra: ip))
        #expect(ok.status == (c.withBody ? 201 : 200), "baseline: \(ok.text)")
        let requestID = "bpce-\(c.name.replacing(" ", with: "-"))"
        let r = try await h.send(
            h.signed(
                .bpce, c.withBody ? .put : .get, path, host: SimulatorHarness.bpceHost, token: token, keyId: id,
                body: body, extra: ip, cert: c.cert, tamper: c.tamper), id: requestID)
        #expect(r.status == c.status, "\(r.text)")
        let line = h.sink.captured.first { $0.contains(requestID) && $0.contains("refused") }
        #expect(line?.contains(c.reason) == true, "logged: \(line ?? "nothing")")
    }

    @Test func keyIdMayBeTheKidOrACertificateURL() async throws {
        let h = try SimulatorHarness()
        let (id, token, _) = try await h.bpceConnected()
        let ip = [("PSU-IP-Address", "192.0.2.10")]
        for keyId in [id, "qseal-2026", "https://tpp.example/certs/qseal.pem"] {
            let r = try await h.send(
                h.signed(
                    .bpce, .get, "/stet/psd2/v1/accounts", host: SimulatorHarness.bpceHost, token: token, keyId: keyId,
                    extra: ip))
            #expect(r.status == 200, "\(keyId): \(r.text)")
        }
    }
}

@Suite struct TokenEndpointCheckTests {
    @Test func euroInformationTokenChecks() async throws {
        let h = try SimulatorHarness { $0.authorizationCodeLifetime = 60 }
        let c = try await h.registerEI()
        // A QWAC that is not the client's.
        let code1 = try await h.eiAuthorize(c)
        let foreign = try await h.send(
            h.request(
                .post, "/sandbox/cic/oauth2/token",
                body: h.form([
                    ("client_id", c.clientID),
                    ("grant_type", "authorization_code"), ("code", code1),
                    ("redirect_uri", "https://tpp.example/callback"),
                    ("code_verifier", SimulatorHarness.verifier),
                ]), cert: "qwac2.crt"))
        #expect(foreign.status == 401)
        #expect(foreign.json?["error"]?.stringValue == "invalid_client")
        // Another redirect_uri than at authorize.
        let code2 = try await h.eiAuthorize(c)
        let redirect = try await h.eiToken(
            c,
            [
                ("grant_type", "authorization_code"), ("code", code2),
                ("redirect_uri", "https://tpp.example/other"), ("code_verifier", SimulatorHarness.verifier),
            ])
        #expect(redirect.status == 400)
        #expect(h.logText.contains("redirect_uri differs from the authorize call"))
        // An expired code.
        let code3 = try await h.eiAuthorize(c)
        h.simulator.clock.advance(by: 61)
        let late = try await h.eiToken(
            c,
            [
                ("grant_type", "authorization_code"), ("code", code3),
                ("redirect_uri", "https://tpp.example/callback"), ("code_verifier", SimulatorHarness.verifier),
            ])
        #expect(late.status == 400)
        #expect(h.logText.contains("authorization code expired"))
        // Unknown grant, scope not registered for client credentials.
        #expect(
            try await h.eiToken(c, [("grant_type", "password")]).json?["error"]?.stringValue == "unsupported_grant_type"
        )
        #expect(try await h.eiToken(c, [("grant_type", "client_credentials"), ("scope", "aisp")]).status == 400)
        // A grant type the registration did not ask for.
        let narrow = try await h.registerEI(
            body: try h.eiRegistrationBody().setting("grant_types", .array(["authorization_code", "refresh_token"])))
        let cc = try await h.eiToken(narrow, [("grant_type", "client_credentials"), ("scope", "pisp")])
        #expect(cc.json?["error"]?.stringValue == "unauthorized_client")
    }

    @Test func bpceTokenChecks() async throws {
        let h = try SimulatorHarness()
        let id = try await h.bpceClient()
        let host = SimulatorHarness.bpceHost
        let noCert = try await h.send(
            h.request(
                .post, "/stet/psd2/oauth/token", host: host,
                body: h.form([("client_id", id), ("grant_type", "client_credentials"), ("scope", "pisp")]), cert: nil))
        #expect(noCert.status == 401)
        let pss = try await h.send(
            h.request(
                .post, "/stet/psd2/oauth/token", host: host,
                body: h.form([
                    ("client_id", "PSD2_TPPRegister"), ("grant_type", "client_credentials"),
                    ("scope", "manageRegistration"),
                ]), cert: "pss.crt"))
        #expect(pss.status == 401)
        let unknown = try await h.send(
            h.request(
                .post, "/stet/psd2/oauth/token", host: host,
                body: h.form([
                    ("client_id", "PSDFR-ACPR-12345"), ("grant_type", "client_credentials"), ("scope", "pisp"),
                ])))
        #expect(unknown.status == 401)
        let ok = try await h.send(
            h.request(
                .post, "/stet/psd2/oauth/token", host: host,
                body: h.form([("client_id", id), ("grant_type", "client_credentials"), ("scope", "pisp")])))
        #expect(ok.status == 200)
        #expect(ok.json?["refresh_token"] == nil)
        let json = try await h.send(
            h.request(
                .post, "/stet/psd2/oauth/token", host: host, headers: [("Content-Type", "application/json")],
                body: h.form([("client_id", id), ("grant_type", "client_credentials"), ("scope", "pisp")])))
        #expect(json.status == 400)
        #expect(h.logText.contains("token request with Content-Type 'application/json'"))
    }
}
