import Foundation
import HTTPServerKit
import Testing
import TestSupport

@testable import GatewayApp

/// The one path rule (`RequestTarget`) and authentication by route, tried the way an attacker would: every route
/// of the router's table (which `OpenAPICoverageTests` holds equal to the OpenAPI document) under a corpus of
/// spellings of its path, with and without an API key. Which route, if any, a request reached is read from its
/// access-log line (found by the request id we send), so a handler reached under another spelling cannot hide.
///
/// Broken on purpose to check the test: with the old prefix gate (`request.path.hasPrefix("/v1/")`) and the
/// router collapsing empty segments, `//v1/certificates` answered 200 without a key and this test failed on it.
/// Checked too: declaring `BanksRoutes` outside `authenticated(by:)` with the start-up check of
/// `build(requiringAuthenticationUnder:)` removed fails with "GET /v1/banks without a key: 200" (the `/v1` prefix,
/// not the declared access, decides that a key is needed).
@Suite struct PathSpellingTests {
    /// Variants of a canonical path `p` (`/a/b/...`), none of which may reach a route.
    static func spellings(of p: String) -> [String] {
        let segments = p.split(separator: "/").map(String.init)
        let first = segments[0]
        let rest = segments.dropFirst().joined(separator: "/")
        let tail = rest.isEmpty ? "" : "/" + rest
        let firstEncoded = first.utf8.map { String(format: "%%%02X", $0) }.joined()
        let lastIndex = p.utf8.count - 1
        let body = String(p.dropFirst())  // the path without its leading slash
        // Appended to the whole path.
        let suffixes = [
            "/", "//", "/.", "/..", ";", ";jsessionid=1", "%00", "%0A", "%7F", "%2e", "/%2e%2e", "%", "%G0", "%c",
            "#", "#x", "%20", "%5C",
        ]
        // Put before the path's first segment.
        let prefixes = ["/", "/.", "/%2F", "/%C0%AF", "/%2e"]
        var list: [String] = suffixes.map { p + $0 } + prefixes.map { $0 + p }
        list += [
            "//" + body, "/\(first)/x/..\(tail)", "/\(first)/.\(tail)", "/\(first)//\(rest)", "/" + firstEncoded + tail,
            "/\(first)%2F\(rest)", "/\(first)%2f\(rest)", p.uppercased(), "/" + first.uppercased() + tail,
            "/\(first);x=1\(tail)", "/\(first)%00\(tail)", "/\(first)%C0%AF\(rest)", "/\(first)%E0%80%AF\(rest)",
            "/\(first)\\\(rest)",
        ]
        // The last character percent-encoded (an unreserved one: non-canonical).
        let last = p.utf8[p.utf8.index(p.utf8.startIndex, offsetBy: lastIndex)]
        list.append(String(p.dropLast()) + String(format: "%%%02X", last))
        return list.filter { $0 != p }
    }

    /// A value for each path parameter, real where a real one exists (so a bypass would answer 2xx).
    static func concrete(_ template: String, certificateID: String, fingerprint: String) -> String {
        template
            .replacingOccurrences(of: "{bankId}", with: "cmcic:cic")
            .replacingOccurrences(of: "{certificateId}", with: certificateID)
            .replacingOccurrences(of: "{file}", with: fingerprint + ".pem")
            .replacingOccurrences(of: "{registrationId}", with: "0e0a3c47-1d52-4d2b-a7a9-5b4c1f0b2f11")
            .replacingOccurrences(of: "{connectionId}", with: "7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f")
            .replacingOccurrences(of: "{accountId}", with: "acc-1")
            .replacingOccurrences(of: "{webhookId}", with: "5d8e7f60-2a4b-4c1d-9e3f-6a7b8c9d0e1f")
            .replacingOccurrences(of: "{paymentId}", with: "5d6e7f80-91a2-4b3c-8d4e-5f60718293a4")
    }

    /// The access-log line of the request sent with `requestID`: (route template or "unmatched", status).
    static func accessLine(_ h: AppHarness, _ requestID: String) throws -> (route: String, status: Int, principal: String?) {
        for line in h.logs.captured.reversed() where line.contains(requestID) {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            guard object["message"] as? String == "request", object["request.id"] as? String == requestID else { continue }
            return (
                object["http.route"] as? String ?? "?", Int(object["http.status"] as? String ?? "") ?? 0,
                object["auth.principal"] as? String
            )
        }
        throw ProcessFailure(description: "no access-log line for \(requestID)")
    }

