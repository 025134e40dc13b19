import BankSimulator
import Foundation
import GatewayCore
import Testing
import TestSupport

@testable import GatewayApp

/// The unattended budget counts what the bank counts (docs/adapters.md "Unattended budget"): every request without
/// `PSU-IP-Address` per customer × account (IBAN) × resource, across the customer's connections. The strict
/// simulator answers 429 beyond four such requests a day: Passerelle must refuse first, never draw that 429.
@Suite(.serialized) struct UnattendedBudgetSimulatorTests {
    static let psu = ConnectionsSimulatorTests.psu
    static let bank = "bpce:13807"

    /// Lists the connection's accounts and forwards the customer's consent for all of them (customer present);
    /// returns our account id by IBAN.
    static func consentAll(_ h: AppHarness, _ connection: String) async throws -> [String: String] {
        let accounts = try await h.request("GET", "/v1/connections/\(connection)/accounts", headers: psu)
        let list = try #require(accounts.json["accounts"] as? [[String: Any]], "\(accounts.text)")
        var byIBAN: [String: String] = [:]
        for account in list {
            if let iban = account["iban"] as? String, let id = account["id"] as? String { byIBAN[iban] = id }
        }
        let ibans = Array(byIBAN.keys)
        let consents = try await h.request(
            "PUT", "/v1/connections/\(connection)/consents",
            json: ["balances": ibans, "transactions": ibans, "trustedBeneficiaries": false, "identity": true],
            headers: psu)
        #expect(consents.status == 200, "\(consents.text)")
        return byIBAN
    }

    static func expectRefusedByPasserelle(_ response: TestResponse, _ what: String) {
        #expect(response.status == 429, "\(what): \(response.text)")
        #expect(response.json["type"] as? String == "/problems/unattended-budget-exhausted", "\(what): \(response.text)")
        #expect(response.header("Retry-After").flatMap(Int.init) != nil)
    }

    @Test func theBudgetIsTheCustomersAcrossReconnections() async throws {
        let banks = try SimulatorBanks()
        let clock = ConnectionsClock(Date())
        let h = try await AppHarness.start(
            adapters: banks.adapters, environment: ["PASSERELLE_BANKS_FILE": banks.banksFile], now: { clock.now })
        try await banks.run(with: h) {
            let first = try await ConnectionsSimulatorTests.connect(
                h, banks, bank: Self.bank, persona: "marc", clock: clock)
            let firstAccounts = try await Self.consentAll(h, first)
            let (iban, account) = try #require(firstAccounts.min { $0.key < $1.key })
            for i in 1...4 {
                let read = try await h.request("GET", "/v1/connections/\(first)/accounts/\(account)/balances")
                #expect(read.status == 200, "unattended read \(i): \(read.text)")
            }
            // The same customer authorizes again: a new connection, the same IBAN, the same count at the bank.
            let second = try await ConnectionsSimulatorTests.authorizeConnection(
                h, banks, bank: Self.bank, persona: "marc")
            let again = try #require(try await Self.consentAll(h, second)[iban])
            let fifth = try await h.request("GET", "/v1/connections/\(second)/accounts/\(again)/balances")
            Self.expectRefusedByPasserelle(fifth, "fifth unattended read after reconnecting")
            // The customer present is not counted.
            #expect(
                try await h.request("GET", "/v1/connections/\(second)/accounts/\(again)/balances", headers: Self.psu)
                    .status == 200)
            let view = try await h.request("GET", "/v1/connections/\(second)")
            let used = (view.json["unattendedBudget"] as? [String: Any])?["used"] as? [[String: Any]] ?? []
            let balances = try #require(used.first { $0["resource"] as? String == "balances" }, "\(view.text)")
            #expect(balances["accountId"] as? String == again)
            #expect(balances["count"] as? Int == 4)
            #expect(balances["remaining"] as? Int == 0)
        }
    }

    /// 35 transactions in pages of 10: four requests. Each page is counted; a listing stops at the budget with a
    /// cursor, and the customer present continues it.
    @Test func anUnattendedTransactionsReadInPagesNeverDrawsABank429() async throws {
        let banks = try SimulatorBanks {
            $0.transactionsPerAccount = 35
            $0.pageSize = 10
        }
        let clock = ConnectionsClock(Date())
        let h = try await AppHarness.start(
            adapters: banks.adapters,
            environment: ["PASSERELLE_BANKS_FILE": banks.banksFile, "PASSERELLE_TRANSACTION_PAGES_PER_CALL": "3"],
            now: { clock.now })
        try await banks.run(with: h) {
            let connection = try await ConnectionsSimulatorTests.connect(
                h, banks, bank: Self.bank, persona: "marc", clock: clock)
            let account = try #require(try await Self.consentAll(h, connection).min { $0.key < $1.key }?.value)
            let path = "/v1/connections/\(connection)/accounts/\(account)/transactions"
            // Three pages (three requests), then a cursor.
            let first = try await h.request("GET", path)
            #expect(first.status == 200, "\(first.text)")
            #expect((first.json["transactions"] as? [Any])?.count == 30)
            #expect(first.json["nextCursor"] is String)
            // A new listing: the budget allows one request, so one page and a cursor to the next.
            let second = try await h.request("GET", path)
            #expect(second.status == 200, "\(second.text)")
            #expect((second.json["transactions"] as? [Any])?.count == 10)
            let cursor = try #require(second.json["nextCursor"] as? String, "\(second.text)")
            // Nothing left today without the customer: refused here, the bank never asked.
            Self.expectRefusedByPasserelle(try await h.request("GET", path + "?cursor=" + cursor), "cursor")
            Self.expectRefusedByPasserelle(try await h.request("GET", path), "new listing")
            // The customer present continues from the cursor: pages 2 to 4.
            let attended = try await h.request("GET", path + "?cursor=" + cursor, headers: Self.psu)
            #expect(attended.status == 200, "\(attended.text)")
            #expect((attended.json["transactions"] as? [Any])?.count == 25)
            #expect(attended.json["nextCursor"] == nil)
        }
    }
}
