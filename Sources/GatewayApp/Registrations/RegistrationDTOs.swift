import Foundation
import GatewayCore

/// `POST /v1/registrations` body.
struct RegistrationCreate: Decodable {
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
}

/// `PATCH /v1/registrations/{id}` body: every field optional.
struct RegistrationPatch: Decodable {
    var clientName: String?
    var redirectUris: [String]?
    var roles: [String]?
    var contact: RegistrationRequest.Contact?
    var softwareId: String?
    var logoUri: String?
    var qwacCertificateId: String?
    var qsealCertificateId: String?
}

/// The API representation of a registration.
struct RegistrationDTO: Encodable {
    struct BankKey: Encodable {
        var certificateId: String?
        var kid: String?
        var sha256Fingerprint: String?
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
    var bankKeys: [BankKey]
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
        bankKeys = r.bankKeys.map { BankKey(certificateId: $0.certificateID, kid: $0.kid, sha256Fingerprint: $0.sha256Fingerprint) }
        lastBankExchange = includeExchange ? BankExchange(request: r.lastRequest, response: r.lastResponse) : nil
        createdAt = r.createdAt
        updatedAt = r.updatedAt
    }
}
