import BankSimulator
import Foundation
import GatewayCore
import Testing
import TestSupport

@testable import GatewayApp

/// A modification at BPCE takes effect when the bank applies it (docs/adapters.md "Modifications at BPCE"): the
/// strict simulator, whose clock the application and the adapters share, keeps checking the old QSealC and QWAC
/// until its own activation time and only the new ones afterwards.
@Suite(.serialized) struct BPCEModificationTests {
    static let psu = ConnectionsSimulatorTests.psu

    @Test func aBPCECertificateRotationTakesEffectAtTheBanksActivationTime() async throws {
        let banks = try SimulatorBanks(activation: .strict)
        let clock = banks.simulator.clock
        let now: @Sendable () -> Date = { Date(timeIntervalSince1970: TimeInterval(clock.now())) }
        let h = try await AppHarness.start(
            adapters: Application.standardAdapters(now: now)(banks.transport),
            environment: ["PASSERELLE_BANKS_FILE": banks.banksFile], now: now)
        try await banks.run(with: h) {
            let registered = try await h.register(bank: "bpce:13807")
            let registration = try #require(registered.json["id"] as? String)
            let firstActivation = try #require((registered.json["activatesAt"] as? String).flatMap(RFC3339.date))
            clock.advance(by: Int64(firstActivation.timeIntervalSince(now())) + 1)
            let first = try await ConnectionsSimulatorTests.authorizeConnection(h, banks, bank: "bpce:13807", persona: "marc")
            #expect(try await h.request("GET", "/v1/connections/\(first)/accounts", headers: Self.psu).status == 200)

            // Rotate both certificates and change the contact.
            let qwac2 = try await CertificatesAPITests.upload(h, cert: "qwac2-chain.pem", key: "qwac2.key")
            let qseal2 = try await CertificatesAPITests.upload(h, cert: "qseal2-chain.pem", key: "qseal2.key")
            let newQWAC = try #require(qwac2.json["id"] as? String)
            let newQSeal = try #require(qseal2.json["id"] as? String)
            let patched = try await h.request(
                "PATCH", "/v1/registrations/\(registration)",
                json: [
                    "qwacCertificateId": newQWAC, "qsealCertificateId": newQSeal,
                    "contact": ["name": "Ops", "email": "psd2-new@tpp.example", "phone": "+33100000000"],
                ])
            #expect(patched.status == 200, "\(patched.text)")
            #expect(patched.json["status"] as? String == "active")
            #expect(patched.json["qsealCertificateId"] as? String == registered.json["qsealCertificateId"] as? String)
            #expect(patched.json["keyId"] as? String == registered.json["keyId"] as? String)
            let change = try #require(patched.json["pendingChange"] as? [String: Any], "\(patched.text)")
            #expect(Set(change["fields"] as? [String] ?? []) == ["qwacCertificateId", "qsealCertificateId", "contact"])
            let changeAt = try #require((change["activatesAt"] as? String).flatMap(RFC3339.date))
            #expect(changeAt > now())

            // Until then: the old certificates are presented and signed with, new connections start.
            #expect(try await h.request("GET", "/v1/connections/\(first)/accounts", headers: Self.psu).status == 200)
            let second = try await ConnectionsSimulatorTests.authorizeConnection(
                h, banks, bank: "bpce:13807", persona: "tech-n-co")
            clock.advance(by: Int64(changeAt.timeIntervalSince(now())) - 1)
            for id in [first, second] {
                let accounts = try await h.request("GET", "/v1/connections/\(id)/accounts", headers: Self.psu)
                #expect(accounts.status == 200, "one second before the change: \(accounts.text)")
            }
            let before = try await h.request("GET", "/v1/registrations/\(registration)")
            #expect(before.json["pendingChange"] != nil)
            #expect((before.json["contact"] as? [String: Any])?["email"] as? String == "psd2@tpp.example")

            // From then on: only the new ones (the simulator no longer accepts the old key).
            clock.advance(by: 2)
            let after = try await h.request("GET", "/v1/registrations/\(registration)")
            #expect(after.json["pendingChange"] == nil, "\(after.text)")
            #expect(after.json["qsealCertificateId"] as? String == newQSeal)
            #expect(after.json["qwacCertificateId"] as? String == newQWAC)
            #expect((after.json["contact"] as? [String: Any])?["email"] as? String == "psd2-new@tpp.example")
            // The time-based scan reports the change taking effect, once (docs/events.md).
            try await h.app.lifecycleScheduler.scan()
            try await h.app.lifecycleScheduler.scan()
            let activated = try await h.request("GET", "/v1/events?types=registration.activated").json["events"] as? [[String: Any]] ?? []
            let changes = activated.filter { ($0["data"] as? [String: String])?["change"] != nil }
            #expect(changes.count == 1 && changes.first?["resourceId"] as? String == registration, "\(activated)")
            for id in [first, second] {
                let accounts = try await h.request("GET", "/v1/connections/\(id)/accounts", headers: Self.psu)
                #expect(accounts.status == 200, "after the change: \(accounts.text)")
            }
        }
    }
}
