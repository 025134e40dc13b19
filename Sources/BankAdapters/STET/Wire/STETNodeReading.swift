import GatewayCore
import JSONKit

/// Wire types that can be read straight off a parsed JSON tree, without `Decodable`'s containers: the bodies read
/// on every account-information call (accounts, balances, transactions). `Decodable` stays the definition of what a
/// body means: a reader throws `NodeReadRefused` at anything it was not written for — a member of another JSON
/// type, an amount that is not a decimal, a missing required member — and `STETJSON` then decodes the body the
/// `Decodable` way, so tolerance and error messages are the same on both paths (`STETJSONParityTests` compares both
/// with Foundation on the fixtures and on odd bodies). For a repeated member name the first value counts, as with
/// the decoder: members are read last to first, so the first of a repeated name is the one that stays.
protocol NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused)
}

/// The direct reader gives up on this body; the `Decodable` path decides.
struct NodeReadRefused: Error {}

/// Readers for one member's value.
enum NodeRead {
    /// The members of an object.
    static func members(_ node: JSONNode) throws(NodeReadRefused) -> [(key: String, value: JSONNode)] {
        guard case .object(let members) = node else { throw NodeReadRefused() }
        return members
    }

    /// A string that must be there (a non-optional member).
    static func text(_ node: JSONNode) throws(NodeReadRefused) -> String {
        guard case .string(let text) = node else { throw NodeReadRefused() }
        return text
    }

    /// An optional string: `null` is absent.
    static func string(_ node: JSONNode) throws(NodeReadRefused) -> String? {
        switch node {
        case .string(let text): return text
        case .null: return nil
        default: throw NodeReadRefused()
        }
    }

    /// An optional array of readable values: `null` is absent.
    static func array<T: NodeReadable>(_ node: JSONNode, of: T.Type) throws(NodeReadRefused) -> [T]? {
        switch node {
        case .array(let elements):
            var values: [T] = []
            values.reserveCapacity(elements.count)
            for element in elements { values.append(try T(node: element)) }
            return values
        case .null: return nil
        default: throw NodeReadRefused()
        }
    }

    /// An optional readable value: `null` is absent.
    static func optional<T: NodeReadable>(_ node: JSONNode, _: T.Type) throws(NodeReadRefused) -> T? {
        if case .null = node { return nil }
        return try T(node: node)
    }
}

extension STETAccountsResponse: NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused) {
        for (key, value) in try NodeRead.members(node).reversed() {
            switch key {
            case "accounts": accounts = try NodeRead.array(value, of: STETAccountResource.self)
            case "connectedPsu": connectedPsu = try NodeRead.string(value)
            case "_links": _links = try NodeRead.optional(value, HALLinks.self)
            default: continue
            }
        }
    }
}

extension STETAccountResource: NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused) {
        for (key, value) in try NodeRead.members(node).reversed() {
            switch key {
            case "resourceId": resourceId = try NodeRead.string(value)
            case "bicFi": bicFi = try NodeRead.string(value)
            case "accountId": accountId = try NodeRead.optional(value, STETAccountIdentification.self)
            case "name": name = try NodeRead.string(value)
            case "details": details = try NodeRead.string(value)
            case "linkedAccount": linkedAccount = try NodeRead.string(value)
            case "usage": usage = try NodeRead.string(value)
            case "cashAccountType": cashAccountType = try NodeRead.string(value)
            case "product": product = try NodeRead.string(value)
            case "currency": currency = try NodeRead.string(value)
            case "balances": balances = try NodeRead.array(value, of: STETBalanceResource.self)
            case "psuStatus": psuStatus = try NodeRead.string(value)
            case "_links": _links = try NodeRead.optional(value, HALLinks.self)
            default: continue
            }
        }
    }
}

extension STETAccountIdentification: NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused) {
        self.init()
        for (key, value) in try NodeRead.members(node).reversed() {
            switch key {
            case "iban": iban = try NodeRead.string(value)
            case "other": other = try NodeRead.optional(value, Other.self)
            case "currency": currency = try NodeRead.string(value)
            default: continue
            }
        }
    }
}

extension STETAccountIdentification.Other: NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused) {
        for (key, value) in try NodeRead.members(node).reversed() {
            switch key {
            case "identification": identification = try NodeRead.string(value)
            case "schemeName": schemeName = try NodeRead.string(value)
            case "issuer": issuer = try NodeRead.string(value)
            default: continue
            }
        }
    }
}

