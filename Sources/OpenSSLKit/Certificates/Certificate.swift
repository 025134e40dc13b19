internal import COpenSSL
internal import CShims
import FoundationEssentials

/// An X.509 certificate (a QWAC, a QSealC, a CA, a TLS server certificate), parsed once.
///
/// Every property is read from the `X509` in `init` and stored, so reading them never touches OpenSSL.
/// `@unchecked Sendable`: the `X509` handle is never modified after `init` (it is only read by chain
/// verification, which OpenSSL allows from several threads).
public final class Certificate: @unchecked Sendable {
    let handle: OpaquePointer

    /// The DER encoding.
    public let der: [UInt8]
    /// Subject DN in RFC 2253 order and escaping, UTF-8 kept (e.g. `CN=tpp.example,organizationIdentifier=PSDFR-ACPR-12345,O=…,C=FR`).
    public let subject: String
    /// Issuer DN, same format as ``subject``.
    public let issuer: String
    /// Serial number, upper-case hex without separators (`BN_bn2hex`), e.g. `1A2B…`.
    public let serialNumber: String
    /// Start of validity.
    public let notBefore: Date
    /// End of validity.
    public let notAfter: Date
    /// SHA-256 of ``der``.
    public let sha256Fingerprint: [UInt8]
    /// The eIDAS `organizationIdentifier` (OID 2.5.4.97) of the subject, e.g. `PSDFR-ACPR-12345`.
    public let organizationIdentifier: String?
    /// The PSD2 QCStatement (roles, NCA), if present.
    public let psd2: PSD2Attributes?
    /// The eIDAS QcType statement values, if present (`[.web]` for a QWAC, `[.eseal]` for a QSealC).
    public let qcTypes: [QcType]
    /// Key usage bits; nil when the certificate has no keyUsage extension.
    public let keyUsage: KeyUsage?
    /// Extended key usage OIDs in dotted form (e.g. `1.3.6.1.5.5.7.3.2` = clientAuth); empty when absent.
    public let extendedKeyUsage: [String]
    /// The signature algorithm's OpenSSL short name, e.g. `RSA-SHA256`, `RSASSA-PSS`, `ecdsa-with-SHA256`.
    public let signatureAlgorithm: String
    /// Whether the certificate is signed with RSASSA-PSS (refused by BPCE, docs/protocol.md §1).
    public let isRSASSAPSS: Bool
    /// The subject public key.
    public let publicKey: PublicKey

    // MARK: - Parsing

    /// Parses the first certificate of a PEM text (`PEM_read_bio_X509`).
    /// - Throws: `OpenSSLError` when no certificate can be read.
    public convenience init(pem: String) throws {
        OpenSSLError.clearQueue()
        let x509 = try withReadOnlyMemoryBIO(wrapping: Array(pem.utf8)) { PEM_read_bio_X509($0, nil, nil, nil) }
        guard let x509 else { throw OpenSSLError.drain("PEM_read_bio_X509") }
        try self.init(owning: x509)
    }

    /// Parses a DER certificate (`d2i_X509`).
    /// - Throws: `OpenSSLError` when the bytes are not one certificate.
    public convenience init(der: [UInt8]) throws {
        try self.init(owning: decodingDER(der, "d2i_X509") { d2i_X509(nil, $0, $1) })
    }

    /// All certificates of a PEM bundle, in file order (leaf first for a chain file).
    /// - Throws: `OpenSSLError` when a block cannot be parsed or there is no certificate at all.
    public static func chain(pem: String) throws -> [Certificate] {
        let marker = "-----BEGIN CERTIFICATE-----"
        let end = "-----END CERTIFICATE-----"
        var result: [Certificate] = []
        var rest = Substring(pem)
        while let start = rest.firstRange(of: marker),
            let stop = rest[start.upperBound...].firstRange(of: end)
        {
            result.append(try Certificate(pem: String(rest[start.lowerBound..<stop.upperBound])))
            rest = rest[stop.upperBound...]
        }
        guard !result.isEmpty else {
            throw OpenSSLError(operation: "Certificate.chain", stack: ["no certificate in PEM text"])
        }
        return result
    }

