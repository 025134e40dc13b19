import Foundation
import GatewayCore
import OpenSSLKit
import Testing
import TestSupport

@testable import GatewayApp

/// The HTTP contract of `/v1/certificates` and the public `/certificates/{file}` in process: the real routes and
/// `CertificateService` (real parsing, real sealing) over `InMemoryCertificateRepository`. The PostgreSQL store and
/// the API key in front are covered live by `CertificatesAPITests`.
@Suite struct CertificatesRouterTests {
    let repository = InMemoryCertificateRepository()
    let vault: SecretVault
    let api: InProcessRouter

    init(now: @escaping @Sendable () -> Date = { Date() }) throws {
        let repository = self.repository
        let vault = SecretVault(keyring: try MasterKeyring(parsing: Base64.encode(Random.bytes(32))))
        let service = CertificateService(store: repository, vault: vault, now: now)
        self.vault = vault
        api = InProcessRouter { routes in
            CertificatesRoutes.add(to: &routes, service: service)
            CertificatesRoutes.addPublic(to: &routes, service: service)
        }
    }

    func upload(cert: String, key: String, passphrase: String? = nil, label: String? = nil) async throws
        -> TestResponse
    {
        var body: [String: Any] = [
            "certificate": try TestEnvironment.pkiContents(cert), "privateKey": try TestEnvironment.pkiContents(key),
        ]
        if let passphrase { body["passphrase"] = passphrase }
        if let label { body["label"] = label }
        return try await api.request("POST", "/v1/certificates", json: body)
    }

    func isProblem(_ response: TestResponse, _ status: Int, _ type: String) -> Bool {
        response.status == status && response.header("Content-Type") == "application/problem+json"
            && response.json["type"] as? String == type
    }

