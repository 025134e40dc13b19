/// Envelope encryption for secrets at rest (refresh tokens, private keys, client secrets).
///
/// Each ``seal(_:associatedData:)`` draws a fresh random 32-byte data key, encrypts the plaintext with it using
/// AES-256-GCM (the caller's associated data authenticated), then wraps the data key with AES-256-GCM under the
/// current master key (the format byte and key version authenticated). Pass associated data that names the owner
/// row (e.g. `"registration:42:refresh_token"`): a ciphertext copied to another row then fails to open.
public struct EnvelopeCipher: Sendable {
    /// The master keys.
    public let keyring: MasterKeyring

    /// - Parameter keyring: the master keys; new secrets use its current version.
    public init(keyring: MasterKeyring) { self.keyring = keyring }

    /// Seals `plaintext` bound to `associatedData`.
    /// - Throws: `EnvelopeError.cryptoFailure` if OpenSSL fails (never with secret data in it).
    public func seal(_ plaintext: [UInt8], associatedData: [UInt8]) throws(EnvelopeError) -> SealedSecret {
        var dataKey = Random.bytes(AESGCM.keySize)
        defer { wipe(&dataKey) }
        let nonce = Random.bytes(AESGCM.nonceSize)
        do {
            let data = try AESGCM.seal(plaintext, key: dataKey, nonce: nonce, associatedData: associatedData)
            var sealed = SealedSecret(
                keyVersion: keyring.currentVersion, wrapNonce: [], wrappedKey: [], wrapTag: [], nonce: nonce,
                ciphertext: data.ciphertext, tag: data.tag)
            try wrap(dataKey, into: &sealed)
            return sealed
        } catch {
            throw .cryptoFailure(error)
        }
    }

    /// Seals the UTF-8 bytes of `plaintext` bound to the UTF-8 bytes of `associatedData`.
    public func seal(_ plaintext: String, associatedData: String) throws(EnvelopeError) -> SealedSecret {
        var bytes = Array(plaintext.utf8)
        defer { wipe(&bytes) }
        return try seal(bytes, associatedData: Array(associatedData.utf8))
    }

    /// Opens a sealed secret.
    /// - Throws: `.unknownKeyVersion` when the keyring lacks its master key version; `.decryptionFailed` for any
    ///   tampering (ciphertext, tags, nonces, wrapped key) or a different associated data.
    public func open(_ sealed: SealedSecret, associatedData: [UInt8]) throws(EnvelopeError) -> [UInt8] {
        var dataKey = try unwrap(sealed)
        defer { wipe(&dataKey) }
        guard
            let plaintext = AESGCM.open(
                sealed.ciphertext, tag: sealed.tag, key: dataKey, nonce: sealed.nonce, associatedData: associatedData)
        else { throw .decryptionFailed }
        return plaintext
    }

    /// Opens a secret sealed with ``seal(_:associatedData:)-(String,String)``.
    /// - Throws: as ``open(_:associatedData:)-([UInt8])``, or `.decryptionFailed` if the plaintext is not UTF-8.
    public func open(_ sealed: SealedSecret, associatedData: String) throws(EnvelopeError) -> String {
        var bytes = try open(sealed, associatedData: Array(associatedData.utf8))
        defer { wipe(&bytes) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .decryptionFailed }
        return text
    }

    /// Re-wraps the data key under the current master version (for `rotate-master-key`); the data part is
    /// unchanged, so no associated data is needed. A secret already at the current version is returned as is.
    /// - Throws: `.unknownKeyVersion`, `.decryptionFailed` (wrapped key tampered with), `.cryptoFailure`.
    public func rewrap(_ sealed: SealedSecret) throws(EnvelopeError) -> SealedSecret {
        guard sealed.keyVersion != keyring.currentVersion else { return sealed }
        var dataKey = try unwrap(sealed)
        defer { wipe(&dataKey) }
        var result = sealed
        result.keyVersion = keyring.currentVersion
        do {
            try wrap(dataKey, into: &result)
        } catch {
            throw .cryptoFailure(error)
        }
        return result
    }

    /// Whether `sealed` is wrapped under an older master version than the current one.
    public func needsRewrap(_ sealed: SealedSecret) -> Bool { sealed.keyVersion != keyring.currentVersion }

    // MARK: - Key wrapping

    private func wrap(_ dataKey: [UInt8], into sealed: inout SealedSecret) throws(OpenSSLError) {
        guard let master = keyring.key(version: sealed.keyVersion) else {
            preconditionFailure("the current version is always in the keyring")
        }
        let nonce = Random.bytes(AESGCM.nonceSize)
        let wrapped = try AESGCM.seal(dataKey, key: master, nonce: nonce, associatedData: sealed.header)
        sealed.wrapNonce = nonce
        sealed.wrappedKey = wrapped.ciphertext
        sealed.wrapTag = wrapped.tag
    }

    private func unwrap(_ sealed: SealedSecret) throws(EnvelopeError) -> [UInt8] {
        guard let master = keyring.key(version: sealed.keyVersion) else {
            throw .unknownKeyVersion(sealed.keyVersion)
        }
        guard
            let key = AESGCM.open(
                sealed.wrappedKey, tag: sealed.wrapTag, key: master, nonce: sealed.wrapNonce,
                associatedData: sealed.header),
            key.count == AESGCM.keySize
        else { throw .decryptionFailed }
        return key
    }
}

/// Why a secret could not be sealed or opened. Descriptions never contain plaintext or keys.
public enum EnvelopeError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Authentication failed: tampered data, wrong associated data (another row), or a wrong master key.
    case decryptionFailed
    /// The secret was sealed under a master key version the keyring does not hold.
    case unknownKeyVersion(UInt32)
    /// The stored value is not a sealed secret.
    case malformed
    /// OpenSSL failed while encrypting.
    case cryptoFailure(OpenSSLError)

    public var description: String {
        switch self {
        case .decryptionFailed: "secret cannot be decrypted (tampered, wrong owner or wrong master key)"
        case .unknownKeyVersion(let v): "secret is sealed under master key version \(v), which is not configured"
        case .malformed: "stored value is not a sealed secret"
        case .cryptoFailure(let e): "encryption failed: \(e)"
        }
    }
}
