import Foundation
import GatewayCore
import GatewayLogging
import HTTPServerKit
import OpenSSLKit
import Testing
import TestSupport

@testable import GatewayApp

/// The HTTP contract of `/v1/payments…` and `/v1/funds-confirmations` in process: the real routes and
/// `PaymentService` (real state hashing, sealing, idempotency rules) over `InMemoryPaymentRepository`,
/// `InMemoryIdempotencyKeyRepository`, `InMemoryClientTokenRepository` and `InMemoryConnectionRepository`, with
/// `FakeBankAdapter`s counting every bank call. At most once at the bank over real TLS, crashes, the reconciler
/// and the SQL stay live (`PaymentsSimulatorTests`, `PaymentFaultTests`, `PaymentCrashTests`).
@Suite struct PaymentsRouterTests {
    let clock = ConnectionsClock()
    let payments: InMemoryPaymentRepository
    let euroInformation: FakeBankAdapter
    let bpce: FakeBankAdapter
    let api: InProcessRouter
    let cic: RegistrationRecord

    static let redirect = ConnectionsTestBed.redirect
    static let goodIBAN = "FR7610107001011234567890129"

    /// The customer's token of a connection: the funds check by connection is not the subject here.
    struct FixedAccessTokens: ConnectionAccessTokens {
        func withAccessToken<T: Sendable>(
            _ connection: ConnectionRecord, client: BankClient, context: AdapterContext,
            _ body: (Secret<String>) async throws -> T
        ) async throws -> T { try await body(Secret("connection-token")) }
    }

    init() async throws {
        let clock = self.clock
        euroInformation = FakeBankAdapter(provider: .euroInformation, responses: .init(now: clock.now))
        bpce = FakeBankAdapter(provider: .bpce, responses: .init(now: clock.now))
        let side = try await ConnectionsTestBed.inMemoryBankSide(
            now: { clock.now }, adapters: [euroInformation, bpce], roles: [.aisp, .pisp, .cbpii])
        let payments = InMemoryPaymentRepository()
        let service = PaymentService(
            store: payments, idempotencyKeys: InMemoryIdempotencyKeyRepository(),
            clientTokens: InMemoryClientTokenRepository(),
            connections: ConnectionService(store: side.repository, bankSide: side.bankSide),
            accessTokens: FixedAccessTokens(), settings: Config.Payments(),
            logger: .init(label: "payments-router", level: .error))
        self.payments = payments
        self.cic = side.cic
        api = InProcessRouter { routes in PaymentsRoutes.add(to: &routes, payments: service) }
    }

    // MARK: - Helpers

    /// A payment body at `bank`; `overrides` replace members.
    func body(bank: String = "cmcic:cic", psuReference: String = "payer-1", _ overrides: [String: Any] = [:])
        -> [String: Any]
    {
        var body: [String: Any] = [
            "bank": bank, "psuReference": psuReference,
            "creditor": ["name": "SCI DES TILLEULS", "iban": Self.goodIBAN, "bic": "BREDFRPP"],
            "amount": ["value": "12.30", "currency": "EUR"], "remittance": "Order 123", "redirectUri": Self.redirect,
        ]
        body.merge(overrides) { _, new in new }
        return body
    }

    /// `POST path` with `json` and an `Idempotency-Key` (none when nil).
    func post(_ path: String, _ json: [String: Any]?, key: String?) async throws -> TestResponse {
        try await api.request(
            "POST", path, json: json, headers: key.map { [("Idempotency-Key", $0)] } ?? [])
    }

    func create(_ json: [String: Any], key: String = UUID().uuidString) async throws -> TestResponse {
        try await post("/v1/payments", json, key: key)
    }

    /// A created payment's id and the `state` of its approval link.
    func created(bank: String = "cmcic:cic", psuReference: String = "payer-1") async throws
        -> (id: String, state: String)
    {
        let response = try await create(body(bank: bank, psuReference: psuReference))
        #expect(response.status == 201, "\(response.text)")
        let url = try #require(response.json["authorizationUrl"] as? String)
        let state = try #require(
            URLComponents(string: url)?.queryItems?.first { $0.name == "state" }?.value)
        return (try #require(response.json["id"] as? String), state)
    }

    func isProblem(_ response: TestResponse, _ status: Int, _ type: String) -> Bool {
        response.status == status && response.header("Content-Type") == "application/problem+json"
            && response.json["type"] as? String == type
    }

