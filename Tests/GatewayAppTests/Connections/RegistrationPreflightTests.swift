import BankSimulator
import CurlKit
import Foundation
import GatewayCore
import Testing
import TestSupport

@testable import GatewayApp

/// Pre-flight checks (docs/adapters.md "Pre-flight checks"): what a bank is known to refuse is answered with a 422
/// naming the field and the fix, and no request reaches the bank (the simulator counts every request it serves).
@Suite(.serialized) struct RegistrationPreflightTests {
    /// Requests the simulator served so far (its introspection endpoint is not counted).
    static func bankRequests(_ banks: SimulatorBanks) async throws -> Int {
        let response = try await banks.transport.send(
            OutboundRequest(
                method: "GET", url: "https://localhost:\(banks.server.boundPort)/__simulator/counters",
                deadline: .now + .seconds(10), bankID: "introspection", pathTemplate: "/__simulator/counters"))
        let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        return try #require(json?["requests"] as? Int)
    }

    /// `body` is refused with 422 naming `field` with a message containing `fix`, and the bank sees no request.
    static func expectRefused(
        _ h: AppHarness, _ banks: SimulatorBanks, _ body: [String: Any], field: String, fix: String,
        method: String = "POST", path: String = "/v1/registrations"
    ) async throws {
        let before = try await bankRequests(banks)
        let refused = try await h.request(method, path, json: body)
        #expect(refused.status == 422, "\(field): \(refused.text)")
        let errors = refused.json["errors"] as? [[String: Any]] ?? []
        #expect(
            errors.contains { ($0["field"] as? String) == field && ($0["message"] as? String)?.contains(fix) == true },
            "\(field): \(refused.text)")
        #expect(try await bankRequests(banks) == before, "\(field): no bank request")
    }

    @Test func whatTheBanksRefuseIsRefusedBeforeAnyBankCall() async throws {
        let banks = try SimulatorBanks()
        let h = try await AppHarness.start(
            adapters: banks.adapters, environment: ["PASSERELLE_BANKS_FILE": banks.banksFile])
        try await banks.run(with: h) {
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(h)
            func body(
                _ bank: String, qwac: String = qwac, qseal: String = qseal, change: (inout [String: Any]) -> Void = { _ in }
            ) -> [String: Any] {
                var b = RegistrationsAPITests.body(bank: bank, qwac: qwac, qseal: qseal, name: "Preflight \(UUID().uuidString.prefix(6))")
                change(&b)
                return b
            }
            // Roles the certificates' PSD2 QCStatement does not grant (qwac-ai grants PSP_AI alone).
            let aiOnly = try await CertificatesAPITests.upload(h, cert: "qwac-ai-chain.pem", key: "qwac-ai.key")
            let aiOnlyID = try #require(aiOnly.json["id"] as? String, "\(aiOnly.text)")
            try await Self.expectRefused(
                h, banks, body("bpce", qwac: aiOnlyID) { $0["roles"] = ["aisp", "cbpii"] }, field: "qwacCertificateId",
                fix: "does not grant PSP_IC")
            // Euro-Information wants the full chain: a QSealC uploaded alone is incomplete.
            let leafOnly = try await CertificatesAPITests.upload(h, cert: "qseal2.crt", key: "qseal2.key")
            let lonely = try #require(leafOnly.json["id"] as? String)
            try await Self.expectRefused(
                h, banks, body("cmcic:cic", qseal: lonely), field: "qsealCertificateId", fix: "full chain")
            // BPCE refuses certificates signed with RSASSA-PSS.
            let pss = try await CertificatesAPITests.upload(h, cert: "pss.crt", key: "pss.key")
            let pssID = try #require(pss.json["id"] as? String, "\(pss.text)")
            try await Self.expectRefused(h, banks, body("bpce", qseal: pssID), field: "qsealCertificateId", fix: "RSASSA-PSS")
            // A QSealC whose organizationIdentifier is not PSDXX-YYYY-ZZZZ (here a VAT number): the banks take it as
            // provider_legal_id. Checked: without this check the simulator is called (and refuses).
            let vat = try await CertificatesAPITests.upload(h, cert: "qseal-vat-chain.pem", key: "qseal-vat.key")
            let vatID = try #require(vat.json["id"] as? String, "\(vat.text)")
            for bank in ["bpce", "cmcic:cic"] {
                try await Self.expectRefused(h, banks, body(bank, qseal: vatID), field: "qsealCertificateId", fix: "PSDXX")
            }
            // An agent identifier in the wrong format.
            try await Self.expectRefused(
                h, banks, body("bpce") { $0["clientLegalId"] = "agent-42" }, field: "clientLegalId", fix: "AGTFR-ACPR")
            // Certificates already used by another live BPCE registration.
            let first = try await h.request("POST", "/v1/registrations", json: body("bpce"))
            #expect(first.status == 201, "\(first.text)")
            try await Self.expectRefused(h, banks, body("bpce"), field: "qsealCertificateId", fix: "already used by BPCE")
            // Once that one is deleted, the certificates are free again.
            let id = try #require(first.json["id"] as? String)
            #expect(try await h.request("DELETE", "/v1/registrations/\(id)").status == 204)
            #expect(try await h.request("POST", "/v1/registrations", json: body("bpce")).status == 201)
        }
    }
}
