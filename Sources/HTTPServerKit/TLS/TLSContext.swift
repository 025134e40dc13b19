internal import COpenSSL
internal import CShims
import OpenSSLKit

/// Owns one `SSL_CTX` built from a `TLSConfiguration`. Immutable after `init`, and OpenSSL allows an
/// `SSL_CTX` to be shared by threads once configured, hence `@unchecked Sendable`.
final class TLSContext: @unchecked Sendable {
    let handle: OpaquePointer

    /// - Throws: `TLSError` naming the failing OpenSSL call.
    init(_ configuration: TLSConfiguration) throws(TLSError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw OpenSSLError.drain("SSL_CTX_new") }
        handle = ctx
        // TLS ≥ 1.2, no renegotiation, no compression; partial writes so a non-blocking SSL_write can progress.
        guard cshim_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 else {
            throw OpenSSLError.drain("SSL_CTX_set_min_proto_version")
        }
        let noCompression: UInt64 = 1 << 17
        let noRenegotiation: UInt64 = 1 << 30  // SSL_OP_BIT(17), SSL_OP_BIT(30)
        _ = SSL_CTX_set_options(ctx, noCompression | noRenegotiation)
        _ = cshim_SSL_CTX_set_mode(
            ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS))
        try loadChain(configuration.certificateChain)
        try loadKey(configuration.privateKey)
        guard SSL_CTX_check_private_key(ctx) == 1 else { throw OpenSSLError.drain("SSL_CTX_check_private_key") }
        var sessionContext = Array("passerelle".utf8)
        _ = SSL_CTX_set_session_id_context(ctx, &sessionContext, UInt32(sessionContext.count))
        switch configuration.clientVerification {
        case .none:
            break
        case .optional(let roots):
            try loadTrustRoots(roots)
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        case .required(let roots):
            try loadTrustRoots(roots)
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
        SSL_CTX_set_verify_depth(ctx, 8)
    }

    deinit { SSL_CTX_free(handle) }

    private func loadChain(_ source: TLSConfiguration.PEMSource) throws(TLSError) {
        switch source {
        case .file(let path):
            guard SSL_CTX_use_certificate_chain_file(handle, path) == 1 else {
                throw OpenSSLError.drain("SSL_CTX_use_certificate_chain_file")
            }
        case .pem(let text):
            let certificates = try Self.readCertificates(text)
            defer { certificates.forEach { X509_free($0) } }
            guard let leaf = certificates.first else {
                throw OpenSSLError(operation: "PEM_read_bio_X509", stack: ["no certificate"])
            }
            guard SSL_CTX_use_certificate(handle, leaf) == 1 else {
                throw OpenSSLError.drain("SSL_CTX_use_certificate")
            }
            for intermediate in certificates.dropFirst() {
                guard cshim_SSL_CTX_add1_chain_cert(handle, intermediate) == 1 else {
                    throw OpenSSLError.drain("SSL_CTX_add1_chain_cert")
                }
            }
        }
    }

    private func loadKey(_ source: TLSConfiguration.PrivateKeySource) throws(TLSError) {
        switch source {
        case .file(let path):
            guard SSL_CTX_use_PrivateKey_file(handle, path, SSL_FILETYPE_PEM) == 1 else {
                throw OpenSSLError.drain("SSL_CTX_use_PrivateKey_file")
            }
        case .pem(let secret):
            var bytes = Array(secret.reveal.utf8)
            defer { OPENSSL_cleanse(&bytes, bytes.count) }
            let key = try withReadOnlyMemoryBIO(wrapping: bytes) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
            guard let key else { throw OpenSSLError.drain("PEM_read_bio_PrivateKey") }
            defer { EVP_PKEY_free(key) }
            guard SSL_CTX_use_PrivateKey(handle, key) == 1 else { throw OpenSSLError.drain("SSL_CTX_use_PrivateKey") }
        }
    }

    private func loadTrustRoots(_ source: TLSConfiguration.PEMSource) throws(TLSError) {
        switch source {
        case .file(let path):
            guard SSL_CTX_load_verify_locations(handle, path, nil) == 1 else {
                throw OpenSSLError.drain("SSL_CTX_load_verify_locations")
            }
        case .pem(let text):
            let certificates = try Self.readCertificates(text)
            defer { certificates.forEach { X509_free($0) } }
            guard !certificates.isEmpty else {
                throw OpenSSLError(operation: "PEM_read_bio_X509", stack: ["no CA certificate"])
            }
            let store = SSL_CTX_get_cert_store(handle)
            for certificate in certificates {
                guard X509_STORE_add_cert(store, certificate) == 1 else {
                    throw OpenSSLError.drain("X509_STORE_add_cert")
                }
            }
        }
    }

    /// Every certificate in a PEM text, in order. The caller frees them.
    private static func readCertificates(_ text: String) throws(TLSError) -> [OpaquePointer] {
        try withReadOnlyMemoryBIO(wrapping: Array(text.utf8)) { bio in
            var result: [OpaquePointer] = []
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { result.append(certificate) }
            ERR_clear_error()  // the loop ends on a "no start line" error
            return result
        }
    }
}
