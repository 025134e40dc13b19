import Foundation
import Testing
import TestSupport

@testable import GatewayApp

/// The contract enforced on input (docs/api-input.md): every body is `application/json`, strict JSON, without
/// control characters or undeclared members, and its fields obey the OpenAPI document's rules — and nothing
/// invalid reaches a bank. The bank side is the real simulator: its access log counts what it received.
@Suite struct InputContractTests {
    /// Requests the simulator has answered so far.
    static func bankRequests(_ sim: SimulatorHarness) -> Int {
        sim.logs.captured.filter { $0.contains("\"message\":\"request\"") }.count
    }

    static func send(_ h: AppHarness, _ method: String, _ path: String, raw: String, contentType: String? = "application/json")
        async throws -> TestResponse
    {
        var headers = [("Authorization", "Bearer \(AppHarness.apiKey)")]
        if let contentType { headers.append(("Content-Type", contentType)) }
        return try await h.client.send(method, path, headers: headers, body: Array(raw.utf8))
    }

    static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test func aRegistrationWithAnyInvalidFieldSendsNothingToTheBank() async throws {
        try await SimulatorHarness.withGateway { sim, h in
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(h)
            let good = RegistrationsAPITests.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal)
            func with(_ change: (inout [String: Any]) -> Void) throws -> String {
                var body = good
                change(&body)
                return try Self.json(body)
            }
            // (body, field the problem must name)
            let cases: [(String, String)] = [
                (try with { $0["clientName"] = "My\u{0}TPP" }, "clientName"),
                (try with { $0["clientName"] = "Line\nbreak" }, "clientName"),
                (try with { $0["clientName"] = "C1\u{85}control" }, "clientName"),
                (try with { $0["clientName"] = String(repeating: "n", count: 201) }, "clientName"),
                (try with { $0["clientName"] = "" }, "clientName"),
                (try with { $0["redirectUris"] = ["http://tpp.example/callback"] }, "redirectUris[0]"),
                (try with { $0["redirectUris"] = ["https://tpp.example/cb#fragment"] }, "redirectUris[0]"),
                (try with { $0["redirectUris"] = ["javascript:alert(1)"] }, "redirectUris[0]"),
                (try with { $0["redirectUris"] = [String]() }, "redirectUris"),
                (try with { $0["roles"] = ["aisp", "aisp"] }, "roles"),
                (try with { $0["roles"] = ["admin"] }, "roles[0]"),
                (try with { $0["environment"] = "staging" }, "environment"),
                (try with { $0["qwacCertificateId"] = "not-a-uuid" }, "qwacCertificateId"),
                (try with { $0["contact"] = ["name": "Ops", "email": "no-at-sign"] }, "contact.email"),
                (try with { $0["contact"] = ["name": "Ops", "email": "a@b.example", "phone": "0100"] }, "contact.phone"),
                (try with { $0["contact"] = ["name": "Ops", "email": "a@b.example", "fax": "+331"] }, "contact.fax"),
                (try with { $0["logoUri"] = "http://tpp.example/logo.png" }, "logoUri"),
                (try with { $0["surprise"] = true }, "surprise"),
                (try with { $0["clientName"] = 42 }, "clientName"),
                (try with { $0["bank"] = "cmcic:CIC" }, "bank"),
            ]
            for (body, field) in cases {
                let response = try await Self.send(h, "POST", "/v1/registrations", raw: body)
                #expect(response.status == 400, "\(field): \(response.status) \(response.text)")
                #expect(response.json["type"] as? String == "/problems/validation")
                let fields = (response.json["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
                #expect(fields.contains(field), "\(field) named in \(fields)")
            }
            // Not JSON as RFC 8259 defines it, or not JSON at all.
            let good1 = try Self.json(good)
            for raw in [
                String(good1.dropLast()) + ",}", "{\"clientName\": 01}", "{'bank': 'cmcic:cic'}", good1 + "x", "", "[]",
                "{\"bank\": \"cmcic:cic\" /* comment */}",
            ] {
                let response = try await Self.send(h, "POST", "/v1/registrations", raw: raw)
                #expect(response.status == 400, "\(raw.prefix(40)): \(response.status)")
            }
            for type in [nil, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"] as [String?] {
                let response = try await Self.send(h, "POST", "/v1/registrations", raw: good1, contentType: type)
                #expect(response.status == 415, "\(type ?? "none"): \(response.status)")
                #expect(response.json["type"] as? String == "/problems/unsupported-media-type")
            }
            #expect(Self.bankRequests(sim) == 0, "no invalid registration reached the bank")
            #expect(try await h.app.db.query("SELECT count(*) AS n FROM registrations")[0].decode("n", as: Int.self) == 0)

            // The same body, valid, with a charset parameter: it does reach the bank.
            let accepted = try await Self.send(h, "POST", "/v1/registrations", raw: good1, contentType: "application/json; charset=utf-8")
            #expect(accepted.status == 201, "\(accepted.text)")
            #expect(Self.bankRequests(sim) > 0)
        }
    }

    @Test func consentsTakeOnlyValidIBANs() async throws {
        try await AppHarness.with { h in
            let path = "/v1/connections/\(UUID().uuidString.lowercased())/consents"
            func consents(_ ibans: [String]) throws -> String {
                try Self.json(["balances": ibans, "transactions": [String](), "trustedBeneficiaries": false, "identity": true])
            }
            let bad = try await Self.send(h, "PUT", path, raw: try consents(["fr7630006000011234567890189"]))
            #expect(bad.status == 400, "lower case is not the electronic form: \(bad.text)")
            let checksum = try await Self.send(h, "PUT", path, raw: try consents(["FR7630006000011234567890188"]))
            #expect(checksum.status == 422, "a wrong mod-97 checksum: \(checksum.text)")
            #expect((checksum.json["errors"] as? [[String: Any]])?.first?["field"] as? String == "balances[0]")
            let good = try await Self.send(h, "PUT", path, raw: try consents(["FR7630006000011234567890189"]))
            #expect(good.status == 404, "valid IBANs get as far as the connection lookup: \(good.text)")
        }
    }

    @Test func documentedQueryParametersFilterAndInvalidOnesAreRefused() async throws {
        try await AppHarness.with { h in
            let bpce = try await h.request("GET", "/v1/banks?provider=bpce")
            #expect(bpce.status == 200)
            let providers = Set((bpce.json["banks"] as? [[String: Any]] ?? []).compactMap { $0["provider"] as? String })
            #expect(providers == ["bpce"])
            for target in [
                "/v1/banks?provider=cic", "/v1/banks?provider=bpce&provider=bpce", "/v1/banks?unknown=1",
                "/v1/registrations?environment=AAA", "/v1/registrations?bank=cmcic:",
                "/v1/connections?psuReference=a%00b",
            ] {
                let response = try await h.request("GET", target)
                #expect(response.status == 400, "\(target): \(response.status)")
            }
            #expect(try await h.request("GET", "/v1/registrations?environment=sandbox&bank=bpce").status == 200)
        }
    }

    @Test func everyPatternIsCompiledOnce() {
        #expect(Set(InputPattern.compiled.keys) == Set(InputPattern.allCases))
        #expect(InputPattern.uuid.matches("7d0b4f2c-55a4-4f0e-9d3c-2f1e6b2a9c10"))
        #expect(!InputPattern.uuid.matches("7d0b4f2c-55a4-4f0e-9d3c-2f1e6b2a9c1"))
        #expect(InputPattern.pemCertificate.matches("\r\n-----BEGIN CERTIFICATE-----\nMII"))
    }

    @Test func everyPatternOfTheServerIsTheDocumentsOwn() throws {
        let document = try OpenAPICoverageTests.repositoryDocument()
        for pattern in InputPattern.allCases {
            // The document writes patterns in single-quoted YAML (one backslash) or double-quoted (two).
            let single = "'\(pattern.rawValue)'"
            let double = "\"" + pattern.rawValue.replacingOccurrences(of: "\\", with: "\\\\") + "\""
            let prefixed = pattern.rawValue  // the PEM patterns continue in the document with a character class
            #expect(
                document.contains(single) || document.contains(double) || document.contains("'" + prefixed),
                "\(pattern) is not written in openapi/passerelle.yaml as the server enforces it")
        }
    }
}
