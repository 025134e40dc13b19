import FoundationEssentials
import GatewayCore
import HTTPServerKit

/// `GET /v1/events` (the resumable feed) and `/v1/webhooks` (push endpoints, enabled or not, and their deliveries):
/// docs/events.md.
enum EventsRoutes {
    struct Feed: Encodable {
        var events: [StoredEvent]
        /// Pass as `after` to resume: the last event's `seq`, or the `after` given when there was none.
        var next: String
    }

    struct WebhookBody: ValidatedBody {
        var url: String
        var events: [String]

        func validate(into rules: inout FieldRules) {
            rules.matches(url, "url", .webhookURL, maxLength: 2048)
            rules.count(events, "events", 1...LifecycleEvent.Kind.allCases.count)
            for (i, event) in events.enumerated() {
                rules.oneOf(event, "events[\(i)]", LifecycleEvent.Kind.allCases.map(\.rawValue))
            }
        }
    }

    /// `PATCH /v1/webhooks/{id}`.
    struct WebhookChange: ValidatedBody {
        var enabled: Bool

        func validate(into rules: inout FieldRules) {}
    }

    struct WebhookDTO: Encodable {
        var id: String
        var url: String
        var events: [String]
        var enabled: Bool
        var createdAt: Date
        /// Only in the answer to `POST /v1/webhooks`.
        var secret: String?

        init(_ e: WebhookEndpoint, secret: String? = nil) {
            id = e.id.uuidString.lowercased()
            url = e.url
            events = e.kinds.map(\.rawValue)
            enabled = e.enabled
            createdAt = e.createdAt
            self.secret = secret
        }
    }

    struct WebhookList: Encodable { var webhooks: [WebhookDTO] }

    struct DeliveryList: Encodable { var deliveries: [WebhookDelivery] }

    static let pageSize = 100

    /// `GET /v1/events`.
    static func addFeed(to routes: inout Router.Builder, events: EventStore) {
        routes.add(.get, "/v1/events") { request, _ in
            var rules = FieldRules()
            let query = try request.queryParameters(allowed: ["after", "types", "limit"], into: &rules)
            /// Digits only (no sign, no space), at most 18 of them.
            func number(_ text: String) -> Int64? {
                guard (1...18).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
                return Int64(text)
            }
            let after = query["after"].map(number) ?? 0
            if after == nil { rules.fail("after", "expected the `next` of an earlier page (a number)") }
            var kinds: [LifecycleEvent.Kind] = []
            if let types = query["types"] {
                for name in types.split(separator: ",", omittingEmptySubsequences: false) {
                    if let kind = LifecycleEvent.Kind(rawValue: String(name)) { kinds.append(kind) } else {
                        rules.fail("types", "unknown event type \"\(name)\"")
                    }
                }
            }
            let limit = query["limit"].map { number($0).map(Int.init) } ?? pageSize
            if limit == nil || !(1...1000).contains(limit!) { rules.fail("limit", "1 to 1000") }
            guard rules.issues.isEmpty, let after, let limit else { throw GatewayError.validation(rules.issues) }
            let page = try await events.events(after: after, kinds: kinds, limit: limit)
            return JSONCoding.response(
                200, Feed(events: page, next: String(page.last?.seq ?? after)))
        }
    }

    /// `POST/GET /v1/webhooks`, `GET/PATCH/DELETE /v1/webhooks/{webhookId}`, `GET /v1/webhooks/{webhookId}/deliveries`.
    static func addWebhooks(to routes: inout Router.Builder, webhooks: WebhookService) {
        routes.add(.post, "/v1/webhooks") { request, _ in
            let body = try JSONCoding.decode(WebhookBody.self, from: request)
            let kinds = body.events.compactMap(LifecycleEvent.Kind.init(rawValue:))
            let (endpoint, secret) = try await webhooks.create(url: body.url, kinds: Array(Set(kinds)).sorted { $0.rawValue < $1.rawValue })
            var response = JSONCoding.response(201, WebhookDTO(endpoint, secret: secret))
            response.headers.set("Location", "/v1/webhooks/\(endpoint.id.uuidString.lowercased())")
            return response
        }
        routes.add(.get, "/v1/webhooks") { _, _ in
            JSONCoding.response(200, WebhookList(webhooks: try await webhooks.list().map { WebhookDTO($0) }))
        }
        routes.add(.get, "/v1/webhooks/{webhookId}") { request, _ in
            JSONCoding.response(200, WebhookDTO(try await webhooks.get(try pathUUID(request, "webhookId", resource: "webhook"))))
        }
        routes.add(.patch, "/v1/webhooks/{webhookId}") { request, _ in
            let id = try pathUUID(request, "webhookId", resource: "webhook")
            let change = try JSONCoding.decode(WebhookChange.self, from: request)
            return JSONCoding.response(200, WebhookDTO(try await webhooks.setEnabled(id, change.enabled)))
        }
        routes.add(.delete, "/v1/webhooks/{webhookId}") { request, _ in
            try await webhooks.delete(try pathUUID(request, "webhookId", resource: "webhook"))
            return HTTPResponse(status: 204)
        }
        routes.add(.get, "/v1/webhooks/{webhookId}/deliveries") { request, _ in
            let deliveries = try await webhooks.deliveries(try pathUUID(request, "webhookId", resource: "webhook"))
            return JSONCoding.response(200, DeliveryList(deliveries: deliveries))
        }
    }
}