extension STETBalancesResponse: NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused) {
        for (key, value) in try NodeRead.members(node).reversed() {
            switch key {
            case "balances": balances = try NodeRead.array(value, of: STETBalanceResource.self)
            case "_links": _links = try NodeRead.optional(value, HALLinks.self)
            default: continue
            }
        }
    }
}

extension STETBalanceResource: NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused) {
        var name, referenceDate, lastChangeDateTime, lastCommittedTransaction: String?
        var amount: STETAmount?
        var type: String?
        for (key, value) in try NodeRead.members(node).reversed() {
            switch key {
            case "name": name = try NodeRead.string(value)
            case "balanceAmount": amount = try STETAmount(node: value)
            case "balanceType": type = try NodeRead.text(value)
            case "referenceDate": referenceDate = try NodeRead.string(value)
            case "lastChangeDateTime": lastChangeDateTime = try NodeRead.string(value)
            case "lastCommittedTransaction": lastCommittedTransaction = try NodeRead.string(value)
            default: continue
            }
        }
        guard let amount, let type else { throw NodeReadRefused() }
        self.init(
            name: name, balanceAmount: amount, balanceType: type, referenceDate: referenceDate,
            lastChangeDateTime: lastChangeDateTime, lastCommittedTransaction: lastCommittedTransaction)
    }
}

extension STETAmount: NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused) {
        var currency: String?
        var amount: DecimalAmount?
        for (key, value) in try NodeRead.members(node).reversed() {
            switch key {
            case "currency": currency = try NodeRead.text(value)
            case "amount":
                switch value {
                case .string(let text): amount = DecimalAmount(text)
                case .number(let text): amount = DecimalAmount.jsonNumber(text)
                default: amount = nil
                }
                guard amount != nil else { throw NodeReadRefused() }
            default: continue
            }
        }
        guard let currency, let amount else { throw NodeReadRefused() }
        self.init(currency: currency, amount: amount)
    }
}

extension HALLinks: NodeReadable {
    /// As the decoder: relations whose value is not a link are left out; for a repeated relation only the first
    /// value counts (read last to first, so the first one decides).
    init(node: JSONNode) throws(NodeReadRefused) {
        let members = try NodeRead.members(node)
        var links: [String: HALLink] = [:]
        links.reserveCapacity(members.count)
        for (key, value) in members.reversed() { links[key] = HALLink(linkNode: value) }
        self.init(links)
    }
}

extension HALLink {
    /// A bare string is the href; in an object, an `href` that is not a string is nil and `templated` may be a
    /// boolean or the string `"true"`/`"false"`; any other value is not a link.
    init?(linkNode node: JSONNode) {
        switch node {
        case .string(let text):
            self.init(href: text)
        case .object(let members):
            var href: String?
            var templated: Bool?
            for (key, value) in members.reversed() {
                switch (key, value) {
                case ("href", .string(let text)): href = text
                case ("href", _): href = nil
                case ("templated", .bool(let flag)): templated = flag
                case ("templated", .string(let text)): templated = text.lowercased() == "true"
                case ("templated", _): templated = nil
                default: continue
                }
            }
            self.init(href: href, templated: templated)
        default:
            return nil
        }
    }
}

extension STETTransactionsResponse: NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused) {
        for (key, value) in try NodeRead.members(node).reversed() {
            switch key {
            case "transactions": transactions = try NodeRead.array(value, of: STETTransactionResource.self)
            case "_links": _links = try NodeRead.optional(value, HALLinks.self)
            default: continue
            }
        }
    }
}

