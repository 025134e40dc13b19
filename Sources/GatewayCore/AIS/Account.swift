/// One account of a connected customer, the same shape for every bank (`openapi/passerelle.yaml`,
/// `GET /v1/connections/{id}/accounts`). Optional fields are omitted from JSON when absent.
public struct Account: Hashable, Sendable, Codable {
    /// As returned by an adapter: the bank's `resourceId`. The service replaces it (and `linkedAccount`) with the
    /// connection's stable account id before answering the API, and maps it back for `/accounts/{accountId}/…`.
    public var id: String
    /// The IBAN of a cash account (absent for cards, which carry `maskedPan`).
    public var iban: String?
    /// Masked card number of a card account (STET `other` identification with scheme `MPAN`).
    public var maskedPan: String?
    /// The bank's label.
    public var name: String
    /// ISO 4217.
    public var currency: String
    /// `CACC` (current account) or `CARD`, as the bank sent it.
    public var cashAccountType: String
    /// Bank product name.
    public var product: String?
    /// `PRIV` or `ORGA`.
    public var usage: String?
    /// `Account Holder`, `Co-account Holder`, `Attorney`, …
    public var psuStatus: String?
    /// BIC of the account servicer.
    public var bicFi: String?
    /// For cards: the `id` of the cash account debited.
    public var linkedAccount: String?
    /// Free text from the bank.
    public var details: String?
    /// Balances the bank returned inline with the account list (BPCE does once consented).
    public var balances: [Balance]?

    /// Memberwise initializer.
    public init(
        id: String, iban: String? = nil, maskedPan: String? = nil, name: String, currency: String,
        cashAccountType: String, product: String? = nil, usage: String? = nil, psuStatus: String? = nil,
        bicFi: String? = nil, linkedAccount: String? = nil, details: String? = nil, balances: [Balance]? = nil
    ) {
        self.id = id
        self.iban = iban
        self.maskedPan = maskedPan
        self.name = name
        self.currency = currency
        self.cashAccountType = cashAccountType
        self.product = product
        self.usage = usage
        self.psuStatus = psuStatus
        self.bicFi = bicFi
        self.linkedAccount = linkedAccount
        self.details = details
        self.balances = balances
    }
}

/// What a bank's accounts list gives: the accounts, and the customer's name when the bank says it (STET
/// `connectedPsu`, BPCE). A collection of its accounts.
public struct AccountList: Sendable, Hashable, RandomAccessCollection, ExpressibleByArrayLiteral {
    public var accounts: [Account]
    /// STET `connectedPsu`, e.g. `MALLOW MARC`.
    public var connectedPSU: String?

    /// Memberwise initializer.
    public init(_ accounts: [Account], connectedPSU: String? = nil) {
        self.accounts = accounts
        self.connectedPSU = connectedPSU
    }

    public init(arrayLiteral elements: Account...) { self.init(elements) }

    public var startIndex: Int { accounts.startIndex }
    public var endIndex: Int { accounts.endIndex }
    public subscript(position: Int) -> Account { accounts[position] }
}
