import FoundationEssentials
import GatewayCore

/// `POST /v1/registrations` body.
struct RegistrationCreate: ValidatedBody {
    var bank: String
    var environment: String
    var qwacCertificateId: String
    var qsealCertificateId: String
    var clientName: String
    var redirectUris: [String]
    var roles: [String]
    var contact: RegistrationRequest.Contact
    var softwareId: String?
    var logoUri: String?
    var clientLegalId: String?
    var extendedTransactionHistory: Bool?

    func validate(into rules: inout FieldRules) {
        rules.matches(bank, "bank", .registrationBank)
        rules.oneOf(environment, "environment", ["sandbox", "production"])
        rules.uuid(qwacCertificateId, "qwacCertificateId")
        rules.uuid(qsealCertificateId, "qsealCertificateId")
        RegistrationFields.validate(
            clientName: clientName, redirectUris: redirectUris, roles: roles, contact: contact, softwareId: softwareId,
            logoUri: logoUri, into: &rules)
        rules.text(clientLegalId, "clientLegalId", length: 1...100)
    }
}

/// The field rules creation and update share.
enum RegistrationFields {
    static func validate(
        clientName: String?, redirectUris: [String]?, roles: [String]?, contact: RegistrationRequest.Contact?,
        softwareId: String?, logoUri: String?, into rules: inout FieldRules
    ) {
        rules.text(clientName, "clientName", length: 1...200)
        rules.count(redirectUris, "redirectUris", 1...20)
        for (i, uri) in (redirectUris ?? []).enumerated() {
            rules.matches(uri, "redirectUris[\(i)]", .redirectURI, maxLength: 2048)
        }
        rules.count(roles, "roles", 1...3)
        for (i, role) in (roles ?? []).enumerated() { rules.oneOf(role, "roles[\(i)]", ["aisp", "pisp", "cbpii"]) }
        if let roles, Set(roles).count != roles.count { rules.fail("roles", "each role at most once") }
        if let contact {
            rules.text(contact.name, "contact.name", length: 1...200)
            rules.matches(contact.email, "contact.email", .email, maxLength: 254)
            rules.matches(contact.phone, "contact.phone", .phone)
        }
        rules.text(softwareId, "softwareId", length: 1...200)
        rules.matches(logoUri, "logoUri", .httpsURL, maxLength: 2048)
    }
}

/// `PATCH /v1/registrations/{id}` body: every field optional, at least one present.
struct RegistrationPatch: ValidatedBody {
    var clientName: String?
    var redirectUris: [String]?
    var roles: [String]?
    var contact: RegistrationRequest.Contact?
    var softwareId: String?
    var logoUri: String?
    var qwacCertificateId: String?
    var qsealCertificateId: String?

    func validate(into rules: inout FieldRules) {
        if clientName == nil && redirectUris == nil && roles == nil && contact == nil && softwareId == nil
            && logoUri == nil && qwacCertificateId == nil && qsealCertificateId == nil
        {
            rules.fail("body", "at least one member to change is required")
        }
        RegistrationFields.validate(
            clientName: clientName, redirectUris: redirectUris, roles: roles, contact: contact, softwareId: softwareId,
            logoUri: logoUri, into: &rules)
        rules.uuid(qwacCertificateId, "qwacCertificateId")
        rules.uuid(qsealCertificateId, "qsealCertificateId")
    }
}

/// The API representation of a registration.
struct RegistrationDTO: Encodable {
    struct BankKey: Encodable {
        var certificateId: String?
        var kid: String?
        var sha256Fingerprint: String?
    }
    /// A modification the bank applies later (BPCE): which members change, and when.
    struct PendingChange: Encodable {
        var fields: [String]
        var activatesAt: Date
    }
    struct BankExchange: Encodable {
        var request: String?
        var response: String?
    }
    var record: RegistrationRecord
    /// The time the status is judged at (a pending registration whose activation time has passed is active).
    var now: Date
    /// Whether `lastBankExchange` is shown (one registration, not the list).
    var includeExchange: Bool

    enum CodingKeys: String, CodingKey {
        case id, bank, provider, environment, status, clientId, keyId, activatesAt, qwacCertificateId
        case qsealCertificateId, clientName, redirectUris, roles, contact, softwareId, logoUri, clientLegalId
        case extendedTransactionHistory, bankKeys, pendingChange, lastBankExchange, createdAt, updatedAt
    }

    func encode(to encoder: any Encoder) throws {
        let r = record
        var json = encoder.container(keyedBy: CodingKeys.self)
        try json.encode(r.id.uuidString.lowercased(), forKey: .id)
        try json.encode(r.provider == .bpce ? "bpce" : r.bankID.description, forKey: .bank)
        try json.encode(r.provider.rawValue, forKey: .provider)
        try json.encode(r.environment.rawValue, forKey: .environment)
        try json.encode(r.effectiveStatus(at: now).rawValue, forKey: .status)
        try json.encodeIfPresent(r.clientID, forKey: .clientId)
        try json.encodeIfPresent(r.keyID, forKey: .keyId)
        try json.encodeIfPresent(r.activatesAt, forKey: .activatesAt)
        try json.encode(r.qwacCertificateID.uuidString.lowercased(), forKey: .qwacCertificateId)
        try json.encode(r.qsealCertificateID.uuidString.lowercased(), forKey: .qsealCertificateId)
        try json.encode(r.clientName, forKey: .clientName)
        try json.encode(r.redirectURIs, forKey: .redirectUris)
        try json.encode(r.roles.map(\.rawValue), forKey: .roles)
        try json.encode(r.contact, forKey: .contact)
        try json.encodeIfPresent(r.softwareID, forKey: .softwareId)
        try json.encodeIfPresent(r.logoURI, forKey: .logoUri)
        try json.encodeIfPresent(r.clientLegalID, forKey: .clientLegalId)
        try json.encode(r.extendedTransactionHistory, forKey: .extendedTransactionHistory)
        let keys = r.bankKeys.map {
            BankKey(certificateId: $0.certificateID, kid: $0.kid, sha256Fingerprint: $0.sha256Fingerprint)
        }
        try json.encode(keys, forKey: .bankKeys)
        let pending = r.pendingChange.map { PendingChange(fields: $0.fields, activatesAt: $0.activatesAt) }
        try json.encodeIfPresent(pending, forKey: .pendingChange)
        if includeExchange {
            try json.encode(BankExchange(request: r.lastRequest, response: r.lastResponse), forKey: .lastBankExchange)
        }
        try json.encode(r.createdAt, forKey: .createdAt)
        try json.encode(r.updatedAt, forKey: .updatedAt)
    }
}
