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
    var id: String
    var bank: String
    var provider: String
    var environment: String
    var status: String
    var clientId: String?
    var keyId: String?
    var activatesAt: Date?
    var qwacCertificateId: String
    var qsealCertificateId: String
    var clientName: String
    var redirectUris: [String]
    var roles: [String]
    var contact: RegistrationRequest.Contact
    var softwareId: String?
    var logoUri: String?
    var clientLegalId: String?
    var extendedTransactionHistory: Bool
    var bankKeys: [BankKey]
    var pendingChange: PendingChange?
    var lastBankExchange: BankExchange?
    var createdAt: Date
    var updatedAt: Date

    init(_ r: RegistrationRecord, now: Date, includeExchange: Bool) {
        id = r.id.uuidString.lowercased()
        bank = r.provider == .bpce ? "bpce" : r.bankID.description
        provider = r.provider.rawValue
        environment = r.environment.rawValue
        status = r.effectiveStatus(at: now).rawValue
        clientId = r.clientID
        keyId = r.keyID
        activatesAt = r.activatesAt
        qwacCertificateId = r.qwacCertificateID.uuidString.lowercased()
        qsealCertificateId = r.qsealCertificateID.uuidString.lowercased()
        clientName = r.clientName
        redirectUris = r.redirectURIs
        roles = r.roles.map(\.rawValue)
        contact = r.contact
        softwareId = r.softwareID
        logoUri = r.logoURI
        clientLegalId = r.clientLegalID
        extendedTransactionHistory = r.extendedTransactionHistory
        bankKeys = r.bankKeys.map { BankKey(certificateId: $0.certificateID, kid: $0.kid, sha256Fingerprint: $0.sha256Fingerprint) }
        pendingChange = r.pendingChange.map { PendingChange(fields: $0.fields, activatesAt: $0.activatesAt) }
        lastBankExchange = includeExchange ? BankExchange(request: r.lastRequest, response: r.lastResponse) : nil
        createdAt = r.createdAt
        updatedAt = r.updatedAt
    }
}
