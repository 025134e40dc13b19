import HTTPServerKit
import Testing

@testable import BankSimulator

@Suite struct BPCERegistrationTests {
    /// BPCE refuses scopes the certificates' PSD2 roles do not grant (docs/simulator.md). Checked: without the
    /// `PSD2RoleCheck` call in `registration`, the first registration is 201.
    @Test(arguments: CryptoBackend.allCases)
    func scopesBeyondTheCertificatesRolesAreRefused(_ crypto: CryptoBackend) async throws {
        let h = try SimulatorHarness(crypto: crypto)
        let token = try await h.bpceRegistrationToken()
        func register(scope: String) async throws -> HTTPResponse {
            try await h.send(
                h.signed(
                    .bpce, .post, "/stet/setting/v1/register", host: SimulatorHarness.bpceHost, token: token,
                    keyId: "https://tpp.example/certs/qseal.pem",
                    body: h.bpceRegistrationBody().setting("scope", .string(scope)).bytes, cert: "qwac-ai.crt"))
        }
        let refused = try await register(scope: "aisp, cbpii")
        #expect(refused.status == 400)
        #expect(
            refused.json?["error_description"]?.stringValue
                == "scope cbpii needs the PSD2 role PSP_IC, which the QWAC does not grant")
        #expect(try await register(scope: "aisp").status == 201)
    }

    @Test func registersWithTokenSignatureAndDigest() async throws {
        let h = try SimulatorHarness()
        let r = try await h.bpceRegister()
        #expect(r.status == 201, "\(r.text)")
        let id = try #require(r.json?["client_id"]?.stringValue)
        // GET / PUT / DELETE with keyId = client_id.
        let token = try await h.bpceRegistrationToken()
        let path = "/stet/setting/v1/register/" + id
        let get = try await h.send(
            h.signed(.bpce, .get, path, host: SimulatorHarness.bpceHost, token: token, keyId: id))
        #expect(get.status == 200, "\(get.text)")
        #expect(get.json?["jwks"]?["keys"]?.arrayValue?.first?["kid"]?.stringValue == "qseal-2026")
        let body = try h.bpceRegistrationBody().setting(
            "redirect_uris", .array(["https://tpp.example/callback", "https://tpp.example/other"]))
        let put = try await h.send(
            h.signed(.bpce, .put, path, host: SimulatorHarness.bpceHost, token: token, keyId: id, body: body.bytes))
        #expect(put.status == 201, "\(put.text)")
        let del = try await h.send(
            h.signed(.bpce, .delete, path, host: SimulatorHarness.bpceHost, token: token, keyId: id))
        #expect(del.status == 204)
        let gone = try await h.send(
            h.signed(.bpce, .get, path, host: SimulatorHarness.bpceHost, token: token, keyId: id))
        #expect(gone.status == 404)
    }

    @Test func registrationNeedsTheManageRegistrationTokenAndASignature() async throws {
        let h = try SimulatorHarness()
        let noToken = try await h.send(
            h.signed(
                .bpce, .post, "/stet/setting/v1/register", host: SimulatorHarness.bpceHost, token: nil,
                keyId: "https://tpp.example/qseal.pem", body: h.bpceRegistrationBody().bytes))
        #expect(noToken.status == 401)
        let token = try await h.bpceRegistrationToken()
        let badSig = try await h.send(
            h.signed(
                .bpce, .post, "/stet/setting/v1/register", host: SimulatorHarness.bpceHost, token: token,
                keyId: "https://tpp.example/qseal.pem", body: h.bpceRegistrationBody().bytes,
                tamper: .init(keyFile: "qseal2.key")))
        #expect(badSig.status == 403)
        #expect(h.logText.contains("signature does not verify"))
        let noDigest = try await h.send(
            h.signed(
                .bpce, .post, "/stet/setting/v1/register", host: SimulatorHarness.bpceHost, token: token,
                keyId: "https://tpp.example/qseal.pem", body: h.bpceRegistrationBody().bytes,
                tamper: .init(
                    signedHeaders: { $0.filter { $0 != "digest" } },
                    headersAfterSigning: { $0.removeAll { $0.0 == "Digest" } })))
        #expect(noDigest.status == 400)
        #expect(h.logText.contains("digest header missing"))
        // The registration token endpoint refuses other scopes.
        let wrong = try await h.send(
            h.request(
                .post, "/stet/psd2/oauth/token", host: SimulatorHarness.bpceHost,
                body: h.form([
                    ("client_id", "PSD2_TPPRegister"), ("grant_type", "client_credentials"), ("scope", "aisp"),
                ])))
        #expect(wrong.status == 400)
    }

    struct FieldCase: Sendable, CustomTestStringConvertible {
        var name: String
        var path: String
        var value: JSON?
        var testDescription: String { name }
    }

    static let fieldCases: [FieldCase] = [
        .init(name: "redirect_uris missing", path: "redirect_uris", value: nil),
        .init(name: "redirect_uris not URIs", path: "redirect_uris", value: .array(["callback"])),
        .init(name: "token_endpoint_auth_method", path: "token_endpoint_auth_method", value: "private_key_jwt"),
        .init(name: "grant_types missing", path: "grant_types", value: nil),
        .init(
            name: "grant_types with authorization_code (strict)", path: "grant_types",
            value: .array(["client_credentials", "authorization_code"])),
        .init(name: "response_types", path: "response_types", value: .array(["token"])),
        .init(name: "client_name missing", path: "client_name", value: nil),
        .init(name: "scope space separated", path: "scope", value: "aisp pisp"),
        .init(name: "scope unknown", path: "scope", value: "aisp, extended_transaction_history"),
        .init(name: "contact missing", path: "contact", value: nil),
        .init(name: "contact email", path: "contact.email", value: "nobody"),
        .init(name: "contact phone missing", path: "contact.phone_number", value: nil),
        .init(name: "provider_legal_id format", path: "provider_legal_id", value: "ACPR-12345"),
        .init(name: "provider_legal_id other organisation", path: "provider_legal_id", value: "PSDFR-ACPR-99999"),
        .init(name: "client_legal_id format", path: "client_legal_id", value: "FR-ACPR-12345001"),
        .init(name: "software_id missing", path: "software_id", value: nil),
        .init(name: "software_version missing on POST", path: "software_version", value: nil),
        .init(name: "logo_uri not a string", path: "logo_uri", value: 3),
        .init(name: "jwks missing", path: "jwks", value: nil),
    ]

    @Test(arguments: fieldCases)
    func fieldRules(_ c: FieldCase) async throws {
        let h = try SimulatorHarness()
        let body = try h.bpceRegistrationBody().setting(c.path, c.value)
        let r = try await h.bpceRegister(body: body)
        #expect(r.status == 400, "\(r.text)")
        #expect(r.json?["error"]?.stringValue != nil && r.json?["error_description"]?.stringValue != nil, "\(r.text)")
    }

    @Test func agentClientLegalIdInTheRightFormatIsAccepted() async throws {
        let h = try SimulatorHarness()
        let r = try await h.bpceRegister(
            body: h.bpceRegistrationBody().setting("client_legal_id", "AGTFR-ACPR-12345001"))
        #expect(r.status == 201, "\(r.text)")
    }

    @Test func jwkRules() async throws {
        let h = try SimulatorHarness()
        let good = try #require(try h.bpceRegistrationBody()["jwks"]?["keys"]?.arrayValue?.first)
        let qseal = Base64Text.encode(try h.der("qseal.crt"))
        let ca = Base64Text.encode(try h.der("ca.crt"))
        let pss = try h.der("pss.crt")
        let mutations: [(String, JSON)] = [
            ("two keys", .array([good, good])),
            ("kty", .array([good.setting("kty", "EC")])),
            ("use", .array([good.setting("use", "enc")])),
            ("alg", .array([good.setting("alg", "PS256")])),
            ("key_ops", .array([good.setting("key_ops", .array(["sign"]))])),
            ("kid", .array([good.setting("kid", nil)])),
            ("x5u forbidden", .array([good.setting("x5u", "https://tpp.example/q.pem")])),
            ("x5t forbidden", .array([good.setting("x5t", "abc")])),
            ("x5c chain", .array([good.setting("x5c", .array([.string(qseal), .string(ca)]))])),
            ("x5t#S256 wrong", .array([good.setting("x5t#S256", "AAAA")])),
            ("x5t#S256 missing", .array([good.setting("x5t#S256", nil)])),
            (
                "x5c PSS",
                .array([
                    good.setting("x5c", .array([.string(Base64Text.encode(pss))]))
                        .setting("x5t#S256", .string(try h.crypto.certificateInfo(der: pss).sha256Base64URL))
                ])
            ),
        ]
        for (name, keys) in mutations {
            let body = try h.bpceRegistrationBody().setting("jwks", .object([("keys", keys)]))
            let r = try await h.bpceRegister(body: body)
            #expect(r.status == 400, "\(name): \(r.text)")
        }
    }

    @Test func clientNameIsUnique() async throws {
        let h = try SimulatorHarness()
        #expect(try await h.bpceRegister().status == 201)
        let again = try await h.bpceRegister()
        #expect(again.status == 400)
        #expect(again.json?["error_description"]?.stringValue == "client_name must be unique")
    }

    /// Seed bpce-89c3-registration-api: "if a TPP requires a new profile (= new cliend_ID), it has to use another
    /// set of eIDAS certifciates".
    @Test func aNewClientNeedsAnotherSetOfCertificates() async throws {
        let h = try SimulatorHarness()
        #expect(try await h.bpceRegister().status == 201)
        let again = try await h.bpceRegister(body: try h.bpceRegistrationBody(name: "Another client"))
        #expect(again.status == 400)
        #expect(again.json?["error_description"]?.stringValue?.contains("a new client needs another set") == true)
    }

    @Test func strictActivationWaitsFor14hParisTime() async throws {
        // Wednesday 18 November 2026 at 11:00 Paris (after 09:59): active Thursday 19 at 14:00 Paris = 13:00 UTC.
        let start = ParisCalendar.days(from: .init(year: 2026, month: 11, day: 18)) * 86400 + 10 * 3600
        let h = try SimulatorHarness(start: start) { $0.activationMode = .strict }
        let r = try await h.bpceRegister()
        #expect(r.headers["X-Simulator-Active-At"] == "2026-11-19T13:00:00Z")
        let id = try #require(r.json?["client_id"]?.stringValue)
        let early = try await h.send(
            h.request(
                .post, "/stet/psd2/oauth/token", host: SimulatorHarness.bpceHost,
                body: h.form([("client_id", id), ("grant_type", "client_credentials"), ("scope", "pisp")])))
        #expect(early.status == 401)
        #expect(h.logText.contains("is not active before 2026-11-19T13:00:00Z"))
        h.simulator.clock.advance(by: 27 * 3600)
        let later = try await h.send(
            h.request(
                .post, "/stet/psd2/oauth/token", host: SimulatorHarness.bpceHost,
                body: h.form([("client_id", id), ("grant_type", "client_credentials"), ("scope", "pisp")])))
        #expect(later.status == 200, "\(later.text)")
    }
}

