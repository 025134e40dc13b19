import FoundationEssentials
import GatewayCore

/// The normalized status of a payment (docs/payments.md). `submitting` is internal: the row is committed, the bank
/// call under way; the API shows it as `created`.
public enum PaymentStatus: String, Sendable, CaseIterable {
    case submitting
    case authorizationRequired = "authorization_required"
    case pending
    case accepted
    case executed
    case rejected
    case cancelled
    case unknown

    /// The API's name (`created` for `submitting`).
    var apiName: String { self == .submitting ? "created" : rawValue }

    /// Nothing can change it any more: not refreshed from the bank.
    var isFinal: Bool { self == .executed || self == .rejected || self == .cancelled }

    /// The normalized status of a bank's ISO 20022 `paymentInformationStatus` (docs/payments.md, docs/protocol.md
    /// §2.7): before the customer's confirmation, a validated request waits for the customer.
    static func from(bank: PaymentBankStatus, confirmed: Bool) -> PaymentStatus {
        switch bank.code.uppercased() {
        case "RCVD", "ACTC": confirmed ? .accepted : .authorizationRequired
        case "PDNG": .pending
        case "ACCP", "ACSP", "ACWC", "ACWP", "PART": .accepted
        case "ACSC": .executed
        case "RJCT": bank.reason?.uppercased() == "DS02" ? .cancelled : .rejected
        case "CANC": .cancelled
        default: .unknown
        }
    }
}

/// A row of `payments`. The PKCE verifier stays sealed inside `PaymentService`.
public struct PaymentRecord: Sendable {
    public var id: UUID
    public var principal: String
    public var idempotencyKey: String
    public var registrationID: UUID
    public var bankID: BankID
    public var environment: Environment
    public var psuReference: String
    public var redirectURI: String
    public var status: PaymentStatus
    public var confirmed = false
    public var bankStatus: String?
    public var bankStatusReason: String?
    public var statusDetail: String?
    public var order: PaymentOrder
    public var bankResourceID: String?
    public var bankLocation: String?
    public var approvalURL: String?
    public var stateHash: [UInt8]?
    public var stateExpiresAt: Date?
    public var pkceVerifierSealed: [UInt8]?
    public var reconcileAttempts = 0
    public var nextCheckAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    static func sealOwner(_ id: UUID, _ column: String) -> String {
        "payments/\(id.uuidString.lowercased())/\(column)"
    }

    /// Sets the bank's status and the normalized one.
    mutating func apply(_ bank: PaymentBankStatus, now: Date) {
        bankStatus = bank.code
        bankStatusReason = bank.reason
        status = PaymentStatus.from(bank: bank, confirmed: confirmed)
        updatedAt = now
    }
}