    /// Takes ownership of `x509` (freed with the object, or at once if reading it fails) and reads every property.
    init(owning x509: OpaquePointer) throws {
        let fields: Fields
        do {
            fields = try Fields(x509)
        } catch {
            X509_free(x509)
            throw error
        }
        handle = x509
        der = fields.der
        sha256Fingerprint = Digest.sha256(fields.der)
        subject = fields.subject
        issuer = fields.issuer
        serialNumber = fields.serialNumber
        notBefore = fields.notBefore
        notAfter = fields.notAfter
        organizationIdentifier = fields.organizationIdentifier
        psd2 = fields.statements?.psd2
        qcTypes = fields.statements?.qcTypes ?? []
        extendedKeyUsage = fields.extendedKeyUsage
        keyUsage = fields.keyUsage
        signatureAlgorithm = fields.signatureAlgorithm
        isRSASSAPSS = fields.isRSASSAPSS
        publicKey = fields.publicKey
    }

    /// Everything read from the `X509`, gathered before the object exists so a failure can free the handle.
    private struct Fields {
        var der: [UInt8]
        var subject, issuer, serialNumber, signatureAlgorithm: String
        var notBefore, notAfter: Date
        var organizationIdentifier: String?
        var statements: QCStatements?
        var extendedKeyUsage: [String]
        var keyUsage: KeyUsage?
        var isRSASSAPSS: Bool
        var publicKey: PublicKey

        init(_ x509: OpaquePointer) throws {
            let length = i2d_X509(x509, nil)
            guard length > 0 else { throw OpenSSLError.drain("i2d_X509") }
            var bytes = [UInt8](repeating: 0, count: Int(length))
            bytes.withUnsafeMutableBufferPointer { buffer in
                var p: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
                _ = i2d_X509(x509, &p)
            }
            der = bytes
            subject = try Certificate.distinguishedName(X509_get_subject_name(x509))
            issuer = try Certificate.distinguishedName(X509_get_issuer_name(x509))
            serialNumber = try Certificate.serial(x509)
            notBefore = try Certificate.date(X509_get0_notBefore(x509), "notBefore")
            notAfter = try Certificate.date(X509_get0_notAfter(x509), "notAfter")
            organizationIdentifier = Certificate.nameEntry(X509_get_subject_name(x509), nid: NID_organizationIdentifier)

            let extensions = Certificate.extensions(x509)
            // A malformed QCStatements or EKU extension reads as absent rather than making the certificate unusable.
            statements = extensions["1.3.6.1.5.5.7.1.3"].flatMap { try? QCStatements(der: $0) }
            extendedKeyUsage = extensions["2.5.29.37"].flatMap { try? Certificate.oidSequence($0) } ?? []
            // X509_get_key_usage also caches the extensions in the X509 now, so later readers never write to it.
            let usage = X509_get_key_usage(x509)  // UINT32_MAX when the extension is absent
            keyUsage = usage == UInt32.max ? nil : KeyUsage(rawValue: usage)

            let nid = X509_get_signature_nid(x509)
            signatureAlgorithm = OBJ_nid2sn(nid).map { String(cString: $0) } ?? "unknown"
            isRSASSAPSS = nid == NID_rsassaPss

            guard let key = X509_get_pubkey(x509) else { throw OpenSSLError.drain("X509_get_pubkey") }
            publicKey = try PublicKey(owning: key)
        }
    }

    deinit { X509_free(handle) }

    // MARK: - Derived values

    /// PEM encoding of ``der`` (64-column base64 between `BEGIN/END CERTIFICATE`).
    public var pem: String {
        let b64 = Base64.encode(der)
        var lines: [Substring] = []
        var index = b64.startIndex
        while index < b64.endIndex {
            let next = b64.index(index, offsetBy: 64, limitedBy: b64.endIndex) ?? b64.endIndex
            lines.append(b64[index..<next])
            index = next
        }
        return "-----BEGIN CERTIFICATE-----\n" + lines.joined(separator: "\n") + "\n-----END CERTIFICATE-----\n"
    }

    /// The fingerprint as `openssl x509 -noout -fingerprint -sha256` prints it: `AB:CD:…` (upper case).
    public var sha256FingerprintHex: String { Hex.colonSeparated(sha256Fingerprint) }

    /// JWK `x5t#S256`: base64url (no padding) of the SHA-256 of the DER (RFC 7517 §4.9).
    public var x5tS256: String { Base64.urlEncode(sha256Fingerprint) }

    /// Base64 (standard, padded) of the DER, as in a JWK `x5c` entry.
    public var base64DER: String { Base64.encode(der) }

