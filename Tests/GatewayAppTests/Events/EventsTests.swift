import Foundation
import GatewayCore
import GatewayLogging
import HTTPServerKit
import Testing
import TestSupport

@testable import GatewayApp

/// Lifecycle events end to end (docs/events.md): written with the change that causes them, read from the feed,
/// pushed to webhook receivers (real HTTPS servers in the test) with Standard Webhooks signatures verified by
/// Python's `hmac`, retried in order after failures, never held up by a silent receiver; time-based events written
/// once however many replicas scan.
@Suite(.serialized) struct EventsTests {
    static let psu = [("PSU-IP-Address", "192.0.2.10")]

    /// A webhook receiver: HTTPS with the test PKI's server certificate (or plain HTTP on 127.0.0.1 with
    /// `plainHTTP`); answers `failFirst` requests, every request while `refusing` is set and every event about a
    /// resource in `refusedResources` with 500; holds every request for `hold` when set; records what it accepted.
    final class Receiver: Sendable {
        struct Received: Sendable {
            var id: String
            var timestamp: String
            var signature: String
            var body: [UInt8]
            var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        }

        let server: HTTPServer
        let runTask: Task<Void, Never>
        let accepted: Shared<[Received]>
        let attempts: Shared<Int>
        let refusing = Shared(false)
        let refusedResources = Shared<Set<String>>([])
        let plainHTTP: Bool

        init(failFirst: Int = 0, hold: Duration? = nil, plainHTTP: Bool = false) throws {
            let pki = try TestEnvironment.pkiDirectory()
            var routes = Router.Builder()
            let accepted = Shared<[Received]>([])
            let attempts = Shared(0)
            let refusing = self.refusing
            let refusedResources = self.refusedResources
            self.accepted = accepted
            self.attempts = attempts
            self.plainHTTP = plainHTTP
            routes.add(.post, "/hook") { request, _ in
                let n = attempts.withLock { $0 += 1; return $0 }
                if let hold { try? await Task.sleep(for: hold) }
                let resource = Received(id: "", timestamp: "", signature: "", body: request.body).json["resourceId"] as? String
                if n <= failFirst || refusing.withLock({ $0 }) || refusedResources.withLock({ $0.contains(resource ?? "") }) {
                    return .text(500, "not now")
                }
                accepted.withLock {
                    $0.append(Received(
                        id: request.headers["webhook-id"] ?? "", timestamp: request.headers["webhook-timestamp"] ?? "",
                        signature: request.headers["webhook-signature"] ?? "", body: request.body))
                }
                return HTTPResponse(status: 204)
            }
            server = try HTTPServer(
                configuration: .init(
                    host: "127.0.0.1", port: 0,
                    tls: plainHTTP
                        ? nil
                        : TLSConfiguration(certificateChain: .file(pki + "/server-chain.pem"), privateKey: .file(pki + "/server.key"))),
                handler: routes.build(), logger: Logger(label: "receiver", level: .error))
            let server = self.server
            runTask = Task { await server.run() }
        }

        var url: String { plainHTTP ? "http://127.0.0.1:\(server.boundPort)/hook" : "https://localhost:\(server.boundPort)/hook" }
        var received: [Received] { accepted.withLock { $0 } }

        func stop() async {
            server.shutdown(gracePeriod: .zero)
            await runTask.value
        }

        /// Waits (bounded poll) until `count` events were accepted.
        func waitFor(_ count: Int, within seconds: Int = 30) async throws -> [Received] {
            for _ in 0..<(seconds * 20) {
                if received.count >= count { return received }
                try await Task.sleep(for: .milliseconds(50))
            }
            return received
        }
    }

    static let fastWebhooks = [
        "PASSERELLE_WEBHOOK_POLL_SECONDS": "0.1", "PASSERELLE_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "PASSERELLE_EVENTS_SCAN_SECONDS": "3600",
    ]

    static func gateway(_ banks: SimulatorBanks, _ extra: [String: String] = [:]) async throws -> AppHarness {
        var env = fastWebhooks.merging(["PASSERELLE_BANKS_FILE": banks.banksFile]) { a, _ in a }
        env["PASSERELLE_WEBHOOK_CA_FILE"] = try TestEnvironment.pki("ca.crt")
        env.merge(extra) { _, new in new }
        return try await AppHarness.start(adapters: banks.adapters, environment: env)
    }

