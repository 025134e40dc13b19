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

/// The API representation (`GET /v1/certificates/{id}`): the metadata, written member by member from the row;
/// never the key.
struct CertificateDTO: Encodable {
    var stored: StoredCertificate
    /// The registrations that use it.
    var usedBy: [UUID]
    /// The time `expired` is judged at.
    var now: Date

    enum CodingKeys: String, CodingKey {
        case id, kind, label, subject, issuer, serialNumber, organizationIdentifier, roles, ncaName, ncaId
        case notBefore, notAfter, expired, sha256Fingerprint, certificate, usedBy, createdAt
    }

    func encode(to encoder: any Encoder) throws {
        let c = stored
        var json = encoder.container(keyedBy: CodingKeys.self)
        try json.encode(c.id.uuidString.lowercased(), forKey: .id)
        try json.encode(c.kind, forKey: .kind)
        try json.encodeIfPresent(c.label, forKey: .label)
        try json.encode(c.subject, forKey: .subject)
        try json.encode(c.issuer, forKey: .issuer)
        try json.encode(c.serialNumber, forKey: .serialNumber)
        try json.encode(c.organizationIdentifier, forKey: .organizationIdentifier)
        try json.encode(c.roles, forKey: .roles)
        try json.encodeIfPresent(c.ncaName, forKey: .ncaName)
        try json.encodeIfPresent(c.ncaId, forKey: .ncaId)
        try json.encode(c.notBefore, forKey: .notBefore)
        try json.encode(c.notAfter, forKey: .notAfter)
        try json.encode(c.notAfter < now, forKey: .expired)
        try json.encode(c.sha256Fingerprint, forKey: .sha256Fingerprint)
        try json.encode(c.certificatePEM, forKey: .certificate)
        try json.encode(usedBy.map { $0.uuidString.lowercased() }, forKey: .usedBy)
        try json.encode(c.createdAt, forKey: .createdAt)
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
