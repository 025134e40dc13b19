internal import COpenSSL

/// AES-256-GCM with a 96-bit nonce and a 128-bit tag (`EVP_aes_256_gcm`), a fresh `EVP_CIPHER_CTX` per call.
enum AESGCM {
    static let keySize = 32
    static let nonceSize = 12
    static let tagSize = 16

    /// Encrypts `plaintext`; returns ciphertext and tag.
    static func seal(
        _ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8]
    ) throws(OpenSSLError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        precondition(key.count == keySize && nonce.count == nonceSize)
        OpenSSLError.clearQueue()
        guard let ctx = EVP_CIPHER_CTX_new() else { throw OpenSSLError.drain("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }  // also cleanses the expanded key schedule
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else {
            throw OpenSSLError.drain("EVP_EncryptInit_ex")
        }
        var length: Int32 = 0
        if !associatedData.isEmpty {
            guard EVP_EncryptUpdate(ctx, nil, &length, associatedData, Int32(associatedData.count)) == 1 else {
                throw OpenSSLError.drain("EVP_EncryptUpdate(aad)")
            }
        }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var written: Int32 = 0
        if !plaintext.isEmpty {
            let rc = ciphertext.withUnsafeMutableBufferPointer {
                EVP_EncryptUpdate(ctx, $0.baseAddress, &written, plaintext, Int32(plaintext.count))
            }
            guard rc == 1 else { throw OpenSSLError.drain("EVP_EncryptUpdate") }
        }
        let rc = ciphertext.withUnsafeMutableBufferPointer {
            EVP_EncryptFinal_ex(ctx, $0.baseAddress! + Int(written), &length)
        }
        guard rc == 1 else { throw OpenSSLError.drain("EVP_EncryptFinal_ex") }
        ciphertext.removeLast(ciphertext.count - Int(written + length))
        var tag = [UInt8](repeating: 0, count: tagSize)
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagSize), &tag) == 1 else {
            throw OpenSSLError.drain("EVP_CIPHER_CTX_ctrl(GET_TAG)")
        }
        return (ciphertext, tag)
    }

    /// Decrypts and authenticates; nil when the tag does not match (any tampering) or inputs are malformed.
    static func open(
        _ ciphertext: [UInt8], tag: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8]
    ) -> [UInt8]? {
        guard key.count == keySize, nonce.count == nonceSize, tag.count == tagSize else { return nil }
        defer { ERR_clear_error() }
        guard let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { return nil }
        var length: Int32 = 0
        if !associatedData.isEmpty {
            guard EVP_DecryptUpdate(ctx, nil, &length, associatedData, Int32(associatedData.count)) == 1 else {
                return nil
            }
        }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written: Int32 = 0
        if !ciphertext.isEmpty {
            let rc = plaintext.withUnsafeMutableBufferPointer {
                EVP_DecryptUpdate(ctx, $0.baseAddress, &written, ciphertext, Int32(ciphertext.count))
            }
            guard rc == 1 else { return nil }
        }
        var expectedTag = tag
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagSize), &expectedTag) == 1 else { return nil }
        let rc = plaintext.withUnsafeMutableBufferPointer {
            EVP_DecryptFinal_ex(ctx, $0.baseAddress! + Int(written), &length)
        }
        guard rc == 1 else {
            wipe(&plaintext)  // unauthenticated plaintext must not escape
            return nil
        }
        plaintext.removeLast(plaintext.count - Int(written + length))
        return plaintext
    }
}

/// Overwrites a buffer with zeros in a way the optimiser keeps (`OPENSSL_cleanse`).
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
}
