import Foundation
import Testing
import TestSupport

@testable import GatewayApp

/// Registration end to end: the API over HTTP, real PostgreSQL, real adapters over libcurl with mutual TLS, and the
/// strict simulator checking every signature, digest, certificate and field rule.
@Suite struct RegistrationFlowTests {
    @Test func registersAtEuroInformationUpdatesRotatesTheSealAndDeletes() async throws {
        try await SimulatorHarness.withGateway { sim, h in
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(h)
            let created = try await h.request(
                "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal))
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["status"] as? String == "active")
            let id = try #require(created.json["id"] as? String)
            let clientID = try #require(created.json["clientId"] as? String)
            let firstKid = try #require(created.json["keyId"] as? String)
            #expect(!clientID.isEmpty && !firstKid.isEmpty)

            let patched = try await h.request("PATCH", "/v1/registrations/\(id)", json: ["redirectUris": ["https://tpp.example/new"]])
            #expect(patched.status == 200, "\(patched.text)")
            #expect(patched.json["redirectUris"] as? [String] == ["https://tpp.example/new"])

            // Rotation: a new QSealC; Euro-Information keeps both keys and the bank gives the new one its own kid.
            let newSeal = try await CertificatesAPITests.upload(h, cert: "qseal2-chain.pem", key: "qseal2.key")
            let newSealID = try #require(newSeal.json["id"] as? String)
            let rotated = try await h.request("PATCH", "/v1/registrations/\(id)", json: ["qsealCertificateId": newSealID])
            #expect(rotated.status == 200, "\(rotated.text)")
            #expect(rotated.json["qsealCertificateId"] as? String == newSealID)
            let newKid = try #require(rotated.json["keyId"] as? String)
            #expect(newKid != firstKid, "signatures now use the new key's kid")

            #expect(try await h.request("DELETE", "/v1/registrations/\(id)").status == 204)
            #expect(try await h.request("GET", "/v1/registrations/\(id)").status == 404)
            #expect(!h.logs.text.contains("PRIVATE KEY"))
        }
    }

    @Test func registersAtBPCEGroupWideAndSurfacesTheBanksOwnErrors() async throws {
        try await SimulatorHarness.withGateway { sim, h in
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(h)
            let created = try await h.request(
                "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "bpce", qwac: qwac, qseal: qseal, name: "TPP One"))
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["bank"] as? String == "bpce")
            #expect(["active", "pending"].contains(created.json["status"] as? String ?? ""))
            let id = try #require(created.json["id"] as? String)
            let exchange = try #require(created.json["lastBankExchange"] as? [String: Any])
            #expect((exchange["request"] as? String)?.contains("PRIVATE") == false)

            // The simulator refuses a second registration with the same client_name (BPCE: unique) — with its own
            // error code, which the problem carries. (Another set of certificates: BPCE wants one per client, which
            // Passerelle checks before calling the bank.)
            let qwac2 = try #require(
                try await CertificatesAPITests.upload(h, cert: "qwac2-chain.pem", key: "qwac2.key").json["id"] as? String)
            let qseal2 = try #require(
                try await CertificatesAPITests.upload(h, cert: "qseal2-chain.pem", key: "qseal2.key").json["id"] as? String)
            let duplicate = try await h.request(
                "POST", "/v1/registrations",
                json: RegistrationsAPITests.body(bank: "bpce:17515", qwac: qwac2, qseal: qseal2, name: "TPP One"))
            #expect(duplicate.status == 502, "\(duplicate.text)")
            let bank = try #require(duplicate.json["bank"] as? [String: Any])
            #expect(bank["httpStatus"] as? Int == 400)
            #expect((bank["code"] as? String)?.isEmpty == false)

            let noPhone = try await h.request("PATCH", "/v1/registrations/\(id)", json: ["contact": ["name": "Ops 2", "email": "ops2@tpp.example"]])
            #expect(noPhone.status == 422, "BPCE requires a phone number: refused (the schema allows it) before calling the bank")
            #expect(noPhone.text.contains("contact.phone"))
            let patched = try await h.request(
                "PATCH", "/v1/registrations/\(id)", json: ["contact": ["name": "Ops 2", "email": "ops2@tpp.example", "phone": "+33100000001"]])
            #expect(patched.status == 200, "\(patched.text)\n\(sim.logs.text.suffix(1500))")
            #expect(try await h.request("DELETE", "/v1/registrations/\(id)").status == 204)

            // The outbound audit log: one row per bank call, path templates without identifiers, no secrets.
            await h.app.audit.flush()
            let rows = try await h.app.db.query("""
                SELECT request_id, bank_id, method, path_template, array_to_string(signed_headers, ' ') AS signed,
                  status, duration_ms, bank_correlation_id, coalesce(error_kind, '') AS error_kind
                FROM outbound_requests ORDER BY id
                """)
            #expect(rows.count >= 5, "token, register, duplicate register, PUT, DELETE")
            let clientID = try #require(created.json["clientId"] as? String)
            var everything = ""
            for row in rows {
                let template: String = try row.decode("path_template")
                let signed: String = try row.decode("signed")
                let bank: String = try row.decode("bank_id")
                let requestID: String = try row.decode("request_id")
                #expect(bank.hasPrefix("bpce:"))
                #expect(!requestID.isEmpty)
                #expect(!template.contains(clientID), "no identifiers in path templates: \(template)")
                if template.contains("register") && !template.contains("token") {
                    #expect(signed.contains("(request-target)") && signed.contains("digest"), "signed header names kept")
                }
                everything += template + signed + requestID
            }
            #expect(rows.contains { (try? $0.decode("path_template", as: String.self))?.contains("{clientId}") == true })
            for secret in ["Bearer", "PRIVATE KEY", "access_token", "FR76"] {
                #expect(!everything.contains(secret))
            }
        }
    }
}

/// Euro-Information's `extended_transaction_history`: asked for at registration, kept by the registration, and
/// asked for again at every update and in every authorize URL (it used to be dropped by the first update).
@Suite struct ExtendedHistoryTests {
    @Test func theExtendedHistoryScopeSurvivesUpdatesAndReachesAuthorization() async throws {
        try await SimulatorHarness.withGateway { sim, h in
            let created = try await h.register(bank: "cmcic:cic") { $0["extendedTransactionHistory"] = true }
            #expect(created.json["extendedTransactionHistory"] as? Bool == true)
            let id = try #require(created.json["id"] as? String)
            func authorizeScope() async throws -> String {
                let connection = try await h.createConnection(bank: "cmcic:cic", psuReference: "history")
                let url = try #require(URL(string: connection.authorizationURL))
                return url.queryValue("scope") ?? ""
            }
            #expect(try await authorizeScope().contains("extended_transaction_history"))
            let patched = try await h.request("PATCH", "/v1/registrations/\(id)", json: ["clientName": "Renamed TPP"])
            #expect(patched.status == 200, "\(patched.text)")
            #expect(patched.json["extendedTransactionHistory"] as? Bool == true)
            let sent = try await h.app.db.query("SELECT last_request::text AS r FROM registrations WHERE id = \(UUID(uuidString: id)!)")
            #expect(try sent[0].decode("r", as: String?.self)?.contains("extended_transaction_history") == true, "the update asked again")
            #expect(try await authorizeScope().contains("extended_transaction_history"))
        }
    }
}
