import FoundationEssentials
import GatewayCore

/// A row of `registrations`: the TPP's client at one bank (Euro-Information brand) or group (BPCE). The members of
/// its `settings` read and write as its own (`record.clientName`).
@dynamicMemberLookup
public struct RegistrationRecord: Sendable, Equatable {
    public var id: UUID
    public var provider: Provider
    /// The bank the registration calls go to (`cmcic:<segment>`, or the BPCE bank code used for the group-wide call).
    public var bankID: BankID
    public var environment: Environment
    public var status: RegistrationStatus
    public var clientID: String?
    public var registrationClientURI: String?
    public var activatesAt: Date?
    /// What a pending change replaces, all together.
    public var settings: RegistrationSettings
    public var clientLegalID: String?
    /// History beyond 90 days asked for (Euro-Information `extended_transaction_history`): sent again with every
    /// update and authorize URL.
    public var extendedTransactionHistory = false
    /// A modification the bank accepted but applies later (BPCE); the other members stay what is in effect.
    public var pendingChange: RegistrationChange? = nil
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

    /// The registration as in effect at the bank at `now`: a pending change whose time has come is applied.
    /// Every read of the store goes through it (`RegistrationStore`), so the switch happens exactly at
    /// `activatesAt`, on every replica, without a background job.
    public func inEffect(at now: Date) -> RegistrationRecord {
        guard let change = pendingChange, change.activatesAt <= now else { return self }
        return withPendingChangeApplied()
    }

    /// The registration as it will be once its pending change (if any) is applied: the base of a further update,
    /// since the bank's next `PUT` replaces the whole document, the pending one included.
    public func withPendingChangeApplied() -> RegistrationRecord {
        guard let change = pendingChange else { return self }
        var r = self
        r.settings = change.settings
        r.pendingChange = nil
        return r
    }

    /// A member of `settings`, as if it were the record's own.
    public subscript<Value>(dynamicMember member: WritableKeyPath<RegistrationSettings, Value>) -> Value {
        get { settings[keyPath: member] }
        set { settings[keyPath: member] = newValue }
    }

    /// What the adapters need to address an existing registration.
    public var reference: RegistrationReference? {
        clientID.map {
            RegistrationReference(clientID: $0, registrationClientURI: registrationClientURI, keys: settings.bankKeys)
        }
    }
}

/// The values of a registration that an update sets: what the TPP registered (certificates, name, redirect URIs,
/// roles, contact, software id, logo) and the keys the bank then knows; a pending change holds the next ones.
public struct RegistrationSettings: Sendable, Equatable, Codable {
    public var qwacCertificateID: UUID
    public var qsealCertificateID: UUID
    public var clientName: String
    public var redirectURIs: [String]
    public var roles: [Role]
    public var contact: RegistrationRequest.Contact
    public var softwareID: String?
    public var logoURI: String?
    /// The keyId our signatures carry for PSD2 calls at this registration.
    public var keyID: String?
    /// The keys as the bank knows them (kid and certificate fingerprint), for rotation.
    public var bankKeys: [RegistrationResult.Key]
}

/// A modification of a registration that the bank accepted and applies at `activatesAt` (BPCE: "the newly generated
/// client_id (or data modifications) will be automatically taken into account the next working day @02:00 pm",
/// seed `bpce-89c3-registration-api`, docs/adapters.md). It holds every value the registration will have then,
/// stored flat in `registrations.pending_change` (`fields`, `activatesAt` and the settings' members side by side).
public struct RegistrationChange: Sendable, Equatable, Codable {
    /// The API names of the members that change (`contact`, `redirectUris`, `qsealCertificateId`, …).
    public var fields: [String]
    public var activatesAt: Date
    /// The registration's settings from `activatesAt`.
    public var settings: RegistrationSettings

    /// The change that turns `current` into `proposed` at `activatesAt`.
    public init(from current: RegistrationRecord, to proposed: RegistrationRecord, activatesAt: Date) {
        var fields: [String] = []
        if current.clientName != proposed.clientName { fields.append("clientName") }
        if current.redirectURIs != proposed.redirectURIs { fields.append("redirectUris") }
        if current.roles != proposed.roles { fields.append("roles") }
        if current.contact != proposed.contact { fields.append("contact") }
        if current.softwareID != proposed.softwareID { fields.append("softwareId") }
        if current.logoURI != proposed.logoURI { fields.append("logoUri") }
        if current.qwacCertificateID != proposed.qwacCertificateID { fields.append("qwacCertificateId") }
        if current.qsealCertificateID != proposed.qsealCertificateID { fields.append("qsealCertificateId") }
        self.fields = fields
        self.activatesAt = activatesAt
        settings = proposed.settings
    }

    private enum CodingKeys: String, CodingKey {
        case fields, activatesAt
    }

    public init(from decoder: any Decoder) throws {
        let json = try decoder.container(keyedBy: CodingKeys.self)
        fields = try json.decode([String].self, forKey: .fields)
        activatesAt = try json.decode(Date.self, forKey: .activatesAt)
        settings = try RegistrationSettings(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var json = encoder.container(keyedBy: CodingKeys.self)
        try json.encode(fields, forKey: .fields)
        try json.encode(activatesAt, forKey: .activatesAt)
        try settings.encode(to: encoder)
    }
}