    @Test func anUploadIsCreatedReadListedAndDeletedWithoutItsKey() async throws {
        let created = try await upload(cert: "qwac-chain.pem", key: "qwac.key", label: "sandbox QWAC")
        #expect(created.status == 201)
        let id = try #require(created.json["id"] as? String)
        #expect(created.header("Location") == "/v1/certificates/\(id)")
        #expect(created.json["kind"] as? String == "qwac")
        #expect(created.json["label"] as? String == "sandbox QWAC")
        #expect(created.json["organizationIdentifier"] as? String == "PSDFR-ACPR-12345")
        #expect(created.json["expired"] as? Bool == false)
        #expect(created.json["usedBy"] as? [String] == [])

        let stored = try #require(repository.certificates.first)
        #expect(stored.id.uuidString.lowercased() == id)
        #expect(!String(decoding: stored.privateKeySealed, as: UTF8.self).contains("PRIVATE KEY"), "stored sealed")
        let opened = try vault.open(stored.privateKeySealed, owner: CertificateService.keyOwner(stored.id))
        #expect(opened.reveal.contains("PRIVATE KEY"), "and the vault opens it for its owner")

        let one = try await api.request("GET", "/v1/certificates/\(id)")
        #expect(one.status == 200)
        #expect(one.json["sha256Fingerprint"] as? String == created.json["sha256Fingerprint"] as? String)
        let list = try await api.request("GET", "/v1/certificates")
        #expect(list.status == 200)
        #expect((list.json["certificates"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])
        for response in [created, one, list] { #expect(!response.text.contains("PRIVATE KEY")) }

        #expect(try await api.request("DELETE", "/v1/certificates/\(id)").status == 204)
        #expect(isProblem(try await api.request("GET", "/v1/certificates/\(id)"), 404, "/problems/not-found"))
        #expect(isProblem(try await api.request("DELETE", "/v1/certificates/\(id)"), 404, "/problems/not-found"))
        #expect(repository.certificates.isEmpty)
    }

    @Test func theSameCertificateTwiceIsAConflict() async throws {
        #expect(try await upload(cert: "qwac-chain.pem", key: "qwac.key").status == 201)
        let again = try await upload(cert: "qwac-chain.pem", key: "qwac.key")
        #expect(isProblem(again, 409, "/problems/conflict"))
        #expect(repository.certificates.count == 1)
    }

    @Test(arguments: [
        ("qwac-chain.pem", "qseal.key", nil, 422, "does not match"),
        ("server-expired.crt", "server-expired.key", nil, 422, "expired"),
        ("ec.crt", "ec.key", nil, 422, "not an RSA key"),
        ("noorgid-chain.pem", "noorgid.key", nil, 422, "organizationIdentifier"),
        ("nousage-chain.pem", "nousage.key", nil, 422, "unknown usage"),
        ("qseal-chain.pem", "qseal-pkcs8-enc.key", "wrong", 422, "passphrase"),
        ("qseal-chain.pem", "qseal-pkcs8-enc.key", nil, 422, "passphrase"),
    ] as [(String, String, String?, Int, String)])
    func aRefusedUploadNamesItsReasonAndStoresNothing(
        cert: String, key: String, passphrase: String?, status: Int, phrase: String
    ) async throws {
        let response = try await upload(cert: cert, key: key, passphrase: passphrase)
        #expect(response.status == status)
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect(response.text.contains(phrase), "\(response.text)")
        #expect(repository.certificates.isEmpty)
    }

    @Test func aCertificateNotValidYetIsRefusedByTheServiceClock() async throws {
        let early = try CertificatesRouterTests(now: { Date(timeIntervalSince1970: 978_307_200) })  // 2001-01-01
        let response = try await early.upload(cert: "qseal-chain.pem", key: "qseal.key")
        #expect(response.status == 422)
        #expect(response.text.contains("not valid yet"), "\(response.text)")
        #expect(early.repository.certificates.isEmpty)
    }

    @Test func malformedBodiesAndPathsAreProblems() async throws {
        let noType = try await api.request("POST", "/v1/certificates", body: Array("{}".utf8))
        #expect(isProblem(noType, 415, "/problems/unsupported-media-type"))
        let truncated = try await api.request(
            "POST", "/v1/certificates", body: Array("{\"certificate\": ".utf8),
            headers: [("Content-Type", "application/json")])
        #expect(isProblem(truncated, 400, "/problems/validation"))
        let missing = try await api.request("POST", "/v1/certificates", json: ["certificate": "x"])
        #expect(isProblem(missing, 400, "/problems/validation"))
        #expect(missing.text.contains("privateKey"))
        #expect(isProblem(try await api.request("GET", "/v1/certificates/not-a-uuid"), 404, "/problems/not-found"))
        let method = try await api.request("PUT", "/v1/certificates")
        #expect(isProblem(method, 405, "/problems/method-not-allowed"))
        #expect(method.header("Allow")?.contains("POST") == true)
    }

    @Test func theExpiryForecastFiltersOnNotAfterAndChecksItsParameter() async throws {
        #expect(try await upload(cert: "qwac-chain.pem", key: "qwac.key").status == 201)
        #expect(try await upload(cert: "qseal-chain.pem", key: "qseal.key").status == 201)
        func count(_ query: String) async throws -> Int? {
            let r = try await api.request("GET", "/v1/certificates?\(query)")
            return (r.json["certificates"] as? [Any])?.count
        }
        #expect(try await count("expiringBefore=2999-01-01T00:00:00Z") == 2)
        #expect(try await count("expiringBefore=2001-01-01T00:00:00Z") == 0)
        let bad = try await api.request("GET", "/v1/certificates?expiringBefore=soon")
        #expect(isProblem(bad, 400, "/problems/validation"))
        #expect(bad.text.contains("expiringBefore"))
        let unknown = try await api.request("GET", "/v1/certificates?kind=qwac")
        #expect(isProblem(unknown, 400, "/problems/validation"))
    }

    @Test func aCertificateInUseShowsItsRegistrationsAndIsNotDeleted() async throws {
        func uploadedID(cert: String, key: String) async throws -> UUID {
            let created = try await upload(cert: cert, key: key)
            return try #require((created.json["id"] as? String).flatMap(UUID.init(uuidString:)))
        }
        let qwac = try await uploadedID(cert: "qwac-chain.pem", key: "qwac.key")
        let qseal = try await uploadedID(cert: "qseal-chain.pem", key: "qseal.key")
        let registration = UUID()
        repository.recordRegistration(registration, qwac: qwac, qseal: qseal, status: "active")

        let shown = try await api.request("GET", "/v1/certificates/\(qwac)")
        #expect(shown.json["usedBy"] as? [String] == [registration.uuidString.lowercased()])
        let refused = try await api.request("DELETE", "/v1/certificates/\(qseal)")
        #expect(isProblem(refused, 409, "/problems/conflict"))
        #expect(refused.text.contains(registration.uuidString.lowercased()))

        repository.recordRegistration(registration, qwac: qwac, qseal: qseal, status: "deleted")
        #expect(try await api.request("GET", "/v1/certificates/\(qwac)").json["usedBy"] as? [String] == [])
        #expect(try await api.request("DELETE", "/v1/certificates/\(qseal)").status == 204)
    }

    @Test func onlyAQSealIsPublishedAsPEM() async throws {
        let qseal = try await upload(cert: "qseal-chain.pem", key: "qseal.key")
        let qwac = try await upload(cert: "qwac-chain.pem", key: "qwac.key")
        func file(_ r: TestResponse) throws -> String {
            try #require(r.json["sha256Fingerprint"] as? String).replacingOccurrences(of: ":", with: "").lowercased()
                + ".pem"
        }
        let served = try await api.request("GET", "/certificates/\(try file(qseal))")
        #expect(served.status == 200)
        #expect(served.header("Content-Type") == "application/x-pem-file")
        #expect(served.text.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(!served.text.contains("PRIVATE KEY"))
        #expect(isProblem(try await api.request("GET", "/certificates/\(try file(qwac))"), 404, "/problems/not-found"))
        let upper = try file(qseal).dropLast(4).uppercased() + ".pem"
        #expect(try await api.request("GET", "/certificates/\(upper)").status == 200, "the fingerprint in either case")
        #expect(try await api.request("GET", "/certificates/\(try file(qseal).dropLast(4))").status == 404)
    }
}