    static func feed(_ h: AppHarness, _ query: String = "") async throws -> (events: [[String: Any]], next: String) {
        let page = try await h.request("GET", "/v1/events" + query)
        try #require(page.status == 200, "\(page.text)")
        return (try #require(page.json["events"] as? [[String: Any]]), try #require(page.json["next"] as? String))
    }

    /// How many of `received` carry a valid Standard Webhooks signature for `secret`, as Python's `hmac` and
    /// `base64` compute it (an implementation independent of the gateway's); fails on the first invalid one.
    static func verifiedByPython(_ received: [Receiver.Received], secret: String) async throws -> Int {
        let work = NSTemporaryDirectory() + "passerelle-webhooks-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        for (i, r) in received.enumerated() {
            try Data(r.body).write(to: URL(fileURLWithPath: "\(work)/\(i).body"))
            try "\(r.id)\n\(r.timestamp)\n\(r.signature)\n".write(toFile: "\(work)/\(i).meta", atomically: true, encoding: .utf8)
        }
        let script = """
            import base64, hashlib, hmac, sys, os
            secret = base64.b64decode(sys.argv[1][len("whsec_"):])
            d = sys.argv[2]; ok = 0
            for name in sorted(os.listdir(d)):
                if not name.endswith(".meta"): continue
                msg_id, ts, sig = open(os.path.join(d, name)).read().split("\\n")[:3]
                body = open(os.path.join(d, name[:-5] + ".body"), "rb").read()
                mac = base64.b64encode(hmac.new(secret, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
                assert sig.split(",", 1) == ["v1", mac], (name, sig, mac)
                ok += 1
            print(ok)
            """
        let out = try await runProcess("/usr/bin/python3", ["-c", script, secret, work])
        return Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// The time-based scan, twice on each of `replicas`, all at once.
    static func scanConcurrently(_ replicas: [AppHarness]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for replica in replicas {
                for _ in 0..<2 { group.addTask { _ = try await replica.app.lifecycleScheduler.scan() } }
            }
            try await group.waitForAll()
        }
    }

    /// Runs `body` with a simulator, a gateway on it and `receivers`; stops them all whatever happens.
    static func with(
        _ receivers: [Receiver], _ extra: [String: String] = [:], _ body: (AppHarness, SimulatorBanks) async throws -> Void
    ) async throws {
        let banks = try SimulatorBanks()
        let h: AppHarness
        do { h = try await gateway(banks, extra) } catch {
            await banks.stop()
            for r in receivers { await r.stop() }
            throw error
        }
        // AppHarness runs no background work: the dispatcher runs here, as `runBackground` runs it in `serve`.
        let dispatcher = Task { await h.app.webhookDispatcher.run { true } }
        func stopAll() async {
            dispatcher.cancel()
            await dispatcher.value
            await h.stop()
            await banks.stop()
            for r in receivers { await r.stop() }
        }
        do {
            try await body(h, banks)
        } catch {
            await stopAll()
            throw error
        }
        await stopAll()
    }

    /// One Euro-Information registration (uploads the certificates), then connections for personas on it.
    struct Customers {
        let h: AppHarness
        let banks: SimulatorBanks
        init(_ h: AppHarness, _ banks: SimulatorBanks) async throws {
            self.h = h
            self.banks = banks
            _ = try await h.register(bank: "cmcic:cic")
        }

        /// An authorized connection of `persona`; returns its id.
        func connect(_ persona: String) async throws -> String {
            try await ConnectionsSimulatorTests.authorizeConnection(h, banks, bank: "cmcic:cic", persona: persona)
        }
    }

