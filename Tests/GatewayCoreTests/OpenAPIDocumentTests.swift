import Foundation
import Testing

/// Keeps `openapi/passerelle.yaml` in step with the API's routes (the router-side check, every route
/// the router has ↔ the document, belongs with the HTTP handlers).
@Suite struct OpenAPIDocumentTests {
    /// Every route of the API contract except payments and funds confirmations (not built yet).
    static let contractRoutes: Set<String> = [
        "GET /v1/banks", "GET /v1/banks/{bankId}",
        "POST /v1/certificates", "GET /v1/certificates", "GET /v1/certificates/{certificateId}",
        "DELETE /v1/certificates/{certificateId}",
        "POST /v1/registrations", "GET /v1/registrations", "GET /v1/registrations/{registrationId}",
        "PATCH /v1/registrations/{registrationId}", "DELETE /v1/registrations/{registrationId}",
        "POST /v1/connections", "GET /v1/connections", "GET /v1/connections/{connectionId}",
        "DELETE /v1/connections/{connectionId}", "POST /v1/connections/{connectionId}/authorization",
        "GET /v1/connections/{connectionId}/accounts",
        "GET /v1/connections/{connectionId}/accounts/{accountId}/balances",
        "GET /v1/connections/{connectionId}/accounts/{accountId}/transactions",
        "PUT /v1/connections/{connectionId}/consents", "GET /v1/connections/{connectionId}/trusted-beneficiaries",
        "GET /v1/connections/{connectionId}/identity",
        "GET /v1/events", "POST /v1/webhooks", "GET /v1/webhooks", "GET /v1/webhooks/{webhookId}",
        "PATCH /v1/webhooks/{webhookId}", "DELETE /v1/webhooks/{webhookId}", "GET /v1/webhooks/{webhookId}/deliveries",
        "POST /v1/payments", "GET /v1/payments", "GET /v1/payments/{paymentId}",
        "POST /v1/payments/{paymentId}/authorization", "POST /v1/payments/{paymentId}/cancellation",
        "POST /v1/funds-confirmations",
        "GET /health", "GET /ready", "GET /metrics", "GET /openapi.yaml",
        // Outside `/v1`: the public QSealC certificate URL banks may use as keyId / x5u.
        "GET /certificates/{file}",
    ]

    /// `METHOD /path` for every operation under `paths:` (two-space paths, four-space methods).
    static func documentedRoutes() throws -> Set<String> {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("openapi/passerelle.yaml")
        var routes = Set<String>()
        var inPaths = false
        var current: String?
        for line in try String(contentsOf: url, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        {
            if line == "paths:" {
                inPaths = true
            } else if inPaths, let first = line.first, first != " ", first != "#" {
                break
            } else if inPaths, line.hasPrefix("  /"), line.hasSuffix(":") {
                current = String(line.dropFirst(2).dropLast())
            } else if inPaths, let path = current, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":")
            {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "post", "put", "patch", "delete"].contains(String(method)) {
                    routes.insert("\(method.uppercased()) \(path)")
                }
            }
        }
        return routes
    }

    @Test func documentsExactlyTheContractRoutes() throws {
        let documented = try Self.documentedRoutes()
        #expect(documented.subtracting(Self.contractRoutes).isEmpty, "undocumented in the contract")
        #expect(Self.contractRoutes.subtracting(documented).isEmpty, "missing from the document")
    }

    @Test func everyV1OperationNeedsTheAPIKeyAndOthersDoNot() throws {
        let text = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("openapi/passerelle.yaml"), encoding: .utf8)
        #expect(text.contains("security:\n  - apiKey: []"))
        // The four operational routes and the public certificate route opt out; nothing else does.
        #expect(text.components(separatedBy: "security: []").count - 1 == 5)
    }
}
