import Foundation
import Testing
import TestSupport

@testable import GatewayApp

/// `POST/GET/DELETE /v1/certificates` end to end: real HTTP, real PostgreSQL, generated eIDAS-like certificates.
@Suite struct CertificatesAPITests {
    static func upload(_ h: AppHarness, cert: String, key: String, passphrase: String? = nil, label: String? = nil)
        async throws -> TestResponse
    {
        var body: [String: Any] = [
            "certificate": try TestEnvironment.pkiContents(cert), "privateKey": try TestEnvironment.pkiContents(key),
        ]
        if let passphrase { body["passphrase"] = passphrase }
        if let label { body["label"] = label }
        return try await h.request("POST", "/v1/certificates", json: body)
    }

    @Test func uploadsAQWACAndAQSealCAndReadsThemBackWithoutKeys() async throws {
        try await AppHarness.with { h in
            let qwac = try await Self.upload(h, cert: "qwac-chain.pem", key: "qwac.key", label: "sandbox QWAC")
            #expect(qwac.status == 201)
            #expect(qwac.json["kind"] as? String == "qwac")
            #expect(qwac.json["organizationIdentifier"] as? String == "PSDFR-ACPR-12345")
            #expect((qwac.json["roles"] as? [String])?.sorted() == ["PSP_AI", "PSP_IC", "PSP_PI"])
            let fingerprint = try await runOpenSSLFingerprint(try TestEnvironment.pki("qwac.crt"))
            #expect(qwac.json["sha256Fingerprint"] as? String == fingerprint)

            let qseal = try await Self.upload(h, cert: "qseal-chain.pem", key: "qseal-pkcs8-enc.key", passphrase: "test-passphrase")
            #expect(qseal.status == 201, "an encrypted PKCS#8 key with its passphrase is accepted")
            #expect(qseal.json["kind"] as? String == "qseal")

            let list = try await h.request("GET", "/v1/certificates")
            #expect(list.status == 200)
            #expect((list.json["certificates"] as? [Any])?.count == 2)
            let id = try #require(qseal.json["id"] as? String)
            let one = try await h.request("GET", "/v1/certificates/\(id)")
            #expect(one.status == 200)
            for text in [qwac.text, qseal.text, list.text, one.text] {
                #expect(!text.contains("PRIVATE KEY"), "a private key never leaves in a response")
            }
            #expect(!h.logs.text.contains("PRIVATE KEY"))
            #expect(!h.logs.text.contains("test-passphrase"))
            let stored = try await h.app.db.query("SELECT private_key_sealed FROM certificates")
            for row in stored {
                let sealed: [UInt8] = try row.decode("private_key_sealed")
                #expect(!String(decoding: sealed, as: UTF8.self).contains("PRIVATE KEY"), "the key is stored sealed")
            }

            let again = try await Self.upload(h, cert: "qwac-chain.pem", key: "qwac.key")
            #expect(again.status == 409)
            let deleted = try await h.request("DELETE", "/v1/certificates/\(id)")
            #expect(deleted.status == 204)
            #expect(try await h.request("GET", "/v1/certificates/\(id)").status == 404)
        }
    }

    @Test(arguments: [
        ("qwac-chain.pem", "qseal.key", nil, 422, "does not match"),
        ("server-expired.crt", "server-expired.key", nil, 422, "expired"),
        ("ec.crt", "ec.key", nil, 422, "not an RSA key"),
        ("noorgid-chain.pem", "noorgid.key", nil, 422, "organizationIdentifier"),
        ("server-chain.pem", "server.key", nil, 422, "organizationIdentifier"),
        ("nousage-chain.pem", "nousage.key", nil, 422, "unknown usage"),
        ("qseal-chain.pem", "qseal-pkcs8-enc.key", "wrong", 422, "passphrase"),
        ("qseal-chain.pem", "qseal-pkcs8-enc.key", nil, 422, "passphrase"),
    ] as [(String, String, String?, Int, String)])
    func refusesBadUploadsWithAPreciseProblem(cert: String, key: String, passphrase: String?, status: Int, phrase: String)
        async throws
    {
        try await AppHarness.with { h in
            let response = try await Self.upload(h, cert: cert, key: key, passphrase: passphrase)
            #expect(response.status == status)
            #expect(response.header("Content-Type")?.hasPrefix("application/problem+json") == true)
            #expect(response.text.contains(phrase), "\(response.text)")
            let count = try await h.app.db.query("SELECT count(*) AS n FROM certificates")[0]
            #expect(try count.decode("n", as: Int.self) == 0, "nothing is stored")
        }
    }

