import Foundation
import GatewayLogging
import PostgresKit
import Testing

@testable import GatewayApp
@testable import GatewayCore

/// Stable account ids, pagination, the unattended budget under concurrent reads and the bank-error mapping, against
/// the real PostgreSQL. The routes' contract (statuses, the budget's 429 before any bank call, the PSU headers) is
/// checked in process (AccountInformationRouterTests.swift), the ledger's SQL by
/// `ConnectionAccessRepositoryContractTests`.
@Suite struct AccountInformationTests {
    static let cash = Account(
        id: "R1", iban: "FR7613807008043001965405158", name: "Compte perso", currency: "EUR", cashAccountType: "CACC")
    static let card = Account(
        id: "C1", maskedPan: "4970XXXXXXXX1234", name: "MARC MALLOW", currency: "EUR", cashAccountType: "CARD",
        linkedAccount: "R1")

    @Test func accountIdsAreStableAndLinkedAccountsMapped() async throws {
        try await ConnectionsTestBed.with { bed in
            let connection = try await bed.activeConnection()
            bed.euroInformation.update { $0.accounts = .success([Self.cash, Self.card]) }
            let first = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            #expect(first.count == 2)
            #expect(!first.map(\.id).contains("R1") && !first.map(\.id).contains("C1"))
            #expect(first[1].linkedAccount == first[0].id)

            // The bank renumbers its resourceIds: our ids stay, and balances go to the new resourceId.
            var renumbered = Self.cash
            renumbered.id = "R1-new"
            var card = Self.card
            card.id = "C1-new"
            card.linkedAccount = "R1-new"
            bed.euroInformation.update {
                $0.accounts = .success([renumbered, card])
                $0.balances["R1-new"] = .success([
                    Balance(type: .booked, bankType: "CLBD", amount: DecimalAmount("12.30")!, currency: "EUR")
                ])
            }
            let second = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            #expect(second.map(\.id) == first.map(\.id))
            let balances = try await bed.accounts.balances(
                connectionID: connection.id, accountID: first[0].id, caller: bed.caller())
            #expect(balances.map(\.bankType) == ["CLBD"])
            #expect(bed.euroInformation.calls.contains(.balances(accountID: "R1-new")))

            // Ids are per connection: another connection's id is unknown here.
            let other = try await bed.activeConnection()
            await #expect(throws: GatewayError.notFound(resource: "account", id: first[0].id)) {
                _ = try await bed.accounts.balances(connectionID: other.id, accountID: first[0].id, caller: bed.caller())
            }
        }
    }

    @Test func unattendedBudgetHoldsUnderConcurrentReads() async throws {
        try await ConnectionsTestBed.with(poolSize: 12) { bed in
            let connection = try await bed.activeConnection()
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        do {
                            _ = try await bed.accounts.identity(connectionID: connection.id, caller: bed.caller(attended: false))
                            return true
                        } catch GatewayError.budgetExhausted {
                            return false
                        } catch GatewayError.upstream(_, .notImplemented) {
                            return true  // the fake's identity answer: the bank was called
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 4)
            #expect(bed.euroInformation.calls.filter { $0 == .identity }.count == 4)
        }
    }

    @Test func transactionsFollowPagesUpToTheCapAndContinueWithACursor() async throws {
        var settings = Config.Connections()
        settings.transactionPagesPerCall = 2
        try await ConnectionsTestBed.with(settings: settings) { bed in
            let connection = try await bed.activeConnection()
            bed.euroInformation.update { $0.accounts = .success([Self.cash]) }
            let accountID = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())[0].id
            func tx(_ n: Int) -> Transaction {
                Transaction(id: "t\(n)", amount: DecimalAmount("-\(n).00")!, currency: "EUR", status: .booked)
            }
            let from = CalendarDate("2026-01-01")!
            bed.euroInformation.update {
                $0.transactionPages[.first(from: from, to: nil)] = .success(
                    TransactionPage(transactions: [tx(1)], nextPageURL: "https://bank.example/p2"))
                $0.transactionPages[.next(url: "https://bank.example/p2")] = .success(
                    TransactionPage(transactions: [tx(2)], nextPageURL: "https://bank.example/p3"))
                $0.transactionPages[.next(url: "https://bank.example/p3")] = .success(
                    TransactionPage(transactions: [tx(3)], nextPageURL: "https://bank.example/p4"))
                // A bank sending an already-seen link again: the listing ends there.
                $0.transactionPages[.next(url: "https://bank.example/p4")] = .success(
                    TransactionPage(transactions: [tx(4)], nextPageURL: "https://bank.example/p3"))
            }
            let page1 = try await bed.accounts.transactions(
                connectionID: connection.id, accountID: accountID, from: from, to: nil, cursor: nil, caller: bed.caller())
            #expect(page1.transactions.map(\.id) == ["t1", "t2"])
            let cursor = try #require(page1.nextCursor)
            #expect(!cursor.contains("bank.example"))
            let page2 = try await bed.accounts.transactions(
                connectionID: connection.id, accountID: accountID, from: nil, to: nil, cursor: cursor, caller: bed.caller())
            #expect(page2.transactions.map(\.id) == ["t3", "t4"])
            #expect(page2.nextCursor == nil)
            // A cursor is bound to its connection and account.
            let other = try await bed.activeConnection()
            let misplaced = try await #require(throws: GatewayError.self) {
                _ = try await bed.accounts.transactions(
                    connectionID: other.id, accountID: accountID, from: nil, to: nil, cursor: cursor, caller: bed.caller())
            }
            #expect(misplaced.problemType.status == 400 || misplaced.problemType.status == 422, "\(misplaced)")
            #expect("\(misplaced)".contains("cursor"), "the problem names the cursor: \(misplaced)")
        }
    }

    @Test func bankErrorsAreNormalized() async throws {
        try await ConnectionsTestBed.with { bed in
            let connection = try await bed.activeConnection()
            func accountsError(_ error: AdapterError) async -> GatewayError? {
                bed.euroInformation.update { $0.accounts = .failure(error) }
                do {
                    _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
                    return nil
                } catch {
                    return error as? GatewayError
                }
            }
            // 204 / NAAC → an empty list.
            #expect(await accountsError(.noAccounts) == nil)
            #expect(await accountsError(.notImplemented(code: "NIMP", message: nil))?.problemType.status == 501)
            let limited = await accountsError(.rateLimited(retryAfter: 30, code: "TMRQ", message: nil))
            #expect(limited?.problemType == .bankRateLimited)
            #expect(limited?.problem(instance: "/x", requestID: "r").headers["Retry-After"] == "30")
            let down = await accountsError(.unavailable(status: 500, code: "INTE", message: "ERREUR Technique"))
            #expect(down?.problemType.status == 502)
            #expect(down?.bankDetails == BankErrorDetails(id: BankID("cmcic:cic")!, httpStatus: 500, code: "INTE", message: "ERREUR Technique"))
            #expect(await accountsError(.timeout)?.problemType.status == 504)

            // BPCE lacks trusted beneficiaries in the catalog: 501 before the budget or the bank.
            let bpce = try await bed.activeConnection(bank: "bpce:13807")
            await #expect(throws: GatewayError.unsupportedByBank(bank: BankID("bpce:13807")!, feature: "trusted beneficiaries")) {
                _ = try await bed.accounts.trustedBeneficiaries(connectionID: bpce.id, caller: bed.caller(attended: false))
            }
            #expect(!bed.bpce.calls.contains(.trustedBeneficiaries))
        }
    }

    @Test func consentsAreForwardedToBPCEAndANoOpForEuroInformation() async throws {
        try await ConnectionsTestBed.with { bed in
            let consents = ConsentRequest(
                balances: [Self.cash.iban!], transactions: [Self.cash.iban!], trustedBeneficiaries: false, identity: true)
            let ei = try await bed.activeConnection()
            try await bed.accounts.putConsents(connectionID: ei.id, consents: consents, caller: bed.caller())
            #expect(!bed.euroInformation.calls.contains(.putConsents(consents)))
            let bpce = try await bed.activeConnection(bank: "bpce:13807")
            try await bed.accounts.putConsents(connectionID: bpce.id, consents: consents, caller: bed.caller())
            #expect(bed.bpce.calls.contains(.putConsents(consents)))
        }
    }
}
