internal import COpenSSL
import FoundationEssentials

/// An RSA private key (a QSealC's or a QWAC's), parsed once from PEM and kept as an `EVP_PKEY`.
///
/// Parsing costs about as much as a signature, so build one `PrivateKey` per key and reuse it.
/// `@unchecked Sendable`: the `EVP_PKEY` is never modified after `init`, and OpenSSL 3 allows concurrent
/// signing with one key as long as each operation has its own `EVP_MD_CTX` (which ``signSHA256(_:)`` creates).
public final class PrivateKey: @unchecked Sendable {
    let handle: OpaquePointer

    /// Key size in bits (`EVP_PKEY_get_bits`).
    public let bits: Int
    /// The matching public key.
    public let publicKey: PublicKey

    /// Parses a PEM private key: PKCS#1 (`BEGIN RSA PRIVATE KEY`), PKCS#8 (`BEGIN PRIVATE KEY`), or encrypted
    /// PKCS#8 (`BEGIN ENCRYPTED PRIVATE KEY`, or a legacy `Proc-Type: 4,ENCRYPTED` block) with `passphrase`
    /// (`PEM_read_bio_PrivateKey`; OpenSSL never prompts on a terminal).
    /// - Throws: `PrivateKeyError.passphraseRequired` (encrypted, no passphrase), `.wrongPassphrase`,
    ///   `.notRSA` (EC, Ed25519, RSA-PSS-only keys), `.invalidPEM` (no key found). Errors never contain key bytes.
    public init(pem: String, passphrase: String? = nil) throws(PrivateKeyError) {
        let encrypted = pem.contains("ENCRYPTED PRIVATE KEY") || pem.contains("Proc-Type: 4,ENCRYPTED")
        if encrypted && (passphrase ?? "").isEmpty { throw .passphraseRequired }
        OpenSSLError.clearQueue()
        var pemBytes = Array(pem.utf8)
        defer { pemBytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) } }
        let key: OpaquePointer?
        do {
            key = try withReadOnlyMemoryBIO(wrapping: pemBytes) { bio in
                var secret = Array((passphrase ?? "").utf8CString)
                defer { secret.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) } }
                return secret.withUnsafeMutableBufferPointer { buffer in
                    PEM_read_bio_PrivateKey(bio, nil, passphraseCallback, buffer.baseAddress)
                }
            }
        } catch {
            throw .invalidPEM("\(error)")
        }
        guard let key else {
            let error = OpenSSLError.drain("PEM_read_bio_PrivateKey")
            throw encrypted ? .wrongPassphrase : .invalidPEM(error.description)
        }
        guard KeyAlgorithm(key) == .rsa else {
            let name = KeyAlgorithm(key).description
            EVP_PKEY_free(key)
            throw .notRSA(name)
        }
        handle = key
        bits = Int(EVP_PKEY_get_bits(key))
        do {
            publicKey = try Self.extractPublicKey(key)
        } catch {
            EVP_PKEY_free(key)
            throw .invalidPEM("\(error)")
        }
    }

    deinit { EVP_PKEY_free(handle) }

    /// Whether this key is the private half of `certificate`'s public key (`EVP_PKEY_eq`).
    public func matches(_ certificate: Certificate) -> Bool {
        defer { ERR_clear_error() }
        return EVP_PKEY_eq(handle, certificate.publicKey.handle) == 1
    }

    /// RSASSA-PKCS1-v1_5 signature over SHA-256 of `data` (`rsa-sha256`, RS256): `EVP_DigestSignInit` +
    /// `EVP_DigestSign` with a fresh `EVP_MD_CTX`. Safe to call concurrently.
    /// - Throws: `OpenSSLError` if OpenSSL fails (it names the function, never the key).
    public func signSHA256(_ data: some ContiguousBytes) throws(OpenSSLError) -> [UInt8] {
        OpenSSLError.clearQueue()
        guard let ctx = EVP_MD_CTX_new() else { throw OpenSSLError.drain("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        // The context is used once, so OpenSSL need not duplicate it to keep it reusable after the final step.
        EVP_MD_CTX_set_flags(ctx, EVP_MD_CTX_FLAG_FINALISE)
        // Default padding for an RSA EVP_PKEY is PKCS#1 v1.5 (RSA_PKCS1_PADDING).
        guard EVP_DigestSignInit(ctx, nil, SHA256Algorithm.md, nil, handle) == 1 else {
            throw OpenSSLError.drain("EVP_DigestSignInit")
        }
        var signature = [UInt8](repeating: 0, count: Int(EVP_PKEY_get_size(handle)))
        var length = signature.count
        let rc = data.withUnsafeBytes { tbs in
            signature.withUnsafeMutableBufferPointer { sig in
                EVP_DigestSign(
                    ctx, sig.baseAddress, &length, tbs.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    tbs.count)
            }
        }
        guard rc == 1 else { throw OpenSSLError.drain("EVP_DigestSign") }
        if length < signature.count { signature.removeLast(signature.count - length) }
        return signature
    }

    /// A separate `EVP_PKEY` holding only the public half (DER round trip through `i2d_PUBKEY`/`d2i_PUBKEY`).
    private static func extractPublicKey(_ key: OpaquePointer) throws -> PublicKey {
        try PublicKey(subjectPublicKeyInfoDER: PublicKey.subjectPublicKeyInfo(key))
    }
}

/// Copies the NUL-terminated passphrase passed as `userdata` into OpenSSL's buffer (`pem_password_cb`).
/// With no passphrase it returns -1, so OpenSSL fails instead of prompting on a terminal.
private let passphraseCallback:
    @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?)
        -> Int32 = { buffer, size, _, userdata in
            guard let buffer, let userdata else { return -1 }
            let source = userdata.assumingMemoryBound(to: CChar.self)
            let length = strlen(source)
            guard length > 0, length <= Int(size) else { return -1 }
            memcpy(buffer, source, length)
            return Int32(length)
        }

/// Why a private key could not be loaded. Descriptions never contain key material or passphrases.
public enum PrivateKeyError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The text holds no parsable private key (OpenSSL's reasons attached).
    case invalidPEM(String)
    /// The key is encrypted and no passphrase was given.
    case passphraseRequired
    /// The key is encrypted and the passphrase does not decrypt it.
    case wrongPassphrase
    /// The key is not an RSA key (its algorithm name attached).
    case notRSA(String)

    public var description: String {
        switch self {
        case .invalidPEM(let reason): "no private key found in the PEM text (\(reason))"
        case .passphraseRequired: "the private key is encrypted: a passphrase is required"
        case .wrongPassphrase: "the passphrase does not decrypt the private key"
        case .notRSA(let algorithm): "the private key is \(algorithm), not RSA"
        }
    }
}
