internal import COpenSSL
internal import CShims
import FoundationEssentials

/// Verifies certificate chains against explicit trust anchors (never the system store).
///
/// `@unchecked Sendable`: the `X509_STORE` is filled in `init` and only read afterwards; OpenSSL locks it
/// internally for lookups, so concurrent verifications are safe.
public final class TrustStore: @unchecked Sendable {
    private let store: OpaquePointer
    /// The trust anchors.
    public let anchors: [Certificate]

    /// A store trusting exactly `anchors` (`X509_STORE_add_cert`).
    /// - Throws: `OpenSSLError` if a certificate cannot be added.
    public init(anchors: [Certificate]) throws {
        guard let store = X509_STORE_new() else { throw OpenSSLError.drain("X509_STORE_new") }
        self.store = store
        self.anchors = anchors
        for anchor in anchors where X509_STORE_add_cert(store, anchor.handle) != 1 {
            throw OpenSSLError.drain("X509_STORE_add_cert")
        }
    }

    deinit { X509_STORE_free(store) }

    /// Checks that `chain[0]` chains to an anchor at `date`, using `chain[1...]` as untrusted intermediates
    /// (`X509_verify_cert` with `X509_STORE_CTX_set_time`). Signatures, validity dates and CA constraints are
    /// checked; revocation is not.
    /// - Throws: `ChainVerificationError` with OpenSSL's reason (e.g. `certificate has expired`).
    public func verify(chain: [Certificate], at date: Date = Date()) throws(ChainVerificationError) {
        guard let leaf = chain.first else { throw ChainVerificationError(code: -1, reason: "empty chain") }
        OpenSSLError.clearQueue()
        guard let ctx = X509_STORE_CTX_new(), let untrusted = cshim_sk_X509_new_null() else {
            throw ChainVerificationError(code: -1, reason: OpenSSLError.drain("X509_STORE_CTX_new").description)
        }
        defer {
            X509_STORE_CTX_free(ctx)
            cshim_sk_X509_free(untrusted)  // frees the stack only; the certificates stay owned by `chain`
        }
        for certificate in chain.dropFirst() { _ = cshim_sk_X509_push(untrusted, certificate.handle) }
        guard X509_STORE_CTX_init(ctx, store, leaf.handle, untrusted) == 1 else {
            throw ChainVerificationError(code: -1, reason: OpenSSLError.drain("X509_STORE_CTX_init").description)
        }
        X509_STORE_CTX_set_time(ctx, 0, time_t(date.timeIntervalSince1970))
        let rc = withExtendedLifetime(chain) { X509_verify_cert(ctx) }
        guard rc == 1 else {
            let code = X509_STORE_CTX_get_error(ctx)
            let reason = X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "unknown"
            ERR_clear_error()
            throw ChainVerificationError(code: Int(code), reason: reason)
        }
    }

    /// One-shot form of ``verify(chain:at:)``.
    public static func verify(chain: [Certificate], anchors: [Certificate], at date: Date = Date()) throws {
        try TrustStore(anchors: anchors).verify(chain: chain, at: date)
    }
}

/// A chain that does not verify: OpenSSL's `X509_V_ERR_*` code and its text.
public struct ChainVerificationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `X509_STORE_CTX_get_error` (e.g. 10 = certificate has expired, 20 = unable to get local issuer), -1 for setup errors.
    public let code: Int
    /// `X509_verify_cert_error_string`.
    public let reason: String
    public var description: String { "certificate chain does not verify: \(reason)" }
}
