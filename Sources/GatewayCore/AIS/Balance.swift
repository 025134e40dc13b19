/// One balance of an account (`openapi/passerelle.yaml`, `…/balances`).
public struct Balance: Hashable, Sendable, Codable {
    /// The normalized kind of a balance; the bank's own code is kept in `bankType`.
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        /// `CLBD`: accounting (closing booked) balance.
        case booked
        /// `XPCD`: instant balance including pending operations.
        case expected
        /// `VALU`: value-date balance.
        case value
        /// `OTHR` or anything else (card outstanding, "Solde TP").
        case other

        /// Maps a STET `balanceType` (docs/protocol.md §2.5, §6).
        public init(stetCode: String) {
            switch stetCode.uppercased() {
            case "CLBD": self = .booked
            case "XPCD": self = .expected
            case "VALU": self = .value
            default: self = .other
            }
        }
    }

    /// The normalized balance kind.
    public var type: Kind
    /// The bank's code as sent (`CLBD`, `XPCD`, `VALU`, `OTHR`, …).
    public var bankType: String
    /// The bank's label ("Solde comptable").
    public var name: String?
    /// Signed decimal string.
    public var amount: DecimalAmount
    /// ISO 4217.
    public var currency: String
    /// The day the balance refers to.
    public var referenceDate: CalendarDate?

    /// Memberwise initializer.
    public init(
        type: Kind, bankType: String, name: String? = nil, amount: DecimalAmount, currency: String,
        referenceDate: CalendarDate? = nil
    ) {
        self.type = type
        self.bankType = bankType
        self.name = name
        self.amount = amount
        self.currency = currency
        self.referenceDate = referenceDate
    }
}
