import FoundationEssentials

/// A certificate row: public metadata plus the sealed private key (never leaves the process unsealed except to
/// sign or to hand to libcurl).
public struct StoredCertificate: Sendable, Equatable {
    public var id: UUID
    public var kind: String
    public var label: String?
    public var subject: String
    public var issuer: String
    public var serialNumber: String
    public var organizationIdentifier: String
    public var roles: [String]
    public var ncaName: String?
    public var ncaId: String?
    public var notBefore: Date
    public var notAfter: Date
    public var sha256Fingerprint: String
    public var certificatePEM: String
    public var chainPEM: String
    public var privateKeySealed: [UInt8]
    public var createdAt: Date
}

/// The API representation (`GET /v1/certificates/{id}`): metadata only, never the key.
struct CertificateDTO: Encodable {
    var id: String
    var kind: String
    var label: String?
    var subject: String
    var issuer: String
    var serialNumber: String
    var organizationIdentifier: String
    var roles: [String]
    var ncaName: String?
    var ncaId: String?
    var notBefore: Date
    var notAfter: Date
    var expired: Bool
    var sha256Fingerprint: String
    var certificate: String
    var usedBy: [String]
    var createdAt: Date

    init(_ c: StoredCertificate, usedBy: [UUID], now: Date) {
        id = c.id.uuidString.lowercased()
        kind = c.kind
        label = c.label
        subject = c.subject
        issuer = c.issuer
        serialNumber = c.serialNumber
        organizationIdentifier = c.organizationIdentifier
        roles = c.roles
        ncaName = c.ncaName
        ncaId = c.ncaId
        notBefore = c.notBefore
        notAfter = c.notAfter
        expired = c.notAfter < now
        sha256Fingerprint = c.sha256Fingerprint
        certificate = c.certificatePEM
        self.usedBy = usedBy.map { $0.uuidString.lowercased() }
        createdAt = c.createdAt
    }
}

/// `POST /v1/certificates` body.
struct CertificateUpload: ValidatedBody {
    var certificate: String
    var privateKey: String
    var passphrase: String?
    var label: String?

    static var multilineFields: Set<String> { ["certificate", "privateKey"] }

    func validate(into rules: inout FieldRules) {
        rules.matches(certificate, "certificate", .pemCertificate, maxLength: 65_536)
        rules.matches(privateKey, "privateKey", .pemPrivateKey, maxLength: 65_536)
        rules.text(passphrase, "passphrase", length: 1...1024)
        rules.text(label, "label", length: 0...200)
    }
}