    /// The fields the `errors` member of a problem names.
    func fields(_ response: TestResponse) -> [String] {
        (response.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
    }

    /// Calls to either fake bank, of any kind.
    var bankCalls: Int { euroInformation.calls.count + bpce.calls.count }

    var submissions: Int {
        (euroInformation.calls + bpce.calls).filter { if case .submitPayment = $0 { true } else { false } }.count
    }

    // MARK: - The lifecycle

    @Test func aPaymentIsCreatedApprovedConfirmedAndRead() async throws {
        let response = try await create(body(psuReference: "customer-42"), key: "order-1")
        #expect(response.status == 201, "\(response.text)")
        let id = try #require(response.json["id"] as? String)
        #expect(response.header("Location") == "/v1/payments/\(id)")
        #expect(response.json["status"] as? String == "authorization_required")
        let url = try #require(response.json["authorizationUrl"] as? String)
        let state = try #require(URLComponents(string: url)?.queryItems?.first { $0.name == "state" }?.value)
        // The state is kept as its hash only; the identifiers sent to the bank were committed first.
        let stored = try #require(payments.payments.first)
        #expect(stored.stateHash == Digest.sha256(state))
        #expect(euroInformation.calls == [
            .clientCredentialsToken(scope: "pisp"), .submitPayment(endToEndID: stored.order.endToEndID),
        ])

        let approved = try await post(
            "/v1/payments/\(id)/authorization", ["code": "code-1", "state": state], key: "order-1-approval")
        #expect(approved.status == 200, "\(approved.text)")
        #expect(approved.json["status"] as? String == "pending")
        #expect(approved.json["bankStatus"] as? String == "PDNG")

