import Foundation
import GatewayCore
import OpenSSLKit
import TestSupport
import Testing

@testable import GatewayApp

/// The HTTP contract of `/v1/registrations` in process: the real routes, `RegistrationService` and
/// `CertificateService` (real parsing, sealing and pre-flight checks) over `InMemoryRegistrationRepository` and
/// `InMemoryCertificateRepository`, with scripted banks (`FakeBankAdapter`). What only PostgreSQL and the real server
/// show stays live: the SQL and the certificates' use of registrations (`RegistrationsAPITests`), the intent's rows
/// and event (`RegistrationIntentTests`), leases with a real pool (`RegistrationLeaseTests`), the simulator's checks
/// (`RegistrationPreflightTests`, `RegistrationFlowTests`).
@Suite struct RegistrationsRouterTests {
    let certificates = InMemoryCertificateRepository()
    let registrations: InMemoryRegistrationRepository
    let ei = FakeBankAdapter(provider: .euroInformation)
    let bpce = FakeBankAdapter(provider: .bpce)
    let clock: TestClock
    let api: InProcessRouter

    /// - Parameters:
    ///   - start: Where the service's clock starts (the test certificates are valid from today).
    ///   - sandboxActivationImmediate: `PASSERELLE_SANDBOX_ACTIVATION=immediate`.
    init(start: Date = Date(), sandboxActivationImmediate: Bool = false) throws {
        let clock = TestClock(start)
        let registrations = InMemoryRegistrationRepository(now: clock.now, certificates: certificates)
        let vault = SecretVault(keyring: try MasterKeyring(parsing: Base64.encode(Random.bytes(32))))
        let certificateService = CertificateService(store: certificates, vault: vault, now: clock.now)
        let service = RegistrationService(
            store: registrations, certificates: certificateService, catalog: .builtIn,
            clients: BankClientFactory(catalog: .builtIn, certificates: certificateService),
            adapters: AdapterDirectory([ei, bpce]), publicBaseURL: nil,
            sandboxActivationImmediate: sandboxActivationImmediate, now: clock.now)
        self.clock = clock
        self.registrations = registrations
        api = InProcessRouter { routes in
            CertificatesRoutes.add(to: &routes, service: certificateService)
            RegistrationsRoutes.add(to: &routes, service: service, deadline: .seconds(30))
        }
    }

    // MARK: - Helpers

    /// Uploads the test QWAC and QSealC; returns their ids.
    func uploadCertificates() async throws -> (qwac: String, qseal: String) {
        func upload(_ cert: String, _ key: String) async throws -> String {
            let response = try await api.request(
                "POST", "/v1/certificates",
                json: [
                    "certificate": try TestEnvironment.pkiContents(cert),
                    "privateKey": try TestEnvironment.pkiContents(key),
                ])
            return try #require(response.json["id"] as? String, "\(response.text)")
        }
        return (try await upload("qwac-chain.pem", "qwac.key"), try await upload("qseal-chain.pem", "qseal.key"))
    }

    /// Registers at `bank` with the test certificates; returns the answer.
    func register(
        _ bank: String, environment: String = "sandbox", certificates: (qwac: String, qseal: String),
        change: (inout [String: Any]) -> Void = { _ in }
    ) async throws -> TestResponse {
        var body = RegistrationsAPITests.body(bank: bank, qwac: certificates.qwac, qseal: certificates.qseal)
        body["environment"] = environment
        change(&body)
        return try await api.request("POST", "/v1/registrations", json: body)
    }

    func isProblem(_ response: TestResponse, _ status: Int, _ type: String) -> Bool {
        response.status == status && response.header("Content-Type") == "application/problem+json"
            && response.json["type"] as? String == type
    }

