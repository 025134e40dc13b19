import Foundation
import GatewayLogging
import Testing
import TestSupport

@testable import GatewayApp
@testable import GatewayCore

/// The HTTP contract of the account-information routes in process (`ConnectionsRouterTests`' routes and in-memory
/// repository): input rules (400 for a malformed request, 422 for a well-formed contradictory one), 404s, 409s, the
/// unattended budget refusing before any bank call, the PSU headers, the transactions cursor, and no token in any
/// body. What only PostgreSQL, the real server or the simulator show stays live (`AccountInformationTests`,
/// `ConnectionsAPITests`, `UnattendedBudgetSimulatorTests`).
extension ConnectionsRouterTests {
    static let cash = Account(
        id: "R1", iban: "FR7613807008043001965405158", name: "Compte perso", currency: "EUR", cashAccountType: "CACC")
    static let card = Account(
        id: "C1", maskedPan: "4970XXXXXXXX1234", name: "MARC MALLOW", currency: "EUR", cashAccountType: "CARD",
        linkedAccount: "R1")
    /// The customer present: not counted against the unattended budget.
    static let present = [("PSU-IP-Address", "192.0.2.10")]

    /// An active connection at `bank` (created and authorized through the routes).
    func active(bank: String = "cmcic:cic", psuReference: String = "psu-1") async throws -> String {
        let (id, state) = try await pending(bank: bank, psuReference: psuReference)
        let authorized = try await authorization(id, ["code": "c", "state": state])
        #expect(authorized.status == 200, "\(authorized.text)")
        return id
    }

