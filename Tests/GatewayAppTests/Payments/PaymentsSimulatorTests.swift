import BankSimulator
import Foundation
import GatewayCore
import Testing
import TestSupport

@testable import GatewayApp

/// Payments end to end: the Application over HTTP, the real adapters, the simulator over mutual TLS, PostgreSQL.
@Suite(.serialized) struct PaymentsSimulatorTests {
    typealias F = PaymentsFixture

    /// Runs `body` with a gateway against a fresh simulator; BPCE registrations are activated on `clock`.
    /// Runs `body` with a gateway against a fresh simulator; BPCE registrations are activated on `clock`. With
    /// `simulatorClock`, the application and its adapters read the simulator's clock instead (a test moving it moves
    /// all three).
    static func withGateway(
        environment: [String: String] = [:], simulatorClock: Bool = false,
        _ body: (AppHarness, SimulatorBanks, ConnectionsClock) async throws -> Void
    ) async throws {
        let banks = try SimulatorBanks()
        let clock = ConnectionsClock(Date())
        let simulator = banks.simulator.clock
        let now: @Sendable () -> Date = { [simulatorClock] in
            simulatorClock ? Date(timeIntervalSince1970: TimeInterval(simulator.now())) : clock.now
        }
        var env = ["PASSERELLE_BANKS_FILE": banks.banksFile, "PASSERELLE_PAYMENT_RECONCILER_INTERVAL_SECONDS": "0"]
        env.merge(environment) { _, new in new }
        let adapters = simulatorClock ? Application.standardAdapters(now: now)(banks.transport) : banks.adapters
        let h = try await AppHarness.start(adapters: adapters, environment: env, now: now)
        do {
            try await body(h, banks, clock)
        } catch {
            await h.stop()
            await banks.stop()
            throw error
        }
        await h.stop()
        await banks.stop()
    }

