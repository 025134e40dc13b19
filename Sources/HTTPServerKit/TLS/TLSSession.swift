internal import COpenSSL
internal import CShims

/// Owns one connection's `SSL`, on a non-blocking socket. Used only by the event-loop thread.
final class TLSSession {
    /// The outcome of a non-blocking TLS operation.
    enum Status {
        case done(Int)
        case wantRead
        case wantWrite
        case closed
        case failed
    }

    private let ssl: OpaquePointer
    private let context: TLSContext

    init?(context: TLSContext, fd: Int32) {
        guard let ssl = SSL_new(context.handle) else { return nil }
        self.ssl = ssl
        self.context = context
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
    }

    deinit { SSL_free(ssl) }

    /// Advances the handshake (`SSL_do_handshake`).
    func handshake() -> Status {
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        return rc == 1 ? .done(0) : status(rc)
    }

    /// `SSL_read` into `buffer`.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Status {
        ERR_clear_error()
        let rc = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
        return rc > 0 ? .done(Int(rc)) : status(rc)
    }

    /// `SSL_write` (partial writes enabled).
    func write(_ bytes: UnsafeRawBufferPointer) -> Status {
        ERR_clear_error()
        let rc = SSL_write(ssl, bytes.baseAddress, Int32(bytes.count))
        return rc > 0 ? .done(Int(rc)) : status(rc)
    }

    /// Sends close_notify without waiting for the peer's.
    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// The DER of the peer certificate, when one was sent and verified (`SSL_get1_peer_certificate`).
    func peerCertificateDER() -> [UInt8]? {
        guard SSL_get_verify_result(ssl) == X509_V_OK, let cert = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(cert) }
        return Self.der(cert)
    }

    /// The verified chain, leaf first and trust anchor last (`SSL_get0_verified_chain`); empty without a
    /// verified client certificate.
    func verifiedChainDER() -> [[UInt8]] {
        guard SSL_get_verify_result(ssl) == X509_V_OK, let chain = SSL_get0_verified_chain(ssl) else { return [] }
        return (0..<cshim_sk_X509_num(chain)).compactMap { i in
            cshim_sk_X509_value(chain, i).flatMap(Self.der)
        }
    }

    private static func der(_ cert: OpaquePointer) -> [UInt8]? {
        let length = i2d_X509(cert, nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        der.withUnsafeMutableBufferPointer { buffer in
            var p = buffer.baseAddress
            _ = i2d_X509(cert, &p)
        }
        return der
    }

    private func status(_ rc: Int32) -> Status {
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        default:
            ERR_clear_error()
            return .failed
        }
    }
}
