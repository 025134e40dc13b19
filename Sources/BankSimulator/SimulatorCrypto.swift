/// What the simulator needs to know about a certificate (a QWAC presented over TLS or a QSealC from a JWKS).
public struct SimulatorCertificateInfo: Sendable, Equatable {
    /// SHA-256 of the DER, as base64url without padding (the JWK `x5t#S256`, RFC 7517 §4.9).
    public var sha256Base64URL: String
    /// The eIDAS `organizationIdentifier` (2.5.4.97), e.g. `PSDFR-ACPR-12345`, if any.
    public var organizationIdentifier: String?
    /// The subject DN in a printable form, for `tls_client_auth_subject_dn`.
    public var subject: String
    /// End of validity, seconds since the epoch.
    public var notAfter: Int64
    /// True when the public key is RSA.
    public var isRSA: Bool
    /// True when the certificate itself is signed with RSASSA-PSS (refused by BPCE).
    public var isSignedWithRSASSAPSS: Bool
    /// An RSA key's modulus and public exponent, big-endian without leading zero octets (what a JWK's `n` and `e`
    /// encode, RFC 7518 §6.3.1).
    public var rsaModulus: [UInt8]?
    public var rsaExponent: [UInt8]?
    /// The PSD2 roles its QCStatement grants (ETSI TS 119 495 §5.1: `PSP_AI`, `PSP_PI`, `PSP_IC`, `PSP_AS`), empty
    /// when it has no PSD2 QCStatement.
    public var psd2Roles: Set<String> = []
}

/// The seam between the simulator and the cryptography library: digests, certificate parsing and RSA
/// signature verification. `passerelle simulator` plugs in OpenSSLKit; the simulator itself never does crypto.
public protocol SimulatorCrypto: Sendable {
    /// SHA-256 of `bytes`.
    func sha256(_ bytes: [UInt8]) -> [UInt8]
    /// Parses a DER certificate.
    /// - Throws: Any error when the bytes are not an X.509 certificate.
    func certificateInfo(der: [UInt8]) throws -> SimulatorCertificateInfo
    /// Whether `signature` is a valid RSASSA-PKCS1-v1_5 / SHA-256 signature of `message` by the key of the
    /// certificate `certificateDER` (Cavage `rsa-sha256`).
    func verifyRSASHA256(message: [UInt8], signature: [UInt8], certificateDER: [UInt8]) -> Bool
    /// Whether `certificateDER` chains to one of the simulator's trusted CAs (used for JWKS `x5c` chains).
    func chainsToTrustedCA(_ certificateDER: [UInt8], intermediates: [[UInt8]]) -> Bool
}

// MARK: - Base64

enum Base64Text {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [
                alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)],
            ]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], 61]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func encodeURL(_ bytes: [UInt8]) -> String {
        String(encode(bytes).replacing("+", with: "-").replacing("/", with: "_").prefix { $0 != "=" })
    }

    /// Decodes standard base64 with padding (strict: RFC 4648 §4); nil otherwise.
    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            var n: UInt32 = 0
            var pads = 0
            for j in 0..<4 {
                let c = chars[i + j]
                let v: UInt32
                switch c {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - 65)
                case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - 97 + 26)
                case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - 48 + 52)
                case UInt8(ascii: "+"): v = 62
                case UInt8(ascii: "/"): v = 63
                case UInt8(ascii: "="):
                    guard i + 4 == chars.count, j >= 2 else { return nil }
                    v = 0
                    pads += 1
                default: return nil
                }
                if pads > 0 && c != UInt8(ascii: "=") { return nil }
                n = n << 6 | v
            }
            out.append(UInt8(n >> 16))
            if pads < 2 { out.append(UInt8(n >> 8 & 0xFF)) }
            if pads < 1 { out.append(UInt8(n & 0xFF)) }
            i += 4
        }
        return out
    }
}
