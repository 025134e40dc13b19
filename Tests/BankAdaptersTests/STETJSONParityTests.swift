import Foundation
import GatewayCore
import JSONKit
import Testing

@testable import BankAdapters

/// STET bodies are read by JSONKit, and by Foundation's JSON5 decoder when JSONKit refuses them for a bank with the
/// `lenientJSON` quirk: both must give the same wire values for every fixture (the seeds' bodies and the
/// simulator's shapes).
@Suite struct STETJSONParityTests {
    static let fixtures = [
        "bpce-accounts-consented.json", "bpce-accounts-not-consented.json", "bpce-identity.json",
        "bpce-transactions-page-last.json", "bpce-transactions-page1.json", "ei-accounts.json", "ei-balances.json",
        "ei-beneficiaries.json", "ei-transactions-page1.json", "bpce-consents-request.json",
    ]

    static func foundation<T: Decodable>(_ type: T.Type, _ body: [UInt8]) -> T? {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        return try? decoder.decode(type, from: Data(body))
    }

    static func compare<T: Decodable & Equatable>(_ type: T.Type, _ body: [UInt8], _ name: String) {
        let reference = foundation(type, body)
        if (try? JSONParser.parse(body)) != nil {
            // Plain JSON: JSONKit alone must agree with Foundation, value or failure.
            let ours = try? JSONNodeDecoder().decode(type, from: body)
            #expect(ours == reference, "\(name) as \(T.self)")
        }
        #expect((try? STETJSON.decode(type, from: body, lenient: true)) == reference, "\(name) as \(T.self) through STETJSON")
    }

    /// The same for a type with a direct reader (`NodeReadable`): `STETJSON` goes through the reader first, and
    /// whatever the reader accepts must equal what Foundation decodes.
    static func compareDirect<T: Decodable & Equatable & NodeReadable>(_ type: T.Type, _ body: [UInt8], _ name: String) {
        let reference = foundation(type, body)
        #expect((try? STETJSON.decode(type, from: body, lenient: true)) == reference, "\(name) as \(T.self) through its reader")
        if let node = try? JSONParser.parse(body), let direct = try? T(node: node) {
            #expect(direct == reference, "\(name): the direct reader's \(T.self) differs from Foundation's")
        }
    }

    @Test(arguments: fixtures)
    func jsonKitDecodesWhatFoundationDecodes(fixture: String) throws {
        let body = try Fixture.bytes(fixture)
        Self.compare(STETAccountsResponse.self, body, fixture)
        Self.compare(STETBalancesResponse.self, body, fixture)
        Self.compare(STETTransactionsResponse.self, body, fixture)
        Self.compare(STETBeneficiariesResponse.self, body, fixture)
        Self.compare(STETEndUserIdentity.self, body, fixture)
        Self.compare(STETErrorModel.self, body, fixture)
        Self.compare(OAuthTokenResponse.self, body, fixture)
        Self.compareDirect(STETAccountsResponse.self, body, fixture)
        Self.compareDirect(STETBalancesResponse.self, body, fixture)
        Self.compareDirect(STETTransactionsResponse.self, body, fixture)
    }

    @Test(arguments: [
        "ei-accounts.json", "ei-balances.json", "bpce-accounts-not-consented.json", "ei-transactions-page1.json",
        "bpce-transactions-page-last.json",
    ])
    func theDirectReaderTakesThePlainFixtures(fixture: String) throws {
        // Otherwise the fast path would silently never run.
        let node = try JSONParser.parse(try Fixture.bytes(fixture))
        if fixture.contains("balances") {
            #expect(try STETBalancesResponse(node: node).balances?.isEmpty == false)
        } else if fixture.contains("transactions") {
            #expect(try STETTransactionsResponse(node: node).transactions != nil)
        } else {
            #expect(try STETAccountsResponse(node: node).accounts?.isEmpty == false)
        }
    }

