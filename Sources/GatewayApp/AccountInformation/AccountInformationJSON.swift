import GatewayCore
import JSONKit

/// The `{"accounts": […]}` and `{"balances": […]}` answers written directly (`JSONOutput`): byte for byte what
/// `JSONCoding` writes for the same `Account`/`Balance` values (keys sorted, nil members left out), without
/// `Encodable`'s containers, because an account list is written on every proxied read.
/// `AccountInformationJSONTests` compares both writers. A field added to `Account` or `Balance` must be added here.
enum AccountInformationJSON {
    static func accounts(_ accounts: [Account]) -> [UInt8] {
        var out = JSONOutput(capacity: 128 + accounts.count * 320)
        out.beginObject()
        out.key("accounts")
        out.beginArray()
        for account in accounts { write(account, to: &out) }
        out.endArray()
        out.endObject()
        return out.bytes
    }

    static func balances(_ balances: [Balance]) -> [UInt8] {
        var out = JSONOutput(capacity: 64 + balances.count * 160)
        out.beginObject()
        out.key("balances")
        write(balances, to: &out)
        out.endObject()
        return out.bytes
    }

    private static func write(_ account: Account, to out: inout JSONOutput) {
        out.beginObject()
        if let balances = account.balances {
            out.key("balances")
            write(balances, to: &out)
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

    private static func write(_ balances: [Balance], to out: inout JSONOutput) {
        out.beginArray()
        for balance in balances {
            out.beginObject()
            out.member("amount", balance.amount.description)
            out.member("bankType", balance.bankType)
            out.member("currency", balance.currency)
            out.member("name", balance.name)
            out.member("referenceDate", balance.referenceDate?.description)
            out.member("type", balance.type.rawValue)
            out.endObject()
        }
        out.endArray()
    }
}
