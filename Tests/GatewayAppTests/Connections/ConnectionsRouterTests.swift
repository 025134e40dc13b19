import Foundation
import GatewayCore
import GatewayLogging
import HTTPServerKit
import OpenSSLKit
import Testing
import TestSupport

@testable import GatewayApp

/// The HTTP contract of `/v1/connections` in process: the real routes, `ConnectionService`,
/// `AccountInformationService` and `TokenKeeper` (real state hashing, real sealing) over
/// `InMemoryConnectionRepository`, with `FakeBankAdapter`s (the account routes: AccountInformationRouterTests.swift).
/// The PostgreSQL store (row locks, SQL, keyset pages, the budget's advisory lock), the API key in front and the
/// simulator's checks are covered live by `ConnectionServiceTests`, `AccountInformationTests`,
/// `ConnectionsAPITests` and the simulator suites.
///
/// Checked (a temporary edit of `Sources/`, never committed): without the `revoked` guard in
/// `ConnectionService.revoke`, the second DELETE writes a second `connection.revoked` and the lifecycle test fails;
/// without clearing the state hash in `consumeState`, `anExpiredStateIsRefusedAndConsumed` fails.
@Suite struct ConnectionsRouterTests {
    let clock = ConnectionsClock()
    let repository: InMemoryConnectionRepository
    let vault: SecretVault
    let euroInformation: FakeBankAdapter
    let bpce: FakeBankAdapter
    let api: InProcessRouter
    /// The active Euro-Information (`cmcic:cic`) and BPCE (group-wide) registrations, sandbox.
    let cic: RegistrationRecord
    let group: RegistrationRecord

    static let redirect = ConnectionsTestBed.redirect

    init() async throws {
        let clock = self.clock
        euroInformation = FakeBankAdapter(provider: .euroInformation, responses: .init(now: clock.now))
        bpce = FakeBankAdapter(provider: .bpce, responses: .init(now: clock.now))
        let side = try await ConnectionsTestBed.inMemoryBankSide(now: { clock.now }, adapters: [euroInformation, bpce])
        let repository = side.repository
        cic = side.cic
        group = side.group
        let service = ConnectionService(store: repository, bankSide: side.bankSide)
        let tokens = TokenKeeper(
            store: repository, bankSide: side.bankSide, logger: Logger(label: "tokens", level: .error))
        let accountInformation = AccountInformationService(store: repository, tokens: tokens)
        self.repository = repository
        self.vault = side.bankSide.vault
        api = InProcessRouter { routes in
            ConnectionsRoutes.add(to: &routes, connections: service, accountInformation: accountInformation)
        }
    }

    // MARK: - Helpers

    /// `POST /v1/connections` for `bank` and `psuReference`, with `extra` members.
    func create(bank: String = "cmcic:cic", psuReference: String = "psu-1", _ extra: [String: Any] = [:]) async throws
        -> TestResponse
    {
        var body: [String: Any] = ["bank": bank, "psuReference": psuReference, "redirectUri": Self.redirect]
        body.merge(extra) { _, new in new }
        return try await api.request("POST", "/v1/connections", json: body)
    }