@Suite struct ActivationCalendarTests {
    func at(_ y: Int, _ m: Int, _ d: Int, _ hour: Int, _ minute: Int) -> Int64 {
        ParisCalendar.instant(paris: .init(year: y, month: m, day: d), secondOfDay: Int64(hour * 3600 + minute * 60))
    }

    @Test func sameDayBefore0959NextWorkingDayAfter() {
        #expect(ParisCalendar.bpceActivation(after: at(2026, 11, 18, 9, 58)) == at(2026, 11, 18, 14, 0))
        #expect(ParisCalendar.bpceActivation(after: at(2026, 11, 18, 9, 59)) == at(2026, 11, 19, 14, 0))
        #expect(ParisCalendar.bpceActivation(after: at(2026, 11, 18, 9, 59), cutoff: 36000) == at(2026, 11, 18, 14, 0))
        #expect(ParisCalendar.bpceActivation(after: at(2026, 11, 20, 16, 0)) == at(2026, 11, 23, 14, 0))  // Friday → Monday
        #expect(ParisCalendar.bpceActivation(after: at(2026, 11, 21, 8, 0)) == at(2026, 11, 23, 14, 0))  // Saturday
    }

    @Test func frenchPublicHolidaysAreSkipped() {
        #expect(ParisCalendar.easter(2026) == .init(year: 2026, month: 4, day: 5))
        #expect(ParisCalendar.bpceActivation(after: at(2026, 4, 6, 8, 0)) == at(2026, 4, 7, 14, 0))  // Easter Monday
        #expect(ParisCalendar.bpceActivation(after: at(2026, 5, 13, 15, 0)) == at(2026, 5, 15, 14, 0))  // Ascension Thursday 14 May
        #expect(ParisCalendar.bpceActivation(after: at(2026, 5, 22, 15, 0)) == at(2026, 5, 26, 14, 0))  // Whit Monday 25 May
        #expect(ParisCalendar.bpceActivation(after: at(2026, 7, 13, 12, 0)) == at(2026, 7, 15, 14, 0))  // 14 July
        #expect(ParisCalendar.bpceActivation(after: at(2026, 12, 24, 11, 0)) == at(2026, 12, 28, 14, 0))  // Christmas, weekend
    }

