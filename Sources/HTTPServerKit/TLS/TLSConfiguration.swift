import GatewayLogging
import OpenSSLKit

/// TLS settings of a listener: the server certificate (with its chain) and key, from files or memory, and
/// optional client-certificate verification against a CA bundle. TLS 1.2 is the minimum.
public struct TLSConfiguration: Sendable {
    /// Where PEM data comes from.
    public enum PEMSource: Sendable {
        /// A PEM file on disk.
        case file(String)
        /// PEM text in memory.
        case pem(String)
    }

    /// Whether and how client certificates are checked.
    public enum ClientVerification: Sendable {
        /// No certificate is requested.
        case none
        /// A certificate is requested; when one is sent it must chain to `trustRoots`.
        case optional(trustRoots: PEMSource)
        /// A certificate chaining to `trustRoots` is required; the handshake fails without one.
        case required(trustRoots: PEMSource)
    }

    /// The leaf certificate, optionally followed by intermediates.
    public var certificateChain: PEMSource
    /// The private key (PEM, unencrypted). Memory keys are wrapped in `Secret`.
    public var privateKey: PrivateKeySource
    /// Whether client certificates are requested and checked.
    public var clientVerification: ClientVerification

    /// A private key location; memory keys never print.
    public enum PrivateKeySource: Sendable {
        case file(String)
        case pem(Secret<String>)
    }

    /// - Parameters:
    ///   - certificateChain: PEM of the leaf then intermediates.
    ///   - privateKey: PEM of the matching key.
    ///   - clientVerification: `.none` by default.
    public init(
        certificateChain: PEMSource, privateKey: PrivateKeySource, clientVerification: ClientVerification = .none
    ) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.clientVerification = clientVerification
    }
}

/// A TLS set-up or handshake failure: the OpenSSL call and its error queue (which holds no key material), as
/// OpenSSLKit reports every failed OpenSSL call.
public typealias TLSError = OpenSSLError