    // Removing the `EventOutbox.append` of `authorize` (or of `revoke`) fails the first expectation.
    @Test func theFeedHasEachChangeOnceInOrderAndResumesFromItsCursor() async throws {
        try await Self.with([]) { h, banks in
            let start = try await Self.feed(h)
            #expect(start.events.isEmpty && start.next == "0")
            let id = try await ConnectionsSimulatorTests.connect(h, banks, bank: "cmcic:cic", persona: "marc")
            #expect(try await h.request("DELETE", "/v1/connections/\(id)").status == 204)

            let all = try await Self.feed(h)
            #expect(all.events.map { $0["type"] as? String } == ["connection.authorized", "connection.revoked"], "\(all.events)")
            let authorized = try #require(all.events.first)
            #expect(authorized["resource"] as? String == "connection" && authorized["resourceId"] as? String == id)
            let data = try #require(authorized["data"] as? [String: String])
            #expect(data["connectionId"] == id && data["bank"] == "cmcic:cic" && data["status"] == "active")
            #expect(data["psuReference"] == "e2e-marc")
            let text = try await h.request("GET", "/v1/events").text
            #expect(!text.contains("FR76") && !text.contains("MALLOW"), "no account data in events")

            // Resume after the first event: only the second; after the last: nothing, and `next` stays.
            let first = try #require(authorized["seq"] as? String)
            let rest = try await Self.feed(h, "?after=\(first)")
            #expect(rest.events.map { $0["type"] as? String } == ["connection.revoked"])
            let end = try await Self.feed(h, "?after=\(all.next)")
            #expect(end.events.isEmpty && end.next == all.next)
            // A type filter, and a restart (another application on the same database) resumes the same way.
            let revokedOnly = try await Self.feed(h, "?types=connection.revoked")
            #expect(revokedOnly.events.count == 1)
            let again = try await AppHarness.start(databaseURL: h.databaseURL)
            let resumed = try await again.request("GET", "/v1/events?after=\(first)")
            await again.stop()
            #expect((resumed.json["events"] as? [[String: Any]])?.map { $0["type"] as? String } == ["connection.revoked"])
            #expect(try await h.request("GET", "/v1/events?types=connection.nope").status == 400)
            #expect(try await h.request("GET", "/v1/events?after=-1").status == 400)
        }
    }

    // Breaking the signature (another key, or the body left out of the signed content) fails the Python check;
    // sending more than the head delivery per endpoint breaks the order after the receiver's failures.
    @Test func aReceiverThatFailsThenRecoversGetsEveryEventInOrderWithValidSignatures() async throws {
        let receiver = try Receiver(failFirst: 3)
        try await Self.with([receiver]) { h, banks in
            let created = try await h.request(
                "POST", "/v1/webhooks", json: ["url": receiver.url, "events": ["connection.authorized", "connection.revoked"]])
            try #require(created.status == 201, "\(created.text)")
            let secret = try #require(created.json["secret"] as? String)
            #expect(secret.hasPrefix("whsec_"))
            let webhook = try #require(created.json["id"] as? String)
            #expect(try await h.request("GET", "/v1/webhooks/\(webhook)").json["secret"] == nil, "the secret is shown once")

            var expected: [String] = []
            let customers = try await Customers(h, banks)
            for persona in ["marc", "tech-n-co"] {
                let id = try await customers.connect(persona)
                #expect(try await h.request("DELETE", "/v1/connections/\(id)").status == 204)
                expected += ["connection.authorized:\(id)", "connection.revoked:\(id)"]
            }
            let received = try await receiver.waitFor(expected.count)
            let got = received.map { "\($0.json["type"] as? String ?? "?"):\($0.json["resourceId"] as? String ?? "?")" }
            #expect(got == expected, "every event once, in order, after 3 failures")
            #expect(receiver.attempts.withLock { $0 } == expected.count + 3)

            // Signatures checked by an independent implementation (Python's hmac, base64).
            #expect(try await Self.verifiedByPython(received, secret: secret) == received.count)
            #expect(received.allSatisfy { $0.id == $0.json["id"] as? String }, "webhook-id is the event id")

            let deliveries = try await h.request("GET", "/v1/webhooks/\(webhook)/deliveries")
            let list = try #require(deliveries.json["deliveries"] as? [[String: Any]])
            #expect(list.count == expected.count && list.allSatisfy { $0["status"] as? String == "delivered" }, "\(list)")
            #expect((list.last?["attempts"] as? Int) == 4, "the first event took three failures and one success")
        }
    }