    @Test func parisOffsetFollowsSummerTime() {
        #expect(ParisCalendar.parisOffset(at: at(2026, 7, 1, 12, 0)) == 7200)
        #expect(ParisCalendar.parisOffset(at: at(2026, 11, 18, 12, 0)) == 3600)
        #expect(ParisCalendar.httpDate(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(ParisCalendar.parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
    }
}

@Suite struct BPCEAccountTests {
    @Test func consentGatesBalancesAndTransactions() async throws {
        let h = try SimulatorHarness()
        let (id, token, _) = try await h.bpceConnected()
        let host = SimulatorHarness.bpceHost
        let ip = [("PSU-IP-Address", "192.0.2.10")]
        let accounts = try await h.send(
            h.signed(.bpce, .get, "/stet/psd2/v1/accounts", host: host, token: token, keyId: id, extra: ip))
        #expect(accounts.status == 200, "\(accounts.text)")
        #expect(accounts.json?["connectedPsu"] == nil)
        #expect(accounts.json?["accounts"]?.arrayValue?.first?["balances"] == nil)
        let before = try await h.send(
            h.signed(
                .bpce, .get, "/stet/psd2/v1/accounts/038-CPT30019654051/balances", host: host, token: token, keyId: id,
                extra: ip))
        #expect(before.status == 403)
        #expect(before.json?["message"]?.stringValue == "NAAC")
        let consent = Array(
            """
            {"balances":[{"iban":" FR7613807008043001965405158"}],"transactions":[{"iban":"FR7613807008043001965405158"}],
             "trustedBeneficiaries":true,"psuIdentity":true}
            """.utf8)
        let put = try await h.send(
            h.signed(
                .bpce, .put, "/stet/psd2/v1/consents", host: host, token: token, keyId: id, body: consent, extra: ip))
        #expect(put.status == 201, "\(put.text)")
        #expect(put.body.isEmpty)
        let after = try await h.send(
            h.signed(
                .bpce, .get, "/stet/psd2/v1/accounts/038-CPT30019654051/balances", host: host, token: token, keyId: id,
                extra: ip))
        #expect(after.status == 200)
        let listed = try await h.send(
            h.signed(.bpce, .get, "/stet/psd2/v1/accounts", host: host, token: token, keyId: id, extra: ip))
        #expect(listed.json?["connectedPsu"]?.stringValue == "MALLOW MARC")
        #expect(listed.json?["accounts"]?.arrayValue?.first?["balances"]?.arrayValue?.count == 3)
        let other = try await h.send(
            h.signed(
                .bpce, .get, "/stet/psd2/v1/accounts/038-CPT30019654052/transactions", host: host, token: token,
                keyId: id, extra: ip))
        #expect(other.status == 403)
        let tx = try await h.send(
            h.signed(
                .bpce, .get, "/stet/psd2/v1/accounts/038-CPT30019654051/transactions", host: host, token: token,
                keyId: id, extra: ip))
        #expect(tx.json?["_links"]?["next"]?["templated"]?.boolValue == true)
        #expect(tx.json?["transactions"]?.arrayValue?.first?["bookingDate"]?.stringValue?.count == 10)
        let ben = try await h.send(
            h.signed(.bpce, .get, "/stet/psd2/v1/trusted-beneficiaries", host: host, token: token, keyId: id, extra: ip)
        )
        #expect(ben.status == 200)
    }

