import GatewayCore
import JSONKit

/// The account, balance and transaction lists (`{"accounts": […]}`, `{"balances": […]}`,
/// `{"nextCursor": …, "transactions": […]}`) written directly with `JSONOutput`: byte for byte what `JSONCoding`
/// writes for the same values (keys sorted, nil members left out), without `Encodable`'s containers, because a list
/// is written on every proxied read. `AccountInformationJSONTests` compares both writers. A field added to
/// `Account`, `Balance` or `Transaction` must be added here.
enum AccountInformationJSON {
    static func accounts(_ accounts: [Account]) -> [UInt8] {
        document("accounts", accounts, bytesPerItem: 320) { write($0, to: &$1) }
    }

    static func balances(_ balances: [Balance]) -> [UInt8] {
        document("balances", balances, bytesPerItem: 160) { write($0, to: &$1) }
    }

    static func transactions(_ transactions: [Transaction], nextCursor: String?) -> [UInt8] {
        document("transactions", transactions, bytesPerItem: 400, leading: { $0.member("nextCursor", nextCursor) }) {
            write($0, to: &$1)
        }
    }

    /// `{<leading members>"key": [items]}`; `leading` writes the members whose keys sort before `key`.
    private static func document<Item>(
        _ key: String, _ items: [Item], bytesPerItem: Int, leading: (inout JSONOutput) -> Void = { _ in },
        _ write: (Item, inout JSONOutput) -> Void
    ) -> [UInt8] {
        var out = JSONOutput(capacity: 128 + items.count * bytesPerItem)
        out.beginObject()
        leading(&out)
        out.key(key)
        out.beginArray()
        for item in items { write(item, &out) }
        out.endArray()
        out.endObject()
        return out.bytes
    }

    private static func write(_ transaction: Transaction, to out: inout JSONOutput) {
        out.beginObject()
        out.member("amount", transaction.amount.description)
        out.member("bankReference", transaction.bankReference)
        out.member("bankStatus", transaction.bankStatus)
        out.member("bankTransactionCode", transaction.bankTransactionCode)
        out.member("bookingDate", transaction.bookingDate?.description)
        out.member("counterparty", transaction.counterparty)
        out.member("creditDebitIndicator", transaction.creditDebitIndicator)
        out.member("currency", transaction.currency)
        out.member("expectedBookingDate", transaction.expectedBookingDate?.description)
        out.member("id", transaction.id)
        out.key("remittance")
        out.beginArray()
        for line in transaction.remittance { out.string(line) }
        out.endArray()
        out.member("status", transaction.status.rawValue)
        out.member("transactionDate", transaction.transactionDate?.description)
        out.member("valueDate", transaction.valueDate?.description)
        out.endObject()
    }

    private static func write(_ account: Account, to out: inout JSONOutput) {
        out.beginObject()
        if let balances = account.balances {
            out.key("balances")
            out.beginArray()
            for balance in balances { write(balance, to: &out) }
            out.endArray()
        }
        out.member("bicFi", account.bicFi)
        out.member("cashAccountType", account.cashAccountType)
        out.member("currency", account.currency)
        out.member("details", account.details)
        out.member("iban", account.iban)
        out.member("id", account.id)
        out.member("linkedAccount", account.linkedAccount)
        out.member("maskedPan", account.maskedPan)
        out.member("name", account.name)
        out.member("product", account.product)
        out.member("psuStatus", account.psuStatus)
        out.member("usage", account.usage)
        out.endObject()
    }

    private static func write(_ balance: Balance, to out: inout JSONOutput) {
        out.beginObject()
        out.member("amount", balance.amount.description)
        out.member("bankType", balance.bankType)
        out.member("currency", balance.currency)
        out.member("name", balance.name)
        out.member("referenceDate", balance.referenceDate?.description)
        out.member("type", balance.type.rawValue)
        out.endObject()
    }
}