    /// Whether `date` lies within `notBefore...notAfter`.
    public func isValid(at date: Date = Date()) -> Bool { notBefore <= date && date <= notAfter }

    /// A guess of what the certificate is for, from QcType first, then key usages (see ``CertificateKind``).
    public var kind: CertificateKind {
        if qcTypes.contains(.web) { return .qwac }
        if qcTypes.contains(.eseal) { return .qseal }
        let tls =
            extendedKeyUsage.contains(ExtendedKeyUsage.clientAuth)
            || extendedKeyUsage.contains(ExtendedKeyUsage.serverAuth)
        if tls { return .qwac }
        if keyUsage?.contains(.nonRepudiation) == true { return .qseal }
        return .unknown
    }

    // MARK: - OpenSSL readers

    /// RFC 2253 rendering without escaping non-ASCII bytes (`X509_NAME_print_ex`).
    private static func distinguishedName(_ name: OpaquePointer?) throws -> String {
        guard let name else { return "" }
        let flags = cshim_XN_FLAG_RFC2253() & ~UInt(ASN1_STRFLGS_ESC_MSB)
        let bytes = try collectingMemoryBIO { bio in
            guard X509_NAME_print_ex(bio, name, 0, flags) >= 0 else { throw OpenSSLError.drain("X509_NAME_print_ex") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func nameEntry(_ name: OpaquePointer?, nid: Int32) -> String? {
        guard let name else { return nil }
        let index = X509_NAME_get_index_by_NID(name, nid, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index), let data = X509_NAME_ENTRY_get_data(entry)
        else { return nil }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = ASN1_STRING_to_UTF8(&out, data)
        guard length >= 0, let out else { return nil }
        defer { cshim_OPENSSL_free(out) }
        return String(decoding: UnsafeBufferPointer(start: out, count: Int(length)), as: UTF8.self)
    }

    private static func serial(_ x509: OpaquePointer) throws -> String {
        guard let bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509), nil) else {
            throw OpenSSLError.drain("ASN1_INTEGER_to_BN")
        }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { throw OpenSSLError.drain("BN_bn2hex") }
        defer { cshim_OPENSSL_free(hex) }
        return String(cString: hex)
    }

    private static func date(_ time: UnsafePointer<ASN1_TIME>?, _ field: String) throws -> Date {
        var tm = tm()
        guard let time, ASN1_TIME_to_tm(time, &tm) == 1 else { throw OpenSSLError.drain("ASN1_TIME_to_tm(\(field))") }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&tm)))
    }

    /// Extension values by dotted OID (`X509_get_ext`, `X509_EXTENSION_get_data`).
    private static func extensions(_ x509: OpaquePointer) -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for i in 0..<X509_get_ext_count(x509) {
            guard let ext = X509_get_ext(x509, i), let object = X509_EXTENSION_get_object(ext),
                let data = X509_EXTENSION_get_data(ext)
            else { continue }
            var buffer = [CChar](repeating: 0, count: 128)
            let n = OBJ_obj2txt(&buffer, Int32(buffer.count), object, 1)
            guard n > 0, n < buffer.count else { continue }
            let oid = String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let length = Int(ASN1_STRING_length(data))
            guard let bytes = ASN1_STRING_get0_data(data) else { continue }
            result[oid] = Array(UnsafeBufferPointer(start: bytes, count: length))
        }
        return result
    }

    /// `SEQUENCE OF OBJECT IDENTIFIER` (ExtKeyUsageSyntax, RFC 5280 §4.2.1.12).
    private static func oidSequence(_ der: [UInt8]) throws -> [String] {
        var outer = DERReader(der)
        var items = try outer.next(tag: DERReader.sequence).reader
        var oids: [String] = []
        while !items.isAtEnd {
            oids.append(try DERReader.objectIdentifier(items.next(tag: DERReader.objectIdentifier).content))
        }
        return oids
    }
}

extension Certificate: Equatable, Hashable, CustomStringConvertible {
    /// Certificates are equal when their DER encodings are.
    public static func == (lhs: Certificate, rhs: Certificate) -> Bool { lhs.der == rhs.der }
    /// Hashes the fingerprint (consistent with `==` on the DER).
    public func hash(into hasher: inout Hasher) { hasher.combine(sha256Fingerprint) }
    /// Subject, serial and fingerprint: public information, safe to log.
    public var description: String {
        "Certificate(subject: \(subject), serial: \(serialNumber), sha256: \(sha256FingerprintHex))"
    }
}