    // A dispatcher that awaited each send before the next round would hold the healthy receiver for the silent one's
    // 20 s: it would not see its events within the poll's bound.
    @Test func aSilentReceiverDelaysNoOtherReceiverNorTheAPIAndADeletedEndpointStops() async throws {
        let silent = try Receiver(hold: .seconds(20))
        let healthy = try Receiver()
        try await Self.with([silent, healthy], ["PASSERELLE_WEBHOOK_TIMEOUT_SECONDS": "20"]) { h, banks in
            for r in [silent, healthy] {
                let created = try await h.request("POST", "/v1/webhooks", json: ["url": r.url, "events": ["connection.authorized"]])
                try #require(created.status == 201, "\(created.text)")
            }
            let customers = try await Customers(h, banks)
            _ = try await customers.connect("marc")
            let first = try await healthy.waitFor(1, within: 10)
            #expect(first.count == 1, "the healthy receiver got its event while the silent one holds its delivery")
            #expect(silent.received.isEmpty)
            // The API answers meanwhile.
            #expect(try await h.request("GET", "/v1/banks").status == 200)

            // Deleting the healthy endpoint: the next event is not sent to it.
            let webhooks = try #require(try await h.request("GET", "/v1/webhooks").json["webhooks"] as? [[String: Any]])
            let healthyID = try #require(webhooks.first { $0["url"] as? String == healthy.url }?["id"] as? String)
            #expect(try await h.request("DELETE", "/v1/webhooks/\(healthyID)").status == 204)
            #expect(try await h.request("GET", "/v1/webhooks/\(healthyID)").status == 404)
            _ = try await customers.connect("tech-n-co")
            let events = try await Self.feed(h, "?types=connection.authorized")
            #expect(events.events.count == 2)
            try await Task.sleep(for: .milliseconds(600))  // several dispatcher rounds (0.1 s each)
            #expect(healthy.received.count == 1, "a deleted endpoint gets nothing more")
        }
    }

    // Writing time-based events without `once_key` (or without ON CONFLICT) gives three rows per event here.
    @Test func timeBasedEventsAreWrittenOnceAcrossReplicas() async throws {
        let clock = TestClock(Date())
        let fake = FakeBankAdapter(provider: .euroInformation)
        let first = try await AppHarness.start(adapters: [.euroInformation: fake], now: clock.now)
        var replicas = [first]
        do {
            for _ in 0..<2 {
                replicas.append(try await AppHarness.start(
                    adapters: [.euroInformation: fake], databaseURL: first.databaseURL, now: clock.now))
            }
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(first)
            let registered = try await first.request(
                "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal))
            try #require(registered.status == 201, "\(registered.text)")
            let notAfter = try #require(
                (try await first.request("GET", "/v1/certificates/\(qseal)").json["notAfter"] as? String).flatMap(RFC3339.date))

            let all = replicas
            func scanEverywhere() async throws { try await Self.scanConcurrently(all) }
            func types() async throws -> [String] {
                try await Self.feed(first, "?limit=1000").events.compactMap { $0["type"] as? String }
            }
            try await scanEverywhere()
            #expect(try await types().filter { $0.hasPrefix("certificate.") }.isEmpty, "two years left: nothing yet")

            // 20 days before the QSealC's notAfter (the QWAC expires at the same time): one 30-day notice each.
            clock.set(notAfter.addingTimeInterval(-20 * 86_400))
            try await scanEverywhere()
            #expect(try await types().filter { $0 == "certificate.expiring" }.count == 2)
            // 5 days before: the 7-day notice, once per certificate, whoever scans.
            clock.set(notAfter.addingTimeInterval(-5 * 86_400))
            try await scanEverywhere()
            try await scanEverywhere()
            let expiring = try await Self.feed(first, "?types=certificate.expiring").events
            #expect(expiring.compactMap { ($0["data"] as? [String: String])?["daysBefore"] }.sorted() == ["30", "30", "7", "7"])
            // Past notAfter: expired, once per certificate.
            clock.set(notAfter.addingTimeInterval(60))
            try await scanEverywhere()
            #expect(try await types().filter { $0 == "certificate.expired" }.count == 2)
            let gauge = first.app.metrics.render()
            #expect(gauge.contains("passerelle_certificate_expiry_seconds{usage=\"qseal\"} -"), "negative once expired")
        } catch {
            for r in replicas.reversed() { await r.stop() }  // the first owns the database
            throw error
        }
        for r in replicas.reversed() { await r.stop() }
    }