    @Test func theSeedWithTrailingCommasDecodesOnlyForALenientBank() throws {
        let body = try Fixture.bytes("bpce-accounts-consented.json")
        #expect((try? JSONParser.parse(body)) == nil, "the seed has trailing commas: JSONKit refuses it")
        #expect(try STETJSON.decode(STETAccountsResponse.self, from: body, lenient: true).accounts?.count == 3)
        #expect(throws: (any Error).self, "strict by default: JSON5 is a per-bank quirk") {
            try STETJSON.decode(STETAccountsResponse.self, from: body)
        }
        #expect(BankCatalog.builtIn.profile(for: BankID("bpce:13807")!)?.lenientJSON == true)
        #expect(BankCatalog.builtIn.profile(for: BankID("cmcic:cic")!)?.lenientJSON == false)
    }

    @Test(arguments: [
        #"{"accounts": [{"resourceId": "a", "balances": [{"balanceAmount": {"amount": 12.5, "currency": "EUR"}, "balanceType": "CLBD", "name": "x"}]}]}"#,
        #"{"accounts": [{"resourceId": "a", "_links": {"balances": "/x", "transactions": {"href": "/y", "templated": "false"}}}]}"#,
        #"{"transactions": [{"transactionAmount": {"amount": "1.00", "currency": "EUR"}, "remittanceInformation": ["a", "b"], "creditDebitIndicator": "DBIT", "status": "BOOK"}], "_links": {"next": {"href": "?page=2"}}}"#,
        #"{"transactions": [{"transactionAmount": {"amount": 1, "currency": "EUR"}, "remittanceInformation": {"unstructured": ["u"]}, "status": "PDNG"}]}"#,
        #"{"transactions": [{"transactionAmount": {"amount": "-3", "currency": "EUR"}, "remittanceInformation": "plain", "status": "OTHR"}]}"#,
        #"{"error": "invalid_grant", "error_description": "Refresh token has expired"}"#,
        #"{"status": 404, "code": "NAAC", "message": "no account"}"#,
        #"{"access_token": "a", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "r"}"#,
        #"{"accounts": "not a list"}"#, #"[]"#, #"null"#, #"{"accounts": [{"resourceId": 12}]}"#,
        #"{"accounts": [{"resourceId": "a", "resourceId": "b", "currency": null, "cashAccountType": "CACC"}]}"#,
        #"{"accounts": [{"resourceId": "a", "_links": "x"}]}"#, #"{"accounts": null, "_links": []}"#,
        #"{"accounts": [{"resourceId": "a", "accountId": {"iban": "FR76", "other": {"identification": "1234", "schemeName": "MPAN"}}}]}"#,
        #"{"accounts": [{"resourceId": "a", "accountId": {"iban": 7}}]}"#,
        #"{"balances": [{"balanceAmount": {"amount": "1.00", "currency": "EUR"}, "balanceType": "CLBD", "referenceDate": "2026-01-02"}]}"#,
        #"{"balances": [{"balanceAmount": {"amount": "1.00"}, "balanceType": "CLBD"}]}"#,
        #"{"balances": [{"balanceAmount": {"amount": "x1", "currency": "EUR"}, "balanceType": "CLBD"}]}"#,
        #"{"balances": [{"balanceAmount": {"amount": 3, "currency": "EUR"}, "balanceType": "XPCD"}]}"#,
        #"{"balances": [{"balanceAmount": {"amount": "3", "currency": "EUR"}, "balanceType": 1}]}"#,
        #"{"transactions": [{"transactionAmount": {"amount": "1", "currency": "EUR"}, "remittanceInformation": {"structured": [{"reference": "R1"}]}}]}"#,
        #"{"transactions": [{"transactionAmount": {"amount": "1", "currency": "EUR"}, "remittanceInformation": {"unstructured": "one", "structured": []}}]}"#,
        #"{"transactions": [{"transactionAmount": {"amount": "1", "currency": "EUR"}, "remittanceInformation": [1, 2]}]}"#,
        #"{"transactions": [{"transactionAmount": {"amount": "1", "currency": "EUR"}, "remittanceInformation": null, "relatedParties": {"creditor": {"name": "C"}, "debtor": null}, "bankTransactionCode": {"domain": "PMNT", "family": "ICDT", "subFamily": "ESCT"}}]}"#,
        #"{"transactions": [{"transactionAmount": {"amount": "1", "currency": "EUR"}, "creditor": {"name": 3}}]}"#,
        #"{"transactions": [{"transactionAmount": {"amount": "1", "currency": "EUR"}, "status": "BOOK", "status": "PDNG"}]}"#,
        #"{"transactions": [{"status": "BOOK"}]}"#,
        #"{"transactions": [{"transactionAmount": {"amount": "1", "currency": "EUR"}, "remittanceInformation": {"unstructured": [], "structured": [{"reference": 5, "creditorReferenceInformation": {"reference": "RF1"}}, {}]}}]}"#,
        #"{"transactions": [{"transactionAmount": {"amount": "1", "currency": "EUR"}, "remittanceInformation": {"structured": [{"reference": "R"}, 3]}}]}"#,
        #"{"transactions": [{"transactionAmount": {"amount": "1", "currency": "EUR"}, "remittanceInformation": {"structured": "x"}}]}"#,
    ])
    func shapesBeyondTheFixturesDecodeAlike(json: String) {
        let body = Array(json.utf8)
        Self.compare(STETAccountsResponse.self, body, json)
        Self.compare(STETTransactionsResponse.self, body, json)
        Self.compare(STETErrorModel.self, body, json)
        Self.compare(OAuthErrorResponse.self, body, json)
        Self.compare(OAuthTokenResponse.self, body, json)
        Self.compareDirect(STETAccountsResponse.self, body, json)
        Self.compareDirect(STETBalancesResponse.self, body, json)
        Self.compareDirect(STETTransactionsResponse.self, body, json)
    }
}
