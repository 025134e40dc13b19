import Foundation
import Testing
import TestSupport

@testable import GatewayApp

/// The lifecycle gauges of `/metrics` (docs/events.md, "Metrics") read over HTTP with the values the state implies:
/// connections by status, connections due for reauthorization within 7 days, seconds to the earliest certificate
/// expiry per usage, webhook deliveries by outcome, the oldest undelivered event's age. The application's clock is
/// injected and the dispatcher's rounds are run by the test, so every value is exact.
@Suite(.serialized) struct LifecycleMetricsTests {
    typealias Receiver = EventsTests.Receiver

    /// The series of `/metrics`, by `name{labels}`.
    static func metrics(_ h: AppHarness) async throws -> [String: Double] {
        let page = try await h.request("GET", "/metrics", authorized: false)
        try #require(page.status == 200)
        var series: [String: Double] = [:]
        for line in page.text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            series[String(line[..<space])] = value
        }
        return series
    }

    /// One dispatcher round (claim the due heads, send them); how many were sent.
    static func round(_ h: AppHarness) async throws -> Int {
        let dispatcher = h.app.webhookDispatcher
        try await dispatcher.enqueue()
        let claimed = try await dispatcher.claimHeads()
        for delivery in claimed { await dispatcher.deliver(delivery) }
        try await dispatcher.publishBacklog()
        return claimed.count
    }

    // A gauge left unset (or set from the database's clock, or counting other statuses) shows another value here;
    // a status whose last connection moved on keeping its old count fails the pending_authorization line.
    @Test func theLifecycleGaugesShowTheState() async throws {
        let clock = TestClock(Date())
        let banks = try SimulatorBanks()
        let flaky = try Receiver(failFirst: 1, plainHTTP: true)
        let broken = try Receiver(plainHTTP: true)
        broken.refusing.withLock { $0 = true }
        var env = EventsTests.fastWebhooks
        env["PASSERELLE_BANKS_FILE"] = banks.banksFile
        env["PASSERELLE_WEBHOOK_RETRY_HOURS"] = "2"
        let h = try await AppHarness.start(adapters: banks.adapters, environment: env, now: clock.now)
        func stopAll() async {
            await h.stop()
            await banks.stop()
            await flaky.stop()
            await broken.stop()
        }
        do {
            let start = clock.now()
            for receiver in [flaky, broken] {
                let created = try await h.request(
                    "POST", "/v1/webhooks",
                    json: ["url": receiver.url, "events": ["connection.authorized", "connection.revoked", "connection.refused"]])
                try #require(created.status == 201, "\(created.text)")
            }
            // Four connections: active, revoked, refused, pending (revoked later); five events, all at `start`.
            let customers = try await EventsTests.Customers(h, banks)
            let active = try await customers.connect("marc")
            let revoked = try await customers.connect("tech-n-co")
            #expect(try await h.request("DELETE", "/v1/connections/\(revoked)").status == 204)
            let refusal = try await h.createConnection(bank: "cmcic:cic", psuReference: "refuser")
            let back = try await banks.redirect(refusal.authorizationURL, persona: "refuse")
            let refused = try await h.request(
                "POST", "/v1/connections/\(refusal.id)/authorization",
                json: ["error": try #require(back["error"]), "state": refusal.state])
            #expect(refused.json["status"] as? String == "refused", "\(refused.text)")
            let pending = try await h.createConnection(bank: "cmcic:cic", psuReference: "later")

            // Connections and certificates.
            try await h.app.lifecycleScheduler.scan()
            var m = try await Self.metrics(h)
            for (status, n) in [("active", 1.0), ("revoked", 1), ("refused", 1), ("pending_authorization", 1), ("reauthorization_required", 0)] {
                #expect(m["passerelle_connections{status=\"\(status)\"}"] == n, "\(status)")
            }
            #expect(m["passerelle_connections_reauthorization_due"] == 0)
            let certificates = try #require(try await h.request("GET", "/v1/certificates").json["certificates"] as? [[String: Any]])
            for certificate in certificates {
                let kind = try #require(certificate["kind"] as? String)
                let notAfter = try #require((certificate["notAfter"] as? String).flatMap(RFC3339.date))
                let seconds = try #require(m["passerelle_certificate_expiry_seconds{usage=\"\(kind)\"}"], "\(kind)")
                #expect(abs(seconds - notAfter.timeIntervalSince(clock.now())) < 0.01, "\(kind): \(seconds)")
            }
            #expect(Set(certificates.compactMap { $0["kind"] as? String }) == ["qwac", "qseal"])

            // The pending connection revoked (the fifth event): its status's count falls to zero.
            #expect(try await h.request("DELETE", "/v1/connections/\(pending.id)").status == 204)
            let reauthorizeBy = try #require(
                (try await h.request("GET", "/v1/connections/\(active)").json["reauthorizeBy"] as? String).flatMap(RFC3339.date))
            clock.set(reauthorizeBy.addingTimeInterval(-3 * 86_400))
            try await h.app.lifecycleScheduler.scan()
            m = try await Self.metrics(h)
            #expect(m["passerelle_connections{status=\"pending_authorization\"}"] == 0)
            #expect(m["passerelle_connections{status=\"revoked\"}"] == 2)
            #expect(m["passerelle_connections_reauthorization_due"] == 1, "reauthorizeBy in 3 days")
            clock.set(start)

            // Deliveries: nothing sent yet; an hour later the backlog is an hour old.
            try await h.app.webhookDispatcher.enqueue()
            try await h.app.webhookDispatcher.publishBacklog()
            let backlog = try await Self.metrics(h)["passerelle_webhook_oldest_pending_seconds"]
            // PostgreSQL keeps microseconds: the events' stored time is `start` rounded to one.
            #expect(abs((backlog ?? -1)) < 0.000_001, "oldest pending: \(String(describing: backlog))")
            clock.advance(3600)
            try await h.app.webhookDispatcher.publishBacklog()
            #expect(abs((try await Self.metrics(h)["passerelle_webhook_oldest_pending_seconds"] ?? -1) - 3600) < 0.01)

            // Round 1: both receivers fail (two retries). Rounds 2 to 6, 100 s apart (every retry due): the flaky
            // receiver takes its five events, the broken one fails five more times.
            #expect(try await Self.round(h) == 2)
            for _ in 0..<5 {
                clock.advance(100)
                #expect(try await Self.round(h) == 2)
            }
            #expect(flaky.received.count == 5)
            m = try await Self.metrics(h)
            #expect(m["passerelle_webhook_deliveries_total{outcome=\"delivered\"}"] == 5)
            #expect(m["passerelle_webhook_deliveries_total{outcome=\"retry\"}"] == 7)
            #expect((m["passerelle_webhook_deliveries_total{outcome=\"failed\"}"] ?? 0) == 0)
            #expect(abs((m["passerelle_webhook_oldest_pending_seconds"] ?? -1) - 4100) < 0.01, "the broken receiver's first")
            // Past the retry window (two hours after the deliveries were created): the broken receiver's head
            // delivery fails for good; its second event is the oldest undelivered one now.
            clock.advance(3600)
            #expect(try await Self.round(h) == 1)
            m = try await Self.metrics(h)
            #expect(m["passerelle_webhook_deliveries_total{outcome=\"failed\"}"] == 1)
            #expect(m["passerelle_webhook_deliveries_total{outcome=\"retry\"}"] == 7)
            #expect(abs((m["passerelle_webhook_oldest_pending_seconds"] ?? -1) - 7700) < 0.01, "its second event")
        } catch {
            await stopAll()
            throw error
        }
        await stopAll()
    }
}