        euroInformation.update { $0.paymentStatus = .success(PaymentBankStatus(code: "ACSC")) }
        let read = try await api.request("GET", "/v1/payments/\(id)")
        #expect(read.status == 200)
        #expect(read.json["status"] as? String == "executed")
        #expect(read.json["bankStatus"] as? String == "ACSC")
        #expect(
            payments.events.map { $0.data["status"] ?? "" } == ["authorization_required", "pending", "executed"])
        // A final payment is not read from the bank again.
        let before = bankCalls
        #expect(try await api.request("GET", "/v1/payments/\(id)").json["status"] as? String == "executed")
        #expect(bankCalls == before)
    }

    @Test func theCustomersRefusalRejectsThePaymentAndTheStateIsUsedOnce() async throws {
        let (id, state) = try await created()
        let refused = try await post(
            "/v1/payments/\(id)/authorization", ["error": "access_denied", "state": state], key: "refusal")
        #expect(refused.status == 200, "\(refused.text)")
        #expect(refused.json["status"] as? String == "rejected")
        let again = try await post(
            "/v1/payments/\(id)/authorization", ["code": "code-1", "state": state], key: "approval")
        #expect(isProblem(again, 409, "/problems/conflict"), "\(again.text)")
        #expect(!euroInformation.calls.contains(.exchangeCode(redirectURI: Self.redirect)))
    }

    @Test func aWrongStateIsAConflictAndTheBankIsNotCalled() async throws {
        let (id, _) = try await created()
        let before = bankCalls
        let wrong = try await post(
            "/v1/payments/\(id)/authorization", ["code": "code-1", "state": "not-the-state"], key: "wrong")
        #expect(isProblem(wrong, 409, "/problems/conflict"), "\(wrong.text)")
        #expect(bankCalls == before)
    }

    // MARK: - Idempotency-Key

    @Test func theKeyIsRequiredAndChecked() async throws {
        for path in ["/v1/payments", "/v1/funds-confirmations"] {
            let missing = try await post(path, body(), key: nil)
            #expect(isProblem(missing, 400, "/problems/validation"), "\(missing.text)")
            #expect(fields(missing).contains("Idempotency-Key"))
        }
        for key in ["", String(repeating: "k", count: 256), "with space"] {
            let bad = try await create(body(), key: key)
            #expect(isProblem(bad, 400, "/problems/validation"), "\(key): \(bad.text)")
            #expect(fields(bad) == ["Idempotency-Key"])
        }
        let (id, _) = try await created()
        for path in ["/v1/payments/\(id)/authorization", "/v1/payments/\(id)/cancellation"] {
            let missing = try await post(path, ["code": "c", "state": "s"], key: nil)
            #expect(isProblem(missing, 400, "/problems/validation"), "\(path): \(missing.text)")
        }
        #expect(submissions == 1)
    }

    @Test func aReplayAnswersTheFirstAnswerAndAnotherBodyIsRefused() async throws {
        let first = try await create(body(), key: "order-7")
        #expect(first.status == 201)
        // The same request, its members in another order: the first answer again, nothing runs.
        let sorted = try JSONSerialization.data(withJSONObject: body(), options: [.sortedKeys])
        let replay = try await api.request(
            "POST", "/v1/payments", body: Array(sorted),
            headers: [("Content-Type", "application/json"), ("Idempotency-Key", "order-7")])
        #expect(replay.status == 201)
        #expect(replay.body == first.body)
        #expect(replay.header("Location") == first.header("Location"))
        #expect(submissions == 1)
        #expect(payments.payments.count == 1)

        let other = try await create(body(["remittance": "Order 8"]), key: "order-7")
        #expect(isProblem(other, 422, "/problems/unprocessable"), "\(other.text)")
        #expect(fields(other) == ["Idempotency-Key"])
        #expect(submissions == 1)
    }

    @Test func aBankRefusalIsStoredAndReplayedNotSentAgain() async throws {
        euroInformation.update { $0.submission = .failure(.rejected(status: 400, code: "FORMAT", message: nil)) }
        let refused = try await create(body(), key: "refused-1")
        #expect(isProblem(refused, 502, "/problems/bank-error"), "\(refused.text)")
        #expect(payments.payments.first?.status == .rejected)
        let replay = try await create(body(), key: "refused-1")
        #expect(replay.status == 502)
        #expect(replay.body == refused.body)
        #expect(submissions == 1)
    }

    @Test func anAmbiguousOutcomeIs202UnknownAndNeverSentAgain() async throws {
        euroInformation.update { $0.submission = .failure(.timeout) }
        let lost = try await create(body(), key: "lost-1")
        #expect(lost.status == 202, "\(lost.text)")
        #expect(lost.json["status"] as? String == "unknown")
        let id = try #require(lost.json["id"] as? String)
        #expect(lost.header("Location") == "/v1/payments/\(id)")
        euroInformation.update {
            $0.submission = .success(
                PaymentSubmission(resourceID: "pay-2", location: "/payment-requests/pay-2", approvalURL: "https://x"))
        }
        #expect(try await create(body(), key: "lost-1").body == lost.body)
        let read = try await api.request("GET", "/v1/payments/\(id)")
        #expect(read.json["status"] as? String == "unknown")
        #expect(submissions == 1)
    }

    // MARK: - Input

    @Test func badInputIs400Or422NamingTheFieldBeforeAnyBankCall() async throws {
        let cases: [(String, [String: Any], Int)] = [
            ("creditor.iban", ["creditor": ["name": "X", "iban": "FR7610107001011234567890128"]], 422),
            ("creditor.iban", ["creditor": ["name": "X", "iban": "not an iban"]], 400),
            ("amount.value", ["amount": ["value": "0.00", "currency": "EUR"]], 422),
            ("amount.value", ["amount": ["value": "12.345", "currency": "EUR"]], 400),
            ("amount.currency", ["amount": ["value": "1.00", "currency": "USD"]], 400),
            ("debtorAccount.iban", ["debtorAccount": ["iban": "FR7610107001011234567890128"]], 422),
            ("redirectUri", ["redirectUri": "https://elsewhere.example/cb"], 422),
        ]
        for (field, overrides, status) in cases {
            let response = try await create(body(overrides), key: "bad-\(field)-\(status)")
            let type = status == 400 ? "/problems/validation" : "/problems/unprocessable"
            #expect(isProblem(response, status, type), "\(field): \(response.text)")
            #expect(fields(response).contains(field), "\(field): \(response.text)")
        }
        let floatBody = #"{"bank":"cmcic:cic","psuReference":"p","creditor":{"name":"X","iban":"\#(Self.goodIBAN)"},"#
            + #""amount":{"value":12.3,"currency":"EUR"},"remittance":"r","redirectUri":"\#(Self.redirect)"}"#
        let float = try await api.request(
            "POST", "/v1/payments", body: Array(floatBody.utf8),
            headers: [("Content-Type", "application/json"), ("Idempotency-Key", "float")])
        #expect(isProblem(float, 400, "/problems/validation"), "\(float.text)")
        // The redirect URI is checked against the registration, after the token: no payment reached the bank.
        #expect(submissions == 0)
        #expect(payments.payments.isEmpty)
        // A refused body did not consume its key.
        #expect(try await create(body(), key: "float").status == 201)
    }

    // MARK: - Not found and wrong state

    @Test func unknownPaymentsAre404Problems() async throws {
        let unknown = UUID().uuidString.lowercased()
        #expect(isProblem(try await api.request("GET", "/v1/payments/\(unknown)"), 404, "/problems/not-found"))
        #expect(isProblem(try await api.request("GET", "/v1/payments/not-a-uuid"), 404, "/problems/not-found"))
        let approval = try await post(
            "/v1/payments/\(unknown)/authorization", ["code": "c", "state": "s"], key: "a-1")
        #expect(isProblem(approval, 404, "/problems/not-found"), "\(approval.text)")
        let cancellation = try await post("/v1/payments/\(unknown)/cancellation", nil, key: "c-1")
        #expect(isProblem(cancellation, 404, "/problems/not-found"), "\(cancellation.text)")
        #expect(isProblem(try await create(body(bank: "cmcic:nowhere")), 404, "/problems/not-found"))
        #expect(bankCalls == 0)
    }

    @Test func cancellationWhereTheBankAllowsItAndAConflictOtherwise() async throws {
        let (id, _) = try await created()
        let cancelled = try await post("/v1/payments/\(id)/cancellation", nil, key: "cancel-1")
        #expect(cancelled.status == 200, "\(cancelled.text)")
        #expect(cancelled.json["status"] as? String == "cancelled")
        #expect(euroInformation.calls.contains(.cancelPayment(resourceID: "pay-1")))
        let again = try await post("/v1/payments/\(id)/cancellation", nil, key: "cancel-2")
        #expect(isProblem(again, 409, "/problems/conflict"), "\(again.text)")

        // BPCE cancels deferred payments only: a payment for today is refused before the bank.
        let (today, _) = try await created(bank: "bpce:13807")
        let refused = try await post("/v1/payments/\(today)/cancellation", nil, key: "cancel-3")
        #expect(isProblem(refused, 409, "/problems/conflict"), "\(refused.text)")
        #expect(!bpce.calls.contains { if case .cancelPayment = $0 { true } else { false } })
    }

    // MARK: - Listing

    @Test func theListFiltersByCustomerAndPagesNewestFirst() async throws {
        var ids: [String] = []
        for _ in 0..<(PaymentsRoutes.pageSize + 1) {
            ids.append(try await created(psuReference: "customer-42").id)
            clock.advance(1)
        }
        _ = try await created(psuReference: "someone-else")
        let first = try await api.request("GET", "/v1/payments?psuReference=customer-42")
        #expect(first.status == 200)
        let firstPage = (first.json["payments"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(firstPage == Array(ids.reversed().prefix(PaymentsRoutes.pageSize)))
        let cursor = try #require(first.json["nextCursor"] as? String)
        let escaped = cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor
        let second = try await api.request("GET", "/v1/payments?psuReference=customer-42&cursor=\(escaped)")
        #expect(second.status == 200, "\(second.text)")
        #expect((second.json["payments"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } == [ids[0]])
        #expect(second.json["nextCursor"] == nil || second.json["nextCursor"] is NSNull)

        let missing = try await api.request("GET", "/v1/payments")
        #expect(isProblem(missing, 400, "/problems/validation"), "\(missing.text)")
        let foreign = try await api.request("GET", "/v1/payments?psuReference=someone-else&cursor=\(escaped)")
        #expect(isProblem(foreign, 422, "/problems/unprocessable"), "\(foreign.text)")
    }

    // MARK: - Funds confirmation

    @Test func fundsAreConfirmedByRegistrationAndUnknownOnesAre404() async throws {
        let question: [String: Any] = [
            "registrationId": cic.id.uuidString.lowercased(), "account": ["iban": Self.goodIBAN],
            "amount": ["value": "100.00", "currency": "EUR"],
        ]
        let yes = try await post("/v1/funds-confirmations", question, key: "funds-1")
        #expect(yes.status == 200, "\(yes.text)")
        #expect(yes.json["available"] as? Bool == true)
        #expect(euroInformation.calls.contains(.clientCredentialsToken(scope: "cbpii")))
        #expect(euroInformation.calls.contains(.confirmFunds(iban: Self.goodIBAN)))

        var unknown = question
        unknown["registrationId"] = UUID().uuidString.lowercased()
        let noRegistration = try await post("/v1/funds-confirmations", unknown, key: "funds-2")
        #expect(isProblem(noRegistration, 404, "/problems/not-found"))
        var byConnection = question
        byConnection["registrationId"] = nil
        byConnection["connectionId"] = UUID().uuidString.lowercased()
        let noConnection = try await post("/v1/funds-confirmations", byConnection, key: "funds-3")
        #expect(isProblem(noConnection, 404, "/problems/not-found"))
        var badIBAN = question
        badIBAN["account"] = ["iban": "FR7610107001011234567890128"]
        let refused = try await post("/v1/funds-confirmations", badIBAN, key: "funds-4")
        #expect(isProblem(refused, 422, "/problems/unprocessable"), "\(refused.text)")
        #expect(fields(refused) == ["account.iban"])
        #expect(euroInformation.calls.filter { if case .confirmFunds = $0 { true } else { false } }.count == 1)
    }
}
