/// One account transaction (`openapi/passerelle.yaml`, `…/transactions`), with the bank's original codes beside the
/// normalized ones.
public struct Transaction: Hashable, Sendable, Codable {
    /// Normalized booking status.
    public enum Status: String, Hashable, Sendable, Codable, CaseIterable {
        /// `BOOK`.
        case booked
        /// `PDNG`.
        case pending
        /// `OTHR` (Euro-Information: pending card operations) or anything else.
        case other

        /// Maps a STET transaction `status`.
        public init(stetCode: String?) {
            switch stetCode?.uppercased() {
            case "BOOK": self = .booked
            case "PDNG": self = .pending
            default: self = .other
            }
        }
    }

    /// The bank's `resourceId`, when it sends one.
    public var id: String?
    /// The bank's technical `entryReference`.
    public var bankReference: String?
    /// Signed: negative for debits.
    public var amount: DecimalAmount
    /// ISO 4217 currency code.
    public var currency: String
    /// Normalized status.
    public var status: Status
    /// Booking (imputation) date.
    public var bookingDate: CalendarDate?
    /// Value date.
    public var valueDate: CalendarDate?
    /// Date of the operation itself (card payment day).
    public var transactionDate: CalendarDate?
    /// STET `expectedBookingDate`, when sent.
    public var expectedBookingDate: CalendarDate?
    /// Unstructured remittance lines (and structured references, when that is all there is).
    public var remittance: [String]
    /// The other party's name, when the bank gives one.
    public var counterparty: String?
    /// The bank's status code as sent (`BOOK`, `PDNG`, `OTHR`).
    public var bankStatus: String?
    /// The bank's credit/debit indicator as sent (`CRDT`, `DBIT`).
    public var creditDebitIndicator: String?
    /// The bank's transaction code, flattened (`PMNT-ICDT-ESCT` or the proprietary `code`).
    public var bankTransactionCode: String?

    /// Memberwise initializer.
    public init(
        id: String? = nil, bankReference: String? = nil, amount: DecimalAmount, currency: String, status: Status,
        bookingDate: CalendarDate? = nil, valueDate: CalendarDate? = nil, transactionDate: CalendarDate? = nil,
        expectedBookingDate: CalendarDate? = nil, remittance: [String] = [], counterparty: String? = nil,
        bankStatus: String? = nil, creditDebitIndicator: String? = nil, bankTransactionCode: String? = nil
    ) {
        self.id = id
        self.bankReference = bankReference
        self.amount = amount
        self.currency = currency
        self.status = status
        self.bookingDate = bookingDate
        self.valueDate = valueDate
        self.transactionDate = transactionDate
        self.expectedBookingDate = expectedBookingDate
        self.remittance = remittance
        self.counterparty = counterparty
        self.bankStatus = bankStatus
        self.creditDebitIndicator = creditDebitIndicator
        self.bankTransactionCode = bankTransactionCode
    }
}

/// One page of transactions from the bank, and where the next one is.
public struct TransactionPage: Hashable, Sendable {
    /// The page's transactions, in the bank's order.
    public var transactions: [Transaction]
    /// The absolute URL of the bank's next page (`_links.next` resolved against the API host), or `nil` at the end.
    public var nextPageURL: String?

    /// Memberwise initializer.
    public init(transactions: [Transaction], nextPageURL: String?) {
        self.transactions = transactions
        self.nextPageURL = nextPageURL
    }
}

/// What to read: a date window for the first page, or a bank page URL handed back by a previous page.
public enum TransactionPageRequest: Hashable, Sendable {
    /// The first page: `from` inclusive, `to` exclusive (docs/protocol.md §2.4), either may be absent.
    case first(from: CalendarDate?, to: CalendarDate?)
    /// A later page, exactly the URL from `TransactionPage.nextPageURL` (never built by us, docs/protocol.md §2.6).
    case next(url: String)
}