    @Test func fourUnattendedCallsPer24HoursThen429() async throws {
        let h = try SimulatorHarness { $0.accessTokenLifetime = 3 * 86400 }
        let (id, token, _) = try await h.bpceConnected()
        let host = SimulatorHarness.bpceHost
        for _ in 0..<4 {
            #expect(
                try await h.send(h.signed(.bpce, .get, "/stet/psd2/v1/accounts", host: host, token: token, keyId: id))
                    .status == 200)
        }
        let fifth = try await h.send(
            h.signed(.bpce, .get, "/stet/psd2/v1/accounts", host: host, token: token, keyId: id))
        #expect(fifth.status == 429)
        #expect(h.logText.contains("unattended call limit reached"))
        // With the PSU connected there is no limit.
        let attended = try await h.send(
            h.signed(
                .bpce, .get, "/stet/psd2/v1/accounts", host: host, token: token, keyId: id,
                extra: [("PSU-IP-Address", "192.0.2.1")]))
        #expect(attended.status == 200)
        h.simulator.clock.advance(by: 86400 - 1)
        #expect(
            try await h.send(h.signed(.bpce, .get, "/stet/psd2/v1/accounts", host: host, token: token, keyId: id))
                .status == 429)
        h.simulator.clock.advance(by: 1)
        #expect(
            try await h.send(h.signed(.bpce, .get, "/stet/psd2/v1/accounts", host: host, token: token, keyId: id))
                .status == 200)
    }

    @Test func rateLimitCanAnswer403TMRQAndCountsPerAccount() async throws {
        let h = try SimulatorHarness {
            $0.rateLimitAnswer = .forbiddenTMRQ
            $0.unattendedCallsPerDay = 1
        }
        let (id, token, _) = try await h.bpceConnected()
        let host = SimulatorHarness.bpceHost
        let consent = Array(
            "{\"balances\":[{\"iban\":\"FR7613807008043001965405158\"},{\"iban\":\"FR7613807008043001965405255\"}]}"
                .utf8)
        #expect(
            try await h.send(
                h.signed(.bpce, .put, "/stet/psd2/v1/consents", host: host, token: token, keyId: id, body: consent)
            ).status == 201)
        #expect(
            try await h.send(
                h.signed(
                    .bpce, .get, "/stet/psd2/v1/accounts/038-CPT30019654051/balances", host: host, token: token,
                    keyId: id)
            ).status == 200)
        #expect(
            try await h.send(
                h.signed(
                    .bpce, .get, "/stet/psd2/v1/accounts/038-CPT30019654052/balances", host: host, token: token,
                    keyId: id)
            ).status == 200)
        let second = try await h.send(
            h.signed(
                .bpce, .get, "/stet/psd2/v1/accounts/038-CPT30019654051/balances", host: host, token: token, keyId: id))
        #expect(second.status == 403)
        #expect(second.json?["message"]?.stringValue == "TMRQ")
    }

    @Test func tokenEndpointRefusesScopeOnCodeAndRefresh() async throws {
        let h = try SimulatorHarness()
        let (id, _, refresh) = try await h.bpceConnected()
        let r = try await h.send(
            h.request(
                .post, "/stet/psd2/oauth/token", host: SimulatorHarness.bpceHost,
                body: h.form([
                    ("client_id", id), ("grant_type", "refresh_token"), ("refresh_token", refresh), ("scope", "aisp"),
                ])))
        #expect(r.status == 400)
        let ok = try await h.send(
            h.request(
                .post, "/stet/psd2/oauth/token", host: SimulatorHarness.bpceHost,
                body: h.form([("client_id", id), ("grant_type", "refresh_token"), ("refresh_token", refresh)])))
        #expect(ok.status == 200)
        #expect(ok.json?["refresh_token"]?.stringValue == refresh)
        #expect(ok.json?["scope"]?.stringValue == "aisp offline_access")
    }

    @Test func personaWithoutAccountsGets204AndBankSelectionByPathAndRealHost() async throws {
        let h = try SimulatorHarness()
        let (id, token, _) = try await h.bpceConnected(persona: "nobody")
        let r = try await h.send(
            h.signed(.bpce, .get, "/stet/psd2/v1/accounts", host: SimulatorHarness.bpceHost, token: token, keyId: id))
        #expect(r.status == 204)
        // The same bank is reachable as /bpce/13807/… and as www.13807.sandbox.api.89c3.com.
        let byPath = try await h.send(
            h.signed(.bpce, .get, "/bpce/13807/stet/psd2/v1/accounts", host: "localhost", token: token, keyId: id))
        #expect(byPath.status == 204, "\(byPath.text)")
        let byHost = try await h.send(
            h.signed(
                .bpce, .get, "/stet/psd2/v1/accounts", host: "www.13807.sandbox.api.89c3.com", token: token, keyId: id))
        #expect(byHost.status == 204)
        // A token of bank 13807 is refused at 17515.
        let other = try await h.send(
            h.signed(.bpce, .get, "/stet/psd2/v1/accounts", host: "bpce-17515.localhost", token: token, keyId: id))
        #expect(other.status == 401)
    }

    @Test func trustedBeneficiariesCanBeNotImplemented() async throws {
        let h = try SimulatorHarness { $0.trustedBeneficiariesMode = .notImplemented }
        let (id, token, _) = try await h.bpceConnected()
        let r = try await h.send(
            h.signed(
                .bpce, .get, "/stet/psd2/v1/trusted-beneficiaries", host: SimulatorHarness.bpceHost, token: token,
                keyId: id))
        #expect(r.status == 501)
        #expect(r.json?["message"]?.stringValue == "NIMP")
    }
}
