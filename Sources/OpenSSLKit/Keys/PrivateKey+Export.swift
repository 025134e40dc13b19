internal import COpenSSL
import GatewayLogging

extension PrivateKey {
    /// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), for sealing at rest and for handing to
    /// libcurl as `CURLOPT_SSLKEY_BLOB`. An uploaded encrypted key is stored this way (sealed with the master
    /// key), so the passphrase need not be kept.
    /// - SeeAlso: `PEM_write_bio_PrivateKey`
    /// - Throws: `OpenSSLError` when OpenSSL cannot encode the key.
    public func pkcs8PEM() throws -> Secret<String> {
        ERR_clear_error()
        var bytes = try collectingMemoryBIO { bio in
            guard PEM_write_bio_PrivateKey(bio, handle, nil, nil, 0, nil, nil) == 1 else {
                throw OpenSSLError.drain("PEM_write_bio_PrivateKey")
            }
        }
        defer { OPENSSL_cleanse(&bytes, bytes.count) }
        return Secret(String(decoding: bytes, as: UTF8.self))
    }
}
