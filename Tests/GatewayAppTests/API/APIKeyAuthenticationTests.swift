import Foundation
import Testing
import TestSupport

@testable import GatewayApp

/// API keys at the edge: any well-formed bootstrap key works as documented, wrong keys cost no database
/// look-up once seen, and a peer trying many different keys is throttled without locking out a known key.
@Suite struct APIKeyAuthenticationTests {
    @Test func aBootstrapKeyWithoutThePkPrefixIsAcceptedOnEveryCall() async throws {
        let key = "operator-chosen-key-2026"
        try await AppHarness.with(environment: ["PASSERELLE_BOOTSTRAP_API_KEY": key]) { h in
            for _ in 0..<3 {
                let response = try await h.client.send("GET", "/v1/banks", headers: [("Authorization", "Bearer \(key)")])
                #expect(response.status == 200)
            }
            #expect(try await h.client.send("GET", "/v1/banks", headers: [("Authorization", "Bearer \(key)x")]).status == 401)
        }
    }

    @Test(arguments: ["short-key", "a key with spaces in it", String(repeating: "k", count: 201), "clé-accentuée-0123456789"])
    func aMalformedBootstrapKeyIsAConfigurationProblem(key: String) throws {
        #expect(throws: ConfigError.self) {
            _ = try Config(environment: [
                "PASSERELLE_DATABASE_URL": "postgresql://x@127.0.0.1/x", "PASSERELLE_BOOTSTRAP_API_KEY": key,
            ])
        }
    }

    @Test func aRepeatedWrongKeyCostsOneLookUp() async throws {
        try await AppHarness.with { h in
            let wrong = [("Authorization", "Bearer pk_wrong_key_0123456789abcdefghij")]
            let before = h.app.apiKeys.databaseLookups
            for _ in 0..<50 {
                let response = try await h.client.send("GET", "/v1/banks", headers: wrong)
                #expect(response.status == 401)
                #expect(response.header("WWW-Authenticate") == "Bearer")
                #expect(response.json["type"] as? String == "/problems/unauthorized")
            }
            #expect(h.app.apiKeys.databaseLookups - before == 1, "the miss is cached")
            // Malformed keys never reach the database at all.
            for bad in ["Bearer short", "Bearer \(String(repeating: "x", count: 300))", "Basic dXNlcjpwYXNz", "Bearer"] {
                #expect(try await h.client.send("GET", "/v1/banks", headers: [("Authorization", bad)]).status == 401)
            }
            #expect(h.app.apiKeys.databaseLookups - before == 1)
            // The right key, once known, keeps working without look-ups.
            #expect(try await h.request("GET", "/v1/banks").status == 200)
            let known = h.app.apiKeys.databaseLookups
            for _ in 0..<10 { #expect(try await h.request("GET", "/v1/banks").status == 200) }
            #expect(h.app.apiKeys.databaseLookups == known)
        }
    }

    @Test func aPeerTryingManyKeysIsThrottledButAKnownKeyStillWorks() async throws {
        try await AppHarness.with { h in
            #expect(try await h.request("GET", "/v1/banks").status == 200, "the harness key is now cached")
            let before = h.app.apiKeys.databaseLookups
            var statuses: [Int] = []
            var retryAfter: String?
            for i in 0..<60 {
                let response = try await h.client.send(
                    "GET", "/v1/banks", headers: [("Authorization", "Bearer pk_guess_\(i)_0123456789abcdef")])
                statuses.append(response.status)
                if response.status == 429 {
                    retryAfter = response.header("Retry-After")
                    #expect(response.json["type"] as? String == "/problems/authentication-throttled")
                }
            }
            let lookups = h.app.apiKeys.databaseLookups - before
            #expect(statuses.prefix(20).allSatisfy { $0 == 401 }, "\(statuses)")
            #expect(statuses.dropFirst(20).allSatisfy { $0 == 429 }, "\(statuses)")
            #expect(lookups == 20, "look-ups stop at the limit: \(lookups)")
            #expect(Int(retryAfter ?? "").map { (1...10).contains($0) } == true)
            #expect(try await h.request("GET", "/v1/banks").status == 200, "a cached key is not throttled")
        }
    }
}
