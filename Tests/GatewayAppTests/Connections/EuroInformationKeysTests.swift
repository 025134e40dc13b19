import BankSimulator
import Foundation
import GatewayCore
import Testing
import TestSupport

@testable import GatewayApp

/// Euro-Information keys (docs/adapters.md "Euro-Information keys"): the JWKS carries `n`/`e` and no `kid: null`
/// (the strict simulator refuses both), a rotation keeps the old key beside the new one for that update, and the
/// next update retires it.
@Suite(.serialized) struct EuroInformationKeysTests {
    @Test func aRotatedKeyIsRetiredAtTheNextUpdate() async throws {
        let banks = try SimulatorBanks()
        let h = try await AppHarness.start(
            adapters: banks.adapters, environment: ["PASSERELLE_BANKS_FILE": banks.banksFile])
        try await banks.run(with: h) {
            let registered = try await h.register(bank: "cmcic:cic")
            let id = try #require(registered.json["id"] as? String)
            let firstKid = try #require(registered.json["keyId"] as? String)
            #expect((registered.json["bankKeys"] as? [Any])?.count == 1)

            let qseal2 = try await CertificatesAPITests.upload(h, cert: "qseal2-chain.pem", key: "qseal2.key")
            let rotated = try await h.request(
                "PATCH", "/v1/registrations/\(id)", json: ["qsealCertificateId": try #require(qseal2.json["id"] as? String)])
            #expect(rotated.status == 200, "\(rotated.text)")
            let newKid = try #require(rotated.json["keyId"] as? String)
            #expect(newKid != firstKid)
            let both = (rotated.json["bankKeys"] as? [[String: Any]] ?? []).compactMap { $0["kid"] as? String }
            #expect(Set(both) == [firstKid, newKid], "side by side during the rotation")

            // Customer calls are signed with the new kid.
            let connection = try await ConnectionsSimulatorTests.authorizeConnection(
                h, banks, bank: "cmcic:cic", persona: "marc")
            let psu = ConnectionsSimulatorTests.psu
            #expect(try await h.request("GET", "/v1/connections/\(connection)/accounts", headers: psu).status == 200)

            // The next update keeps only the key in effect.
            let updated = try await h.request(
                "PATCH", "/v1/registrations/\(id)",
                json: ["contact": ["name": "Ops", "email": "psd2-new@tpp.example", "phone": "+33100000000"]])
            #expect(updated.status == 200, "\(updated.text)")
            let kept = (updated.json["bankKeys"] as? [[String: Any]] ?? []).compactMap { $0["kid"] as? String }
            #expect(kept == [newKid], "\(updated.text)")
            #expect(updated.json["keyId"] as? String == newKid)
            #expect(try await h.request("GET", "/v1/connections/\(connection)/accounts", headers: psu).status == 200)
        }
    }
}
