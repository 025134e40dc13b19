/// What a certificate is used for, as guessed by ``Certificate/kind``: a QWAC has QcType web or a TLS extended
/// key usage; a QSealC has QcType eseal, or nonRepudiation without a TLS extended key usage.
public enum CertificateKind: String, Sendable, Equatable {
    /// A website/TLS certificate (QWAC-like): used for mutual TLS.
    case qwac
    /// An electronic seal certificate (QSealC-like): used to sign requests.
    case qseal
    /// Neither (e.g. a CA certificate).
    case unknown
}

/// X.509 key usage bits as OpenSSL reports them (`X509_get_key_usage`, `KU_*`).
public struct KeyUsage: OptionSet, Sendable, Hashable {
    /// OpenSSL's `KU_*` bit mask.
    public let rawValue: UInt32
    /// Wraps an OpenSSL `KU_*` bit mask.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `KU_DIGITAL_SIGNATURE`.
    public static let digitalSignature = KeyUsage(rawValue: 0x80)
    /// `KU_NON_REPUDIATION` (contentCommitment): typical of a QSealC.
    public static let nonRepudiation = KeyUsage(rawValue: 0x40)
    /// `KU_KEY_ENCIPHERMENT`.
    public static let keyEncipherment = KeyUsage(rawValue: 0x20)
    /// `KU_DATA_ENCIPHERMENT`.
    public static let dataEncipherment = KeyUsage(rawValue: 0x10)
    /// `KU_KEY_AGREEMENT`.
    public static let keyAgreement = KeyUsage(rawValue: 0x08)
    /// `KU_KEY_CERT_SIGN`: a CA.
    public static let keyCertSign = KeyUsage(rawValue: 0x04)
    /// `KU_CRL_SIGN`.
    public static let cRLSign = KeyUsage(rawValue: 0x02)
    /// `KU_ENCIPHER_ONLY`.
    public static let encipherOnly = KeyUsage(rawValue: 0x01)
    /// `KU_DECIPHER_ONLY`.
    public static let decipherOnly = KeyUsage(rawValue: 0x8000)
}

/// Well-known extended key usage OIDs.
public enum ExtendedKeyUsage {
    /// id-kp-serverAuth.
    public static let serverAuth = "1.3.6.1.5.5.7.3.1"
    /// id-kp-clientAuth.
    public static let clientAuth = "1.3.6.1.5.5.7.3.2"
}