    /// A created connection's id and state.
    func pending(bank: String = "cmcic:cic", psuReference: String = "psu-1") async throws -> (id: String, state: String) {
        let created = try await create(bank: bank, psuReference: psuReference)
        #expect(created.status == 201, "\(created.text)")
        return (try #require(created.json["id"] as? String), try #require(created.json["state"] as? String))
    }

    /// `POST /v1/connections/{id}/authorization` with `body`.
    func authorization(_ id: String, _ body: [String: Any]) async throws -> TestResponse {
        try await api.request("POST", "/v1/connections/\(id)/authorization", json: body)
    }

    func isProblem(_ response: TestResponse, _ status: Int, _ type: String) -> Bool {
        response.status == status && response.header("Content-Type") == "application/problem+json"
            && response.json["type"] as? String == type
    }

    /// The fields the `errors` member of a problem names.
    func fields(_ response: TestResponse) -> [String] {
        (response.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
    }

    func detail(_ response: TestResponse) -> String { response.json["detail"] as? String ?? "" }

    /// The kinds of the events written so far.
    var eventKinds: [LifecycleEvent.Kind] { repository.events.map(\.kind) }

    // MARK: - The lifecycle

    @Test func aConnectionIsCreatedAuthorizedReadAndRevokedWithoutItsSecrets() async throws {
        let created = try await create(psuReference: "customer-42", ["roles": ["aisp"], "language": "fr"])
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.json["id"] as? String)
        let state = try #require(created.json["state"] as? String)
        #expect(created.header("Location") == "/v1/connections/\(id)")
        #expect(created.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(created.json["status"] as? String == "pending_authorization")
        #expect(created.json["registrationId"] as? String == cic.id.uuidString.lowercased())
        #expect((created.json["authorizationUrl"] as? String)?.contains("state=\(state)") == true)
        #expect((created.json["unattendedBudget"] as? [String: Any])?["limit"] as? Int == 4)
        // Stored: the state's hash only, and a sealed PKCE verifier (Euro-Information).
        let stored = try #require(repository.connections.first)
        #expect(stored.stateHash == Digest.sha256(state))
        let verifier = try #require(stored.pkceVerifierSealed)
        #expect(try vault.open(verifier, owner: ConnectionRecord.sealOwner(stored.id, "pkce_verifier")).reveal.count == 43)

        let authorized = try await authorization(id, ["code": "the-code-123", "state": state])
        #expect(authorized.status == 200, "\(authorized.text)")
        #expect(authorized.json["status"] as? String == "active")
        #expect(authorized.json["accessExpiresAt"] is String && authorized.json["authorizedAt"] is String)
        #expect(authorized.json["state"] == nil && authorized.json["authorizationUrl"] == nil, "shown once")
        #expect(euroInformation.calls == [.exchangeCode(redirectURI: Self.redirect)])

        let read = try await api.request("GET", "/v1/connections/\(id)")
        #expect(read.status == 200)
        #expect(read.json["psuReference"] as? String == "customer-42")
        #expect(read.json["state"] == nil)
        for response in [created, authorized, read] {
            for secret in ["access-1", "refresh-1", "the-code-123"] { #expect(!response.text.contains(secret)) }
        }
        #expect(!read.text.contains(state), "the state is never shown again")

        #expect(try await api.request("DELETE", "/v1/connections/\(id)").status == 204)
        let revoked = try await api.request("GET", "/v1/connections/\(id)")
        #expect(revoked.json["status"] as? String == "revoked")
        #expect(revoked.json["accessExpiresAt"] == nil)
        #expect(repository.connections.first?.accessTokenSealed == nil)
        // Revoking again changes nothing and writes no second event.
        #expect(try await api.request("DELETE", "/v1/connections/\(id)").status == 204)
        #expect(eventKinds == [.connectionAuthorized, .connectionRevoked])
        // Nor can a revoked connection be authorized.
        let late = try await authorization(id, ["code": "c", "state": state])
        #expect(isProblem(late, 409, "/problems/conflict"))
        #expect(euroInformation.calls.count == 1)
    }

    @Test func aBPCEConnectionUsesTheGroupRegistrationWithoutPKCEAndForecastsItsReauthorization() async throws {
        let (id, state) = try await pending(bank: "bpce:13807")
        #expect(repository.connections.first?.pkceVerifierSealed == nil)
        #expect(try await authorization(id, ["code": "c", "state": state]).status == 200)
        // BPCE: the refresh lifetime is 90 days from the authorization (catalog default; the fake sends none).
        let due = clock.now.addingTimeInterval(90 * 86_400)
        let read = try await api.request("GET", "/v1/connections/\(id)")
        #expect(read.json["registrationId"] as? String == group.id.uuidString.lowercased())
        #expect((read.json["reauthorizeBy"] as? String).flatMap(RFC3339.date) == due)

        let soon = try await api.request(
            "GET", "/v1/connections?reauthorizeBefore=\(RFC3339.string(due.addingTimeInterval(1)))")
        #expect((soon.json["connections"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])
        #expect(soon.json["nextCursor"] == nil)
        let notYet = try await api.request("GET", "/v1/connections?reauthorizeBefore=\(RFC3339.string(due))")
        #expect((notYet.json["connections"] as? [[String: Any]])?.isEmpty == true)
    }

    // MARK: - Input

    @Test func aMalformedBodyIs400NamingTheFieldAndNothingIsStored() async throws {
        let cases: [(body: [String: Any], field: String)] = [
            (["psuReference": "p", "redirectUri": Self.redirect], "bank"),
            (["bank": "cic", "psuReference": "p", "redirectUri": Self.redirect], "bank"),
            (["bank": "cmcic:cic", "psuReference": "", "redirectUri": Self.redirect], "psuReference"),
            (["bank": "cmcic:cic", "psuReference": "p", "redirectUri": "not a uri"], "redirectUri"),
            (["bank": "cmcic:cic", "psuReference": "p", "redirectUri": Self.redirect, "roles": []], "roles"),
            (["bank": "cmcic:cic", "psuReference": "p", "redirectUri": Self.redirect, "roles": ["admin"]], "roles[0]"),
            (["bank": "cmcic:cic", "psuReference": "p", "redirectUri": Self.redirect, "registrationId": "x"],
             "registrationId"),
            (["bank": "cmcic:cic", "psuReference": "p", "redirectUri": Self.redirect, "environment": "live"],
             "environment"),
            (["bank": "cmcic:cic", "psuReference": "p", "redirectUri": Self.redirect, "color": "blue"], "color"),
        ]
        for (body, field) in cases {
            let response = try await api.request("POST", "/v1/connections", json: body)
            #expect(isProblem(response, 400, "/problems/validation"), "\(body): \(response.text)")
            #expect(fields(response).contains(field), "\(body): \(response.text)")
        }
        let notJSON = try await api.request(
            "POST", "/v1/connections", body: Array("bank=cmcic:cic".utf8), headers: [("Content-Type", "text/plain")])
        #expect(notJSON.status == 415 || notJSON.status == 400, "\(notJSON.text)")
        #expect(notJSON.header("Content-Type") == "application/problem+json")
        #expect(repository.connections.isEmpty)
        #expect(euroInformation.calls.isEmpty)
    }

    @Test func aWellFormedRequestTheRegistrationCannotServeIs422Or409() async throws {
        // Well-formed, but not what the registration allows: refused on meaning (422), naming the field.
        let evil = try await create(["redirectUri": "https://evil.example/cb"])
        #expect(isProblem(evil, 422, "/problems/unprocessable"))
        #expect(fields(evil) == ["redirectUri"])
        let pisp = try await create(["roles": ["pisp"]])
        #expect(isProblem(pisp, 422, "/problems/unprocessable"))
        #expect(fields(pisp) == ["roles"])
        let otherEnvironment = try await create(
            ["registrationId": cic.id.uuidString.lowercased(), "environment": "production"])
        #expect(isProblem(otherEnvironment, 422, "/problems/unprocessable"))
        #expect(fields(otherEnvironment) == ["environment"])
        // Unknown: a bank the catalog does not have, a registration that is not there (or of another provider).
        #expect(isProblem(try await create(bank: "cmcic:nowhere"), 404, "/problems/not-found"))
        #expect(isProblem(try await create(["registrationId": UUID().uuidString]), 404, "/problems/not-found"))
        #expect(
            isProblem(
                try await create(bank: "bpce:13807", ["registrationId": cic.id.uuidString.lowercased()]), 404,
                "/problems/not-found"))
        // No registration for the brand: a conflict saying what to do.
        let unregistered = try await create(bank: "cmcic:becm")
        #expect(isProblem(unregistered, 409, "/problems/conflict"))
        #expect(detail(unregistered).contains("register with POST /v1/registrations first"), "\(unregistered.text)")
        #expect(repository.connections.isEmpty)
    }

    @Test func aPendingRegistrationIsAConflictSayingWhenItActivates() async throws {
        let activation = clock.now.addingTimeInterval(3 * 3600)
        let pending = ConnectionsTestBed.registration(
            provider: .bpce, bank: BankID("bpce:13807")!, environment: .production, qwac: cic.qwacCertificateID,
            qseal: cic.qsealCertificateID, status: .pending, clientID: "pending-client", activatesAt: activation,
            now: clock.now)
        repository.recordRegistration(pending)
        let body: [String: Any] = ["registrationId": pending.id.uuidString.lowercased()]
        let early = try await create(bank: "bpce:13807", body)
        #expect(isProblem(early, 409, "/problems/conflict"))
        #expect(detail(early).contains("activates at \(RFC3339.string(activation))"), "\(early.text)")
        clock.advance(3 * 3600 + 1)
        let created = try await create(bank: "bpce:13807", body)
        #expect(created.status == 201, "\(created.text)")
        #expect(created.json["environment"] as? String == "production")
    }

    @Test func unknownConnectionsAre404Problems() async throws {
        for id in [UUID().uuidString.lowercased(), "not-a-uuid"] {
            for (method, path) in [
                ("GET", "/v1/connections/\(id)"), ("DELETE", "/v1/connections/\(id)"),
            ] {
                let response = try await api.request(method, path)
                #expect(isProblem(response, 404, "/problems/not-found"), "\(method) \(path): \(response.text)")
            }
            let authorization = try await authorization(id, ["code": "c", "state": "s"])
            #expect(isProblem(authorization, 404, "/problems/not-found"), "\(authorization.text)")
        }
        #expect(repository.events.isEmpty)
    }

    // MARK: - The state

    @Test func theStateIsCheckedAndUsedOnce() async throws {
        let (id, state) = try await pending()
        let other = try await pending()
        for forged in ["forged", other.state] {
            let wrong = try await authorization(id, ["code": "c", "state": forged])
            #expect(isProblem(wrong, 409, "/problems/conflict"))
            #expect(detail(wrong).contains("state does not match this connection"), "\(wrong.text)")
        }
        #expect(euroInformation.calls.isEmpty, "no bank call on a wrong state")
        #expect(try await authorization(id, ["code": "c", "state": state]).status == 200)
        let replay = try await authorization(id, ["code": "c", "state": state])
        #expect(isProblem(replay, 409, "/problems/conflict"))
        #expect(detail(replay).contains("already used"), "\(replay.text)")
        #expect(euroInformation.calls.count == 1, "a replay never reaches the bank")
    }

    @Test func anExpiredStateIsRefusedAndConsumed() async throws {
        let (id, state) = try await pending()
        clock.advance(Config.Connections().stateTTLSeconds + 1)
        let expired = try await authorization(id, ["code": "c", "state": state])
        #expect(isProblem(expired, 409, "/problems/conflict"))
        #expect(detail(expired).contains("state expired"), "\(expired.text)")
        let again = try await authorization(id, ["code": "c", "state": state])
        #expect(detail(again).contains("already used"), "consumed: \(again.text)")
        #expect(euroInformation.calls.isEmpty)
    }

    @Test func aCodeTheBankRefusesIsABankErrorAndTheConnectionStaysPending() async throws {
        euroInformation.update { $0.tokens = .failure(.rejected(status: 400, code: "invalid_grant", message: "expired")) }
        let (id, state) = try await pending()
        let refused = try await authorization(id, ["code": "c", "state": state])
        #expect(isProblem(refused, 502, "/problems/bank-error"), "\(refused.text)")
        #expect((refused.json["bank"] as? [String: Any])?["code"] as? String == "invalid_grant")
        #expect(try await api.request("GET", "/v1/connections/\(id)").json["status"] as? String == "pending_authorization")
        #expect(eventKinds.isEmpty)
    }

    @Test func theCustomersRefusalEndsTheConnectionRefusedOnce() async throws {
        let (id, state) = try await pending()
        // Both, neither, or a description alone is not a redirect the bank sends.
        for bad: [String: Any] in [
            ["state": state], ["code": "c", "error": "access_denied", "state": state],
            ["errorDescription": "no", "state": state], ["code": "c"], ["code": "c", "state": ""],
        ] {
            #expect(isProblem(try await authorization(id, bad), 400, "/problems/validation"), "\(bad)")
        }
        let refused = try await authorization(
            id, ["error": "access_denied", "errorDescription": "The customer said no", "state": state])
        #expect(refused.status == 200, "\(refused.text)")
        #expect(refused.json["status"] as? String == "refused")
        #expect((refused.json["authorizationError"] as? String)?.hasPrefix("access_denied") == true)
        #expect(eventKinds == [.connectionRefused])
        for late: [String: Any] in [["error": "access_denied", "state": state], ["code": "c", "state": state]] {
            #expect(isProblem(try await authorization(id, late), 409, "/problems/conflict"), "\(late)")
        }
        #expect(eventKinds == [.connectionRefused])
        #expect(euroInformation.calls.isEmpty)
    }

    // MARK: - Listing

    @Test func theListFiltersByCustomerAndPagesNewestFirst() async throws {
        var mine: [String] = []
        for i in 0..<(ConnectionService.pageSize + 1) {
            // Every third one at the same instant as the one before: the id breaks the tie.
            if i % 3 != 0 { clock.advance(1) }
            mine.append(try await pending(psuReference: "many").id)
        }
        clock.advance(1)
        let someoneElse = try await pending(psuReference: "other").id

        let first = try await api.request("GET", "/v1/connections?psuReference=many")
        #expect(first.status == 200)
        let firstIDs = (first.json["connections"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(firstIDs.count == ConnectionService.pageSize)
        let cursor = try #require(first.json["nextCursor"] as? String)
        let encoded = try #require(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
        let second = try await api.request("GET", "/v1/connections?psuReference=many&cursor=\(encoded)")
        let secondIDs = (second.json["connections"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(second.json["nextCursor"] == nil)
        #expect(Set(firstIDs + secondIDs) == Set(mine), "every connection once, none of another customer")
        #expect(firstIDs.count + secondIDs.count == mine.count)
        #expect(firstIDs.first == mine.last, "newest first")

        let everyone = try await api.request("GET", "/v1/connections")
        let everyoneIDs = (everyone.json["connections"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(everyoneIDs.first == someoneElse && everyoneIDs.count == ConnectionService.pageSize)

        // A cursor belongs to its listing; an invented one is not one.
        let foreign = try await api.request("GET", "/v1/connections?psuReference=other&cursor=\(encoded)")
        #expect(isProblem(foreign, 422, "/problems/unprocessable"))
        #expect(fields(foreign) == ["cursor"])
        let invented = try await api.request("GET", "/v1/connections?psuReference=x&cursor=bogus")
        #expect(isProblem(invented, 422, "/problems/unprocessable"))
    }

    @Test func invalidQueryParametersAre400NamingTheParameter() async throws {
        for (target, field) in [
            // (A percent-encoded NUL never gets this far: the server's one path rule, `InputContractTests`.)
            ("/v1/connections?psuReference=", "psuReference"),
            ("/v1/connections?reauthorizeBefore=tomorrow", "reauthorizeBefore"), ("/v1/connections?unknown=1", "unknown"),
            ("/v1/connections?psuReference=a&psuReference=b", "psuReference"),
        ] {
            let response = try await api.request("GET", target)
            #expect(isProblem(response, 400, "/problems/validation"), "\(target): \(response.text)")
            #expect(fields(response).contains(field), "\(target): \(response.text)")
        }
    }

    // MARK: - The unattended budget

    @Test func theViewShowsTheUnattendedBudgetOfTheCustomerAtTheBank() async throws {
        let (id, _) = try await pending(psuReference: "batch")
        let bank = BankID("cmcic:cic")!
        for minutes in [300.0, 200, 100, 50] {
            repository.recordUnattendedRequest(
                bank: bank, psuReference: "batch", resource: "identity", at: clock.now.addingTimeInterval(-minutes * 60))
        }
        // Outside the window, of another customer, of another bank: not counted.
        repository.recordUnattendedRequest(
            bank: bank, psuReference: "batch", resource: "identity", at: clock.now.addingTimeInterval(-86_401))
        repository.recordUnattendedRequest(bank: bank, psuReference: "x", resource: "identity", at: clock.now)
        repository.recordUnattendedRequest(
            bank: BankID("bpce:13807")!, psuReference: "batch", resource: "identity", at: clock.now)
        let read = try await api.request("GET", "/v1/connections/\(id)")
        let budget = try #require(read.json["unattendedBudget"] as? [String: Any])
        #expect(budget["limit"] as? Int == 4 && budget["windowSeconds"] as? Int == 86_400)
        let used = try #require(budget["used"] as? [[String: Any]])
        #expect(used.count == 1)
        #expect(used.first?["resource"] as? String == "identity")
        #expect(used.first?["count"] as? Int == 4 && used.first?["remaining"] as? Int == 0)
        // The oldest counted request leaves the window 24 h after it was made.
        let freeAt = clock.now.addingTimeInterval(-300 * 60 + 86_400)
        #expect((used.first?["nextAvailableAt"] as? String).flatMap(RFC3339.date) == freeAt)
    }
}
