/// STET `AccountResource` (docs/protocol.md §2.5).
struct STETAccountResource: Codable, Hashable, Sendable {
    var resourceId: String?
    var bicFi: String?
    var accountId: STETAccountIdentification?
    var name: String?
    var details: String?
    var linkedAccount: String?
    var usage: String?
    var cashAccountType: String?
    var product: String?
    var currency: String?
    var balances: [STETBalanceResource]?
    var psuStatus: String?
    var _links: HALLinks?
}

/// `GET /accounts` response.
struct STETAccountsResponse: Codable, Hashable, Sendable {
    var accounts: [STETAccountResource]?
    var _links: HALLinks?
    /// PSU display name, present at BPCE once `psuIdentity` was consented [S].
    var connectedPsu: String?
}

/// STET `BalanceResource`.
struct STETBalanceResource: Codable, Hashable, Sendable {
    var name: String?
    var balanceAmount: STETAmount
    var balanceType: String
    var referenceDate: String?
    var lastChangeDateTime: String?
    var lastCommittedTransaction: String?
}

/// `GET /accounts/{id}/balances` response.
struct STETBalancesResponse: Codable, Hashable, Sendable {
    var balances: [STETBalanceResource]?
    var _links: HALLinks?
}

/// `GET /end-user-identity` response (1.4.2: one display name).
struct STETEndUserIdentity: Codable, Hashable, Sendable {
    var connectedPsu: String?
    var _links: HALLinks?
}

/// `PUT /consents` body (docs/protocol.md §2.4): lists of `AccountIdentification` (IBAN only at BPCE).
struct STETConsents: Codable, Hashable, Sendable {
    var balances: [STETAccountIdentification]
    var transactions: [STETAccountIdentification]
    var trustedBeneficiaries: Bool
    var psuIdentity: Bool
}

/// `GET /trusted-beneficiaries` response.
struct STETBeneficiariesResponse: Codable, Hashable, Sendable {
    struct Beneficiary: Codable, Hashable, Sendable {
        struct Agent: Codable, Hashable, Sendable { var bicFi: String? }
        struct Party: Codable, Hashable, Sendable {
            struct Address: Codable, Hashable, Sendable {
                var country: String?
                var addressLine: [String]?
            }
            var name: String?
            var postalAddress: Address?
        }

        var id: String?
        var isTrusted: Bool?
        var creditorAgent: Agent?
        var creditor: Party?
        var creditorAccount: STETAccountIdentification?
    }

    var beneficiaries: [Beneficiary]?
    var _links: HALLinks?
}