extension STETTransactionResource: NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused) {
        var resourceId, entryReference, creditDebitIndicator, status: String?
        var bookingDate, valueDate, transactionDate, expectedBookingDate: String?
        var amount: STETAmount?
        var remittance: STETRemittance?
        var code: STETBankTransactionCode?
        var related: RelatedParties?
        var creditor, debtor: Party?
        for (key, value) in try NodeRead.members(node).reversed() {
            switch key {
            case "resourceId": resourceId = try NodeRead.string(value)
            case "entryReference": entryReference = try NodeRead.string(value)
            case "transactionAmount": amount = try STETAmount(node: value)
            case "creditDebitIndicator": creditDebitIndicator = try NodeRead.string(value)
            case "status": status = try NodeRead.string(value)
            case "bookingDate": bookingDate = try NodeRead.string(value)
            case "valueDate": valueDate = try NodeRead.string(value)
            case "transactionDate": transactionDate = try NodeRead.string(value)
            case "expectedBookingDate": expectedBookingDate = try NodeRead.string(value)
            case "remittanceInformation": remittance = try NodeRead.optional(value, STETRemittance.self)
            case "bankTransactionCode": code = try NodeRead.optional(value, STETBankTransactionCode.self)
            case "relatedParties": related = try NodeRead.optional(value, RelatedParties.self)
            case "creditor": creditor = try NodeRead.optional(value, Party.self)
            case "debtor": debtor = try NodeRead.optional(value, Party.self)
            default: continue
            }
        }
        guard let amount else { throw NodeReadRefused() }
        self.init(
            resourceId: resourceId, entryReference: entryReference, transactionAmount: amount,
            creditDebitIndicator: creditDebitIndicator, status: status, bookingDate: bookingDate, valueDate: valueDate,
            transactionDate: transactionDate, expectedBookingDate: expectedBookingDate,
            remittanceInformation: remittance, bankTransactionCode: code, relatedParties: related, creditor: creditor,
            debtor: debtor)
    }
}

extension STETTransactionResource.Party: NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused) {
        for (key, value) in try NodeRead.members(node).reversed() where key == "name" { name = try NodeRead.string(value) }
    }
}

extension STETTransactionResource.RelatedParties: NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused) {
        for (key, value) in try NodeRead.members(node).reversed() {
            switch key {
            case "debtor": debtor = try NodeRead.optional(value, STETTransactionResource.Party.self)
            case "creditor": creditor = try NodeRead.optional(value, STETTransactionResource.Party.self)
            default: continue
            }
        }
    }
}

extension STETBankTransactionCode: NodeReadable {
    init(node: JSONNode) throws(NodeReadRefused) {
        for (key, value) in try NodeRead.members(node).reversed() {
            switch key {
            case "domain": domain = try NodeRead.string(value)
            case "family": family = try NodeRead.string(value)
            case "subFamily": subFamily = try NodeRead.string(value)
            case "code": code = try NodeRead.string(value)
            case "issuer": issuer = try NodeRead.string(value)
            default: continue
            }
        }
    }
}

extension STETRemittance: NodeReadable {
    /// A list of strings, a string, or an object whose `unstructured` is either, else whose `structured` entries
    /// give their (creditor) references, as the decoder reads them. Odd element types go the decoder's way.
    init(node: JSONNode) throws(NodeReadRefused) {
        switch node {
        case .array(let elements):
            self.init(lines: try Self.strings(elements))
        case .string(let text):
            self.init(lines: [text])
        case .object(let members):
            var lines: [String] = []
            switch members.first(where: { $0.key == "unstructured" })?.value {
            case .array(let elements): lines = try Self.strings(elements)
            case .string(let text): lines = [text]
            case nil: break
            default: throw NodeReadRefused()
            }
            if lines.isEmpty, case .array(let entries)? = members.first(where: { $0.key == "structured" })?.value {
                // As `[Structured]` decodes: every entry must be an object, else there are no lines at all.
                let objects = entries.compactMap { entry -> [(key: String, value: JSONNode)]? in
                    if case .object(let fields) = entry { return fields }
                    return nil
                }
                if objects.count == entries.count { lines = objects.compactMap(Self.reference) }
            }
            self.init(lines: lines)
        default:
            throw NodeReadRefused()
        }
    }

    /// A structured entry's `reference`, else its `creditorReferenceInformation.reference` (strings only).
    private static func reference(in fields: [(key: String, value: JSONNode)]) -> String? {
        if case .string(let text)? = fields.first(where: { $0.key == "reference" })?.value { return text }
        guard case .object(let nested)? = fields.first(where: { $0.key == "creditorReferenceInformation" })?.value,
            case .string(let text)? = nested.first(where: { $0.key == "reference" })?.value
        else { return nil }
        return text
    }

    private static func strings(_ elements: [JSONNode]) throws(NodeReadRefused) -> [String] {
        var lines: [String] = []
        lines.reserveCapacity(elements.count)
        for element in elements {
            guard case .string(let text) = element else { throw NodeReadRefused() }
            lines.append(text)
        }
        return lines
    }
}
