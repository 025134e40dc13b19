import Foundation
import Testing
import TestSupport

/// Every answer of a full flow at both bank families — successes and the usual problems — validated against its
/// response schema in `openapi/passerelle.yaml` by `scripts/lib/check-responses.py` (Python's `jsonschema`): an
/// oracle independent of the gateway's hand-written JSON writers, which the other tests only compare with another
/// writer of this project. Renaming a member in `AccountInformationJSON` (or dropping a required one) fails here.
@Suite(.serialized) struct ResponseSchemaTests {
    static let psu = [("PSU-IP-Address", "192.0.2.10"), ("PSU-User-Agent", "schema-tests/1.0")]

    /// Writes each response as `{method, path, status, contentType, body}` into a folder for the checker.
    final class Recorder: Sendable {
        let directory = NSTemporaryDirectory() + "passerelle-responses-\(UUID().uuidString)"
        private let count = Shared(0)

        init() throws { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }

        @discardableResult
        func record(_ method: String, _ target: String, _ response: TestResponse) throws -> TestResponse {
            let n = count.withLock { $0 += 1; return $0 }
            let path = String(target.prefix { $0 != "?" })
            let type = response.header("Content-Type") ?? ""
            let body: Any =
                response.body.isEmpty
                ? NSNull()
                : type.contains("json") ? try JSONSerialization.jsonObject(with: Data(response.body), options: .fragmentsAllowed)
                : response.text
            let record: [String: Any] = ["method": method, "path": path, "status": response.status, "contentType": type, "body": body]
            try JSONSerialization.data(withJSONObject: record).write(
                to: URL(fileURLWithPath: directory + String(format: "/%04d.json", n)))
            return response
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test func everyAnswerOfAFullFlowMatchesItsDocumentedSchema() async throws {
        guard let python = ProcessInfo.processInfo.environment["PASSERELLE_TEST_OPENAPI_PYTHON"] else {
            throw ProcessFailure(description: "PASSERELLE_TEST_OPENAPI_PYTHON is not set: run the suite with scripts/test")
        }
        let cluster = try await ReplicaCluster.start(
            replicas: 1, simulatorEnvironment: [:], gatewayEnvironment: ["PASSERELLE_TOKEN_REFRESHER_INTERVAL_SECONDS": "0"])
        let recorder = try Recorder()
        do {
            try await Self.flow(cluster, recorder)
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().path
            let out = try await runProcessCapturingAll(
                python, [root + "/scripts/lib/check-responses.py", root + "/openapi/passerelle.yaml", recorder.directory])
            let summary = out.stdout.split(separator: "\n").last.map(String.init) ?? ""
            print("ResponseSchemaTests: \(summary)")
            #expect(out.status == 0, "\(out.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }.joined(separator: "\n"))\n\(out.stderr)")
            #expect(summary.contains(" 0 failing") && !summary.hasPrefix("0 "), "\(summary)")
        } catch {
            recorder.remove()
            await cluster.stop()
            throw error
        }
        recorder.remove()
        await cluster.stop()
    }

    static func flow(_ cluster: ReplicaCluster, _ r: Recorder) async throws {
        let g = cluster.gateways[0]
        let client = TestHTTPClient(port: g.port)
        let auth = [("Authorization", "Bearer \(ReplicaCluster.apiKey)")]
        @discardableResult
        func call(_ method: String, _ target: String, json: [String: Any]? = nil, headers: [(String, String)] = [],
                  authorized: Bool = true) async throws -> TestResponse {
            let all = headers + (authorized ? auth : [])
            if let json { return try r.record(method, target, try await client.sendJSON(method, target, json, headers: all)) }
            return try r.record(method, target, try await client.send(method, target, headers: all))
        }

        try await call("GET", "/health")
        try await call("GET", "/ready")
        try await call("GET", "/v1/banks")
        try await call("GET", "/v1/banks/cmcic:cic")
        try await call("GET", "/v1/banks/nowhere:0")
        try await call("GET", "/v1/banks", authorized: false)
        try await call("POST", "/v1/connections", json: ["bank": "cmcic:cic"])  // 400: required members missing

        var certificates: [String] = []
        for (cert, key) in [("qwac-chain.pem", "qwac.key"), ("qseal-chain.pem", "qseal.key")] {
            let uploaded = try await call(
                "POST", "/v1/certificates",
                json: ["certificate": try TestEnvironment.pkiContents(cert), "privateKey": try TestEnvironment.pkiContents(key)])
            try #require(uploaded.status == 201, "\(uploaded.text)")
            certificates.append(try #require(uploaded.json["id"] as? String))
        }
        try await call("GET", "/v1/certificates")
        try await call("GET", "/v1/certificates/\(certificates[1])")
        try await call("GET", "/v1/certificates/\(UUID().uuidString.lowercased())")

        for (bank, persona) in [("cmcic:cic", "marc"), ("bpce:13807", "marc")] {
            let registered = try await call(
                "POST", "/v1/registrations",
                json: RegistrationsAPITests.body(bank: bank, qwac: certificates[0], qseal: certificates[1], name: "Schema \(bank)"))
            try #require(registered.status == 201, "\(registered.text)")
            let registration = try #require(registered.json["id"] as? String)
            if registered.json["status"] as? String == "pending" {
                try await cluster.execute(
                    "UPDATE registrations SET activates_at = now() - interval '1 second' WHERE id = CAST(\(registration) AS uuid)")
            }
            try await call("GET", "/v1/registrations")
            try await call("GET", "/v1/registrations/\(registration)")
            try await call("DELETE", "/v1/certificates/\(certificates[1])")  // 409: in use

            let created = try await call(
                "POST", "/v1/connections",
                json: ["bank": bank, "psuReference": "schema-\(persona)", "redirectUri": "https://tpp.example/callback"])
            try #require(created.status == 201, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            let state = try #require(created.json["state"] as? String)
            let location = try await cluster.followAuthorization(try #require(created.json["authorizationUrl"] as? String), persona: persona)
            let code = try #require(location.queryValue("code"), "\(location)")
            try await call("POST", "/v1/connections/\(id)/authorization", json: ["code": code, "state": "forged"])  // 409
            let authorized = try await call("POST", "/v1/connections/\(id)/authorization", json: ["code": code, "state": state])
            try #require(authorized.status == 200, "\(authorized.text)")
            try await call("GET", "/v1/connections/\(id)")
            try await call("GET", "/v1/connections?psuReference=schema-\(persona)")

            let accounts = try await call("GET", "/v1/connections/\(id)/accounts", headers: psu)
            try #require(accounts.status == 200, "\(accounts.text)")
            let account = try #require((accounts.json["accounts"] as? [[String: Any]])?.first?["id"] as? String)
            try await call("GET", "/v1/connections/\(id)/identity", headers: psu)  // BPCE: 409 consent required
            try await call(
                "PUT", "/v1/connections/\(id)/consents",
                json: ["balances": [], "transactions": [], "trustedBeneficiaries": true, "identity": true], headers: psu)
            try await call("GET", "/v1/connections/\(id)/accounts/\(account)/balances", headers: psu)
            try await call("GET", "/v1/connections/\(id)/accounts/\(account)/transactions", headers: psu)
            try await call("GET", "/v1/connections/\(id)/trusted-beneficiaries", headers: psu)
            try await call("GET", "/v1/connections/\(id)/identity", headers: psu)
            try await call("GET", "/v1/connections/\(id)/accounts/acc_unknown/balances", headers: psu)
            try await call("DELETE", "/v1/connections/\(id)")
            try await call("GET", "/v1/connections/\(id)/accounts", headers: psu)  // 409: revoked
        }

        // Lifecycle events: the feed and a webhook endpoint's life (docs/events.md).
        try await call("GET", "/v1/events?limit=5")
        try await call("GET", "/v1/events?types=connection.nope")  // 400
        let hook = try await call(
            "POST", "/v1/webhooks", json: ["url": "http://127.0.0.1:9/hook", "events": ["connection.authorized"]])
        let webhook = try #require(hook.json["id"] as? String, "\(hook.text)")
        try await call("POST", "/v1/webhooks", json: ["url": "http://example.com/hook", "events": ["connection.authorized"]])  // 400
        try await call("GET", "/v1/webhooks")
        try await call("PATCH", "/v1/webhooks/\(webhook)", json: ["enabled": false])
        try await call("GET", "/v1/webhooks/\(webhook)")
        try await call("GET", "/v1/webhooks/\(webhook)/deliveries")
        try await call("DELETE", "/v1/webhooks/\(webhook)")
        try await call("PATCH", "/v1/webhooks/\(webhook)", json: ["enabled": true])  // 404: deleted
    }
}
