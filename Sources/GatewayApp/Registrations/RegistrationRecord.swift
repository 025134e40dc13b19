import Foundation
import GatewayCore

/// A row of `registrations`: the TPP's client at one bank (Euro-Information brand) or group (BPCE).
public struct RegistrationRecord: Sendable, Equatable {
    public var id: UUID
    public var provider: Provider
    /// The bank the registration calls go to (`cmcic:<segment>`, or the BPCE bank code used for the group-wide call).
    public var bankID: BankID
    public var environment: Environment
    public var status: RegistrationStatus
    public var clientID: String?
    /// The keyId our signatures carry for PSD2 calls at this registration.
    public var keyID: String?
    public var registrationClientURI: String?
    public var activatesAt: Date?
    public var qwacCertificateID: UUID
    public var qsealCertificateID: UUID
    public var clientName: String
    public var redirectURIs: [String]
    public var roles: [Role]
    public var contact: RegistrationRequest.Contact
    public var softwareID: String?
    public var logoURI: String?
    public var clientLegalID: String?
    /// History beyond 90 days asked for (Euro-Information `extended_transaction_history`): sent again with every
    /// update and authorize URL.
    public var extendedTransactionHistory = false
    /// The keys as the bank knows them (kid and certificate fingerprint), for rotation.
    public var bankKeys: [RegistrationResult.Key]
    public var lastRequest: String?
    public var lastResponse: String?
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    /// The status at `now`: a pending registration whose activation time has passed is active.
    public func effectiveStatus(at now: Date) -> RegistrationStatus {
        if status == .pending, let activatesAt, activatesAt <= now { return .active }
        return status
    }

    /// What the adapters need to address an existing registration.
    public var reference: RegistrationReference? {
        clientID.map { RegistrationReference(clientID: $0, registrationClientURI: registrationClientURI, keys: bankKeys) }
    }
}