    /// The fields a 400 or 422 problem names.
    func fields(_ response: TestResponse) -> [String] {
        (response.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
    }

    func listed(_ query: String = "") async throws -> [[String: Any]] {
        try await api.request("GET", "/v1/registrations\(query)").json["registrations"] as? [[String: Any]] ?? []
    }

    // MARK: - Routes

    @Test func aRegistrationIsCreatedReadListedUpdatedAndDeleted() async throws {
        let certificateIDs = try await uploadCertificates()
        let created = try await register("cmcic:cic", certificates: certificateIDs)
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.json["id"] as? String)
        #expect(created.header("Location") == "/v1/registrations/\(id)")
        #expect(created.json["status"] as? String == "active")
        #expect(created.json["clientId"] as? String == "client-1")
        #expect(created.json["bank"] as? String == "cmcic:cic")
        #expect(created.json["provider"] as? String == "euro-information")
        #expect(created.json["lastBankExchange"] != nil, "the bank exchange, for support")
        #expect(ei.calls == [.register(clientName: "Passerelle Test TPP")])
        #expect(registrations.records.map { $0.id.uuidString.lowercased() } == [id])
        #expect(registrations.records.first?.version == 1, "the intent (0), completed (1)")

        let one = try await api.request("GET", "/v1/registrations/\(id)")
        #expect(one.status == 200)
        #expect(one.json["clientName"] as? String == "Passerelle Test TPP")
        let list = try await listed()
        #expect(list.map { $0["id"] as? String } == [id])
        #expect(list.first?["lastBankExchange"] == nil, "not in lists")
        let certificate = try await api.request("GET", "/v1/certificates/\(certificateIDs.qseal)")
        #expect(certificate.json["usedBy"] as? [String] == [id])

        let uris = ["https://tpp.example/cb2", "https://tpp.example/cb3"]
        let patched = try await api.request("PATCH", "/v1/registrations/\(id)", json: ["redirectUris": uris])
        #expect(patched.status == 200, "\(patched.text)")
        #expect(patched.json["redirectUris"] as? [String] == uris)
        #expect(patched.json["clientName"] as? String == "Passerelle Test TPP", "members not in the patch are kept")
        #expect(ei.calls.last == .updateRegistration(clientID: "client-1"))
        #expect(registrations.records.first?.redirectURIs == uris)
        #expect(registrations.records.first?.version == 2)
        #expect(registrations.claim(of: UUID(uuidString: id)!) == nil, "the claim ends with the commit")

        let deleted = try await api.request("DELETE", "/v1/registrations/\(id)")
        #expect(deleted.status == 204 && deleted.body.isEmpty)
        #expect(ei.calls.last == .deleteRegistration(clientID: "client-1"))
        #expect(registrations.records.first?.status == .deleted, "kept as history")
        for (method, body) in [("GET", nil), ("PATCH", ["clientName": "X"]), ("DELETE", nil)]
            as [(String, [String: Any]?)]
        {
            let gone = try await api.request(method, "/v1/registrations/\(id)", json: body)
            #expect(isProblem(gone, 404, "/problems/not-found"), "\(method): \(gone.text)")
        }
        #expect(try await listed().isEmpty)
        #expect(ei.calls.count == 3, "no bank call for a deleted registration")
        for response in [created, one, patched] {
            #expect(!response.text.contains("PRIVATE KEY") && !response.text.contains("BEGIN CERTIFICATE"))
        }
    }

