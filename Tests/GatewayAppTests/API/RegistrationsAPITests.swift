import Foundation
import GatewayLogging
import GatewayCore
import Synchronization
import Testing
import TestSupport

@testable import GatewayApp

/// Registrations through the API with scripted bank adapters (the simulator-backed flow is in the end-to-end
/// suite): storage, status, errors, concurrency.
@Suite struct RegistrationsAPITests {
    /// Uploads the test QWAC and QSealC; returns their ids.
    static func uploadCertificates(_ h: AppHarness) async throws -> (qwac: String, qseal: String) {
        let qwac = try await CertificatesAPITests.upload(h, cert: "qwac-chain.pem", key: "qwac.key")
        let qseal = try await CertificatesAPITests.upload(h, cert: "qseal-chain.pem", key: "qseal.key")
        return (try #require(qwac.json["id"] as? String), try #require(qseal.json["id"] as? String))
    }

    static func body(bank: String, qwac: String, qseal: String, name: String = "Passerelle Test TPP") -> [String: Any] {
        [
            "bank": bank, "environment": "sandbox", "qwacCertificateId": qwac, "qsealCertificateId": qseal,
            "clientName": name, "redirectUris": ["https://tpp.example/callback"], "roles": ["aisp"],
            "contact": ["name": "Ops", "email": "psd2@tpp.example", "phone": "+33100000000"],
        ]
    }

    @Test func registersAtAEuroInformationBrandReadsUpdatesAndDeletes() async throws {
        let ei = FakeBankAdapter(provider: .euroInformation)
        try await AppHarness.with(adapters: [.euroInformation: ei]) { h in
            let (qwac, qseal) = try await Self.uploadCertificates(h)
            let created = try await h.request("POST", "/v1/registrations", json: Self.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal))
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["status"] as? String == "active")
            #expect(created.json["clientId"] as? String == "client-1")
            #expect(created.json["bank"] as? String == "cmcic:cic")
            let id = try #require(created.json["id"] as? String)

            let inUse = try await h.request("DELETE", "/v1/certificates/\(qseal)")
            #expect(inUse.status == 409, "a certificate used by an active registration cannot be deleted")
            #expect((inUse.json["detail"] as? String)?.contains("used by registration \(id)") == true, "\(inUse.text)")
            let cert = try await h.request("GET", "/v1/certificates/\(qseal)")
            #expect((cert.json["usedBy"] as? [String]) == [id])

            let patched = try await h.request(
                "PATCH", "/v1/registrations/\(id)", json: ["redirectUris": ["https://tpp.example/cb2", "https://tpp.example/cb3"]])
            #expect(patched.status == 200, "\(patched.text)")
            #expect(patched.json["redirectUris"] as? [String] == ["https://tpp.example/cb2", "https://tpp.example/cb3"])
            #expect(ei.calls.contains(.updateRegistration(clientID: "client-1")))

            #expect(try await h.request("GET", "/v1/registrations").json["registrations"].map { ($0 as? [Any])?.count } == 1)
            #expect(try await h.request("DELETE", "/v1/registrations/\(id)").status == 204)
            #expect(ei.calls.contains(.deleteRegistration(clientID: "client-1")))
            #expect(try await h.request("GET", "/v1/registrations/\(id)").status == 404)
            #expect(try await h.request("DELETE", "/v1/certificates/\(qseal)").status == 204, "free again once deleted")
        }
    }

    /// Checked (a temporary edit of `Sources/`, never committed): counting only `active` registrations as users in
    /// `CertificateStore.delete` still answers 409 (the foreign key of the registration refuses the delete), but with
    /// another reason: the expectation on the detail naming the pending registration fails.
    @Test func aPendingBPCERegistrationTurnsActiveAtItsActivationTime() async throws {
        // Wednesday 5 May 2027, 11:00 Paris: too late for the same day; Thursday 6 May is Ascension, so the bank
        // activates on Friday 7 May at 14:00 Paris (12:00 UTC). (The test certificates are valid from today.)
        let clock = TestClock(RFC3339.date("2027-05-05T09:00:00Z")!)
        let activation = RFC3339.date("2027-05-07T12:00:00Z")!
        let bpce = FakeBankAdapter(provider: .bpce)
        bpce.update {
            $0.registration = .success(RegistrationResult(
                clientID: "bpce-client", keyID: "bpce-client", keys: [.init(kid: "qseal-1", sha256Fingerprint: nil)],
                status: .pending, activatesAt: activation, requestBody: "{\"client_name\":\"x\"}",
                responseBody: "{\"client_id\":\"bpce-client\"}", httpStatus: 201))
        }
        try await AppHarness.with(adapters: [.bpce: bpce], now: clock.now) { h in
            let (qwac, qseal) = try await Self.uploadCertificates(h)
            let created = try await h.request("POST", "/v1/registrations", json: Self.body(bank: "bpce", qwac: qwac, qseal: qseal))
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["status"] as? String == "pending")
            #expect(created.json["activatesAt"] as? String == "2027-05-07T12:00:00Z")
            #expect(created.json["bank"] as? String == "bpce")
            let id = try #require(created.json["id"] as? String)
            let inUse = try await h.request("DELETE", "/v1/certificates/\(qseal)")
            #expect(inUse.status == 409, "a pending registration uses the certificate too: \(inUse.text)")
            #expect((inUse.json["detail"] as? String)?.contains("used by registration \(id)") == true, "\(inUse.text)")
            clock.set(RFC3339.date("2027-05-07T11:59:59Z")!)
            #expect(try await h.request("GET", "/v1/registrations/\(id)").json["status"] as? String == "pending")
            clock.set(activation)
            #expect(try await h.request("GET", "/v1/registrations/\(id)").json["status"] as? String == "active")
        }
    }

    @Test func sandboxActivationImmediateMakesAPendingSandboxRegistrationActive() async throws {
        let bpce = FakeBankAdapter(provider: .bpce)
        bpce.update {
            $0.registration = .success(RegistrationResult(
                clientID: "bpce-client", keyID: "bpce-client", keys: [], status: .pending,
                activatesAt: Date().addingTimeInterval(3 * 86400), requestBody: "{}", responseBody: "{}", httpStatus: 201))
        }
        try await AppHarness.with(adapters: [.bpce: bpce], environment: ["PASSERELLE_SANDBOX_ACTIVATION": "immediate"]) { h in
            let (qwac, qseal) = try await Self.uploadCertificates(h)
            let created = try await h.request("POST", "/v1/registrations", json: Self.body(bank: "bpce", qwac: qwac, qseal: qseal))
            #expect(created.status == 201)
            #expect(created.json["status"] as? String == "active")
            var production = Self.body(bank: "bpce", qwac: qwac, qseal: qseal, name: "Prod")
            production["environment"] = "production"
            let prod = try await h.request("POST", "/v1/registrations", json: production)
            #expect(prod.json["status"] as? String == "pending", "never for production registrations")
        }
    }

    @Test func aBankRefusalSurfacesAsAProblemAndStoresNothing() async throws {
        let bpce = FakeBankAdapter(provider: .bpce)
        bpce.update { $0.registration = .failure(.rejected(status: 400, code: "invalid_client_metadata", message: "client_name already used")) }
        try await AppHarness.with(adapters: [.bpce: bpce]) { h in
            let (qwac, qseal) = try await Self.uploadCertificates(h)
            let refused = try await h.request("POST", "/v1/registrations", json: Self.body(bank: "bpce:13807", qwac: qwac, qseal: qseal))
            #expect(refused.status == 502)
            let bank = try #require(refused.json["bank"] as? [String: Any])
            #expect(bank["httpStatus"] as? Int == 400)
            #expect(bank["code"] as? String == "invalid_client_metadata")
            #expect(bank["message"] as? String == "client_name already used")
            let rows = try await h.app.db.query("SELECT count(*) AS n FROM registrations")[0]
            #expect(try rows.decode("n", as: Int.self) == 0, "nothing half-written")
        }
    }

    @Test func validationNamesEveryBadField() async throws {
        try await AppHarness.with(adapters: [.euroInformation: FakeBankAdapter(provider: .euroInformation)]) { h in
            let response = try await h.request("POST", "/v1/registrations", json: [
                "bank": "cmcic:No Where", "environment": "staging", "qwacCertificateId": "x", "qsealCertificateId": "y",
                "clientName": "", "redirectUris": ["ftp://x"], "roles": ["aisp", "banker"],
                "contact": ["name": "Ops", "email": "nope"],
            ])
            #expect(response.status == 400)
            let fields = (response.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            for field in ["bank", "environment", "qwacCertificateId", "qsealCertificateId", "clientName", "redirectUris[0]",
                          "roles[1]", "contact.email"] {
                #expect(fields.contains(field), "missing \(field) in \(fields)")
            }
            // Well-formed, but no such bank in the catalog: refused on its meaning.
            let (qwac, qseal) = try await Self.uploadCertificates(h)
            let unknown = try await h.request("POST", "/v1/registrations", json: Self.body(bank: "cmcic:nowhere", qwac: qwac, qseal: qseal))
            #expect(unknown.status == 422, "\(unknown.text)")
            #expect((unknown.json["errors"] as? [[String: Any]])?.first?["field"] as? String == "bank")
        }
    }

    @Test func concurrentUpdatesOfOneRegistrationAreSerialized() async throws {
        let ei = SlowUpdateAdapter()
        try await AppHarness.with(adapters: [.euroInformation: ei]) { h in
            let (qwac, qseal) = try await Self.uploadCertificates(h)
            let created = try await h.request("POST", "/v1/registrations", json: Self.body(bank: "cmcic:becm", qwac: qwac, qseal: qseal))
            let id = try #require(created.json["id"] as? String)
            async let a = h.request("PATCH", "/v1/registrations/\(id)", json: ["clientName": "A"])
            async let b = h.request("PATCH", "/v1/registrations/\(id)", json: ["clientName": "B"])
            let (ra, rb) = try await (a, b)
            #expect(ra.status == 200 && rb.status == 200)
            #expect(ei.maxConcurrentUpdates.withLock { $0 } == 1, "the second update waited for the first")
            let final = try await h.request("GET", "/v1/registrations/\(id)")
            let version = try await h.app.db.query("SELECT version FROM registrations")[0]
            #expect(try version.decode("version", as: Int.self) == 3)
            #expect(["A", "B"].contains(final.json["clientName"] as? String ?? ""))
        }
    }

    @Test func everythingSurvivesARestart() async throws {
        let ei = FakeBankAdapter(provider: .euroInformation)
        try await TestDatabases.with { database in
            let (id, qseal) = try await AppHarness.with(adapters: [.euroInformation: ei], databaseURL: database) { first in
                let (qwac, qseal) = try await Self.uploadCertificates(first)
                let created = try await first.request(
                    "POST", "/v1/registrations", json: Self.body(bank: "cmcic:cic", qwac: qwac, qseal: qseal))
                return (try #require(created.json["id"] as? String), qseal)
            }
            try await AppHarness.with(adapters: [.euroInformation: ei], databaseURL: database) { second in
                let again = try await second.request("GET", "/v1/registrations/\(id)")
                #expect(again.status == 200)
                #expect(again.json["clientId"] as? String == "client-1")
                #expect(try await second.request("GET", "/v1/certificates/\(qseal)").status == 200)
                // The sealed key still opens with the same master key after the restart.
                let material = try await second.app.certificates.material(UUID(uuidString: qseal)!)
                #expect(material.privateKeyPEM.reveal.contains("BEGIN PRIVATE KEY"))
            }
        }
    }
}

/// A mutable clock for tests.
final class TestClock: Sendable {
    private let value: Mutex<Date>
    init(_ start: Date) { value = Mutex(start) }
    func set(_ date: Date) { value.withLock { $0 = date } }
    func advance(_ seconds: TimeInterval) { value.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var now: @Sendable () -> Date { { [self] in value.withLock { $0 } } }
}

/// Euro-Information stand-in whose update takes a while and records how many run at once.
final class SlowUpdateAdapter: BankAdapter, @unchecked Sendable {
    let inner = FakeBankAdapter(provider: .euroInformation)
    let running = Mutex(0)
    let maxConcurrentUpdates = Mutex(0)
    var provider: Provider { .euroInformation }

    func register(_ r: RegistrationRequest, client: BankClient, context: AdapterContext) async throws -> RegistrationResult {
        try await inner.register(r, client: client, context: context)
    }
    func updateRegistration(_ e: RegistrationReference, with r: RegistrationRequest, client: BankClient, context: AdapterContext)
        async throws -> RegistrationResult
    {
        let n = running.withLock { $0 += 1; return $0 }
        maxConcurrentUpdates.withLock { $0 = max($0, n) }
        try await Task.sleep(for: .milliseconds(300))
        running.withLock { $0 -= 1 }
        return try await inner.updateRegistration(e, with: r, client: client, context: context)
    }
    func readRegistration(_ e: RegistrationReference, client: BankClient, context: AdapterContext) async throws -> RegistrationResult {
        try await inner.readRegistration(e, client: client, context: context)
    }
    func deleteRegistration(_ e: RegistrationReference, client: BankClient, context: AdapterContext) async throws {
        try await inner.deleteRegistration(e, client: client, context: context)
    }
    func authorizationURL(_ r: AuthorizationRequest, client: BankClient) throws -> String { try inner.authorizationURL(r, client: client) }
    func exchangeCode(_ e: CodeExchange, client: BankClient, context: AdapterContext) async throws -> TokenSet {
        try await inner.exchangeCode(e, client: client, context: context)
    }
    func refresh(_ t: Secret<String>, client: BankClient, context: AdapterContext) async throws -> TokenSet {
        try await inner.refresh(t, client: client, context: context)
    }
    func accounts(accessToken: Secret<String>, client: BankClient, context: AdapterContext) async throws -> AccountList { [] }
    func balances(accountID: String, accessToken: Secret<String>, client: BankClient, context: AdapterContext) async throws -> [Balance] { [] }
    func transactions(accountID: String, page: TransactionPageRequest, accessToken: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> TransactionPage
    {
        try await inner.transactions(accountID: accountID, page: page, accessToken: accessToken, client: client, context: context)
    }
    func putConsents(_ c: ConsentRequest, accessToken: Secret<String>, client: BankClient, context: AdapterContext) async throws {}
    func trustedBeneficiaries(accessToken: Secret<String>, client: BankClient, context: AdapterContext) async throws -> [Beneficiary] { [] }
    func identity(accessToken: Secret<String>, client: BankClient, context: AdapterContext) async throws -> Identity {
        try await inner.identity(accessToken: accessToken, client: client, context: context)
    }
}
