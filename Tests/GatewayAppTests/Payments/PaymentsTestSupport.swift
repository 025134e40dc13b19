import BankSimulator
import CurlKit
import Foundation
import GatewayCore
import Testing
import TestSupport

@testable import GatewayApp

/// Shortcuts shared by the payment tests: a registration with the payment roles, payment bodies, the simulator's
/// counters, the customer's browser.
enum PaymentsFixture {
    static let redirect = "https://tpp.example/callback"
    static let psu = [("PSU-IP-Address", "192.0.2.10"), ("PSU-User-Agent", "e2e/1.0")]
    /// marc's first account (simulator personas), booked balance 4179.95.
    static let marcIBAN = "FR7613807008043001965405158"

    /// Registers at `bank` with the aisp, pisp and cbpii roles; the registration id. A BPCE registration's
    /// activation time is passed on `clock` (the simulator activates at once).
    static func register(
        _ h: AppHarness, bank: String, clock: ConnectionsClock? = nil, certificates: (qwac: String, qseal: String)? = nil
    ) async throws -> String {
        let (qwac, qseal): (String, String)
        if let certificates { (qwac, qseal) = certificates } else {
            (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(h)
        }
        var body = RegistrationsAPITests.body(
            bank: bank, qwac: qwac, qseal: qseal, name: "Passerelle pay \(UUID().uuidString.prefix(6))")
        body["roles"] = ["aisp", "pisp", "cbpii"]
        let registered = try await h.request("POST", "/v1/registrations", json: body)
        #expect(registered.status == 201, "\(registered.text)")
        if let clock, let activatesAt = (registered.json["activatesAt"] as? String).flatMap(RFC3339.date) {
            clock.advance(activatesAt.timeIntervalSince(clock.now) + 1)
        }
        return try #require(registered.json["id"] as? String)
    }

    /// A payment body; `overrides` replace members.
    static func body(bank: String, amount: String = "12.30", overrides: [String: Any] = [:]) -> [String: Any] {
        var body: [String: Any] = [
            "bank": bank, "psuReference": "payer-1",
            "creditor": ["name": "SCI DES TILLEULS", "iban": "FR7610107001011234567890129", "bic": "BREDFRPP"],
            "amount": ["value": amount, "currency": "EUR"], "remittance": "Order 123",
            "redirectUri": redirect,
        ]
        body.merge(overrides) { _, new in new }
        return body
    }

    /// POST /v1/payments with an idempotency key.
    static func create(_ h: AppHarness, _ body: [String: Any], key: String) async throws -> TestResponse {
        try await h.request("POST", "/v1/payments", json: body, headers: psu + [("Idempotency-Key", key)])
    }

    /// The simulator's counters (`/__simulator/counters`).
    static func counters(_ banks: SimulatorBanks) async throws -> [String: Any] {
        let response = try await banks.transport.send(
            OutboundRequest(
                method: "GET", url: "https://localhost:\(banks.server.boundPort)/__simulator/counters",
                timeout: .seconds(10), bankID: "test", pathTemplate: "/__simulator/counters"))
        return try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
    }

    /// How many payment requests the simulator accepted with this `paymentInformationId`.
    static func bankCount(_ banks: SimulatorBanks, paymentInformationID: String) async throws -> Int {
        let counters = try await counters(banks)
        return (counters["paymentsByInformationId"] as? [String: Any])?[paymentInformationID] as? Int ?? 0
    }

    /// Every payment request the simulator accepted.
    static func bankTotal(_ banks: SimulatorBanks) async throws -> Int {
        let counters = try await counters(banks)
        return (counters["paymentsByInformationId"] as? [String: Int])?.values.reduce(0, +) ?? 0
    }

    /// Injects `fault` into the next request of `bank` whose path contains `path` (`/__simulator/faults`).
    static func fault(_ banks: SimulatorBanks, bank: String, fault: String, path: String, method: String = "POST")
        async throws
    {
        let response = try await banks.transport.send(
            OutboundRequest(
                method: "POST",
                url: "https://localhost:\(banks.server.boundPort)/__simulator/faults?bank=\(bank)&fault=\(fault)"
                    + "&count=1&path=\(path)&method=\(method)",
                timeout: .seconds(10), bankID: "test", pathTemplate: "/__simulator/faults"))
        #expect(response.status == 204)
    }
}
