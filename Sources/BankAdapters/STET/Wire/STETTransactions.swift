/// STET `TransactionResource` (docs/protocol.md §2.5).
struct STETTransactionResource: Codable, Hashable, Sendable {
    /// A party named in a transaction (`relatedParties.creditor`, or the top-level `creditor`/`debtor` of some banks).
    struct Party: Codable, Hashable, Sendable { var name: String? }
    struct RelatedParties: Codable, Hashable, Sendable {
        var debtor: Party?
        var creditor: Party?
    }

    var resourceId: String?
    var entryReference: String?
    var transactionAmount: STETAmount
    var creditDebitIndicator: String?
    var status: String?
    var bookingDate: String?
    var valueDate: String?
    var transactionDate: String?
    var expectedBookingDate: String?
    var remittanceInformation: STETRemittance?
    var bankTransactionCode: STETBankTransactionCode?
    var relatedParties: RelatedParties?
    var creditor: Party?
    var debtor: Party?
}

/// `GET /accounts/{id}/transactions` response.
struct STETTransactionsResponse: Codable, Hashable, Sendable {
    var transactions: [STETTransactionResource]?
    var _links: HALLinks?
}

/// Remittance information in any of the shapes banks send: the STET 1.4.2 object
/// `{"unstructured": ["…"], "structured": [...]}`, a plain array of strings (older BPCE payloads), or a string.
struct STETRemittance: Codable, Hashable, Sendable {
    var lines: [String]

    init(lines: [String]) { self.lines = lines }

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let list = try? single.decode([String].self) {
            lines = list
        } else if let text = try? single.decode(String.self) {
            lines = [text]
        } else {
            let object = try decoder.container(keyedBy: AnyKey.self)
            var lines: [String] = []
            if let list = try? object.decode([String].self, forKey: AnyKey("unstructured")) {
                lines = list
            } else if let text = try? object.decode(String.self, forKey: AnyKey("unstructured")) {
                lines = [text]
            }
            if lines.isEmpty, let structured = try? object.decode([Structured].self, forKey: AnyKey("structured")) {
                lines = structured.compactMap { $0.reference }
            }
            self.lines = lines
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(lines, forKey: AnyKey("unstructured"))
    }

    /// A structured remittance entry: only its creditor reference is used.
    struct Structured: Decodable {
        var reference: String?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            if let text = try? container.decode(String.self, forKey: AnyKey("reference")) {
                reference = text
            } else if let nested = try? container.nestedContainer(
                keyedBy: AnyKey.self, forKey: AnyKey("creditorReferenceInformation")),
                let text = try? nested.decode(String.self, forKey: AnyKey("reference"))
            {
                reference = text
            } else {
                reference = nil
            }
        }
    }
}

/// `bankTransactionCode` as `{domain, family, subFamily}` (ISO 20022) or `{code, issuer}` (proprietary) [?].
struct STETBankTransactionCode: Codable, Hashable, Sendable {
    var domain: String?
    var family: String?
    var subFamily: String?
    var code: String?
    var issuer: String?

    /// `PMNT-ICDT-ESCT`, or the proprietary `code`.
    var flattened: String? {
        let iso = [domain, family, subFamily].compactMap { $0 }.filter { !$0.isEmpty }
        if !iso.isEmpty { return iso.joined(separator: "-") }
        return code
    }
}
