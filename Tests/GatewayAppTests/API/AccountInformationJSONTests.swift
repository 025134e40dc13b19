import GatewayCore
import Testing

@testable import GatewayApp

/// The account and balance answers are written by hand (`AccountInformationJSON`): they must be the bytes the
/// `Encodable` path (`JSONCoding`) writes for the same values, whatever is set or missing.
@Suite struct AccountInformationJSONTests {
    struct Accounts: Encodable { var accounts: [Account] }
    struct Balances: Encodable { var balances: [Balance] }
    struct Transactions: Encodable {
        var transactions: [Transaction]
        var nextCursor: String?
    }

    static let transactions = [
        Transaction(
            id: "t1", bankReference: "REF\"1", amount: DecimalAmount("-12.30")!, currency: "EUR", status: .booked,
            bookingDate: CalendarDate("2026-11-02"), valueDate: CalendarDate("2026-11-03"),
            transactionDate: CalendarDate("2026-11-01"), expectedBookingDate: CalendarDate("2026-11-04"),
            remittance: ["CB CARREFOUR", "line\ttwo é"], counterparty: "Carrefour", bankStatus: "BOOK",
            creditDebitIndicator: "DBIT", bankTransactionCode: "PMNT-ICDT-ESCT"),
        Transaction(amount: DecimalAmount("100")!, currency: "EUR", status: .pending),
    ]

    static let balances = [
        Balance(
            type: .booked, bankType: "CLBD", name: "Solde comptable", amount: DecimalAmount("-1234.50")!,
            currency: "EUR", referenceDate: CalendarDate("2026-11-20")),
        Balance(type: .other, bankType: "OTHR", amount: DecimalAmount("0")!, currency: "EUR"),
    ]

    static let accounts = [
        Account(
            id: "acc_1", iban: "FR7630006000011234567890189", maskedPan: nil, name: "Compte \"courant\" \\ é",
            currency: "EUR", cashAccountType: "CACC", product: "Compte de dépôt", usage: "PRIV", psuStatus: "Account Holder",
            bicFi: "CMCIFRPP", linkedAccount: nil, details: "line\nbreak\ttab\u{1}", balances: balances),
        Account(
            id: "acc_2", maskedPan: "XXXX XXXX XXXX 1234", name: "Carte", currency: "EUR", cashAccountType: "CARD",
            linkedAccount: "acc_1", balances: []),
        Account(id: "acc_3", name: "x", currency: "USD", cashAccountType: "CACC"),
    ]

    static func expectSameBytes(_ direct: [UInt8], _ encodable: some Encodable) {
        #expect(String(decoding: direct, as: UTF8.self) == String(decoding: JSONCoding.bytes(encodable), as: UTF8.self))
    }

    @Test func accountsAreWrittenAsTheEncoderWritesThem() {
        for count in 0...Self.accounts.count {
            let accounts = Array(Self.accounts.prefix(count))
            Self.expectSameBytes(AccountInformationJSON.accounts(accounts), Accounts(accounts: accounts))
        }
    }

    @Test func transactionsAreWrittenAsTheEncoderWritesThem() {
        for count in 0...Self.transactions.count {
            let transactions = Array(Self.transactions.prefix(count))
            for cursor in [nil, "c_abc"] {
                Self.expectSameBytes(
                    AccountInformationJSON.transactions(transactions, nextCursor: cursor),
                    Transactions(transactions: transactions, nextCursor: cursor))
            }
        }
    }

    @Test func balancesAreWrittenAsTheEncoderWritesThem() {
        for count in 0...Self.balances.count {
            let balances = Array(Self.balances.prefix(count))
            Self.expectSameBytes(AccountInformationJSON.balances(balances), Balances(balances: balances))
        }
    }
}