    @Test func noSpellingOfAnyRouteReachesItWithoutItsDeclaredAccess() async throws {
        try await AppHarness.with { h in
            // A real QSealC, so that GET/DELETE /v1/certificates/{id} and the public PEM route have something to leak.
            let upload = try await CertificatesAPITests.upload(h, cert: "qseal-chain.pem", key: "qseal.key")
            #expect(upload.status == 201)
            let certificateID = try #require(upload.json["id"] as? String)
            let fingerprint = try #require(upload.json["sha256Fingerprint"] as? String)
                .replacingOccurrences(of: ":", with: "").lowercased()
            let routes = h.app.makeRouter().routes
            #expect(routes.count >= 20, "the router's whole table is tried")
            var tried = 0
            for route in routes {
                let canonical = Self.concrete(route.template, certificateID: certificateID, fingerprint: fingerprint)
                let isAPI = route.template.hasPrefix("/v1/")
                let method = route.method.rawValue
                let body: [UInt8] = ["POST", "PUT", "PATCH"].contains(method) ? Array("{}".utf8) : []
                let json: [(String, String)] = body.isEmpty ? [] : [("Content-Type", "application/json")]
                if route.template == "/v1/certificates/{certificateId}" && method == "DELETE" { continue }  // tried last

                // Canonical, without a key: an API route is refused by its declared access; a public one answers.
                let id0 = "spell-\(UUID().uuidString)"
                let plain = try await h.client.send(method, canonical, headers: json + [("X-Request-Id", id0)], body: body)
                let plainLine = try Self.accessLine(h, id0)
                #expect(plainLine.route == route.template, "\(method) \(canonical) reaches its route")
                if isAPI {
                    #expect(plain.status == 401, "\(method) \(canonical) without a key: \(plain.status)")
                    #expect(plain.json["type"] as? String == "/problems/unauthorized")
                }

                for spelling in Self.spellings(of: canonical) {
                    for withKey in [false, true] {
                        tried += 1
                        let id = "spell-\(UUID().uuidString)"
                        var headers = json + [("X-Request-Id", id)]
                        if withKey { headers.append(("Authorization", "Bearer \(AppHarness.apiKey)")) }
                        let response = try await h.client.send(method, spelling, headers: headers, body: body)
                        let line = try Self.accessLine(h, id)
                        #expect(
                            !(200..<300).contains(response.status),
                            "\(method) \(spelling) (key: \(withKey)) answered \(response.status)")
                        // Either no route at all, or (a reserved character appended to a parameter, e.g. `{id};`) the
                        // same route with another parameter value, behind the same declared access.
                        #expect(
                            line.route == "unmatched" || line.route == route.template,
                            "\(method) \(spelling) (key: \(withKey)) reached \(line.route) with \(response.status)")
                        if line.route != "unmatched" && isAPI && !withKey {
                            #expect(response.status == 401, "\(method) \(spelling) without a key: \(response.status)")
                        }
                        #expect([400, 401, 404, 405].contains(response.status), "\(method) \(spelling): \(response.status)")
                        #expect(response.header("Content-Type")?.hasPrefix("application/problem+json") == true)
                    }
                }
            }
            #expect(tried > 1000)
            // The certificate survived every DELETE spelling, and the canonical one with a key still works.
            let deleteRoute = "/v1/certificates/\(certificateID)"
            for spelling in Self.spellings(of: deleteRoute) {
                let response = try await h.client.send("DELETE", spelling)
                #expect(!(200..<300).contains(response.status), "DELETE \(spelling) answered \(response.status)")
            }
            #expect(try await h.request("GET", deleteRoute).status == 200, "no spelling deleted the certificate")
            #expect(try await h.request("DELETE", deleteRoute, authorized: false).status == 401)
            #expect(try await h.request("DELETE", deleteRoute).status == 204)
        }
    }

    @Test func theAccessLogNamesTheKeyIdOfAnAuthenticatedCall() async throws {
        try await AppHarness.with { h in
            let id = "spell-\(UUID().uuidString)"
            let response = try await h.request("GET", "/v1/banks", headers: [("X-Request-Id", id)])
            #expect(response.status == 200)
            let keyID = try await h.app.db.query("SELECT id FROM api_keys WHERE name = 'bootstrap'")[0].decode("id", as: UUID.self)
            let line = try Self.accessLine(h, id)
            #expect(line.principal == keyID.uuidString.lowercased(), "the key's id, not redacted and not the key")
            #expect(!h.logs.text.contains(AppHarness.apiKey))
            let anonymous = "spell-\(UUID().uuidString)"
            _ = try await h.request("GET", "/health", headers: [("X-Request-Id", anonymous)], authorized: false)
            #expect(try Self.accessLine(h, anonymous).principal == nil)
        }
    }
}