    /// Create → the same key again (replayed, one POST at the bank) → the same key with another body (422) →
    /// approve as marc → confirm → executed.
    @Test(arguments: ["cmcic:cic", "bpce:13807"])
    func paymentIsCreatedApprovedConfirmedAndExecuted(bank: String) async throws {
        try await Self.withGateway { h, banks, clock in
            _ = try await F.register(h, bank: bank, clock: clock)
            let key = "pay-\(UUID().uuidString)"
            let created = try await F.create(h, F.body(bank: bank), key: key)
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["status"] as? String == "authorization_required")
            let id = try #require(created.json["id"] as? String)
            let url = try #require(created.json["authorizationUrl"] as? String)
            let informationID = try #require(created.json["paymentInformationId"] as? String)
            #expect((created.json["endToEndId"] as? String)?.count ?? 0 <= 35)
            #expect(url.contains("scope=pisp"))

            // The same key and body: the first answer, byte for byte, and no second POST at the bank.
            let replay = try await F.create(h, F.body(bank: bank), key: key)
            #expect(replay.status == created.status)
            #expect(replay.body == created.body)
            #expect(replay.header("Location") == created.header("Location"))
            #expect(try await F.bankCount(banks, paymentInformationID: informationID) == 1)
            // The same key, another body: refused, nothing sent.
            let other = try await F.create(h, F.body(bank: bank, amount: "99.00"), key: key)
            #expect(other.status == 422, "\(other.text)")
            #expect(other.text.contains("Idempotency-Key"))
            #expect(try await F.bankTotal(banks) == 1)

            let state = try #require(URL(string: url)?.queryValue("state"))
            let code = try await banks.authorize(url, persona: "marc", state: state)
            let approved = try await h.request(
                "POST", "/v1/payments/\(id)/authorization", json: ["code": code, "state": state],
                headers: F.psu + [("Idempotency-Key", "auth-\(key)")])
            #expect(approved.status == 200, "\(approved.text)")
            // Pending validation at Euro-Information (PDNG), settlement in progress at BPCE (ACSP).
            let expected = bank.hasPrefix("cmcic") ? ("pending", "PDNG") : ("accepted", "ACSP")
            #expect(approved.json["status"] as? String == expected.0, "\(approved.text)")
            #expect(approved.json["bankStatus"] as? String == expected.1)
            // The same approval again (another key): the state is consumed.
            let again = try await h.request(
                "POST", "/v1/payments/\(id)/authorization", json: ["code": code, "state": state],
                headers: [("Idempotency-Key", "auth-2-\(key)")])
            #expect(again.status == 409)

            let read = try await h.request("GET", "/v1/payments/\(id)")
            #expect(read.status == 200)
            #expect(read.json["status"] as? String == "executed", "\(read.text)")
            #expect(read.json["bankStatus"] as? String == "ACSC")
            #expect(read.json["authorizationUrl"] == nil)
            let list = try await h.request("GET", "/v1/payments?psuReference=payer-1")
            #expect((list.json["payments"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            // Each change of the normalized status is an event, in order, ending at executed (docs/events.md).
            let events = try await h.request("GET", "/v1/events?types=payment.status_changed").json["events"] as? [[String: Any]] ?? []
            let steps = events.compactMap { $0["data"] as? [String: String] }.filter { $0["paymentId"] == id }
            #expect(steps.first?["previousStatus"] == "created" && steps.last?["status"] == "executed", "\(steps)")
            #expect(zip(steps, steps.dropFirst()).allSatisfy { $0["status"] == $1["previousStatus"] }, "\(steps)")
            // Executed: cancelling is a conflict, checked before the bank.
            let cancel = try await h.request(
                "POST", "/v1/payments/\(id)/cancellation", headers: [("Idempotency-Key", "cancel-\(key)")])
            #expect(cancel.status == 409, "\(cancel.text)")
            #expect(!h.logs.text.contains("Bearer "), "no token in the logs")
            #expect(!h.logs.text.contains(state), "no state in the logs")
        }
    }

    /// The customer refuses at the bank: the payment ends `rejected`; the state is consumed.
    @Test(arguments: ["cmcic:cic", "bpce:13807"])
    func aRefusalEndsThePaymentRejected(bank: String) async throws {
        try await Self.withGateway { h, banks, clock in
            _ = try await F.register(h, bank: bank, clock: clock)
            let created = try await F.create(h, F.body(bank: bank), key: "refuse-\(UUID().uuidString)")
            let id = try #require(created.json["id"] as? String)
            let url = try #require(created.json["authorizationUrl"] as? String)
            let back = try await banks.redirect(url, persona: "refuse")
            let error = try #require(back["error"])
            let state = try #require(back["state"])
            let refused = try await h.request(
                "POST", "/v1/payments/\(id)/authorization", json: ["error": error, "state": state],
                headers: [("Idempotency-Key", "refusal-\(id)")])
            #expect(refused.status == 200, "\(refused.text)")
            #expect(refused.json["status"] as? String == "rejected")
            #expect(try await h.request("GET", "/v1/payments/\(id)").json["status"] as? String == "rejected")
            let late = try await h.request(
                "POST", "/v1/payments/\(id)/authorization", json: ["code": "x", "state": state],
                headers: [("Idempotency-Key", "late-\(id)")])
            #expect(late.status == 409)
        }
    }

    /// Euro-Information cancels before execution; BPCE only a deferred payment (409 otherwise, before the bank).
    @Test func cancellationBeforeExecution() async throws {
        try await Self.withGateway { h, banks, clock in
            let certificates = try await RegistrationsAPITests.uploadCertificates(h)
            _ = try await F.register(h, bank: "cmcic:cic", certificates: certificates)
            let ei = try await F.create(h, F.body(bank: "cmcic:cic"), key: "c-ei")
            let eiID = try #require(ei.json["id"] as? String)
            let cancelled = try await h.request(
                "POST", "/v1/payments/\(eiID)/cancellation", headers: [("Idempotency-Key", "cancel-ei")])
            #expect(cancelled.status == 200, "\(cancelled.text)")
            #expect(cancelled.json["status"] as? String == "cancelled")
            #expect(cancelled.json["bankStatus"] as? String == "RJCT")
            #expect(cancelled.json["bankStatusReason"] as? String == "DS02")

            _ = try await F.register(h, bank: "bpce:13807", clock: clock, certificates: certificates)
            let now = try await F.create(h, F.body(bank: "bpce:13807"), key: "c-bpce-now")
            let nowID = try #require(now.json["id"] as? String)
            let refused = try await h.request(
                "POST", "/v1/payments/\(nowID)/cancellation", headers: [("Idempotency-Key", "cancel-bpce-now")])
            #expect(refused.status == 409, "\(refused.text)")
            let later = CalendarDate(year: 2100, month: 1, day: 4)!.description
            let deferred = try await F.create(
                h, F.body(bank: "bpce:13807", overrides: ["requestedExecutionDate": later]), key: "c-bpce-later")
            #expect(deferred.status == 201, "\(deferred.text)")
            let deferredID = try #require(deferred.json["id"] as? String)
            let ok = try await h.request(
                "POST", "/v1/payments/\(deferredID)/cancellation", headers: [("Idempotency-Key", "cancel-bpce-later")])
            #expect(ok.status == 200, "\(ok.text)")
            #expect(ok.json["status"] as? String == "cancelled")
        }
    }

    /// Twenty concurrent requests with one key: one bank POST, one payment; the others are told to wait (409) or
    /// get the first answer.
    @Test func concurrentRequestsWithOneKeyMakeOnePayment() async throws {
        try await Self.withGateway { h, banks, _ in
            _ = try await F.register(h, bank: "cmcic:cic")
            let key = "race-\(UUID().uuidString)"
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let r = try await F.create(h, F.body(bank: "cmcic:cic"), key: key)
                        return (r.status, r.json["id"] as? String)
                    }
                }
                var all: [(Int, String?)] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(statuses.allSatisfy { $0.0 == 201 || $0.0 == 409 }, "\(statuses.map(\.0))")
            #expect(Set(statuses.compactMap(\.1)).count == 1)
            #expect(try await F.bankTotal(banks) == 1)
            let list = try await h.request("GET", "/v1/payments?psuReference=payer-1")
            #expect((list.json["payments"] as? [Any])?.count == 1)
        }
    }

    /// CBPII with a client-credentials token (registration) and with the customer's connection.
    @Test func fundsConfirmationAnswersTheBanksResult() async throws {
        try await Self.withGateway { h, banks, clock in
            let certificates = try await RegistrationsAPITests.uploadCertificates(h)
            for bank in ["cmcic:cic", "bpce:13807"] {
                let registration = try await F.register(h, bank: bank, clock: clock, certificates: certificates)
                for (amount, available) in [("100.00", true), ("100000.00", false)] {
                    let answer = try await h.request(
                        "POST", "/v1/funds-confirmations",
                        json: [
                            "registrationId": registration, "bank": bank, "account": ["iban": F.marcIBAN],
                            "amount": ["value": amount, "currency": "EUR"],
                        ],
                        headers: [("Idempotency-Key", "funds-\(bank)-\(amount)")])
                    #expect(answer.status == 200, "\(answer.text)")
                    #expect(answer.json["available"] as? Bool == available, "\(bank) \(amount)")
                }
            }
            // With the customer's authorization (a connection with the cbpii role).
            let created = try await h.request(
                "POST", "/v1/connections",
                json: ["bank": "cmcic:cic", "psuReference": "funds", "redirectUri": F.redirect, "roles": ["cbpii"]])
            #expect(created.status == 201, "\(created.text)")
            let connection = try #require(created.json["id"] as? String)
            let state = try #require(created.json["state"] as? String)
            let code = try await banks.authorize(
                try #require(created.json["authorizationUrl"] as? String), persona: "marc", state: state)
            let authorized = try await h.request(
                "POST", "/v1/connections/\(connection)/authorization", json: ["code": code, "state": state])
            #expect(authorized.status == 200, "\(authorized.text)")
            let answer = try await h.request(
                "POST", "/v1/funds-confirmations",
                json: [
                    "connectionId": connection, "account": ["iban": F.marcIBAN],
                    "amount": ["value": "5000.00", "currency": "EUR"], "payee": "SCI DES TILLEULS",
                ],
                headers: [("Idempotency-Key", "funds-connection")])
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.json["available"] as? Bool == false, "4179.95 booked")
        }
    }

    /// Two replicas on one database: the pisp client-credentials token is fetched once for both (no storm), and a
    /// key used on one replica is replayed by the other.
    @Test func tokensAndIdempotencyKeysAreSharedAcrossReplicas() async throws {
        let banks = try SimulatorBanks()
        let env = ["PASSERELLE_BANKS_FILE": banks.banksFile, "PASSERELLE_PAYMENT_RECONCILER_INTERVAL_SECONDS": "0"]
        let a = try await AppHarness.start(adapters: banks.adapters, environment: env)
        let b = try await AppHarness.start(adapters: banks.adapters, environment: env, databaseURL: a.databaseURL)
        do {
            let registration = try await F.register(a, bank: "cmcic:cic")
            let clientID = try #require(
                try await a.request("GET", "/v1/registrations/\(registration)").json["clientId"] as? String)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<10 {
                    group.addTask {
                        try await F.create(index % 2 == 0 ? a : b, F.body(bank: "cmcic:cic"), key: "r-\(index)").status
                    }
                }
                var all: [Int] = []
                for try await status in group { all.append(status) }
                return all
            }
            #expect(statuses == Array(repeating: 201, count: 10), "\(statuses)")
            let counters = try await F.counters(banks)
            let issued = (counters["tokenIssuancesByClient"] as? [String: Int])?[clientID]
            #expect(issued == 1, "one pisp token for both replicas: \(String(describing: issued))")
            let first = try await F.create(a, F.body(bank: "cmcic:cic", amount: "7.00"), key: "shared")
            let second = try await F.create(b, F.body(bank: "cmcic:cic", amount: "7.00"), key: "shared")
            #expect(first.status == 201)
            #expect(second.status == first.status)
            #expect(second.body == first.body)
            #expect(try await F.bankTotal(banks) == 11)
        } catch {
            await b.stop()
            await a.stop()
            await banks.stop()
            throw error
        }
        await b.stop()
        await a.stop()
        await banks.stop()
    }

    /// The pisp token is used until shortly before its expiry, then replaced once. The application, the adapters
    /// and the simulator share the simulator's clock, which the test moves.
    @Test func theClientCredentialsTokenIsReplacedOnlyNearItsExpiry() async throws {
        try await Self.withGateway(simulatorClock: true) { h, banks, _ in
            let registration = try await F.register(h, bank: "cmcic:cic")
            let clientID = try #require(
                try await h.request("GET", "/v1/registrations/\(registration)").json["clientId"] as? String)
            func issued() async throws -> Int? {
                (try await F.counters(banks)["tokenIssuancesByClient"] as? [String: Int])?[clientID]
            }
            #expect(try await F.create(h, F.body(bank: "cmcic:cic"), key: "t-1").status == 201)
            #expect(try await F.create(h, F.body(bank: "cmcic:cic"), key: "t-2").status == 201)
            #expect(try await issued() == 1)
            // Inside the refresh margin (60 s) of the one-hour token: a new one, once.
            banks.simulator.clock.advance(by: 3600 - 30)
            #expect(try await F.create(h, F.body(bank: "cmcic:cic"), key: "t-3").status == 201)
            #expect(try await F.create(h, F.body(bank: "cmcic:cic"), key: "t-4").status == 201)
            let after = try await issued()
            #expect(after == 2, "\(String(describing: after))")
        }
    }
}
