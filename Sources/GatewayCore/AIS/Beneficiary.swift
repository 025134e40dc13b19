/// A trusted beneficiary of the customer (`openapi/passerelle.yaml`, `…/trusted-beneficiaries`).
public struct Beneficiary: Hashable, Sendable, Codable {
    /// The bank's id for the beneficiary.
    public var id: String?
    /// Display name.
    public var name: String?
    /// IBAN, when the bank gives one.
    public var iban: String?
    /// BIC of the creditor's bank.
    public var bicFi: String?
    /// ISO 3166 country of the creditor's postal address.
    public var country: String?
    /// Postal address lines of the creditor.
    public var addressLines: [String]?
    /// The bank's `isTrusted` flag.
    public var isTrusted: Bool?

    /// Memberwise initializer.
    public init(
        id: String? = nil, name: String? = nil, iban: String? = nil, bicFi: String? = nil, country: String? = nil,
        addressLines: [String]? = nil, isTrusted: Bool? = nil
    ) {
        self.id = id
        self.name = name
        self.iban = iban
        self.bicFi = bicFi
        self.country = country
        self.addressLines = addressLines
        self.isTrusted = isTrusted
    }
}

/// The connected customer's identity (`openapi/passerelle.yaml`, `…/identity`); STET 1.4.2 gives one display name.
public struct Identity: Hashable, Sendable, Codable {
    /// STET `connectedPsu`, e.g. `MALLOW MARC`.
    public var name: String

    /// Memberwise initializer.
    public init(name: String) { self.name = name }
}

/// The customer's consent to forward to the bank (`openapi/passerelle.yaml`, `PUT …/consents`).
public struct ConsentRequest: Hashable, Sendable, Codable {
    /// IBANs whose balances may be read.
    public var balances: [String] = []
    /// IBANs whose transactions may be read.
    public var transactions: [String] = []
    /// Whether trusted beneficiaries may be read.
    public var trustedBeneficiaries = false
    /// Whether the customer's identity may be read.
    public var identity = false
}