    /// The account ids `GET …/accounts` answers for connection `id`.
    func accountIDs(_ id: String, headers: [(String, String)] = Self.present) async throws -> [String] {
        let listed = try await api.request("GET", "/v1/connections/\(id)/accounts", headers: headers)
        #expect(listed.status == 200, "\(listed.text)")
        return (listed.json["accounts"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    /// No token the fake bank handed out appears in `response`.
    func expectNoToken(_ response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) {
        for secret in ["access-1", "refresh-1"] {
            #expect(!response.text.contains(secret), "a token in a body", sourceLocation: sourceLocation)
        }
    }

    static func tx(_ n: Int) -> Transaction {
        Transaction(id: "t\(n)", amount: DecimalAmount("-\(n).00")!, currency: "EUR", status: .booked)
    }

    @Test func accountsBalancesIdentityAndBeneficiariesAnswerWithStableIdsAndNoToken() async throws {
        let id = try await active()
        euroInformation.update {
            $0.accounts = .success([Self.cash, Self.card])
            $0.balances["R1"] = .success([
                Balance(type: .booked, bankType: "CLBD", amount: DecimalAmount("12.30")!, currency: "EUR")
            ])
            $0.identity = .success(Identity(name: "M. Dupont"))
        }
        let listed = try await api.request("GET", "/v1/connections/\(id)/accounts", headers: Self.present)
        #expect(listed.status == 200, "\(listed.text)")
        expectNoToken(listed)
        let accounts = try #require(listed.json["accounts"] as? [[String: Any]])
        let ids = accounts.compactMap { $0["id"] as? String }
        #expect(ids.count == 2 && !ids.contains("R1") && !ids.contains("C1"), "the connection's ids, not the bank's")
        #expect(accounts[1]["linkedAccount"] as? String == ids[0])
        #expect(try await accountIDs(id) == ids, "stable")

        let balances = try await api.request("GET", "/v1/connections/\(id)/accounts/\(ids[0])/balances", headers: Self.present)
        #expect(balances.status == 200, "\(balances.text)")
        #expect(balances.text.contains("CLBD"))
        #expect(euroInformation.calls.contains(.balances(accountID: "R1")), "the bank's resourceId")
        let identity = try await api.request("GET", "/v1/connections/\(id)/identity", headers: Self.present)
        #expect(identity.status == 200 && identity.json["name"] as? String == "M. Dupont", "\(identity.text)")
        let beneficiaries = try await api.request(
            "GET", "/v1/connections/\(id)/trusted-beneficiaries", headers: Self.present)
        #expect(beneficiaries.status == 200 && beneficiaries.json["beneficiaries"] as? [Any] != nil)
        for response in [balances, identity, beneficiaries] { expectNoToken(response) }
    }

    @Test func unknownConnectionsAndAccountsAre404AndAConnectionNotActiveIs409() async throws {
        let id = try await active()
        euroInformation.update { $0.accounts = .success([Self.cash]) }
        let ids = try await accountIDs(id)
        let other = try await active(psuReference: "psu-2")
        for target in [
            "/v1/connections/\(UUID())/accounts", "/v1/connections/not-a-uuid/accounts",
            "/v1/connections/\(id)/accounts/acc_00000000000000000000/balances",
            "/v1/connections/\(id)/accounts/bad%20id/balances",
            "/v1/connections/\(other)/accounts/\(ids[0])/balances",
            "/v1/connections/\(UUID())/accounts/\(ids[0])/transactions",
        ] {
            let response = try await api.request("GET", target, headers: Self.present)
            #expect(isProblem(response, 404, "/problems/not-found"), "\(target): \(response.text)")
        }
        let (pendingID, _) = try await pending(psuReference: "psu-3")
        let notYet = try await api.request("GET", "/v1/connections/\(pendingID)/accounts", headers: Self.present)
        #expect(isProblem(notYet, 409, "/problems/conflict"), "\(notYet.text)")
        #expect(try await api.request("DELETE", "/v1/connections/\(other)").status == 204)
        let revoked = try await api.request("GET", "/v1/connections/\(other)/identity", headers: Self.present)
        #expect(isProblem(revoked, 409, "/problems/conflict"), "\(revoked.text)")
    }

    @Test func psuHeadersAreCheckedNamingTheHeaderBeforeAnyBankCall() async throws {
        let id = try await active()
        let good = [
            ("PSU-IP-Address", "2001:db8::1"), ("PSU-IP-Port", "443"), ("PSU-HTTP-Method", "GET"),
            ("PSU-User-Agent", "Mozilla/5.0 (X11)"), ("psu-accept-language", "fr-FR"),
        ]
        #expect(try await api.request("GET", "/v1/connections/\(id)/accounts", headers: good).status == 200)
        let absent = try await api.request("GET", "/v1/connections/\(id)/accounts")
        #expect(absent.status == 200, "absent: the customer is not present")
        let calls = euroInformation.calls.count
        for (name, value) in [
            ("PSU-IP-Address", "not an address"), ("PSU-IP-Port", "44x"), ("PSU-IP-Port", "123456"),
            ("PSU-HTTP-Method", "TRACE"), ("PSU-User-Agent", "caf\u{E9}"), ("PSU-Device-ID", ""),
            ("psu-ip-address", "192.0.2.1;drop"),
        ] {
            let response = try await api.request("GET", "/v1/connections/\(id)/accounts", headers: [(name, value)])
            #expect(isProblem(response, 400, "/problems/validation"), "\(name): \(value): \(response.text)")
            #expect(fields(response) == [name], "\(name): \(response.text)")
        }
        #expect(euroInformation.calls.count == calls, "refused before the bank")
    }

    @Test func theFifthUnattendedReadIs429BeforeTheBankIsCalled() async throws {
        let id = try await active(psuReference: "batch")
        for _ in 0..<4 {
            #expect(try await api.request("GET", "/v1/connections/\(id)/accounts").status == 200)
            clock.advance(60)
        }
        let refused = try await api.request("GET", "/v1/connections/\(id)/accounts")
        #expect(isProblem(refused, 429, "/problems/unattended-budget-exhausted"), "\(refused.text)")
        #expect(refused.header("Retry-After") == String(86_400 - 240), "the oldest read leaves the window then")
        #expect(euroInformation.calls.filter { $0 == .accounts }.count == 4, "no fifth bank call")
        // The customer present is not counted; another resource has its own budget.
        #expect(try await api.request("GET", "/v1/connections/\(id)/accounts", headers: Self.present).status == 200)
        #expect(try await api.request("GET", "/v1/connections/\(id)/trusted-beneficiaries").status == 200)
        let view = try await api.request("GET", "/v1/connections/\(id)")
        let used = (view.json["unattendedBudget"] as? [String: Any])?["used"] as? [[String: Any]] ?? []
        #expect(used.first { $0["resource"] as? String == "accounts" }?["count"] as? Int == 4)
        clock.advance(86_400 - 240)
        #expect(try await api.request("GET", "/v1/connections/\(id)/accounts").status == 200, "one left the window")
    }

    @Test func transactionsCheckTheirQueryAndContinueWithABoundCursor() async throws {
        let id = try await active()
        euroInformation.update { $0.accounts = .success([Self.cash]) }
        let account = try #require(try await accountIDs(id).first)
        let from = CalendarDate("2026-01-01")!
        // Eleven pages: one call follows ten (`transactionPagesPerCall`), the cursor the last.
        euroInformation.update {
            $0.transactionPages[.first(from: from, to: nil)] = .success(
                TransactionPage(transactions: [Self.tx(1)], nextPageURL: "https://bank.example/p2"))
            for n in 2...11 {
                $0.transactionPages[.next(url: "https://bank.example/p\(n)")] = .success(
                    TransactionPage(transactions: [Self.tx(n)], nextPageURL: n < 11 ? "https://bank.example/p\(n + 1)" : nil))
            }
        }
        let base = "/v1/connections/\(id)/accounts/\(account)/transactions"
        for (query, status, field) in [
            ("from=2026-13-01", 400, "from"), ("to=yesterday", 400, "to"), ("page=2", 400, "page"),
            ("cursor=", 400, "cursor"), ("from=2026-02-01&to=2026-01-01", 422, "to"),
            ("from=2026-01-01&to=2026-01-01", 422, "to"), ("cursor=abc&from=2026-01-01", 422, "cursor"),
        ] {
            let response = try await api.request("GET", "\(base)?\(query)", headers: Self.present)
            #expect(response.status == status, "\(query): \(response.text)")
            #expect(fields(response).contains(field), "\(query): \(response.text)")
        }
        #expect(!euroInformation.calls.contains { if case .transactions = $0 { true } else { false } })

        let first = try await api.request("GET", "\(base)?from=2026-01-01", headers: Self.present)
        #expect(first.status == 200, "\(first.text)")
        #expect((first.json["transactions"] as? [[String: Any]])?.count == 10)
        let cursor = try #require(first.json["nextCursor"] as? String)
        #expect(!cursor.contains("bank.example"), "the bank's link stays inside the cursor")
        expectNoToken(first)
        let encoded = cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor
        let second = try await api.request("GET", "\(base)?cursor=\(encoded)", headers: Self.present)
        #expect(second.status == 200, "\(second.text)")
        #expect((second.json["transactions"] as? [[String: Any]])?.count == 1 && second.json["nextCursor"] == nil)

        // A cursor is bound to its connection and account.
        let other = try await active(psuReference: "psu-2")
        let otherAccount = try #require(try await accountIDs(other).first)
        let misplaced = try await api.request(
            "GET", "/v1/connections/\(other)/accounts/\(otherAccount)/transactions?cursor=\(encoded)",
            headers: Self.present)
        #expect(isProblem(misplaced, 422, "/problems/unprocessable"), "\(misplaced.text)")
        #expect(fields(misplaced) == ["cursor"], "\(misplaced.text)")
    }

    @Test func bpceNeedsItsConsentPutFirstAndTheConsentIsForwarded() async throws {
        let id = try await active(bank: "bpce:13807")
        bpce.update {
            $0.accounts = .success([Self.cash])
            $0.balances["R1"] = .failure(.noAccounts)
        }
        let account = try #require(try await accountIDs(id).first)
        let missing = try await api.request(
            "GET", "/v1/connections/\(id)/accounts/\(account)/balances", headers: Self.present)
        #expect(isProblem(missing, 409, "/problems/consent-required"), "\(missing.text)")
        #expect(detail(missing).contains("PUT /v1/connections/{connectionId}/consents"))

        let consents: [String: Any] = [
            "balances": [Self.cash.iban!], "transactions": [Self.cash.iban!], "trustedBeneficiaries": false,
            "identity": true,
        ]
        let put = try await api.request("PUT", "/v1/connections/\(id)/consents", json: consents, headers: Self.present)
        #expect(put.status == 200, "\(put.text)")
        #expect(put.json["identity"] as? Bool == true)
        expectNoToken(put)
        let sent = ConsentRequest(
            balances: [Self.cash.iban!], transactions: [Self.cash.iban!], trustedBeneficiaries: false, identity: true)
        #expect(bpce.calls.contains(.putConsents(sent)))
        #expect(repository.connections.first { $0.id.uuidString.lowercased() == id }?.consents == sent)

        var unknown = consents
        unknown["cards"] = true
        let refused = try await api.request("PUT", "/v1/connections/\(id)/consents", json: unknown)
        #expect(isProblem(refused, 400, "/problems/validation"), "\(refused.text)")
        // BPCE lacks trusted beneficiaries in the catalog: 501 before the budget or the bank.
        let unsupported = try await api.request("GET", "/v1/connections/\(id)/trusted-beneficiaries")
        #expect(isProblem(unsupported, 501, "/problems/not-supported-by-bank"), "\(unsupported.text)")
        #expect(!bpce.calls.contains(.trustedBeneficiaries))
    }
}
