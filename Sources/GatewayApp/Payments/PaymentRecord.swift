import Foundation
import GatewayCore

/// The normalized status of a payment (docs/payments.md). `submitting` is internal: the row is committed, the bank
/// call under way; the API shows it as `created`.
enum PaymentStatus: String, Sendable, CaseIterable {
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
struct PaymentRecord: Sendable {
    var id: UUID
    var principal: String
    var idempotencyKey: String
    var registrationID: UUID
    var bankID: BankID
    var environment: Environment
    var psuReference: String
    var redirectURI: String
    var status: PaymentStatus
    var confirmed = false
    var bankStatus: String?
    var bankStatusReason: String?
    var statusDetail: String?
    var order: PaymentOrder
    var bankResourceID: String?
    var bankLocation: String?
    var approvalURL: String?
    var stateHash: [UInt8]?
    var stateExpiresAt: Date?
    var pkceVerifierSealed: [UInt8]?
    var reconcileAttempts = 0
    var nextCheckAt: Date?
    var createdAt: Date
    var updatedAt: Date

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
