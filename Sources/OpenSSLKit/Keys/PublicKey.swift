internal import COpenSSL
import FoundationEssentials

/// A public key (usually a certificate's), kept as an `EVP_PKEY`.
///
/// `@unchecked Sendable`: the `EVP_PKEY` is never modified after `init`, and OpenSSL 3 allows concurrent
/// verification with one key (each operation uses its own `EVP_MD_CTX`).
public final class PublicKey: @unchecked Sendable {
    let handle: OpaquePointer

    /// The key algorithm; only RSA keys can verify `rsa-sha256` signatures or become a JWK.
    public let algorithm: KeyAlgorithm
    /// Key size in bits (`EVP_PKEY_get_bits`).
    public let bits: Int
    /// RSA modulus, big-endian, without leading zero byte (nil for non-RSA keys).
    public let rsaModulus: [UInt8]?
    /// RSA public exponent, big-endian, without leading zero byte (nil for non-RSA keys).
    public let rsaExponent: [UInt8]?
    /// DER SubjectPublicKeyInfo (`i2d_PUBKEY`), e.g. for a keyId holding the base64 public key (docs/protocol.md §5.5).
    public let subjectPublicKeyInfoDER: [UInt8]

    /// Takes ownership of `handle`: it is freed with the object, or at once if reading the key fails.
    init(owning handle: OpaquePointer) throws {
        let algorithm = KeyAlgorithm(handle)
        do {
            if algorithm == .rsa {
                rsaModulus = try Self.bigNumberParameter(handle, OSSL_PKEY_PARAM_RSA_N)
                rsaExponent = try Self.bigNumberParameter(handle, OSSL_PKEY_PARAM_RSA_E)
            } else {
                rsaModulus = nil
                rsaExponent = nil
            }
            subjectPublicKeyInfoDER = try Self.subjectPublicKeyInfo(handle)
        } catch {
            EVP_PKEY_free(handle)
            throw error
        }
        self.handle = handle
        self.algorithm = algorithm
        bits = Int(EVP_PKEY_get_bits(handle))
    }

    /// DER SubjectPublicKeyInfo of a key (`i2d_PUBKEY`, called once for the length and once to write).
    static func subjectPublicKeyInfo(_ key: OpaquePointer) throws -> [UInt8] {
        let length = i2d_PUBKEY(key, nil)
        guard length > 0 else { throw OpenSSLError.drain("i2d_PUBKEY") }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer in
            var p: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d_PUBKEY(key, &p)
        }
        guard written == length else { throw OpenSSLError.drain("i2d_PUBKEY") }
        return der
    }

    /// Parses a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block (`PEM_read_bio_PUBKEY`).
    /// - Throws: `OpenSSLError` when the text holds no public key.
    public convenience init(pem: String) throws {
        OpenSSLError.clearQueue()
        let key = try withReadOnlyMemoryBIO(wrapping: Array(pem.utf8)) { bio in
            PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let key else { throw OpenSSLError.drain("PEM_read_bio_PUBKEY") }
        try self.init(owning: key)
    }

    /// Parses a DER SubjectPublicKeyInfo (`d2i_PUBKEY`), e.g. a base64-decoded keyId.
    /// - Throws: `OpenSSLError` when the bytes are not a public key.
    public convenience init(subjectPublicKeyInfoDER der: [UInt8]) throws {
        try self.init(owning: decodingDER(der, "d2i_PUBKEY") { d2i_PUBKEY(nil, $0, $1) })
    }

    deinit { EVP_PKEY_free(handle) }

    /// Whether `signature` is a valid RSASSA-PKCS1-v1_5 (or, for EC keys, ECDSA) signature over SHA-256 of `data`
    /// (`EVP_DigestVerifyInit` + `EVP_DigestVerify`, a fresh context per call).
    /// Returns false for any mismatch, including a malformed signature.
    public func verify(signature: [UInt8], sha256Of data: some ContiguousBytes) -> Bool {
        OpenSSLError.clearQueue()
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestVerifyInit(ctx, nil, SHA256Algorithm.md, nil, handle) == 1 else {
            ERR_clear_error()
            return false
        }
        let rc = data.withUnsafeBytes { tbs in
            signature.withUnsafeBufferPointer { sig in
                EVP_DigestVerify(
                    ctx, sig.baseAddress, sig.count, tbs.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    tbs.count)
            }
        }
        ERR_clear_error()  // a failed verification queues errors that mean nothing to the caller
        return rc == 1
    }

    /// Whether both keys are the same public key (`EVP_PKEY_eq`).
    public func isSameKey(as other: PublicKey) -> Bool {
        defer { ERR_clear_error() }
        return EVP_PKEY_eq(handle, other.handle) == 1
    }

    /// Reads a big-number parameter (`EVP_PKEY_get_bn_param`) as minimal big-endian bytes (`BN_bn2bin`).
    static func bigNumberParameter(_ key: OpaquePointer, _ name: String) throws -> [UInt8] {
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(key, name, &bn) == 1, let bn else {
            throw OpenSSLError.drain("EVP_PKEY_get_bn_param(\(name))")
        }
        defer { BN_free(bn) }
        var bytes = [UInt8](repeating: 0, count: (Int(BN_num_bits(bn)) + 7) / 8)
        _ = bytes.withUnsafeMutableBufferPointer { BN_bn2bin(bn, $0.baseAddress) }
        return bytes
    }
}

/// The algorithm of a key, as far as Passerelle cares.
public enum KeyAlgorithm: Sendable, Equatable, CustomStringConvertible {
    /// `rsaEncryption` keys (not RSA-PSS-restricted keys).
    case rsa
    /// Anything else, named by OpenSSL (`EC`, `RSA-PSS`, `ED25519`, …).
    case other(String)

    init(_ key: OpaquePointer) {
        if EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA {
            self = .rsa
        } else if let name = EVP_PKEY_get0_type_name(key) {
            self = .other(String(cString: name))
        } else {
            self = .other("unknown")
        }
    }

    public var description: String {
        switch self {
        case .rsa: "RSA"
        case .other(let name): name
        }
    }
}
