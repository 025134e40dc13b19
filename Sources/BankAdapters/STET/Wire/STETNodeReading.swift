import GatewayCore
import JSONKit

/// Wire types that can be read straight off a parsed JSON tree, without `Decodable`'s containers: the bodies read
/// on every account-information call (accounts, balances). `Decodable` stays the definition of what a body means:
/// a reader throws `NodeReadRefused` at anything it was not written for — a member of another JSON type, an
/// amount that is not a decimal, a missing required member — and `STETJSON` then decodes the body the `Decodable`
/// way, so tolerance and error messages are the same on both paths (`STETJSONParityTests` compares both with
/// Foundation on the fixtures and on odd bodies). For a repeated member name the first value counts, as with the
/// decoder: members are read last to first, so the first of a repeated name is the one that stays.
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
            case "balanceType":
                guard case .string(let text) = value else { throw NodeReadRefused() }
                type = text
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
            case "currency":
                guard case .string(let text) = value else { throw NodeReadRefused() }
                currency = text
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
        var links: [String: HALLink] = [:]
        for (key, value) in try NodeRead.members(node).reversed() { links[key] = HALLink(linkNode: value) }
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