    @Test func unknownIdsMalformedPathsAndWrongMethodsAreProblems() async throws {
        let unknown = UUID().uuidString.lowercased()
        for (method, body) in [("GET", nil), ("PATCH", ["clientName": "X"]), ("DELETE", nil)]
            as [(String, [String: Any]?)]
        {
            let response = try await api.request(method, "/v1/registrations/\(unknown)", json: body)
            #expect(isProblem(response, 404, "/problems/not-found"), "\(method): \(response.text)")
            #expect(response.text.contains(unknown), "the problem names the id")
            #expect(
                isProblem(
                    try await api.request(method, "/v1/registrations/not-a-uuid", json: body), 404,
                    "/problems/not-found"))
        }
        let method = try await api.request("PUT", "/v1/registrations")
        #expect(isProblem(method, 405, "/problems/method-not-allowed"))
        #expect(method.header("Allow")?.contains("POST") == true)
        #expect(ei.calls.isEmpty && bpce.calls.isEmpty)
    }

    @Test func aBodyThatBreaksTheSchemaIs400NamingEveryFieldAndCallsNoBank() async throws {
        let response = try await api.request(
            "POST", "/v1/registrations",
            json: [
                "bank": "cmcic:No Where", "environment": "staging", "qwacCertificateId": "x", "qsealCertificateId": "y",
                "clientName": "", "redirectUris": ["ftp://x"], "roles": ["aisp", "banker"],
                "contact": ["name": "Ops", "email": "nope"],
            ])
        #expect(isProblem(response, 400, "/problems/validation"))
        for field in [
            "bank", "environment", "qwacCertificateId", "qsealCertificateId", "clientName", "redirectUris[0]",
            "roles[1]",
            "contact.email",
        ] {
            #expect(fields(response).contains(field), "missing \(field) in \(fields(response))")
        }
        var withColour = RegistrationsAPITests.body(
            bank: "cmcic:cic", qwac: UUID().uuidString, qseal: UUID().uuidString)
        withColour["colour"] = "red"
        let undeclared = try await api.request("POST", "/v1/registrations", json: withColour)
        #expect(isProblem(undeclared, 400, "/problems/validation"))
        #expect(undeclared.text.contains("colour"))
        let noType = try await api.request("POST", "/v1/registrations", body: Array("{}".utf8))
        #expect(isProblem(noType, 415, "/problems/unsupported-media-type"))

        let certificateIDs = try await uploadCertificates()
        let id = try #require(try await register("cmcic:cic", certificates: certificateIDs).json["id"] as? String)
        let empty = try await api.request("PATCH", "/v1/registrations/\(id)", json: [:])
        #expect(isProblem(empty, 400, "/problems/validation"))
        #expect(empty.text.contains("at least one member"))
        let badPatch = try await api.request(
            "PATCH", "/v1/registrations/\(id)", json: ["roles": ["aisp", "aisp"], "qsealCertificateId": "nope"])
        #expect(isProblem(badPatch, 400, "/problems/validation"))
        #expect(Set(fields(badPatch)) == ["roles", "qsealCertificateId"], "\(badPatch.text)")
        #expect(ei.calls.count == 1, "only the registration itself reached the bank")
        #expect(registrations.records.count == 1)
    }

    @Test func aWellFormedBodyTheServiceRefusesIs422NamingTheField() async throws {
        let certificateIDs = try await uploadCertificates()
        // No such bank in the catalog; the QSealC given as QWAC; BPCE without a phone number.
        let unknownBank = try await register("cmcic:nowhere", certificates: certificateIDs)
        #expect(isProblem(unknownBank, 422, "/problems/unprocessable"), "\(unknownBank.text)")
        #expect(fields(unknownBank) == ["bank"])
        let swapped = try await register(
            "cmcic:cic", certificates: (qwac: certificateIDs.qseal, qseal: certificateIDs.qwac))
        #expect(isProblem(swapped, 422, "/problems/unprocessable"))
        #expect(Set(fields(swapped)) == ["qwacCertificateId", "qsealCertificateId"], "\(swapped.text)")
        let noPhone = try await register("bpce", certificates: certificateIDs) {
            $0["contact"] = ["name": "Ops", "email": "psd2@tpp.example"]
        }
        #expect(isProblem(noPhone, 422, "/problems/unprocessable"))
        #expect(fields(noPhone) == ["contact.phone"], "\(noPhone.text)")
        // A certificate id that names no certificate.
        let missing = UUID().uuidString.lowercased()
        let unknownCertificate = try await register(
            "cmcic:cic", certificates: (qwac: missing, qseal: certificateIDs.qseal))
        #expect(isProblem(unknownCertificate, 404, "/problems/not-found"))
        #expect(unknownCertificate.text.contains(missing))
        #expect(ei.calls.isEmpty && bpce.calls.isEmpty, "nothing reached a bank")
        #expect(registrations.records.isEmpty, "nothing stored")
    }

    @Test func theListFiltersByBankAndEnvironmentAndChecksItsParameters() async throws {
        let certificateIDs = try await uploadCertificates()
        func id(_ r: TestResponse) throws -> String { try #require(r.json["id"] as? String, "\(r.text)") }
        let cic = try id(try await register("cmcic:cic", certificates: certificateIDs))
        let group = try id(try await register("bpce", certificates: certificateIDs))
        let production = try id(
            try await register("cmcic:cic", environment: "production", certificates: certificateIDs))
        func ids(_ query: String) async throws -> [String] {
            try await listed(query).compactMap { $0["id"] as? String }
        }

        #expect(try await ids("") == [production, group, cic], "newest first")
        #expect(try await ids("?environment=sandbox") == [group, cic])
        #expect(try await ids("?bank=cmcic:cic&environment=production") == [production])
        #expect(try await ids("?bank=bpce") == [group])
        #expect(try await ids("?bank=bpce:13807") == [group], "a BPCE bank code finds the group-wide registration")
        #expect(try await ids("?bank=cmcic:becm").isEmpty)
        for (query, field) in [("environment=staging", "environment"), ("bank=cmcic:", "bank"), ("page=2", "page")] {
            let refused = try await api.request("GET", "/v1/registrations?\(query)")
            #expect(isProblem(refused, 400, "/problems/validation"), "\(query): \(refused.text)")
            #expect(fields(refused) == [field], "\(query): \(refused.text)")
        }
    }

    // MARK: - The bank's answers

    @Test func aBankRefusalIsABankErrorProblemAndStoresNothing() async throws {
        bpce.update {
            $0.registration = .failure(
                .rejected(status: 400, code: "invalid_client_metadata", message: "client_name already used"))
        }
        let refused = try await register("bpce:13807", certificates: try await uploadCertificates())
        #expect(isProblem(refused, 502, "/problems/bank-error"), "\(refused.text)")
        let bank = try #require(refused.json["bank"] as? [String: Any])
        #expect(bank["httpStatus"] as? Int == 400)
        #expect(bank["code"] as? String == "invalid_client_metadata")
        #expect(bank["message"] as? String == "client_name already used")
        #expect(registrations.records.isEmpty, "the intent is removed: nothing half-written")
    }

    @Test func noAnswerInTimeKeepsTheRegistrationRegisteringForAnOperator() async throws {
        ei.update { $0.registration = .failure(.timeout) }
        let late = try await register("cmcic:cic", certificates: try await uploadCertificates())
        #expect(isProblem(late, 504, "/problems/bank-timeout"), "\(late.text)")
        let kept = try await listed()
        #expect(kept.map { $0["status"] as? String } == ["registering"], "the bank may hold a client")
        #expect(kept.first?["clientId"] == nil)
    }

    @Test func anAnswerThatCannotBeStoredLeavesAFailedRowThatDeleteRemovesAtTheBank() async throws {
        let certificateIDs = try await uploadCertificates()
        registrations.failWrites(with: .unavailable("the database is unavailable", retryAfter: 2))
        let created = try await register("cmcic:cic", certificates: certificateIDs)
        #expect(isProblem(created, 503, "/problems/unavailable"), "\(created.text)")
        #expect(created.header("Retry-After") == "2")
        let failed = try #require(registrations.records.first)
        #expect(failed.status == .failed && failed.clientID == "client-1", "the bank's client is visible here")
        #expect(failed.lastResponse == nil, "nothing else of the answer")

        registrations.failWrites(with: nil)
        #expect(try await api.request("DELETE", "/v1/registrations/\(failed.id)").status == 204)
        #expect(ei.calls.last == .deleteRegistration(clientID: "client-1"), "and removed at the bank")
        #expect(try await listed().isEmpty)
    }

    @Test func aPendingBPCERegistrationTurnsActiveAtItsActivationTime() async throws {
        // Wednesday 5 May 2027, 11:00 Paris: the bank activates on Friday 7 May at 14:00 Paris (12:00 UTC).
        let bed = try RegistrationsRouterTests(start: RFC3339.date("2027-05-05T09:00:00Z")!)
        let activation = RFC3339.date("2027-05-07T12:00:00Z")!
        bed.bpce.update {
            $0.registration = .success(
                RegistrationResult(
                    clientID: "bpce-client", keyID: "bpce-client", keys: [], status: .pending, activatesAt: activation,
                    requestBody: "{}", responseBody: "{}", httpStatus: 201))
        }
        let created = try await bed.register("bpce", certificates: try await bed.uploadCertificates())
        #expect(created.status == 201, "\(created.text)")
        #expect(created.json["status"] as? String == "pending")
        #expect(created.json["activatesAt"] as? String == "2027-05-07T12:00:00Z")
        #expect(created.json["bank"] as? String == "bpce")
        let id = try #require(created.json["id"] as? String)
        bed.clock.set(activation.addingTimeInterval(-1))
        #expect(try await bed.api.request("GET", "/v1/registrations/\(id)").json["status"] as? String == "pending")
        bed.clock.set(activation)
        #expect(try await bed.api.request("GET", "/v1/registrations/\(id)").json["status"] as? String == "active")
    }

    @Test func aChangeTheBankAppliesLaterIsShownAsPendingUntilItsTime() async throws {
        let certificateIDs = try await uploadCertificates()
        let id = try #require(try await register("bpce", certificates: certificateIDs).json["id"] as? String)
        let activation = clock.now().addingTimeInterval(86_400)
        bpce.update {
            $0.registration = .success(
                RegistrationResult(
                    clientID: "client-1", keyID: "kid-1", keys: [], status: .active, activatesAt: activation,
                    requestBody: "{}", responseBody: "{}", httpStatus: 200))
        }
        let patched = try await api.request("PATCH", "/v1/registrations/\(id)", json: ["clientName": "Renamed"])
        #expect(patched.status == 200, "\(patched.text)")
        #expect(patched.json["clientName"] as? String == "Passerelle Test TPP", "in effect until the bank applies it")
        let pending = try #require(patched.json["pendingChange"] as? [String: Any])
        #expect(pending["fields"] as? [String] == ["clientName"])
        #expect(pending["activatesAt"] as? String == RFC3339.string(activation))
        clock.set(activation)
        let applied = try await api.request("GET", "/v1/registrations/\(id)")
        #expect(applied.json["clientName"] as? String == "Renamed")
        #expect(applied.json["pendingChange"] == nil)
    }

    @Test func sandboxActivationImmediateMakesPendingSandboxRegistrationsActive() async throws {
        let bed = try RegistrationsRouterTests(sandboxActivationImmediate: true)
        bed.bpce.update {
            $0.registration = .success(
                RegistrationResult(
                    clientID: "bpce-client", keyID: "bpce-client", keys: [], status: .pending,
                    activatesAt: bed.clock.now().addingTimeInterval(3 * 86_400), requestBody: "{}", responseBody: "{}",
                    httpStatus: 201))
        }
        let certificateIDs = try await bed.uploadCertificates()
        let sandbox = try await bed.register("bpce", certificates: certificateIDs)
        #expect(sandbox.status == 201 && sandbox.json["status"] as? String == "active", "\(sandbox.text)")
        let production = try await bed.register("bpce", environment: "production", certificates: certificateIDs)
        #expect(production.json["status"] as? String == "pending", "never for production registrations")
    }

    // MARK: - One change at a time (the bank-call claim)

    @Test func aRegistrationWithNoClientAtTheBankCannotBeChanged() async throws {
        let gate = Gate()
        ei.update { $0.registerGate = gate }
        let certificateIDs = try await uploadCertificates()
        async let created = register("cmcic:cic", certificates: certificateIDs)
        await gate.waitForWaiter()
        let intent = try #require(registrations.records.first, "the intent is stored before the bank is called")
        let refused = try await rename(intent.id.uuidString.lowercased(), "Early")
        gate.open()
        #expect(isProblem(refused, 409, "/problems/conflict"), "\(refused.text)")
        #expect(refused.text.contains("no client id at the bank"))
        #expect(try await created.status == 201)
        #expect(registrations.claim(of: intent.id) == nil, "the refused change released its claim")
    }

    /// A registration at `cmcic:cic` whose updates wait at the bank for the gate returned.
    func registrationWithHeldUpdates() async throws -> (id: String, gate: Gate) {
        let created = try await register("cmcic:cic", certificates: try await uploadCertificates())
        let gate = Gate()
        ei.update { $0.updateGate = gate }
        return (try #require(created.json["id"] as? String, "\(created.text)"), gate)
    }

    func rename(_ id: String, _ name: String) async throws -> TestResponse {
        try await api.request("PATCH", "/v1/registrations/\(id)", json: ["clientName": name])
    }

    @Test func changesOfOneRegistrationReachTheBankOneAtATime() async throws {
        let (id, gate) = try await registrationWithHeldUpdates()
        async let first = rename(id, "First")
        await gate.waitForWaiter()
        async let second = rename(id, "Second")
        // The second waits for the claim, holding nothing, and reaches the bank once the first has committed.
        var waited = false
        for _ in 0..<1000 where !waited {
            waited = registrations.heldAnswers > 0
            if !waited { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(waited && gate.arrived == 1, "one change at the bank while the other waits")
        gate.open()
        let (a, b) = try await (first, second)
        #expect(a.status == 200 && b.status == 200, "\(a.text) \(b.text)")
        #expect(b.json["clientName"] as? String == "Second")
        #expect(registrations.records.first?.version == 3)
        #expect(registrations.records.first?.clientName == "Second")
    }

    @Test func aChangeWhoseClaimExpiredIsAConflictAndStoresNothing() async throws {
        let (id, gate) = try await registrationWithHeldUpdates()
        async let slow = rename(id, "Slow")
        await gate.waitForWaiter()
        clock.advance(3600)  // far past the slow change's deadline: its claim has expired
        async let next = rename(id, "Next")
        await gate.waitForWaiter(count: 2)
        #expect(gate.arrived == 2, "the expired claim did not hold the next change back")
        gate.open()
        let (late, taken) = try await (slow, next)
        #expect(isProblem(late, 409, "/problems/conflict"), "\(late.text)")
        #expect(late.text.contains("changed by another call"))
        #expect(taken.status == 200, "\(taken.text)")
        #expect(registrations.records.first?.clientName == "Next")
        #expect(registrations.records.first?.version == 2, "one change stored")
    }
}