    /// The gateway's clock set before the test certificates' notBefore (they are issued today).
    @Test func refusesACertificateNotValidYet() async throws {
        let h = try await AppHarness.start(now: { Date(timeIntervalSince1970: 978_307_200) })  // 2001-01-01
        do {
            let response = try await Self.upload(h, cert: "qseal-chain.pem", key: "qseal.key")
            #expect(response.status == 422)
            #expect(response.text.contains("not valid yet"), "\(response.text)")
            let count = try await h.app.db.query("SELECT count(*) AS n FROM certificates")[0]
            #expect(try count.decode("n", as: Int.self) == 0, "nothing is stored")
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    @Test func refusesMalformedJSONAndMissingFields() async throws {
        try await AppHarness.with { h in
            let malformed = try await h.client.send(
                "POST", "/v1/certificates",
                headers: [("Authorization", "Bearer \(AppHarness.apiKey)"), ("Content-Type", "application/json")],
                body: Array("{\"certificate\": ".utf8))
            #expect(malformed.status == 400)
            #expect(malformed.json["type"] as? String == "/problems/validation")
            let missing = try await h.request("POST", "/v1/certificates", json: ["certificate": "x"])
            #expect(missing.status == 400)
            #expect(missing.text.contains("privateKey"))
        }
    }

    @Test func everyV1RouteNeedsAnAPIKey() async throws {
        try await AppHarness.with { h in
            let none = try await h.request("GET", "/v1/certificates", authorized: false)
            #expect(none.status == 401)
            #expect(none.json["type"] as? String == "/problems/unauthorized")
            let wrong = try await h.request("GET", "/v1/banks", headers: [("Authorization", "Bearer pk_wrong")], authorized: false)
            #expect(wrong.status == 401)
            #expect(try await h.request("GET", "/health", authorized: false).status == 200)
        }
    }
}

/// `openssl x509 -noout -fingerprint -sha256` of a file, as `AA:BB:…`.
func runOpenSSLFingerprint(_ path: String) async throws -> String {
    let out = try await runProcess("/usr/bin/openssl", ["x509", "-in", path, "-noout", "-fingerprint", "-sha256"])
    return String(out.split(separator: "=").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The public routes that serve data without an API key, end to end: a QSealC's PEM for banks that take a
/// certificate URL as `keyId` (and nothing else: no QWAC, no key), and the bank catalog entries.
@Suite struct PublicCertificateAndBankRoutesTests {
    @Test func servesOnlyQSealCertificatesAsPEMWithoutKeys() async throws {
        try await AppHarness.with { h in
            let qseal = try await CertificatesAPITests.upload(h, cert: "qseal-chain.pem", key: "qseal.key")
            let qwac = try await CertificatesAPITests.upload(h, cert: "qwac-chain.pem", key: "qwac.key")
            func file(_ r: TestResponse) throws -> String {
                try #require(r.json["sha256Fingerprint"] as? String).replacingOccurrences(of: ":", with: "").lowercased()
                    + ".pem"
            }
            let served = try await h.request("GET", "/certificates/\(try file(qseal))", authorized: false)
            #expect(served.status == 200)
            #expect(served.header("Content-Type") == "application/x-pem-file")
            #expect(served.text.hasPrefix("-----BEGIN CERTIFICATE-----"))
            #expect(!served.text.contains("PRIVATE KEY"))
            let leaf = try TestEnvironment.pkiContents("qseal.crt").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(served.text.contains(leaf), "the uploaded QSealC itself")
            let upper = try await h.request("GET", "/certificates/\(try file(qseal).dropLast(4).uppercased()).pem", authorized: false)
            #expect(upper.status == 200 && upper.text == served.text, "the fingerprint in any case")
            #expect(try await h.request("GET", "/certificates/\(try file(qwac))", authorized: false).status == 404, "never a QWAC")
            #expect(try await h.request("GET", "/certificates/\(String(repeating: "0", count: 64)).pem", authorized: false).status == 404)
            #expect(try await h.request("GET", "/certificates/\(try file(qseal).dropLast(4))", authorized: false).status == 404)
        }
    }

    @Test func oneBankOfTheCatalog() async throws {
        try await AppHarness.with { h in
            let cic = try await h.request("GET", "/v1/banks/cmcic:cic")
            #expect(cic.status == 200)
            #expect(cic.json["id"] as? String == "cmcic:cic")
            #expect(cic.json["provider"] as? String == "euro-information")
            let bpce = try await h.request("GET", "/v1/banks/bpce%3A13807")
            #expect(bpce.status == 200, "an encoded ':' is the same bank")
            #expect(bpce.json["provider"] as? String == "bpce")
            #expect((bpce.json["features"] as? [String: Any])?["consentsRequired"] as? Bool == true)
            let unknown = try await h.request("GET", "/v1/banks/bpce:00000")
            #expect(unknown.status == 404)
            #expect(unknown.json["type"] as? String == "/problems/not-found")
            #expect(try await h.request("GET", "/v1/banks/cmcic:cic", authorized: false).status == 401)
        }
    }
}
