import Foundation
import GatewayCore
import Testing
import TestSupport

@testable import GatewayApp

/// Bank and local state never diverge silently (docs/operations.md, "Failure modes"): a registration is written
/// (`registering`) before the bank is called, and a bank answer that cannot be stored leaves a `failed` row with the
/// bank's client id, which `DELETE` removes at the bank and here.
@Suite struct RegistrationIntentTests {
    @Test func theIntentIsStoredBeforeTheBankIsCalledAndCompletedWithItsAnswer() async throws {
        let ei = FakeBankAdapter(provider: .euroInformation)
        let gate = Gate()
        ei.update { $0.registerGate = gate }
        try await AppHarness.with(adapters: [.euroInformation: ei]) { h in
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(h)
            let body = RegistrationsAPITests.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal)
            async let created = h.request("POST", "/v1/registrations", json: body)
            await gate.waitForWaiter()
            // What a kill -9 at this point would leave: the row, before the bank has answered.
            let during = try await h.request("GET", "/v1/registrations")
            gate.open()
            let answer = try await created
            let listed = during.json["registrations"] as? [[String: Any]] ?? []
            #expect(listed.count == 1)
            #expect(listed.first?["status"] as? String == "registering")
            #expect(listed.first?["clientId"] == nil)
            #expect(answer.status == 201, "\(answer.text)")
            #expect(answer.json["status"] as? String == "active" && answer.json["clientId"] as? String == "client-1")
            let after = try await h.request("GET", "/v1/registrations/\(try #require(answer.json["id"] as? String))")
            #expect(after.json["status"] as? String == "active" && after.json["clientId"] as? String == "client-1")
        }
    }

    @Test func anAnswerThatCannotBeStoredLeavesAFailedRowThatDeleteRemovesAtTheBank() async throws {
        let ei = FakeBankAdapter(provider: .euroInformation)
        ei.update {
            // PostgreSQL's jsonb refuses \u0000: the bank accepted the client, storing its answer fails.
            $0.registration = .success(
                RegistrationResult(
                    clientID: "client-nul", keyID: "kid-1", keys: [], status: .active, requestBody: "{}",
                    responseBody: #"{"note":"\u0000"}"#, httpStatus: 201))
        }
        try await AppHarness.with(adapters: [.euroInformation: ei]) { h in
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(h)
            let created = try await h.request(
                "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal))
            #expect(created.status == 500, "\(created.text)")
            let listed = try await h.request("GET", "/v1/registrations").json["registrations"] as? [[String: Any]] ?? []
            #expect(listed.count == 1)
            #expect(listed.first?["status"] as? String == "failed")
            #expect(listed.first?["clientId"] as? String == "client-nul", "the bank's client is visible here")
            let id = try #require(listed.first?["id"] as? String)
            let events = try await h.request("GET", "/v1/events?types=registration.failed").json["events"] as? [[String: Any]]
            #expect(events?.map { $0["resourceId"] as? String } == [id], "registration.failed, written with the row")
            #expect(try await h.request("DELETE", "/v1/registrations/\(id)").status == 204)
            #expect(ei.calls.contains(.deleteRegistration(clientID: "client-nul")), "and removed at the bank")
            #expect(try await h.request("GET", "/v1/registrations").json["registrations"].map { ($0 as? [Any])?.count } == 0)
        }
    }

    @Test func aRefusedRegistrationLeavesNoRow() async throws {
        let ei = FakeBankAdapter(provider: .euroInformation)
        ei.update { $0.registration = .failure(.rejected(status: 400, code: "invalid_redirect_uri", message: "no")) }
        try await AppHarness.with(adapters: [.euroInformation: ei]) { h in
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(h)
            let created = try await h.request(
                "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal))
            #expect(created.status != 201 && created.json["type"] as? String != "/problems/internal", "\(created.text)")
            #expect(try await h.request("GET", "/v1/registrations").json["registrations"].map { ($0 as? [Any])?.count } == 0)
        }
    }
}
