import Foundation
import Testing

@testable import BankAdapters
@testable import GatewayCore

@Suite struct STETMappingTests {
    let bpceRoot = "https://www.13807.sandbox.api.89c3.com/stet/psd2/v1"
    let eiRoot = "https://oauth2-apiii.e-i.com/sandbox/cic/stet-psd2-api/v2.0"

    @Test func mapsTheSeedAccountsBeforeConsent() throws {
        let accounts = try STETMapping.accounts(from: Fixture.bytes("bpce-accounts-not-consented.json"))
        #expect(
            accounts == [
                Account(
                    id: "038-CPT30019654091", iban: "FR7613807008043001965409135", name: "Tech-N Co", currency: "EUR",
                    cashAccountType: "CACC", product: "COMPTE COURANT", usage: "ORGA", psuStatus: "Account Holder",
                    bicFi: "CCBPFRPPNAN", details: "COMPTE COURANT")
            ])
    }

    @Test func mapsTheSeedAccountsAfterConsentWithInlineBalances() throws {
        let body = try Fixture.bytes("bpce-accounts-consented.json")  // has the seed's trailing commas
        let accounts = try STETMapping.accounts(from: body, lenient: true)
        #expect(accounts.map(\.id) == ["038-CPT30019654051", "038-CPT30019654052", "038-CPT30019654053"])
        #expect(accounts[1].name == "Retrait et Cheques")
        let balances = try #require(accounts[0].balances)
        #expect(balances.map(\.type) == [.value, .booked, .other])
        #expect(balances.map(\.bankType) == ["VALU", "CLBD", "OTHR"])
        #expect(balances[1].amount.description == "4179.95")
        #expect(balances[1].referenceDate?.description == "2019-09-03")
        #expect(balances[2].referenceDate == nil)
        #expect(balances[2].name == "Solde TP")
        #expect(accounts.connectedPSU == "MALLOW MARC")
    }

    @Test func mapsEuroInformationCardAccounts() throws {
        let accounts = try STETMapping.accounts(from: Fixture.bytes("ei-accounts.json"))
        #expect(accounts[0].iban == "FR7630066100410001057380116")
        #expect(accounts[0].currency == "EUR")  // from accountId.currency
        #expect(accounts[1].cashAccountType == "CARD")
        #expect(accounts[1].iban == nil)
        #expect(accounts[1].maskedPan == "4970XXXXXXXX1234")
        #expect(accounts[1].linkedAccount == "00012345601")
    }

    @Test func refusesAccountsWithoutAnID() throws {
        let body = Array(#"{"accounts":[{"name":"x","currency":"EUR"}]}"#.utf8)
        #expect(throws: AdapterError.invalidResponse(reason: "accounts[0] has no resourceId")) {
            try STETMapping.accounts(from: body)
        }
        #expect(throws: AdapterError.self) { try STETMapping.accounts(from: Array("<html>".utf8)) }
        #expect(try STETMapping.accounts(from: Array("{}".utf8)).isEmpty)
    }

    @Test func mapsBalancesWithNumberAmountsAndDateTimes() throws {
        let balances = try STETMapping.balances(from: Fixture.bytes("ei-balances.json"))
        #expect(balances.map(\.type) == [.booked, .expected, .other])
        #expect(balances.map(\.amount.description) == ["1523.40", "-12.50", "-240.10"])
        #expect(balances[0].referenceDate?.description == "2021-11-12")
        let json = String(decoding: try JSONEncoder().encode(balances[0]), as: UTF8.self)
        #expect(json.contains(#""amount":"1523.40""#))
        #expect(json.contains(#""type":"booked""#))
        #expect(json.contains(#""referenceDate":"2021-11-12""#))
    }

    @Test func signsEuroInformationTransactionsFromTheIndicator() throws {
        let page = try STETMapping.transactionsPage(from: Fixture.bytes("ei-transactions-page1.json"), apiRoot: eiRoot)
        let t = page.transactions
        #expect(t.map(\.amount.description) == ["-12.30", "2500.00", "-45.00"])
        #expect(t.map(\.status) == [.booked, .booked, .other])
        #expect(t[0].bookingDate?.description == "2021-11-12")
        #expect(t[0].valueDate?.description == "2021-11-12")
        #expect(t[0].transactionDate?.description == "2021-11-10")
        #expect(t[0].remittance == ["CARTE 10/11 BOULANGERIE", "PARIS"])
        #expect(t[0].counterparty == "BOULANGERIE DU COIN")
        #expect(t[0].bankTransactionCode == "PMNT-CCRD-POSD")
        #expect(t[0].id == "T1")
        #expect(t[0].bankReference == "E000101")
        #expect(t[1].counterparty == "ACME SAS")
        #expect(t[1].id == nil)
        #expect(t[2].remittance == ["RF18539007547034"])
        #expect(t[2].bankTransactionCode == "CB")
        #expect(t[2].bankStatus == "OTHR")
        #expect(t[2].creditDebitIndicator == "DBIT")
        #expect(
            page.nextPageURL
                == "https://oauth2-apiii.e-i.com/cic/stet-psd2-api/v2.0/accounts/00012345601/transactions?page=2")
    }

    @Test func readsBPCERemittanceArraysStringsAndAbsoluteNextLinks() throws {
        let page = try STETMapping.transactionsPage(
            from: Fixture.bytes("bpce-transactions-page1.json"), apiRoot: bpceRoot, lenient: true)
        #expect(page.transactions.map(\.amount.description) == ["-56.90", "150.00"])
        #expect(page.transactions[0].remittance == ["PRLV SEPA EDF", "ECH/030919"])
        #expect(page.transactions[1].remittance == ["VIR M DUPONT"])
        #expect(page.transactions[1].status == .pending)
        #expect(page.nextPageURL == bpceRoot + "/accounts/038-CPT30019654051/transactions?page=2")
        let last = try STETMapping.transactionsPage(
            from: Fixture.bytes("bpce-transactions-page-last.json"), apiRoot: bpceRoot)
        #expect(last.transactions.isEmpty)
        #expect(last.nextPageURL == nil)
    }

    @Test func refusesANextLinkToAnotherHost() {
        let body = Array(#"{"transactions":[],"_links":{"next":{"href":"https://evil.example/steal?page=2"}}}"#.utf8)
        #expect(throws: AdapterError.invalidResponse(reason: "link leaves the bank's API host")) {
            try STETMapping.transactionsPage(from: body, apiRoot: bpceRoot)
        }
    }

    @Test func mapsBeneficiariesAndIdentity() throws {
        let beneficiaries = try STETMapping.beneficiaries(from: Fixture.bytes("ei-beneficiaries.json"))
        #expect(
            beneficiaries == [
                Beneficiary(
                    id: "B1", name: "Jeanne Martin", iban: "FR7630004000031234567890143", bicFi: "BNPAFRPP",
                    country: "FR",
                    addressLines: ["1 rue X", "75001 Paris"], isTrusted: true)
            ])
        #expect(try STETMapping.beneficiaries(from: []).isEmpty)
        #expect(try STETMapping.identity(from: Fixture.bytes("bpce-identity.json")) == Identity(name: "MALLOW MARC"))
        #expect(throws: AdapterError.self) { try STETMapping.identity(from: Array("{}".utf8)) }
    }

    @Test func buildsTheSeedConsentBody() throws {
        let body = STETMapping.consentsBody(
            ConsentRequest(
                balances: [" FR7613807008043001965405158"], transactions: ["FR76 1380 7008 0430 0196 5405 158"],
                trustedBeneficiaries: true, identity: true))
        struct Consents: Decodable, Equatable {
            struct ID: Decodable, Equatable { let iban: String }
            let balances: [ID]
            let transactions: [ID]
            let trustedBeneficiaries: Bool
            let psuIdentity: Bool
        }
        let ours = try JSONDecoder().decode(Consents.self, from: Data(body))
        let seed = try JSONDecoder().decode(Consents.self, from: Data(Fixture.bytes("bpce-consents-request.json")))
        #expect(ours.balances == [.init(iban: "FR7613807008043001965405158")])
        #expect(ours.transactions == ours.balances)
        #expect(ours.trustedBeneficiaries == seed.trustedBeneficiaries)
        #expect(ours.psuIdentity == seed.psuIdentity)
        #expect(seed.balances.map { $0.iban.trimmingCharacters(in: .whitespaces) } == ours.balances.map(\.iban))
    }

    @Test func readsTokenResponsesWithDefaults() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let bpce = BankCatalog.builtIn.profile(for: BankID("bpce:13807")!)!
        let seed = Array(
            #"""
            {"access_token": "KXZyspFBZ1R6NqWQdmsZhfdo1nbjK7MoI0Kr2rSi1mSCFNehAs6iLw", "token_type": "Bearer",
             "expires_in": 3600, "scope": "aisp offline_access",
             "refresh_token": "KUZyspFBZ1R6NqWQdmsZhfdo1nbjK7MoD0Kr2rSi1mSCFNehAs6iLa"}
            """#.utf8)
        let tokens = try STETMapping.tokens(
            from: seed, receivedAt: now, defaults: bpce.tokenDefaults)
        #expect(tokens.expiresAt == now.addingTimeInterval(3600))
        #expect(tokens.refreshExpiresAt == now.addingTimeInterval(90 * 86_400))
        #expect(tokens.scope == "aisp offline_access")
        #expect(tokens.refreshToken?.reveal == "KUZyspFBZ1R6NqWQdmsZhfdo1nbjK7MoD0Kr2rSi1mSCFNehAs6iLa")
        let ei = BankCatalog.builtIn.profile(for: BankID("cmcic:cic")!)!
        let stub = Array(#"{"access_token":"a","token_type":"bearer","expires_in":"10800"}"#.utf8)
        let eiTokens = try STETMapping.tokens(
            from: stub, receivedAt: now, defaults: ei.tokenDefaults)
        #expect(eiTokens.expiresAt == now.addingTimeInterval(10800))
        #expect(eiTokens.refreshToken == nil)
        #expect(eiTokens.refreshExpiresAt == nil)
        let noExpiry = Array(#"{"access_token":"a"}"#.utf8)
        #expect(
            try STETMapping.tokens(
                from: noExpiry, receivedAt: now, defaults: ei.tokenDefaults
            ).expiresAt
                == now.addingTimeInterval(3600))
        #expect(throws: AdapterError.self) {
            try STETMapping.tokens(
                from: Array(#"{"access_token":"a","token_type":"mac"}"#.utf8), receivedAt: now,
                defaults: ei.tokenDefaults)
        }
    }

    @Test func aBPCERefreshKeepsTheNinetyDayWindowOfTheSCA() throws {
        let bpce = BankCatalog.builtIn.profile(for: BankID("bpce:13807")!)!
        let sca = Date(timeIntervalSince1970: 1_700_000_000)
        let body = Array(#"{"access_token":"a1","token_type":"Bearer","expires_in":3600,"refresh_token":"r1"}"#.utf8)
        let first = try STETMapping.tokens(from: body, receivedAt: sca, defaults: bpce.tokenDefaults)
        let later = sca.addingTimeInterval(30 * 86_400)
        let again = Array(#"{"access_token":"a2","token_type":"Bearer","expires_in":3600,"refresh_token":"r1"}"#.utf8)
        let refreshed = try STETMapping.tokens(from: again, receivedAt: later, defaults: bpce.tokenDefaults)
            .merged(keepingRefreshOf: first, rotates: bpce.tokenDefaults.refreshTokenRotates)
        #expect(refreshed.accessToken.reveal == "a2")
        #expect(refreshed.expiresAt == later.addingTimeInterval(3600))
        #expect(refreshed.refreshExpiresAt == sca.addingTimeInterval(90 * 86_400))
        #expect(!"\(try STETJSON.decode(OAuthTokenResponse.self, from: body))".contains("a1"))
    }

    @Test func decodingErrorsNeverQuoteTheBody() {
        let body = Array(#"{"access_token": 12345678, "refresh_token": "SECRET-REFRESH"}"#.utf8)
        let error = #expect(throws: AdapterError.self) {
            try STETMapping.tokens(
                from: body, receivedAt: Date(),
                defaults: .init(accessTokenSeconds: 1, refreshTokenSeconds: nil, refreshTokenRotates: true))
        }
        #expect(error?.description.contains("SECRET") == false)
        #expect(error?.description.contains("12345678") == false)
    }
}
