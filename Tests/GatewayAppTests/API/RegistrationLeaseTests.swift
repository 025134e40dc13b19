import Foundation
import GatewayCore
import Testing
import TestSupport

@testable import GatewayApp

/// Registration updates call the bank under a lease (`RegistrationService.withBankCallLease`), holding no database
/// connection or row lock meanwhile (docs/operations.md, "Failure modes": slow banks).
@Suite struct RegistrationLeaseTests {
    @Test func updatesWaitingAtASlowBankHoldNoDatabaseConnection() async throws {
        let ei = FakeBankAdapter(provider: .euroInformation)
        try await AppHarness.with(
            adapters: [.euroInformation: ei], environment: ["PASSERELLE_DATABASE_POOL_SIZE": "2"]) { h in
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(h)
            let created = try await h.request(
                "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal))
            let id = try #require(created.json["id"] as? String, "\(created.text)")
            let gate = Gate()
            ei.update { $0.updateGate = gate }
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<4 {
                    group.addTask {
                        try await h.request("PATCH", "/v1/registrations/\(id)", json: ["clientName": "Name \(i)"]).status
                    }
                }
                await gate.waitForWaiter()
                // One update at the bank, three waiting for its lease, a pool of two: the database still answers.
                let certificates = try await h.request("GET", "/v1/certificates")
                let atTheBank = gate.arrived
                gate.open()
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                #expect(certificates.status == 200, "\(certificates.text)")
                #expect(atTheBank == 1, "updates of one registration reach the bank one at a time")
                #expect(statuses == [200, 200, 200, 200])
            }
            let version = try await h.app.db.query("SELECT version FROM registrations")[0].decode("version", as: Int.self)
            #expect(version == 5, "created, then four updates stored one after the other")
        }
    }

    /// The bank applied an update whose answer the database refuses (a `\u0000` in its JSON): the caller gets the
    /// error, the row keeps its previous version, the lease is released, and the next update goes through.
    @Test func anUpdateThatCannotBeStoredKeepsThePreviousVersionAndReleasesTheLease() async throws {
        let ei = FakeBankAdapter(provider: .euroInformation)
        try await AppHarness.with(adapters: [.euroInformation: ei]) { h in
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(h)
            let created = try await h.request(
                "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal))
            let id = try #require(created.json["id"] as? String, "\(created.text)")
            ei.update {
                $0.registration = .success(
                    RegistrationResult(
                        clientID: "client-1", keyID: "kid-1", keys: [], status: .active, requestBody: "{}",
                        responseBody: #"{"note":"\u0000"}"#, httpStatus: 200))
            }
            let refused = try await h.request("PATCH", "/v1/registrations/\(id)", json: ["clientName": "Refused"])
            let row = try await h.app.db.query(
                "SELECT version, client_name, bank_call_lease_id FROM registrations")[0]
            #expect(refused.status == 500, "\(refused.text)")
            #expect(try row.decode("version", as: Int.self) == 1)
            #expect(try row.decode("client_name", as: String.self) != "Refused")
            #expect(try row.decode("bank_call_lease_id", as: UUID?.self) == nil)
            ei.update {
                $0.registration = .success(
                    RegistrationResult(
                        clientID: "client-1", keyID: "kid-1", keys: [], status: .active, requestBody: "{}",
                        responseBody: "{}", httpStatus: 200))
            }
            let next = try await h.request("PATCH", "/v1/registrations/\(id)", json: ["clientName": "Accepted"])
            #expect(next.status == 200 && next.json["clientName"] as? String == "Accepted", "\(next.text)")
        }
    }
}
