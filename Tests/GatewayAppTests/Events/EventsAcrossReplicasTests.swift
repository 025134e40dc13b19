import BankSimulator
import Foundation
import PostgresKit
import Testing
import TestSupport

@testable import GatewayApp

/// Every event type, produced by three gateways on one database against the strict simulator, is in the feed once
/// per change (docs/events.md): the changes written with their event are driven through the replicas at once where
/// two callers can race (one authorization code, one refusal, one payment approval, one revocation, reads that
/// find the consent over), the time-based events come from every replica scanning at once, and a bank failing on
/// every replica is reported unavailable, then recovered, once. One clock — the simulator's — drives the gateways,
/// their adapters and the simulator alike.
@Suite(.serialized) struct EventsAcrossReplicasTests {
    typealias F = PaymentsFixture

    /// Sends `count` requests built by `request` round-robin over `replicas`, all at once; their statuses in order.
    static func concurrently(
        _ replicas: [AppHarness], _ count: Int, _ request: @escaping @Sendable (AppHarness, Int) async throws -> TestResponse
    ) async throws -> [Int] {
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<count {
                let replica = replicas[i % replicas.count]
                group.addTask { (i, try await request(replica, i).status) }
            }
            var statuses = [Int](repeating: 0, count: count)
            for try await (i, status) in group { statuses[i] = status }
            return statuses
        }
    }

    /// The whole feed, read from `h`, once it has at least `count` events of `type` (bounded poll).
    static func feed(_ h: AppHarness, waitingFor type: String, count: Int = 1) async throws -> [[String: Any]] {
        var events: [[String: Any]] = []
        for _ in 0..<200 {
            events = try await EventsTests.feed(h, "?limit=1000").events
            if events.filter({ $0["type"] as? String == type }).count >= count { return events }
            try await Task.sleep(for: .milliseconds(50))
        }
        return events
    }

    // Any writer without its guard fails here: a revocation writing its event whether or not the connection was
    // revoked already (three `connection.revoked`), a bank transition without the `bank_health` row, a scan without
    // `once_key`, a status change read outside the payment's row lock.
    @Test(.timeLimit(.minutes(5)))
    func everyEventTypeIsWrittenOnceByThreeReplicas() async throws {
        let clock = SimulatorClock()
        let sim = try await SimulatorHarness.start(clock: clock)
        let now: @Sendable () -> Date = { Date(timeIntervalSince1970: TimeInterval(clock.now())) }
        let env = ["PASSERELLE_BANK_UNAVAILABLE_AFTER_FAILURES": "3", "PASSERELLE_EVENTS_SCAN_SECONDS": "3600"]
        var replicas: [AppHarness] = []
        do {
            replicas.append(try await sim.startGateway(environment: env, now: now))
            for _ in 0..<2 {
                replicas.append(try await sim.startGateway(environment: env, databaseURL: replicas[0].databaseURL, now: now))
            }
            let r = replicas
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(r[0])

            // bank.unavailable: nine registrations refused with 503, three on each replica, all at once — each
            // replica reaches the threshold (3) and reports; one event.
            _ = try await runProcess(
                "/usr/bin/curl",
                ["-sS", "--fail", "-X", "POST", "--cacert", try TestEnvironment.pki("ca.crt"),
                 "https://localhost:\(sim.port)/__simulator/faults?bank=cmcic:cic&fault=503&count=9"])
            let refused = try await Self.concurrently(r, 9) { replica, _ in
                try await replica.request(
                    "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal))
            }
            #expect(refused == Array(repeating: 502, count: 9), "\(refused)")
            _ = try await Self.feed(r[1], waitingFor: "bank.unavailable")
            // bank.recovered: the next call succeeds (a registration with the payment roles, used below).
            _ = try await F.register(r[0], bank: "cmcic:cic", certificates: (qwac, qseal))
            _ = try await Self.feed(r[2], waitingFor: "bank.recovered")

            // registration.failed: the bank accepts, storing its answer fails (the database refuses it here).
            _ = try await r[0].app.db.execute(Query(unsafeSQL: """
                CREATE FUNCTION refuse_answer() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'the answer cannot be stored' USING ERRCODE = '22023'; END $$
                """))
            _ = try await r[0].app.db.execute(Query(unsafeSQL: """
                CREATE TRIGGER refuse_answer BEFORE UPDATE ON registrations FOR EACH ROW
                WHEN (NEW.bank_id = 'cmcic:becm' AND NEW.status NOT IN ('registering', 'failed'))
                EXECUTE FUNCTION refuse_answer()
                """))
            let unstored = try await r[2].request(
                "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "cmcic:becm", qwac: qwac, qseal: qseal))
            #expect(unstored.status >= 500, "\(unstored.text)")
            _ = try await r[0].app.db.execute(Query(unsafeSQL: "DROP TRIGGER refuse_answer ON registrations"))
            let registrations = try await r[1].request("GET", "/v1/registrations").json["registrations"] as? [[String: Any]] ?? []
            let failed = try #require(registrations.first { $0["bank"] as? String == "cmcic:becm" }?["id"] as? String)

            // registration.activated: a BPCE registration, pending until its activation time; every replica scans.
            let bpce = try await r[1].request(
                "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "bpce:13807", qwac: qwac, qseal: qseal))
            #expect(bpce.status == 201 && bpce.json["status"] as? String == "pending", "\(bpce.text)")
            let bpceRegistration = try #require(bpce.json["id"] as? String)
            let activatesAt = try #require((bpce.json["activatesAt"] as? String).flatMap(RFC3339.date))
            clock.advance(by: Int64(activatesAt.timeIntervalSince(now())) + 1)
            try await EventsTests.scanConcurrently(r)

            // connection.authorized: one code and state posted to the three replicas at once.
            let connection = try await r[0].createConnection(bank: "bpce:13807", psuReference: "replicas-marc")
            let code = try #require(
                try await sim.followAuthorization(connection.authorizationURL, persona: "marc").queryValue("code"))
            let authorized = try await Self.concurrently(r, 3) { replica, _ in
                try await replica.request(
                    "POST", "/v1/connections/\(connection.id)/authorization", json: ["code": code, "state": connection.state])
            }
            #expect(authorized.sorted() == [200, 409, 409], "\(authorized)")

            // connection.refused: one refusal posted to the three replicas at once.
            let refusal = try await r[1].createConnection(bank: "cmcic:cic", psuReference: "replicas-refuser")
            let back = try await sim.followAuthorization(refusal.authorizationURL, persona: "refuse")
            let error = try #require(back.queryValue("error"))
            let refusals = try await Self.concurrently(r, 3) { replica, _ in
                try await replica.request(
                    "POST", "/v1/connections/\(refusal.id)/authorization", json: ["error": error, "state": refusal.state])
            }
            #expect(refusals.sorted() == [200, 409, 409], "\(refusals)")

            // payment.status_changed: one approval posted to the three replicas at once, then the status read on
            // all three at once (each asks the bank; one change).
            let created = try await F.create(r[2], F.body(bank: "cmcic:cic"), key: "replicas-\(UUID().uuidString)")
            #expect(created.status == 201, "\(created.text)")
            let payment = try #require(created.json["id"] as? String)
            let approvalURL = try #require(created.json["authorizationUrl"] as? String)
            let approval = try await sim.followAuthorization(approvalURL, persona: "marc")
            let approvalCode = try #require(approval.queryValue("code"))
            let approvalState = try #require(approval.queryValue("state"))
            let approvals = try await Self.concurrently(r, 3) { replica, i in
                try await replica.request(
                    "POST", "/v1/payments/\(payment)/authorization", json: ["code": approvalCode, "state": approvalState],
                    headers: F.psu + [("Idempotency-Key", "replicas-approval-\(i)")])
            }
            #expect(approvals.sorted() == [200, 409, 409], "\(approvals)")
            let reads = try await Self.concurrently(r, 6) { replica, _ in
                try await replica.request("GET", "/v1/payments/\(payment)")
            }
            #expect(reads.allSatisfy { $0 == 200 }, "\(reads)")
            #expect(try await r[0].request("GET", "/v1/payments/\(payment)").json["status"] as? String == "executed")

            // connection.reauthorization_due: five days before reauthorizeBy (the 7-day notice); every replica scans.
            let reauthorizeBy = try #require(
                (try await r[2].request("GET", "/v1/connections/\(connection.id)").json["reauthorizeBy"] as? String)
                    .flatMap(RFC3339.date))
            clock.advance(by: Int64(reauthorizeBy.timeIntervalSince(now())) - 5 * 86_400)
            try await EventsTests.scanConcurrently(r)
            // connection.reauthorization_required: past reauthorizeBy, account reads on the three replicas at once.
            clock.advance(by: 5 * 86_400 + 60)
            let readsAfter = try await Self.concurrently(r, 6) { replica, _ in
                try await replica.request("GET", "/v1/connections/\(connection.id)/accounts", headers: F.psu)
            }
            #expect(readsAfter.allSatisfy { $0 == 409 }, "\(readsAfter)")
            // connection.revoked: DELETE on the three replicas at once.
            let deletes = try await Self.concurrently(r, 3) { replica, _ in
                try await replica.request("DELETE", "/v1/connections/\(connection.id)")
            }
            #expect(deletes.allSatisfy { $0 == 204 }, "\(deletes)")

            // certificate.expiring (30-day notice) and certificate.expired; every replica scans each time.
            let notAfter = try #require(
                (try await r[0].request("GET", "/v1/certificates/\(qseal)").json["notAfter"] as? String).flatMap(RFC3339.date))
            clock.advance(by: Int64(notAfter.timeIntervalSince(now())) - 20 * 86_400)
            try await EventsTests.scanConcurrently(r)
            clock.advance(by: 20 * 86_400 + 60)
            try await EventsTests.scanConcurrently(r)

            // The feed: each change once.
            let events = try await EventsTests.feed(r[2], "?limit=1000").events
            var byType: [String: [String]] = [:]
            for event in events {
                byType[event["type"] as? String ?? "?", default: []].append(event["resourceId"] as? String ?? "?")
            }
            let certificates = [qwac, qseal].sorted()
            let expected: [String: [String]] = [
                "bank.unavailable": ["cmcic:cic"], "bank.recovered": ["cmcic:cic"],
                "registration.failed": [failed], "registration.activated": [bpceRegistration],
                "connection.authorized": [connection.id], "connection.refused": [refusal.id],
                "connection.reauthorization_due": [connection.id], "connection.reauthorization_required": [connection.id],
                "connection.revoked": [connection.id],
                "certificate.expiring": certificates, "certificate.expired": certificates,
            ]
            for (type, ids) in expected {
                #expect(byType[type]?.sorted() == ids, "\(type): \(byType[type] ?? [])")
            }
            #expect(Set(byType.keys) == Set(LifecycleEvent.Kind.allCases.map(\.rawValue)), "every type, none other")
            #expect(Set(events.compactMap { $0["id"] as? String }).count == events.count)
            // A payment's changes: a chain from created to executed, each step once.
            let steps = events.filter { $0["type"] as? String == "payment.status_changed" }
                .compactMap { $0["data"] as? [String: String] }
            #expect(steps.allSatisfy { $0["paymentId"] == payment })
            let transitions = steps.map { "\($0["previousStatus"] ?? "?")→\($0["status"] ?? "?")" }
            #expect(Set(transitions).count == transitions.count, "\(transitions)")
            #expect(steps.first?["previousStatus"] == "created" && steps.last?["status"] == "executed", "\(transitions)")
            #expect(zip(steps, steps.dropFirst()).allSatisfy { $0["status"] == $1["previousStatus"] }, "\(transitions)")
        } catch {
            for replica in replicas { await replica.stop() }
            await sim.stop()
            throw error
        }
        for replica in replicas { await replica.stop() }
        await sim.stop()
    }

    // Without the evidence's date in the transition, a replica whose run of failures began before another replica
    // saw the bank recover writes a second `bank.unavailable` from it.
    @Test func aRunOfFailuresOlderThanARecoveryReportsNoOutage() async throws {
        let first = try await AppHarness.start()
        var replicas = [first]
        do {
            replicas.append(try await AppHarness.start(databaseURL: first.databaseURL))
            let (a, b) = (first.app.bankHealth, replicas[1].app.bankHealth)
            let bank = "cmcic:cic"
            let runOfB = Date()  // b's failures began here
            await a.transition(bank, to: .down, evidenceSince: Date())
            await a.transition(bank, to: .up, evidenceSince: Date())
            await b.transition(bank, to: .down, evidenceSince: runOfB)
            let types = try await EventsTests.feed(first).events.compactMap { $0["type"] as? String }
            #expect(types == ["bank.unavailable", "bank.recovered"], "b's evidence is older than the recovery")
            // A run that began after the recovery does report.
            await b.transition(bank, to: .down, evidenceSince: Date())
            let again = try await EventsTests.feed(first).events.compactMap { $0["type"] as? String }
            #expect(again == ["bank.unavailable", "bank.recovered", "bank.unavailable"])
        } catch {
            for replica in replicas { await replica.stop() }
            throw error
        }
        for replica in replicas { await replica.stop() }
    }
}
