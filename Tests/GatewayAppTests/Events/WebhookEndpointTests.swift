import Foundation
import Testing
import TestSupport

@testable import GatewayApp

/// Webhook endpoints beyond the basics of `EventsTests` (docs/events.md): a plain-HTTP receiver on the loopback
/// interface, and an endpoint disabled then enabled again.
@Suite(.serialized) struct WebhookEndpointTests {
    typealias Receiver = EventsTests.Receiver

    // Without plain http to loopback in the webhook transport (CurlKit allows https only by default), the delivery
    // fails with `not_https` and the receiver gets nothing.
    @Test func aPlainHTTPReceiverOnLoopbackGetsSignedDeliveries() async throws {
        let receiver = try Receiver(plainHTTP: true)
        try await EventsTests.with([receiver]) { h, banks in
            #expect(receiver.url.hasPrefix("http://127.0.0.1:"))
            let created = try await h.request(
                "POST", "/v1/webhooks", json: ["url": receiver.url, "events": ["connection.authorized", "connection.revoked"]])
            try #require(created.status == 201, "\(created.text)")
            #expect(created.json["url"] as? String == receiver.url)
            let secret = try #require(created.json["secret"] as? String)
            let id = try await EventsTests.Customers(h, banks).connect("marc")
            #expect(try await h.request("DELETE", "/v1/connections/\(id)").status == 204)

            let received = try await receiver.waitFor(2)
            #expect(received.map { $0.json["type"] as? String } == ["connection.authorized", "connection.revoked"])
            #expect(received.allSatisfy { $0.json["resourceId"] as? String == id })
            #expect(try await EventsTests.verifiedByPython(received, secret: secret) == 2, "signed like https deliveries")
        }
    }

    // Enqueuing or claiming deliveries of a disabled endpoint sends it the third event; not cancelling its pending
    // delivery sends it the second one after it is enabled again; enabling without moving its start sends both.
    @Test func aDisabledEndpointReceivesNothingUntilEnabledAgain() async throws {
        let receiver = try Receiver(plainHTTP: true)
        try await EventsTests.with([receiver]) { h, banks in
            let created = try await h.request("POST", "/v1/webhooks", json: ["url": receiver.url, "events": ["connection.authorized"]])
            try #require(created.status == 201, "\(created.text)")
            let webhook = try #require(created.json["id"] as? String)
            let customers = try await EventsTests.Customers(h, banks)
            let first = try await customers.connect("marc")
            #expect(try await receiver.waitFor(1).count == 1)

            // The receiver refuses the second event (from the start, and for good: a send already under way when
            // the endpoint is disabled must not be accepted later): its delivery stays pending, retried.
            receiver.refusing.withLock { $0 = true }
            let second = try await customers.connect("tech-n-co")
            receiver.refusedResources.withLock { $0.insert(second) }
            let retried = try await Self.deliveries(of: webhook, h) { $0.count == 2 && $0[0]["attempts"] as? Int ?? 0 >= 1 }
            #expect(retried.map { $0["status"] as? String } == ["pending", "delivered"], "\(retried)")

            let disabled = try await h.request("PATCH", "/v1/webhooks/\(webhook)", json: ["enabled": false])
            #expect(disabled.status == 200, "\(disabled.text)")
            #expect(disabled.json["enabled"] as? Bool == false)
            #expect(try await h.request("GET", "/v1/webhooks/\(webhook)").json["enabled"] as? Bool == false)
            let cancelled = try await h.request("GET", "/v1/webhooks/\(webhook)/deliveries").json["deliveries"] as? [[String: Any]]
            #expect(cancelled?.map { $0["status"] as? String } == ["cancelled", "delivered"], "stopped at once")
            // Disabling twice changes nothing.
            #expect(try await h.request("PATCH", "/v1/webhooks/\(webhook)", json: ["enabled": false]).status == 200)

            // While disabled: the receiver would accept it, but a third event is not even enqueued for it.
            receiver.refusing.withLock { $0 = false }
            _ = try await customers.connect("marc")
            try await h.app.webhookDispatcher.enqueue()  // a dispatcher round, besides the running dispatcher's
            let whileDisabled = try await h.request("GET", "/v1/webhooks/\(webhook)/deliveries").json["deliveries"] as? [[String: Any]]
            #expect(whileDisabled?.count == 2, "\(whileDisabled ?? [])")

            let enabled = try await h.request("PATCH", "/v1/webhooks/\(webhook)", json: ["enabled": true])
            #expect(enabled.status == 200 && enabled.json["enabled"] as? Bool == true, "\(enabled.text)")
            let fourth = try await customers.connect("tech-n-co")
            let received = try await receiver.waitFor(2)
            #expect(received.map { $0.json["resourceId"] as? String } == [first, fourth], "the events while disabled never")
            let all = try await Self.deliveries(of: webhook, h) { $0.count == 3 && $0[0]["status"] as? String == "delivered" }
            #expect(all.map { $0["status"] as? String } == ["delivered", "cancelled", "delivered"], "\(all)")
            let feed = try await EventsTests.feed(h, "?types=connection.authorized")
            #expect(feed.events.count == 4, "the feed has every event, the endpoint's state aside")
        }
    }

    /// The endpoint's deliveries (newest first) once `condition` holds (bounded poll), else the last read.
    static func deliveries(
        of webhook: String, _ h: AppHarness, until condition: ([[String: Any]]) -> Bool
    ) async throws -> [[String: Any]] {
        var list: [[String: Any]] = []
        for _ in 0..<400 {
            list = try await h.request("GET", "/v1/webhooks/\(webhook)/deliveries").json["deliveries"] as? [[String: Any]] ?? []
            if condition(list) { return list }
            try await Task.sleep(for: .milliseconds(50))
        }
        return list
    }
}