    // Counting only transport errors (not 5xx), or writing the event outside the bank_health transition, fails here.
    @Test func aBankFailingRepeatedlyIsReportedUnavailableOnceThenRecovered() async throws {
        let sim = try await SimulatorHarness.start()
        let h = try await sim.startGateway(environment: ["PASSERELLE_BANK_UNAVAILABLE_AFTER_FAILURES": "3"])
        do {
            // The next four calls to the bank answer 503: four refused registrations (a POST is never retried).
            _ = try await runProcess(
                "/usr/bin/curl",
                ["-sS", "--fail", "-X", "POST", "--cacert", try TestEnvironment.pki("ca.crt"),
                 "https://localhost:\(sim.port)/__simulator/faults?bank=cmcic:cic&fault=503&count=4"])
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(h)
            for _ in 0..<4 {
                let refused = try await h.request(
                    "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal))
                #expect(refused.status == 502, "\(refused.text)")
            }
            let registered = try await h.request(
                "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal))
            #expect(registered.status == 201, "\(registered.text)")
            var types: [String] = []
            for _ in 0..<100 {
                types = try await Self.feed(h, "?types=bank.unavailable,bank.recovered").events.compactMap { $0["type"] as? String }
                if types.count >= 2 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(types == ["bank.unavailable", "bank.recovered"], "once each, in order")
            let events = try await Self.feed(h, "?types=bank.unavailable").events
            #expect(events.first?["resourceId"] as? String == "cmcic:cic")
        } catch {
            await h.stop()
            await sim.stop()
            throw error
        }
        await h.stop()
        await sim.stop()
    }

    // Dropping the reauthorize_by condition (or the certificates' notAfter filter) lists the later ones too.
    @Test func forecastsListWhatNeedsActionBeforeADate() async throws {
        try await Self.with([]) { h, banks in
            let customers = try await Customers(h, banks)
            let soon = try await customers.connect("marc")
            let later = try await customers.connect("tech-n-co")
            for (id, days) in [(soon, 3), (later, 40)] {
                _ = try await h.app.db.execute(
                    "UPDATE connections SET reauthorize_by = now() + make_interval(days => CAST(\(days) AS int)) WHERE id = CAST(\(id) AS uuid)")
            }
            let in10Days = RFC3339.string(Date().addingTimeInterval(10 * 86_400))
            let due = try await h.request("GET", "/v1/connections?reauthorizeBefore=\(in10Days)")
            #expect(due.status == 200, "\(due.text)")
            #expect((due.json["connections"] as? [[String: Any]])?.map { $0["id"] as? String } == [soon], "\(due.text)")
            let ofTechNCo = try await h.request("GET", "/v1/connections?reauthorizeBefore=\(in10Days)&psuReference=e2e-tech-n-co")
            #expect((ofTechNCo.json["connections"] as? [[String: Any]])?.isEmpty == true)
            let everyone = try await h.request("GET", "/v1/connections")
            #expect((everyone.json["connections"] as? [[String: Any]])?.count == 2, "without psuReference: every customer")
            #expect(try await h.request("GET", "/v1/connections?reauthorizeBefore=soon").status == 400)

            let certificates = try await h.request("GET", "/v1/certificates").json["certificates"] as? [[String: Any]] ?? []
            #expect(certificates.count == 2)
            let inTenYears = RFC3339.string(Date().addingTimeInterval(3650 * 86_400))
            let expiring = try await h.request("GET", "/v1/certificates?expiringBefore=\(inTenYears)")
            #expect((expiring.json["certificates"] as? [[String: Any]])?.count == 2, "the test certificates live two years")
            let tomorrow = RFC3339.string(Date().addingTimeInterval(86_400))
            let none = try await h.request("GET", "/v1/certificates?expiringBefore=\(tomorrow)")
            #expect((none.json["certificates"] as? [[String: Any]])?.isEmpty == true, "\(none.text)")
            #expect(try await h.request("GET", "/v1/certificates?expiringBefore=x").status == 400)
        }
    }
}
