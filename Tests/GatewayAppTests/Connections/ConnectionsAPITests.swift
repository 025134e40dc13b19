import Foundation
import GatewayCore
import GatewayLogging
import Testing
import TestSupport

@testable import GatewayApp

/// The connection and account-information routes over HTTP through the real `Application` (AppHarness), with
/// scripted bank adapters: JSON shapes, status codes, headers, problem types.
@Suite struct ConnectionsAPITests {
    static let psu = [("PSU-IP-Address", "192.0.2.10"), ("PSU-User-Agent", "Test/1.0")]

    @Test func connectAuthorizeReadAndRevokeOverHTTP() async throws {
        let ei = FakeBankAdapter(provider: .euroInformation)
        ei.update {
            $0.accounts = .success([
                Account(id: "R1", iban: "FR7613807008043001965405158", name: "Compte", currency: "EUR", cashAccountType: "CACC")
            ])
            $0.balances["R1"] = .success([
                Balance(type: .booked, bankType: "CLBD", name: "Solde", amount: DecimalAmount("-12.30")!, currency: "EUR")
            ])
            $0.transactionPages[.first(from: CalendarDate("2026-01-01"), to: CalendarDate("2026-02-01"))] = .success(
                TransactionPage(
                    transactions: [Transaction(id: "t1", amount: DecimalAmount("-5.00")!, currency: "EUR", status: .booked)],
                    nextPageURL: nil))
            $0.identity = .success(Identity(name: "MALLOW MARC"))
        }
        try await AppHarness.with(adapters: [.euroInformation: ei]) { h in
            try await h.register(bank: "cmcic:cic")

            // The connection routes' own contract is `ConnectionsRouterTests` (in process); here what needs the
            // server and PostgreSQL: the account reads through a connection.
            let (id, state) = try await h.createConnection(bank: "cmcic:cic", psuReference: "customer-42").idAndState
            let authorized = try await h.request("POST", "/v1/connections/\(id)/authorization", json: ["code": "c", "state": state])
            #expect(authorized.status == 200, "\(authorized.text)")
            #expect(authorized.json["status"] as? String == "active")

            // The account routes check the PSU headers (the rules: `ConnectionsRouterTests`) before the bank.
            let badPSU = try await h.request(
                "GET", "/v1/connections/\(id)/accounts", headers: [("PSU-IP-Address", "not an address")])
            #expect(badPSU.status == 400, "\(badPSU.text)")
            #expect(ei.calls.filter { $0 == .accounts }.isEmpty)

            let accounts = try await h.request("GET", "/v1/connections/\(id)/accounts", headers: Self.psu)
            #expect(accounts.status == 200, "\(accounts.text)")
            let list = try #require(accounts.json["accounts"] as? [[String: Any]])
            let accountID = try #require(list.first?["id"] as? String)
            #expect(accountID != "R1")
            #expect(list.first?["iban"] as? String == "FR7613807008043001965405158")

            let balances = try await h.request("GET", "/v1/connections/\(id)/accounts/\(accountID)/balances", headers: Self.psu)
            let balance = try #require((balances.json["balances"] as? [[String: Any]])?.first)
            #expect(balance["amount"] as? String == "-12.30")
            #expect(balance["type"] as? String == "booked")

            let transactions = try await h.request(
                "GET", "/v1/connections/\(id)/accounts/\(accountID)/transactions?from=2026-01-01&to=2026-02-01",
                headers: Self.psu)
            #expect(transactions.status == 200, "\(transactions.text)")
            #expect((transactions.json["transactions"] as? [[String: Any]])?.first?["amount"] as? String == "-5.00")
            #expect(transactions.json["nextCursor"] == nil)
            let badDate = try await h.request(
                "GET", "/v1/connections/\(id)/accounts/\(accountID)/transactions?from=yesterday", headers: Self.psu)
            #expect(badDate.status == 400)

            let identity = try await h.request("GET", "/v1/connections/\(id)/identity", headers: Self.psu)
            #expect(identity.json["name"] as? String == "MALLOW MARC")
            let consents = try await h.request(
                "PUT", "/v1/connections/\(id)/consents",
                json: ["balances": [], "transactions": [], "trustedBeneficiaries": true, "identity": true])
            #expect(consents.status == 200, "EI: accepted as a no-op")

            // The PSU headers reached the adapter context: attended reads are never counted.
            let unknownAccount = try await h.request("GET", "/v1/connections/\(id)/accounts/acc_nope/balances")
            #expect(unknownAccount.status == 404)

            #expect(try await h.request("DELETE", "/v1/connections/\(id)").status == 204)
            #expect(try await h.request("GET", "/v1/connections/\(id)/accounts", headers: Self.psu).status == 409)
        }
    }

    /// Checked (a temporary edit of `Sources/`, never committed): counting `count > limit` instead of `>=` in
    /// `ConnectionStore.countUnattendedRequest` fails with "(refused.status → 200) == 429" (as do
    /// `AccountInformationTests`' concurrent reads, the PostgreSQL case of `ConnectionAccessRepositoryContractTests`
    /// and `UnattendedBudgetSimulatorTests`, whose fifth read then draws the bank's own 429).
    @Test func fifthUnattendedReadIs429WithRetryAfterAndTheBudgetShows() async throws {
        let ei = FakeBankAdapter(provider: .euroInformation)
        try await AppHarness.with(adapters: [.euroInformation: ei]) { h in
            try await h.register(bank: "cmcic:cic")
            let (id, state) = try await h.createConnection(bank: "cmcic:cic", psuReference: "batch").idAndState
            #expect(try await h.request("POST", "/v1/connections/\(id)/authorization", json: ["code": "c", "state": state]).status == 200)

            for _ in 0..<4 {
                #expect(try await h.request("GET", "/v1/connections/\(id)/trusted-beneficiaries").status == 200)
            }
            let refused = try await h.request("GET", "/v1/connections/\(id)/trusted-beneficiaries")
            #expect(refused.status == 429)
            #expect(refused.json["type"] as? String == "/problems/unattended-budget-exhausted")
            let retryAfter = try #require(refused.header("Retry-After").flatMap(Int.init))
            #expect(retryAfter > 86_000 && retryAfter <= 86_400)
            #expect(ei.calls.filter { $0 == .trustedBeneficiaries }.count == 4)

            let connection = try await h.request("GET", "/v1/connections/\(id)")
            let budget = try #require(connection.json["unattendedBudget"] as? [String: Any])
            #expect(budget["limit"] as? Int == 4)
            let used = try #require((budget["used"] as? [[String: Any]])?.first)
            #expect(used["resource"] as? String == "trusted-beneficiaries")
            #expect(used["remaining"] as? Int == 0)
            #expect(used["nextAvailableAt"] is String)
        }
    }
}
