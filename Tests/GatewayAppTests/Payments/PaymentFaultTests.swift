import BankSimulator
import Foundation
import GatewayCore
import Testing
import TestSupport

@testable import GatewayApp

/// At most once at the bank: each fault of the payment creation leaves the payment `unknown` (202), never sent
/// again — not by a retry with the same key, not by the reconciler — and the simulator counts what it accepted.
@Suite(.serialized) struct PaymentFaultTests {
    typealias F = PaymentsFixture

    /// `fault` on the POST of payment-requests; `atBank` payments the bank committed.
    @Test(arguments: [
        ("drop-after-commit", 1), ("500-after-commit", 1), ("latency-after-commit=2500", 1), ("drop", 0),
    ])
    func anAmbiguousCreationIsUnknownAndNeverSentAgain(fault: String, atBank: Int) async throws {
        try await PaymentsSimulatorTests.withGateway(environment: ["PASSERELLE_BANK_TIMEOUT_SECONDS": "1"]) {
            h, banks, _ in
            _ = try await F.register(h, bank: "cmcic:cic")
            // A first payment (it also leaves the pisp token cached, so the fault hits the payment request).
            let first = try await F.create(h, F.body(bank: "cmcic:cic"), key: "warm-\(fault)")
            #expect(first.status == 201, "\(first.text)")

            try await F.fault(banks, bank: "cmcic:cic", fault: fault, path: "payment-requests")
            let key = "fault-\(fault)"
            let created = try await F.create(h, F.body(bank: "cmcic:cic", amount: "20.00"), key: key)
            #expect(created.status == 202, "\(created.text)")
            #expect(created.json["status"] as? String == "unknown")
            #expect(created.json["authorizationUrl"] == nil)
            let id = try #require(created.json["id"] as? String)
            let informationID = try #require(created.json["paymentInformationId"] as? String)
            #expect(try await F.bankCount(banks, paymentInformationID: informationID) == atBank)

            // The same request again: the first answer, nothing sent.
            let replay = try await F.create(h, F.body(bank: "cmcic:cic", amount: "20.00"), key: key)
            #expect(replay.status == 202)
            #expect(replay.body == created.body)
            // The reconciler and a read look again; with no Location there is nothing to ask the bank by: it stays
            // unknown for an operator, and it is still never POSTed again.
            #expect(await h.app.payments.reconcileDue() == 0)
            let read = try await h.request("GET", "/v1/payments/\(id)")
            #expect(read.json["status"] as? String == "unknown", "\(read.text)")
            #expect((read.json["statusDetail"] as? String)?.contains("never sent again") == true)
            #expect(try await F.bankCount(banks, paymentInformationID: informationID) == atBank)
            #expect(try await F.bankTotal(banks) == 1 + atBank)
        }
    }

    /// The confirmation's answer is lost after the bank confirmed: the payment is `unknown`, then resolved from the
    /// bank by its resource id (the reconciler reads `GET /payment-requests/{id}`), never confirmed twice.
    @Test(arguments: ["drop-after-commit", "500-after-commit"])
    func aLostConfirmationIsResolvedFromTheBank(fault: String) async throws {
        try await PaymentsSimulatorTests.withGateway { h, banks, _ in
            _ = try await F.register(h, bank: "cmcic:cic")
            let created = try await F.create(h, F.body(bank: "cmcic:cic"), key: "confirm-\(fault)")
            let id = try #require(created.json["id"] as? String)
            let url = try #require(created.json["authorizationUrl"] as? String)
            let state = try #require(URL(string: url)?.queryValue("state"))
            let code = try await banks.authorize(url, persona: "marc", state: state)
            try await F.fault(banks, bank: "cmcic:cic", fault: fault, path: "o-confirmation")
            let approved = try await h.request(
                "POST", "/v1/payments/\(id)/authorization", json: ["code": code, "state": state],
                headers: [("Idempotency-Key", "auth-\(fault)")])
            #expect(approved.status == 200, "\(approved.text)")
            #expect(approved.json["status"] as? String == "unknown")
            #expect(await h.app.payments.reconcileDue() == 1)
            let read = try await h.request("GET", "/v1/payments/\(id)")
            #expect(read.json["status"] as? String == "executed", "\(read.text)")
            #expect(read.json["bankStatus"] as? String == "ACSC")
        }
    }
}
